package campus.checks_test

import rego.v1

import data.campus.checks
import data.campus.fixtures_test as fx

aggregates := fx.entry("group", "group researchers", fx.grant("agg", {"columns": ["district", "amount", "card_id"]}))

rows := fx.entry("group", "group researchers", fx.grant("rows", {"mode": "rows", "export": "never"}))

test_rows_on_an_aggregates_grant_are_refused if {
	catalog := fx.catalog
	deciding := aggregates
	problems := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards" with input.columns as ["amount"] with input.shape as "rows"
		with input.action as "query"
	problems == {"cards is available to you only as aggregates: add GROUP BY and aggregate functions (count, sum, avg)"}
}

test_an_identifier_is_refused_in_aggregates_mode_even_when_granted if {
	catalog := fx.catalog
	deciding := aggregates
	problems := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards" with input.columns as ["card_id"] with input.shape as "aggregates"
		with input.action as "query"
	problems == {"column card_id is an identifier; group by one of its dimensions instead: district"}
}

test_an_identifier_may_be_read_in_rows_mode if {
	catalog := fx.catalog
	deciding := rows
	problems := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards" with input.columns as ["card_id"] with input.shape as "rows"
		with input.action as "query"
	count(problems) == 0
}

test_a_column_not_granted_is_named if {
	catalog := fx.catalog
	deciding := aggregates
	problems := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards" with input.columns as ["district", "category"]
		with input.shape as "aggregates" with input.action as "query"
	problems == {"column category of cards is not granted to you (grant agg shows district, amount); ask the steward sejin"}
}

test_export_never_refuses_exports_only if {
	catalog := fx.catalog
	deciding := rows
	export := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards" with input.columns as ["amount"] with input.shape as "rows"
		with input.action as "export"
	query := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards" with input.columns as ["amount"] with input.shape as "rows"
		with input.action as "query"
	export == {"grant rows does not allow exports from cards: results stay on the campus; ask the steward sejin if you need one"}
	count(query) == 0
}
