# METADATA
# title: The terms the gateway must apply
# description: |
#   What the deciding allow grant obliges the gateway to do: which columns are
#   visible, the masks and the row filter to apply, the disclosure thresholds
#   (the dataset's defaults from the catalog overlaid with the grant's tightening),
#   the row cap and the export rule; and the stricter terms binding the rows they
#   cover (campus.binding).
package campus.obligations

import rego.v1

import data.campus.binding
import data.campus.combine
import data.campus.request

grant := combine.deciding.grant

# The columns the grant names: its list, or every column of the dataset for `all`.
granted := {column | some column in grant.columns} if {
	is_array(grant.columns)
} else := object.keys(request.dataset.columns) if {
	grant.columns == "all"
}

# Identifier columns are never visible in aggregates mode, whatever the grant says. In
# rows mode the gateway shows them only as the project's pseudonyms (the grant names a
# project: campus/policy/grants.py).
default withheld := set()

withheld := {column | some column in request.dataset.roles.identifier} if grant.mode == "aggregates"

# The visible columns, in catalog order.
columns := [column |
	some column in request.dataset.column_order
	granted[column]
	not withheld[column]
]

disclosure := object.union(request.dataset.disclosure, grant.disclosure)

terms := {
	"mode": grant.mode,
	"columns": columns,
	"masks": grant.masks,
	"row_filter": grant.row_filter,
	"disclosure": disclosure,
	"row_cap": grant.row_cap,
	"export": grant.export,
	"protection": object.get(grant, "protection", "sdc"),
	"epsilon": object.get(grant, "epsilon", null),
	"delta": object.get(grant, "delta", null),
	"privacy": object.get(grant, "privacy", null),
	"binding": binding.entries,
}
