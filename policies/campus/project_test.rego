package campus.project_test

import rego.v1

import data.campus.fixtures_test as fx
import data.campus.project

test_a_member_of_a_running_project_has_no_problems if {
	projects := fx.projects
	problems := project.problems with data.campus.projects as projects
		with input.user as "alice" with input.project as "retail" with input.now as "2026-11-23T06:00:00Z"
	count(problems) == 0
}

test_no_project_no_problems if {
	projects := fx.projects
	count(project.problems) == 0 with data.campus.projects as projects
		with input.user as "alice" with input.project as null with input.now as "2026-11-23T06:00:00Z"
}

test_a_non_member_is_refused if {
	projects := fx.projects
	problems := project.problems with data.campus.projects as projects
		with input.user as "bob" with input.project as "retail" with input.now as "2026-11-23T06:00:00Z"
	problems == {"bob is not a member of project retail; ask an admin to add you, or work outside the project"}
}

test_an_expired_project_is_refused_with_its_date if {
	projects := fx.projects
	problems := project.problems with data.campus.projects as projects
		with input.user as "alice" with input.project as "finished" with input.now as "2026-11-23T06:00:00Z"
	problems == {"project finished expired on 2025-01-31, so its grants no longer apply; ask an admin to extend it"}
}

test_the_expiry_day_itself_still_runs if {
	projects := fx.projects
	count(project.problems) == 0 with data.campus.projects as projects
		with input.user as "alice" with input.project as "retail" with input.now as "2027-06-30T23:00:00Z"
}

test_an_unknown_project_is_refused if {
	projects := fx.projects
	problems := project.problems with data.campus.projects as projects
		with input.user as "alice" with input.project as "moon" with input.now as "2026-11-23T06:00:00Z"
	problems == {"there is no project moon; check its name, or ask an admin to create it"}
}
