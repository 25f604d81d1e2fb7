"""The campus's SQL vocabulary, below both the gateway and the engines.

`dialect` (the SQL researchers write), `allowlist` (what of it is accepted), `casts`
(the casts the campus writes itself) and `pseudonyms` (how an identifier is shown in
rows of people). The gateway checks and rewrites queries in these words and the engines
translate and compute them; this package imports neither (`tests/test_layout.py`).
"""
