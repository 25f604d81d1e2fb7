# METADATA
# title: Stricter terms follow the rows they cover
# description: |
#   The deciding grant opens the dataset (campus.combine) and sets the terms of the
#   request. Stricter terms set elsewhere still bind the rows they cover, whichever
#   grant decides and whichever project the request names (or none):
#     1. every other allow grant in force on the dataset that names the requester: by
#        user, by group, or as a project grant of a project the requester is a member of
#        (named in the request or not);
#     2. every `terms` entry on the dataset: agreements that bind whoever asks.
#   Each entry covers the rows its row filter (`rows` for terms) selects, every row when
#   it has none. The gateway applies, cell by cell, the strictest thresholds and masks
#   of the deciding grant and of every entry whose rows the cell holds. Entries never
#   open anything: columns, rows and the export rule are the deciding grant's.
package campus.binding

import rego.v1

import data.campus.applicable
import data.campus.combine
import data.campus.request

# Messages: concat, never sprintf (see campus.request).

# Every entry that binds this request, sorted by its source: {"source", "rows", "disclosure", "masks"}.
entries := sort_by_source([entry | some entry in binding])

binding contains entry(concat("", ["grant ", grant.name, " (", who, ")"]), grant.row_filter, grant) if {
	some grant in data.campus.grants
	grant.dataset == input.dataset
	grant.effect == "allow"
	grant.name != combine.deciding.grant.name
	applicable.in_force(grant)
	who := applicable.names_anywhere(grant)
}

binding contains entry(concat("", ["terms ", agreed.name, ": ", trim_right(agreed.purpose, ".")]), agreed.rows, agreed) if {
	some agreed in data.campus.terms
	agreed.dataset == input.dataset
}

entry(source, rows, terms) := {
	"source": source,
	"rows": rows,
	"disclosure": object.union(request.dataset.disclosure, terms.disclosure),
	"masks": terms.masks,
}

sort_by_source(list) := [item |
	some source in sort([e.source | some e in list])
	some item in list
	item.source == source
]
