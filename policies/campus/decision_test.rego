package campus.decision_test

import rego.v1

import data.campus.decision
import data.campus.fixtures_test as fx

# Each step is tested as a function; the whole chain runs end to end in
# tests/test_policy_decisions.py, against real grants.

researchers := fx.entry("group", "group researchers", fx.grant("researchers", {"masks": {"home_district": "region"}}))

cards := fx.catalog.cards

terms := {
	"mode": "aggregates", "columns": ["district", "amount"], "masks": {"home_district": "region"},
	"row_filter": {}, "disclosure": {"min_entities": 10}, "row_cap": 10000, "export": "review",
}

test_no_input_at_all_is_a_deny_never_undefined if {
	decision.result.allow == false
	count(decision.result.reasons) == 6
}

test_a_refusal_lists_its_reasons_and_the_grant if {
	decision.refused({"b", "a"}, "g") == {"allow": false, "reasons": ["a", "b"], "grant": "g"}
}

test_no_grant_is_an_implicit_deny_naming_the_steward if {
	reasons := decision.nothing_applies(set(), {"user": "carol", "dataset": "cards"}, cards)
	reasons == ["no grant gives carol access to cards; ask the steward sejin"]
}

test_lapsed_grants_are_quoted_instead if {
	lapsed := {"grant old (group researchers) expired on 2026-11-22; ask the steward sejin to renew it"}
	reasons := decision.nothing_applies(lapsed, {"user": "alice", "dataset": "cards"}, cards)
	reasons == lapsed
}

test_a_deny_grant_refuses_with_its_purpose if {
	paused := fx.entry("user", "user alice", fx.grant("paused", {"effect": "deny", "purpose": "Paused for an audit."}))
	decision.denied_by(paused, cards) == "denied by grant paused (user alice): Paused for an audit; ask the steward sejin"
}

test_an_allow_carries_the_grants_terms if {
	result := decision.allowed(researchers, terms, {"dataset": "cards", "action": "query"})
	result == object.union(terms, {
		"allow": true, "grant": "researchers",
		"reasons": ["allowed by grant researchers (group researchers): aggregates on cards"],
	})
}

test_an_allowed_export_says_what_happens_next if {
	review := decision.allowed(researchers, terms, {"dataset": "cards", "action": "export"})
	auto := fx.entry("group", "group researchers", fx.grant("auto", {"export": "auto"}))
	released := decision.allowed(auto, terms, {"dataset": "cards", "action": "export"})
	review.reasons[1] == "the export waits for a steward's review"
	released.reasons[1] == "the export is released once it passes the disclosure checks"
}
