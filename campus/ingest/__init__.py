"""Real data in: a steward's file checked, pseudonymised and stored as a new version of a dataset.

The way in, one module a step:

source      the file: its kind, encoding and sha256; its rows as text, in batches
convert     text read into the catalog's types; the bad values' places, never the values
badlines    the lines that are no row of the table: found all at once, left out, reported
profile     statistics of every column, and a catalog entry proposed from them
load        the checks against the catalog (columns, types, direct identifiers), the keyed
            hash of every identifier, the Parquet partitions of a new version
versions    a dataset's versions: written beside the data, switched to in one rename
"""
