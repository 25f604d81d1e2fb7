# METADATA
# title: The access decision
# description: |
#   The one entrypoint the gateway queries (data.campus.decision.result). The first
#   step that applies decides:
#     1. a malformed request is refused (campus.request);
#     2. a request made in a project the user may not use is refused (campus.project);
#     3. no grant applies: refused, quoting grants that lapsed (implicit deny);
#     4. the deciding grant (campus.combine: deny beats allow, then user > project >
#        group, then aggregates before rows, then name) is a deny grant: refused;
#     5. the deciding allow grant refuses this request (campus.checks): refused;
#     6. otherwise allowed, with the grant's terms (campus.obligations).
#   Every decision carries reasons: sentences a researcher can act on, and that tell a
#   steward which grant decided. Anything else is a deny (the default).
# entrypoint: true
package campus.decision

import rego.v1

import data.campus.applicable
import data.campus.checks
import data.campus.combine
import data.campus.obligations
import data.campus.project
import data.campus.request

default result := {
	"allow": false,
	"reasons": ["the policy reached no decision, so the query was denied; tell the steward"],
	"grant": null,
}

result := refused(request.problems, null) if {
	count(request.problems) > 0
} else := refused(project.problems, null) if {
	count(project.problems) > 0
} else := refused(nothing_applies(applicable.lapsed, input, request.dataset), null) if {
	not combine.deciding
} else := refused([denied_by(combine.deciding, request.dataset)], combine.deciding.grant.name) if {
	combine.deciding.grant.effect == "deny"
} else := refused(checks.problems, combine.deciding.grant.name) if {
	count(checks.problems) > 0
} else := allowed(combine.deciding, obligations.terms, input) if {
	combine.deciding.grant.effect == "allow"
}

# The steps are small functions of their inputs (`asked` is the input document), so
# decision_test.rego can test each without `with`, which rego-cpp compiles slowly
# through a whole policy.
# Messages: concat, never sprintf (see campus.request).

# Reasons come sorted, so every engine gives them in the same order.
refused(reasons, grant) := {"allow": false, "reasons": sort([r | some r in reasons]), "grant": grant}

nothing_applies(lapsed, asked, dataset) := lapsed if {
	count(lapsed) > 0
} else := [concat("", [
	"no grant gives ", asked.user, " access to ", asked.dataset, "; ask the steward ", dataset.steward,
])]

denied_by(deciding, dataset) := concat("", [
	"denied by grant ", deciding.grant.name, " (", deciding.who, "): ", trim_right(deciding.grant.purpose, "."),
	"; ask the steward ", dataset.steward,
])

allowed(deciding, terms, asked) := object.union(terms, {
	"allow": true,
	"reasons": array.concat([allowed_by(deciding, asked)], export_note(deciding.grant, asked)),
	"grant": deciding.grant.name,
})

allowed_by(deciding, asked) := concat("", [
	"allowed by grant ", deciding.grant.name, " (", deciding.who, "): ", deciding.grant.mode, " on ", asked.dataset,
])

export_note(grant, asked) := ["the export waits for a steward's review"] if {
	asked.action == "export"
	grant.export == "review"
} else := ["the export is released once it passes the disclosure checks"] if {
	asked.action == "export"
	grant.export == "auto"
} else := []
