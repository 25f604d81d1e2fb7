package campus.request_test

import rego.v1

import data.campus.fixtures_test as fx
import data.campus.request

test_a_well_formed_request_has_no_problems if {
	catalog := fx.catalog
	problems := request.problems with data.campus.catalog as catalog
		with input.user as "alice" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.columns as ["district", "amount"]
		with input.shape as "aggregates" with input.action as "query" with input.now as "2026-11-23T06:00:00Z"
	count(problems) == 0
}

test_groups_and_project_may_be_left_out if {
	catalog := fx.catalog
	problems := request.problems with data.campus.catalog as catalog
		with input.user as "alice" with input.dataset as "cards" with input.columns as []
		with input.shape as "rows" with input.action as "export" with input.now as "2026-11-23T06:00:00Z"
	count(problems) == 0
	request.groups == [] with input.user as "alice"
}

test_a_missing_user_is_a_problem if {
	catalog := fx.catalog
	problems := request.problems with data.campus.catalog as catalog
		with input.dataset as "cards" with input.columns as ["district"]
		with input.shape as "aggregates" with input.action as "query" with input.now as "2026-11-23T06:00:00Z"
	problems == {"the request names no user; this is a bug in the caller, not in your query: tell the campus admins"}
}

test_columns_must_be_a_list_of_strings if {
	catalog := fx.catalog
	not_a_list := request.problems with data.campus.catalog as catalog
		with input.user as "alice" with input.dataset as "cards" with input.columns as "district"
		with input.shape as "aggregates" with input.action as "query" with input.now as "2026-11-23T06:00:00Z"
	a_number := request.problems with data.campus.catalog as catalog
		with input.user as "alice" with input.dataset as "cards" with input.columns as ["district", 7]
		with input.shape as "aggregates" with input.action as "query" with input.now as "2026-11-23T06:00:00Z"
	some msg in not_a_list
	startswith(msg, "the request's columns must be a list of column names")
	not_a_list == a_number
}

test_an_unknown_dataset_or_column_is_named if {
	catalog := fx.catalog
	no_dataset := request.problems with data.campus.catalog as catalog
		with input.user as "alice" with input.dataset as "taxis" with input.columns as []
		with input.shape as "aggregates" with input.action as "query" with input.now as "2026-11-23T06:00:00Z"
	no_dataset == {"there is no dataset taxis; the catalog has: cards"}
	no_column := request.problems with data.campus.catalog as catalog
		with input.user as "alice" with input.dataset as "cards" with input.columns as ["fare"]
		with input.shape as "aggregates" with input.action as "query" with input.now as "2026-11-23T06:00:00Z"
	no_column == {"cards has no column fare; its columns are: card_id, day, district, category, amount, home_district"}
}

test_shape_action_and_time_are_checked if {
	catalog := fx.catalog
	problems := request.problems with data.campus.catalog as catalog
		with input.user as "alice" with input.dataset as "cards" with input.columns as []
		with input.shape as "table" with input.action as "delete" with input.now as "yesterday"
	count(problems) == 3
}

test_a_session_is_sealed_only_when_the_request_says_true if {
	request.sealed with input.sealed as true
	not request.sealed with input.sealed as false
	not request.sealed with input.user as "alice"
	not request.sealed with input.sealed as "yes"
	catalog := fx.catalog
	problems := request.problems with data.campus.catalog as catalog
		with input.user as "alice" with input.dataset as "cards" with input.columns as []
		with input.shape as "rows" with input.action as "query" with input.now as "2026-11-23T06:00:00Z"
		with input.sealed as "yes"
	problems == {"the request's sealed must be true or false; this is a bug in the caller, not in your query: tell the campus admins"}
}

test_today_is_the_day_of_now if {
	request.today == "2026-11-23" with input.now as "2026-11-23T23:59:59Z"
}
