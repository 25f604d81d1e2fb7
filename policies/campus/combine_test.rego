package campus.combine_test

import rego.v1

import data.campus.combine
import data.campus.fixtures_test as fx

# Each case: the applicable grants, and the name of the one that must decide.

test_deny_beats_every_allow if {
	entries := {
		fx.entry("user", "user alice", fx.grant("alice-rows", {"users": ["alice"], "mode": "rows"})),
		fx.entry("group", "group suspended", fx.grant("suspended", {"effect": "deny", "mode": null})),
	}
	combine.deciding.grant.name == "suspended" with data.campus.applicable.grants as entries
}

test_user_beats_project_beats_group if {
	entries := {
		fx.entry("group", "group researchers", fx.grant("a-group", {})),
		fx.entry("project", "project retail", fx.grant("b-project", {})),
		fx.entry("user", "user alice", fx.grant("c-user", {"mode": "rows"})),
	}
	without_user := {e | some e in entries; e.level != "user"}
	combine.deciding.grant.name == "c-user" with data.campus.applicable.grants as entries
	combine.deciding.grant.name == "b-project" with data.campus.applicable.grants as without_user
}

test_a_tie_goes_to_aggregates_then_to_the_first_name if {
	entries := {
		fx.entry("group", "group analysts", fx.grant("a-rows", {"mode": "rows"})),
		fx.entry("group", "group researchers", fx.grant("z-aggregates", {})),
		fx.entry("group", "group researchers", fx.grant("y-aggregates", {})),
	}
	combine.deciding.grant.name == "y-aggregates" with data.campus.applicable.grants as entries
}

test_no_applicable_grant_no_deciding_grant if {
	empty := set()
	not combine.deciding with data.campus.applicable.grants as empty
}
