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

test_an_identifier_may_be_read_in_rows_mode_in_a_sealed_session if {
	catalog := fx.catalog
	deciding := rows
	problems := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards" with input.columns as ["card_id"] with input.shape as "rows"
		with input.action as "query" with input.sealed as true
	count(problems) == 0
}

test_rows_with_identifiers_outside_a_sealed_session_are_refused_whatever_the_shape if {
	catalog := fx.catalog
	deciding := rows
	rows_asked := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards" with input.columns as ["amount"] with input.shape as "rows"
		with input.action as "query" with input.sealed as false
	aggregated := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards" with input.columns as ["amount"] with input.shape as "aggregates"
		with input.action as "query"
	rows_asked == {concat("", [
		"grant rows gives rows of cards, which carry identifiers, to sealed sessions only, and this campus does not ",
		"run them: the campus admins must run sealed sessions (CAMPUS_HUB_SPAWNER=sandbox); until then, work ",
		"outside the project, where aggregates may be granted to you",
	])}
	aggregated == rows_asked
}

test_rows_without_identifiers_need_no_seal if {
	catalog := {"air": {"steward": "sejin", "columns": {"pm10": {"role": "measure"}}, "column_order": ["pm10"],
		"roles": {"identifier": [], "dimension": [], "measure": ["pm10"]}}}
	deciding := fx.entry("group", "group researchers", fx.grant("air", {"dataset": "air", "mode": "rows"}))
	problems := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "air" with input.columns as ["pm10"] with input.shape as "rows"
		with input.action as "query"
	count(problems) == 0
}

test_a_catalog_entry_without_roles_counts_as_identifying if {
	catalog := {"odd": {"steward": "sejin", "columns": {"pm10": {"role": "measure"}}, "column_order": ["pm10"]}}
	deciding := fx.entry("group", "group researchers", fx.grant("odd", {"dataset": "odd", "mode": "rows"}))
	problems := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "odd" with input.columns as ["pm10"] with input.shape as "rows"
		with input.action as "query"
	some problem in problems
	contains(problem, "to sealed sessions only")
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
		with input.action as "export" with input.sealed as true
	query := checks.problems with data.campus.catalog as catalog with data.campus.combine.deciding as deciding
		with input.dataset as "cards" with input.columns as ["amount"] with input.shape as "rows"
		with input.action as "query" with input.sealed as true
	export == {"grant rows does not allow exports from cards: results stay on the campus; ask the steward sejin if you need one"}
	count(query) == 0
}
