package campus.obligations_test

import rego.v1

import data.campus.fixtures_test as fx
import data.campus.obligations

test_aggregates_show_every_column_but_identifiers_in_catalog_order if {
	catalog := fx.catalog
	deciding := fx.entry("group", "group researchers", fx.grant("all", {}))
	columns := obligations.columns with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards"
	columns == ["day", "district", "category", "amount", "home_district"]
}

test_rows_show_the_granted_identifiers if {
	catalog := fx.catalog
	deciding := fx.entry("user", "user alice", fx.grant("rows", {"mode": "rows", "columns": ["amount", "card_id"]}))
	columns := obligations.columns with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards"
	columns == ["card_id", "amount"]
}

test_thresholds_are_the_catalogs_overlaid_with_the_grants if {
	catalog := fx.catalog
	deciding := fx.entry("group", "group researchers", fx.grant("strict", {"disclosure": {"min_entities": 20}}))
	terms := obligations.terms with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards"
	terms.disclosure == {"min_entities": 20, "dominance_n": 2, "dominance_k": 0.9, "p_ratio": 0.1, "rounding_base": 5}
	terms.mode == "aggregates"
	terms.row_cap == 10000
	terms.export == "review"
}
