package campus.applicable_test

import rego.v1

import data.campus.applicable
import data.campus.fixtures_test as fx

test_a_group_grant_names_the_requesters_group if {
	catalog := fx.catalog
	grants := [fx.grant("researchers", {"groups": ["analysts", "researchers"]})]
	found := applicable.grants with data.campus.catalog as catalog with data.campus.grants as grants
		with input.user as "alice" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	[entry] := [e | some e in found]
	entry.level == "group"
	entry.who == "group researchers"
	entry.grant.name == "researchers"
}

test_a_user_grant_is_at_user_level if {
	catalog := fx.catalog
	grants := [fx.grant("alice", {"users": ["alice"], "groups": ["researchers"]})]
	found := applicable.grants with data.campus.catalog as catalog with data.campus.grants as grants
		with input.user as "alice" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	{e.level | some e in found} == {"user"}
}

test_a_project_grant_applies_only_within_its_project if {
	catalog := fx.catalog
	grants := [fx.grant("retail", {"project": "retail"})]
	inside := applicable.grants with data.campus.catalog as catalog with data.campus.grants as grants
		with input.user as "alice" with input.groups as [] with input.project as "retail"
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	outside := applicable.grants with data.campus.catalog as catalog with data.campus.grants as grants
		with input.user as "alice" with input.groups as [] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	{e.who | some e in inside} == {"project retail"}
	count(outside) == 0
}

test_a_project_grant_with_groups_names_only_those_members if {
	catalog := fx.catalog
	grants := [fx.grant("retail-analysts", {"project": "retail", "groups": ["analysts"]})]
	found := applicable.grants with data.campus.catalog as catalog with data.campus.grants as grants
		with input.user as "alice" with input.groups as ["researchers"] with input.project as "retail"
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	count(found) == 0
}

test_an_expired_grant_does_not_apply_and_says_when_it_ended if {
	catalog := fx.catalog
	grants := [fx.grant("old", {"groups": ["researchers"], "valid_until": "2026-11-22"})]
	found := applicable.grants with data.campus.catalog as catalog with data.campus.grants as grants
		with input.user as "alice" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	lapsed := applicable.lapsed with data.campus.catalog as catalog with data.campus.grants as grants
		with input.user as "alice" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	count(found) == 0
	lapsed == {"grant old (group researchers) expired on 2026-11-22; ask the steward sejin to renew it"}
}

test_a_grant_applies_on_its_first_and_last_day if {
	catalog := fx.catalog
	grants := [fx.grant("today", {"groups": ["researchers"], "valid_from": "2026-11-23", "valid_until": "2026-11-23"})]
	found := applicable.grants with data.campus.catalog as catalog with data.campus.grants as grants
		with input.user as "alice" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	count(found) == 1
}

test_a_future_grant_says_when_it_starts if {
	catalog := fx.catalog
	grants := [fx.grant("soon", {"groups": ["researchers"], "valid_from": "2027-01-01"})]
	lapsed := applicable.lapsed with data.campus.catalog as catalog with data.campus.grants as grants
		with input.user as "alice" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	lapsed == {"grant soon (group researchers) applies only from 2027-01-01; until then ask the steward sejin"}
}

test_a_grant_for_another_dataset_does_not_apply if {
	catalog := fx.catalog
	grants := [fx.grant("air", {"groups": ["researchers"], "dataset": "air"})]
	found := applicable.grants with data.campus.catalog as catalog with data.campus.grants as grants
		with input.user as "alice" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	count(found) == 0
}
