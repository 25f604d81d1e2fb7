# METADATA
# title: Which grant decides
# description: |
#   The combination rule. Of the grants that apply to a request (campus.applicable):
#     1. a deny grant beats every allow grant;
#     2. otherwise the most specific grant decides: one naming the user beats a
#        project grant, which beats a group grant;
#     3. ties at the same level go to the strictest mode (aggregates before rows),
#        then to the grant name that sorts first.
#   Exactly one grant decides, and only its terms (columns, masks, row filter,
#   thresholds, export) apply: grants are never merged. No grant: implicit deny.
package campus.combine

import rego.v1

import data.campus.applicable

EFFECT_ORDER := {"deny": 0, "allow": 1}

LEVEL_ORDER := {"user": 0, "project": 1, "group": 2}

MODE_ORDER := {"aggregates": 0, "rows": 1}

# The deciding grant's entry from campus.applicable: {"grant", "level", "who"}.
deciding := entry if {
	first := min({rank(e) | some e in applicable.grants})
	some entry in applicable.grants
	rank(entry) == first
}

# Sorting by rank puts the grant that decides first.
rank(entry) := [
	EFFECT_ORDER[entry.grant.effect],
	LEVEL_ORDER[entry.level],
	object.get(MODE_ORDER, entry.grant.mode, 0),
	entry.grant.name,
]
