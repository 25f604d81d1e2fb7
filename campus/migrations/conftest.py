"""Alembic runs env.py and the revisions itself; they are not modules to import for doctests."""

collect_ignore = ["env.py"]
collect_ignore_glob = ["versions/*.py"]
