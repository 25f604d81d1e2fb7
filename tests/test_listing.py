"""A dataset loaded and granted is listed and described at once: no query has to touch it first."""

from __future__ import annotations

from campus.service.app import dataset_named, description, usable_datasets
from campus.service.auth import Identity
from test_ingest import CATEGORIES, GRANTS, added, root, served, write_csv  # noqa: F401 (fixtures)

ALICE = Identity("alice", ["researchers"])


def test_a_dataset_granted_is_listed_and_described_before_any_query(served, root, tmp_path):  # noqa: F811
    assert [d["name"] for d in usable_datasets(served, ALICE, None)] == ["shop_cards"]
    visits = [[f"S{i % 40:03d}", CATEGORIES[i % 4], f"2025-03-{1 + i % 28:02d}", str(i % 7)] for i in range(500)]
    added(root, "shop_visits", write_csv(tmp_path / "visits.csv", ["store_id", "업종", "일자", "visitors"], visits))
    grants = root / "policies" / "grants.yaml"
    grants.write_text(grants.read_text() + GRANTS[GRANTS.index("  - name"):].replace("shop_cards", "shop_visits")
                      .replace("researchers-shop-cards", "researchers-shop-visits"))

    listed = {d["name"]: d for d in usable_datasets(served, ALICE, None)}
    assert set(listed) == {"shop_cards", "shop_visits"} and listed["shop_visits"]["mode"] == "aggregates"
    dataset = dataset_named(served, "shop_visits")
    decision = served.policy.decide(user="alice", groups=["researchers"], dataset="shop_visits")
    columns = {c.name for c in description(dataset, decision)["columns"]}
    assert {"industry", "visitors"} <= columns
