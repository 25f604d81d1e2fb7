# METADATA
# title: The request
# description: |
#   Checks the input document the gateway sends and hands the rest of the policy clean
#   values. A request with any problem is refused before a grant is looked at: the
#   policy never decides on input it does not understand (fail closed).
#
#   The input: user (string), groups (list of strings; none if absent), project
#   (string or null), dataset (string), columns (list of strings, the columns whose
#   values the query reads), shape ("aggregates" or "rows"), action ("query" or
#   "export"), now (RFC 3339 timestamp; its calendar day is compared with grant and
#   project dates), sealed (boolean: the data service knows every session asking is
#   sealed; absent means not sealed).
package campus.request

import rego.v1

SHAPES := {"aggregates", "rows"}

ACTIONS := {"query", "export"}

CALLER_BUG := "this is a bug in the caller, not in your query: tell the campus admins"

# The dataset's catalog entry, when the request names a known dataset.
dataset := data.campus.catalog[input.dataset] if is_string(input.dataset)

# The requester's groups; none when the request sends none.
default groups := []

groups := input.groups if list_of_strings(input.groups)

# The project the request is made in, when it names one.
project := input.project if {
	is_string(input.project)
	input.project != ""
}

# Whether the session asking is sealed (CAMPUS_SESSIONS_SEALED): only a true says so.
default sealed := false

sealed := input.sealed if is_boolean(input.sealed)

# The calendar day of the request (YYYY-MM-DD), compared with grant and project dates.
today := substring(input.now, 0, 10) if well_formed_now

well_formed_now if {
	is_string(input.now)
	regex.match(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}`, input.now)
}

# Messages are built with concat, never sprintf: rego-cpp 1.5.2's sprintf puts stray
# quotes around strings that were computed (function arguments, concat results).

list_of_strings(value) if {
	is_array(value)
	every item in value {
		is_string(item)
	}
}

named_user if {
	is_string(input.user)
	input.user != ""
}

no_project if not has_key(input, "project")

no_project if input.project == null

has_key(doc, key) if _ = doc[key]

problems contains concat("", ["the request names no user; ", CALLER_BUG]) if not named_user

problems contains concat("", ["the request's groups must be a list of group names; ", CALLER_BUG]) if {
	has_key(input, "groups")
	not list_of_strings(input.groups)
}

problems contains concat("", ["the request's project must be a project name or null; ", CALLER_BUG]) if {
	not no_project
	not project
}

problems contains concat("", ["the request names no dataset; ", CALLER_BUG]) if not is_string(input.dataset)

problems contains msg if {
	is_string(input.dataset)
	not data.campus.catalog[input.dataset]
	known := sort(object.keys(data.campus.catalog))
	msg := concat("", ["there is no dataset ", input.dataset, "; the catalog has: ", concat(", ", known)])
}

problems contains concat("", ["the request's columns must be a list of column names; ", CALLER_BUG]) if {
	not list_of_strings(input.columns)
}

problems contains msg if {
	some column in input.columns
	is_string(column)
	not dataset.columns[column]
	msg := concat("", [input.dataset, " has no column ", column, "; its columns are: ", concat(", ", dataset.column_order)])
}

problems contains concat("", ["the request's shape must be aggregates or rows; ", CALLER_BUG]) if {
	not input.shape in SHAPES
}

problems contains concat("", ["the request's action must be query or export; ", CALLER_BUG]) if {
	not input.action in ACTIONS
}

problems contains concat("", ["the request's sealed must be true or false; ", CALLER_BUG]) if {
	has_key(input, "sealed")
	not is_boolean(input.sealed)
}

problems contains concat("", ["the request carries no time (now, an RFC 3339 timestamp); ", CALLER_BUG]) if {
	not well_formed_now
}
