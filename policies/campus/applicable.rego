# METADATA
# title: The grants that apply to a request
# description: |
#   A grant applies when it is for the requested dataset, names the requester, and is
#   in force today. How it names the requester sets its level, most specific first:
#     user     the user is in the grant's users;
#     project  the grant is for the project the request is made in (and, if it also
#              lists users or groups, the requester is one of them);
#     group    the requester is in one of the grant's groups (grants without project).
#   In force: valid_from <= today <= valid_until, each when given (days inclusive).
#   Grants that name the requester but are not in force are `lapsed`: a refusal
#   quotes them, so the researcher learns the date and whom to ask.
package campus.applicable

import rego.v1

import data.campus.request

# Messages: concat, never sprintf (see campus.request).

# Every grant that applies: {"grant", "level", "who"}; who says how it names the requester.
grants contains object.union(naming, {"grant": grant}) if {
	some grant in data.campus.grants
	grant.dataset == input.dataset
	naming := names(grant)
	in_force(grant)
}

# Why each grant that names the requester does not apply today.
lapsed contains msg if {
	some grant in data.campus.grants
	grant.dataset == input.dataset
	naming := names(grant)
	ended(grant)
	msg := concat("", [
		"grant ", grant.name, " (", naming.who, ") expired on ", grant.valid_until,
		"; ask the steward ", request.dataset.steward, " to renew it",
	])
}

lapsed contains msg if {
	some grant in data.campus.grants
	grant.dataset == input.dataset
	naming := names(grant)
	not_started(grant)
	msg := concat("", [
		"grant ", grant.name, " (", naming.who, ") applies only from ", grant.valid_from,
		"; until then ask the steward ", request.dataset.steward,
	])
}

names(grant) := {"level": "user", "who": concat(" ", ["user", input.user])} if {
	input.user in grant.users
	in_scope(grant)
} else := {"level": "project", "who": concat(" ", ["project", grant.project])} if {
	grant.project != null
	in_scope(grant)
} else := {"level": "group", "who": concat(" ", ["group", shared_groups(grant)[0]])} if {
	count(shared_groups(grant)) > 0
	in_scope(grant)
}

# How a grant names the requester whatever project the request is made in: by user, as
# a project grant of a running project they are a member of, or by group (campus.binding).
names_anywhere(grant) := concat(" ", ["user", input.user]) if {
	input.user in grant.users
	grant.project == null
} else := concat(" ", ["project", grant.project]) if {
	grant.project != null
	project := data.campus.projects[grant.project]
	input.user in project.members
	request.today <= project.expires
	names_someone_in_project(grant)
} else := concat(" ", ["group", shared_groups(grant)[0]]) if {
	grant.project == null
	count(shared_groups(grant)) > 0
}

shared_groups(grant) := [group | some group in grant.groups; group in request.groups]

in_scope(grant) if grant.project == null

in_scope(grant) if {
	grant.project != null
	grant.project == request.project
	names_someone_in_project(grant)
}

names_someone_in_project(grant) if {
	count(grant.users) == 0
	count(grant.groups) == 0
}

names_someone_in_project(grant) if input.user in grant.users

names_someone_in_project(grant) if count(shared_groups(grant)) > 0

in_force(grant) if {
	not not_started(grant)
	not ended(grant)
}

not_started(grant) if {
	grant.valid_from != null
	request.today < grant.valid_from
}

ended(grant) if {
	grant.valid_until != null
	request.today > grant.valid_until
}
