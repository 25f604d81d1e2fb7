package campus.binding_test

import rego.v1

import data.campus.binding
import data.campus.fixtures_test as fx

general := fx.grant("researchers", {"groups": ["researchers"]})

retail := fx.grant("retail", {"project": "retail", "row_filter": {"district": ["Gangnam-gu"]}, "disclosure": {"min_entities": 20}})

finished := fx.grant("finished", {"project": "finished", "disclosure": {"min_entities": 50}})

agreement := {"name": "association", "dataset": "cards", "rows": {"district": ["Gangnam-gu"]},
	"disclosure": {"min_entities": 30}, "masks": {}, "purpose": "Agreed with the association."}

test_a_members_project_grant_binds_without_naming_the_project if {
	catalog := fx.catalog
	projects := fx.projects
	grants := [general, retail]
	found := binding.entries with data.campus.catalog as catalog with data.campus.grants as grants
		with data.campus.projects as projects with data.campus.terms as []
		with input.user as "alice" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	[entry] := found
	entry.source == "grant retail (project retail)"
	entry.rows == {"district": ["Gangnam-gu"]}
	entry.disclosure.min_entities == 20
	entry.disclosure.dominance_k == 0.9
}

test_a_project_grant_does_not_bind_non_members_nor_after_the_project_ends if {
	catalog := fx.catalog
	projects := fx.projects
	grants := [general, retail, finished]
	bob := binding.entries with data.campus.catalog as catalog with data.campus.grants as grants
		with data.campus.projects as projects with data.campus.terms as []
		with input.user as "bob" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	alice := binding.entries with data.campus.catalog as catalog with data.campus.grants as grants
		with data.campus.projects as projects with data.campus.terms as []
		with input.user as "alice" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	count(bob) == 0
	[e.source | some e in alice] == ["grant retail (project retail)"]
}

test_terms_bind_whoever_asks if {
	catalog := fx.catalog
	projects := fx.projects
	grants := [general]
	agreed := [agreement]
	found := binding.entries with data.campus.catalog as catalog with data.campus.grants as grants
		with data.campus.projects as projects with data.campus.terms as agreed
		with input.user as "carol" with input.groups as ["researchers"] with input.project as null
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	[entry] := found
	entry.source == "terms association: Agreed with the association"
	entry.disclosure.min_entities == 30
}

test_the_deciding_grant_is_not_listed_again if {
	catalog := fx.catalog
	projects := fx.projects
	grants := [general, retail]
	found := binding.entries with data.campus.catalog as catalog with data.campus.grants as grants
		with data.campus.projects as projects with data.campus.terms as []
		with input.user as "alice" with input.groups as ["researchers"] with input.project as "retail"
		with input.dataset as "cards" with input.now as "2026-11-23T06:00:00Z"
	[e.source | some e in found] == ["grant researchers (group researchers)"]
}
