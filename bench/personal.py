"""How much personal data the loader catches, per kind, and how many ordinary columns it takes for it.

    .venv/bin/python bench/personal.py [--forms-per-kind N] [--clean-columns N]

Loads every form of `tests/personal_corpus.py` (names with titles, masked phones, e-mails
spelt "at", addresses, plates, ...; a 300-row file each, 100 people) through the real loader,
(a) as `campus datasets add --accept` does and (b) against an entry declaring the column a
dimension, and every column of its clean corpus (the demo data, Korean shop, menu, place and
brand names, numbers). Prints, per kind, the forms caught (refused or pseudonymised both ways,
a quasi-identifier flagged, nothing written into the proposal or a refusal) out of the forms,
the forms stored raw as proposed and as declared and those written; then the clean columns
taken for personal data (refused as a dimension, or a finding in the profile), and the time
all of it took. The same corpus is asserted in `tests/test_personal_corpus.py`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import personal_corpus as corpus  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--forms-per-kind", type=int, help="only the first N forms of each kind (default: all)")
    parser.add_argument("--clean-columns", type=int, help="only every k-th clean column, N in all (default: all)")
    parser.add_argument("--show", action="store_true", help="list each form's and each false positive's outcome")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="campus-bench-personal-") as folder:
        folder = Path(folder)
        outcomes = [corpus.judged(form, folder) for form in chosen_forms(args.forms_per_kind)]
        forms_seconds = time.perf_counter() - started
        columns = corpus.clean_columns(folder / "demo")
        if args.clean_columns:
            columns = columns[::max(1, len(columns) // args.clean_columns)][:args.clean_columns]
        clean = corpus.judged_clean_all(columns, folder)
    print_forms(outcomes, args.show)
    print_clean(clean, args.show)
    print(f"time: {forms_seconds:.1f} s for {len(outcomes)} forms, {time.perf_counter() - started - forms_seconds:.1f} s "
          f"for {len(clean)} clean columns (two loads of 300 rows each)")


def chosen_forms(per_kind: int | None) -> list[corpus.Form]:
    if per_kind is None:
        return corpus.FORMS
    taken: dict[str, int] = {}
    chosen = []
    for form in corpus.FORMS:
        if taken.get(form.kind, 0) < per_kind:
            taken[form.kind] = taken.get(form.kind, 0) + 1
            chosen.append(form)
    return chosen


def print_forms(outcomes: list[corpus.Outcome], show: bool) -> None:
    print(f"{'kind':<10} {'caught':>6} {'forms':>6} {'recall':>7} {'raw (a)':>8} {'raw (b)':>8} {'written':>8}")
    for kind, (caught, total) in corpus.recall(outcomes).items():
        of_kind = [o for o in outcomes if o.kind == kind]
        raw_a = sum(o.proposed not in (*corpus.CAUGHT, corpus.FLAGGED) for o in of_kind)
        raw_b = sum(o.declared not in corpus.CAUGHT for o in of_kind if kind != "quasi")
        written = sum(bool(o.written) for o in of_kind)
        print(f"{kind:<10} {caught:>6} {total:>6} {caught / total:>7.0%} {raw_a:>8} {raw_b:>8} {written:>8}")
    caught = sum(o.caught for o in outcomes)
    print(f"{'all':<10} {caught:>6} {len(outcomes):>6} {caught / len(outcomes):>7.0%}")
    if show:
        for o in outcomes:
            print(f"  {'ok ' if o.caught else 'NOT'} {o.kind:<9} {o.label:<46} (a) {o.proposed:<14} {o.role:<17} "
                  f"(b) {o.declared:<14} {'written in ' + ', '.join(o.written) if o.written else ''} {o.why}")


def print_clean(outcomes: list[corpus.Outcome], show: bool) -> None:
    wrong = [o for o in outcomes if corpus.false_positive(o)]
    refused = sum(o.declared == corpus.REFUSED for o in outcomes)
    crashed = sum(corpus.CRASHED in (o.proposed, o.declared) for o in outcomes)
    print(f"clean columns: {len(wrong)} of {len(outcomes)} taken for personal data "
          f"({len(wrong) / len(outcomes):.1%}; goal <= 1%): {refused} refused as a dimension, "
          f"{sum(bool(o.findings) for o in outcomes)} with a finding; {crashed} crashed the loader")
    if show:
        for o in wrong:
            print(f"  {o.label:<44} (b) {o.declared:<10} {o.findings}")


if __name__ == "__main__":
    main()
