"""The SQL researchers write: DuckDB's dialect, whichever engine runs the query.

The gateway parses, checks and explains queries in it, and computes their constants
with its meaning (`constant`); only the rewritten query is generated in the engine's own
SQL (`campus.engines`), so a researcher's query means the same on every engine.
"""

CAMPUS_SQL = "duckdb"
