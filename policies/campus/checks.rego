# METADATA
# title: What the deciding allow grant refuses
# description: |
#   Given the allow grant that decides (campus.combine), a request is refused when:
#     - it asks for rows but the grant gives only aggregates;
#     - the grant gives aggregates and the query reads an identifier column (never
#       shown, grouped by or filtered on in aggregates mode, whatever the grant says);
#     - it reads a column the grant does not show;
#     - it is an export and the grant says export: never;
#     - the grant gives rows of a dataset with identifiers (rows of people) and the
#       session is not known to be sealed: whatever the query's shape, nothing of those
#       rows is answered outside a sealed session.
#   Each problem is a sentence that says what to do instead.
package campus.checks

import rego.v1

import data.campus.combine
import data.campus.obligations
import data.campus.request

# Messages: concat, never sprintf (see campus.request).

grant := combine.deciding.grant

problems contains msg if {
	grant.mode == "aggregates"
	input.shape == "rows"
	msg := concat("", [
		input.dataset,
		" is available to you only as aggregates: add GROUP BY and aggregate functions (count, sum, avg)",
	])
}

problems contains msg if {
	some column in input.columns
	obligations.withheld[column]
	msg := concat("", ["column ", column, " is an identifier; ", group_by_instead])
}

problems contains msg if {
	some column in input.columns
	not obligations.withheld[column]
	not obligations.granted[column]
	msg := concat("", [
		"column ", column, " of ", input.dataset, " is not granted to you (grant ", grant.name,
		" shows ", concat(", ", obligations.columns), "); ask the steward ", request.dataset.steward,
	])
}

problems contains msg if {
	input.action == "export"
	grant.export == "never"
	msg := concat("", [
		"grant ", grant.name, " does not allow exports from ", input.dataset,
		": results stay on the campus; ask the steward ", request.dataset.steward, " if you need one",
	])
}

problems contains msg if {
	grant.mode == "rows"
	not free_of_identifiers
	not request.sealed
	msg := concat("", [
		"grant ", grant.name, " gives rows of ", input.dataset, ", which carry identifiers, to sealed sessions only, ",
		"and this campus does not run them: the campus admins must run sealed sessions (CAMPUS_HUB_SPAWNER=sandbox); ",
		"until then, work outside the project, where aggregates may be granted to you",
	])
}

# Only a dataset known to have no identifier column is free of them (negation: a catalog
# entry without roles counts as identifying).
free_of_identifiers if count(request.dataset.roles.identifier) == 0

group_by_instead := concat("", ["group by one of its dimensions instead: ", concat(", ", dimensions)]) if {
	count(dimensions) > 0
} else := "group by a dimension column instead"

dimensions := [column |
	some column in request.dataset.roles.dimension
	obligations.granted[column]
]
