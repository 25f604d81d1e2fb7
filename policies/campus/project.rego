# METADATA
# title: The project a request is made in
# description: |
#   A request may name the project it is made in (from the admins' hub/users.yaml).
#   The project must exist, the user must be one of its members, and it must not have
#   expired (its expires day is the last day it runs). Otherwise the request is refused
#   outright, whatever other grants say: work under a project is that project's work.
package campus.project

import rego.v1

import data.campus.request

# Messages: concat, never sprintf (see campus.request).

problems contains msg if {
	request.project
	not data.campus.projects[request.project]
	msg := concat("", ["there is no project ", request.project, "; check its name, or ask an admin to create it"])
}

problems contains msg if {
	project := data.campus.projects[request.project]
	not input.user in project.members
	msg := concat("", [
		input.user, " is not a member of project ", request.project,
		"; ask an admin to add you, or work outside the project",
	])
}

problems contains msg if {
	project := data.campus.projects[request.project]
	request.today > project.expires
	msg := concat("", [
		"project ", request.project, " expired on ", project.expires,
		", so its grants no longer apply; ask an admin to extend it",
	])
}
