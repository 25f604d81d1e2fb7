"""Bad input: generated requests never make the service fail (no 5xx), and it stays up.

Schemathesis generates requests from the service's own OpenAPI spec, valid and invalid
(wrong types, missing fields, extra fields, odd strings), for every endpoint; then
Hypothesis strings SQL fragments together into queries the analyser must refuse or
answer, never crash on. Bounded examples and a fixed seed keep it quick and repeatable.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

pytest_plugins = ["service_fixtures"]

EXAMPLES = 30
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def alice(service):
    return service.token("alice")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_generated_requests_never_fail_the_service(service, alice):
    schema = schemathesis.openapi.from_url(service.url + "api/openapi.json")
    base, headers, failures, calls = service.url.rstrip("/"), {"Authorization": f"token {alice}"}, [], []
    with requests.Session() as session:
        for operation in (result.ok() for result in schema.get_all_operations()):
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @seed(20261123)
                @FUZZ
                @given(case=operation.as_strategy(generation_mode=mode))
                def call(case):
                    response = case.call(base_url=base, session=session, headers=headers, timeout=60)
                    calls.append((case.method, case.path, response.status_code))
                    if response.status_code >= 500:
                        failures.append((operation.label, mode, response.status_code, response.text[:300]))

                try:
                    call()
                except Unsatisfiable:  # no input to get wrong (GET /api/health in negative mode)
                    assert mode is GenerationMode.NEGATIVE
        assert session.get(base + "/api/health", timeout=10).json() == {"status": "ok"}
    assert failures == []
    assert {path for _, path, _ in calls} >= {"/api/sql", "/api/explain", "/api/datasets/{name}"}
    assert len({status for *_, status in calls}) >= 4  # answers, refusals and invalid requests all happened


FRAGMENTS = st.sampled_from([
    "SELECT", "district", "category", "amount", "card_id", "count(*)", "sum(amount)", "avg(amount)", "max(amount)",
    "FROM", "card_usage", "air_quality", "sales_by_location", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "1", "ALL",
    "'Jung-gu'", "=", "<", "AND", "OR", "NOT", "(", ")", ",", ";", "*", "/", "0", "NULL", "AS x", "UNION",
    "read_parquet('x')", "date_trunc('month', txn_date)", "hour", "LIMIT", "JOIN", "ON", "CASE WHEN", "THEN", "END",
    "--", "/*", "\x00", "'", '"', "\\", "ü", "🙂",
])


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_sql_made_of_fragments_is_answered_or_refused_never_crashes(service, alice):
    failures = []
    with service.client(alice) as http:

        @seed(20261123)
        @settings(FUZZ, max_examples=80)
        @given(words=st.lists(FRAGMENTS, min_size=1, max_size=14))
        def call(words):
            sql = " ".join(words)
            response = http.post("sql", json={"sql": sql})
            if response.status_code not in (200, 400, 403, 422, 504) or response.status_code >= 500:
                failures.append((sql, response.status_code, response.text[:300]))

        call()
        assert http.get("health").status_code == 200
    assert failures == []
