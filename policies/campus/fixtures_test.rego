# METADATA
# title: Fixtures the Rego tests share
# description: |
#   A small catalog, two projects and a grant builder. Tests bind them to local
#   variables before `with` (rego-cpp 1.5.2 mishandles `with ... as fx.x` directly)
#   and set the input one field at a time (`with input as {...}` crashes it).
package campus.fixtures_test

import rego.v1

catalog := {"cards": {
	"entity": "card_id",
	"tier": "sensitive",
	"steward": "sejin",
	"columns": {
		"card_id": {"role": "identifier"},
		"day": {"role": "time"},
		"district": {"role": "dimension"},
		"category": {"role": "dimension"},
		"amount": {"role": "measure"},
		"home_district": {"role": "quasi_identifier"},
	},
	"column_order": ["card_id", "day", "district", "category", "amount", "home_district"],
	"roles": {
		"identifier": ["card_id"],
		"time": ["day"],
		"dimension": ["district", "category"],
		"measure": ["amount"],
		"quasi_identifier": ["home_district"],
	},
	"disclosure": {"min_entities": 10, "dominance_n": 2, "dominance_k": 0.9, "p_ratio": 0.1, "rounding_base": 5},
}}

projects := {
	"retail": {"members": ["alice"], "expires": "2027-06-30"},
	"finished": {"members": ["alice"], "expires": "2025-01-31"},
}


# A grant as campus/policy/grants.py writes it (every key present), with `fields` changed.
grant(name, fields) := object.union(
	{
		"name": name, "users": [], "groups": [], "project": null, "dataset": "cards",
		"effect": "allow", "mode": "aggregates", "columns": "all", "masks": {}, "row_filter": {},
		"disclosure": {}, "row_cap": 10000, "export": "review", "purpose": "Testing.",
		"valid_from": null, "valid_until": null,
	},
	fields,
)

# An entry of campus.applicable.grants.
entry(level, who, grant) := {"level": level, "who": who, "grant": grant}
