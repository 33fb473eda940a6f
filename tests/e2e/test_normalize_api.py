"""GET and POST /normalize over real HTTP (uvicorn on loopback) against the real sample graph."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bios_kg.apps.api.app import create_app
from bios_kg.apps.api.normalize_routes import MAX_BATCH, NormalizeBatchOut
from bios_kg.apps.normalize.normalizer import MAX_NORMALIZE_LENGTH
from bios_kg.graph.settings import Neo4jSettings
from tests.support.http import served

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def normalize_api(sample_settings: Neo4jSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """The API over the sample graph, with a BIOS_HOME holding no calibration files (the defaults apply)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BIOS_HOME", str(tmp_path_factory.mktemp("home")))
        with served(create_app(sample_settings)) as url, httpx.Client(base_url=url, timeout=60) as client:
            yield client


CANDIDATE_KEYS = {"concept_id", "name", "score", "matched_term", "method", "semantic_types"}


def test_get_normalize(normalize_api: httpx.Client) -> None:
    response = normalize_api.get("/normalize", params={"q": "Heart attack", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"query", "candidates", "abstained", "methods", "truncated", "error"}
    assert body["truncated"] is False and body["error"] is None
    assert body["query"] == "Heart attack" and body["abstained"] is False
    first = body["candidates"][0]
    assert set(first) == CANDIDATE_KEYS
    assert (first["concept_id"], first["name"], first["method"], first["score"]) == (
        "HP:0001658", "Myocardial infarction", "exact", 1.0)
    assert 1 <= len(body["candidates"]) <= 3
    assert all(0 <= c["score"] <= 1 for c in body["candidates"])


def test_get_filters_are_repeatable(normalize_api: httpx.Client) -> None:
    body = normalize_api.get("/normalize", params=[("q", "癫痫"), ("k", "10"), ("source", "ICD10"),
                                                   ("source", "HPO")]).json()
    assert body["candidates"] and all(c["concept_id"].startswith("ICD10:") for c in body["candidates"])
    typed = normalize_api.get("/normalize", params={"q": "seizure", "semantic_type": "Finding", "lang": "en"}).json()
    assert all(any(t["name"] == "Finding" for t in c["semantic_types"]) for c in typed["candidates"])
    nothing = normalize_api.get("/normalize", params={"q": "xqzvkw"}).json()
    assert nothing["abstained"] is True and nothing["candidates"] == []


def test_post_normalize_keeps_the_order(normalize_api: httpx.Client) -> None:
    queries = ["seizure", "xqzvkw", "癫痫", "Heart attack"]
    response = normalize_api.post("/normalize", json={"queries": queries, "k": 2})
    assert response.status_code == 200
    results = NormalizeBatchOut.model_validate(response.json()).model_dump()["results"]  # the documented schema
    assert [r["query"] for r in results] == queries
    assert results[0]["candidates"][0]["concept_id"] == "HP:0001250"
    assert results[1]["abstained"] is True
    assert all(len(r["candidates"]) <= 2 for r in results)
    single = normalize_api.get("/normalize", params={"q": "癫痫", "k": 2}).json()
    assert results[2] == single
    full = normalize_api.post("/normalize", json={"queries": ["fever"] * MAX_BATCH, "k": 1})
    assert full.status_code == 200 and len(full.json()["results"]) == MAX_BATCH


def test_more_than_the_maximum_is_413(normalize_api: httpx.Client) -> None:
    response = normalize_api.post("/normalize", json={"queries": ["fever"] * (MAX_BATCH + 1)})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 413 and body["parameter"] == "queries" and str(MAX_BATCH) in body["detail"]


@pytest.mark.parametrize(("method", "request_args", "status", "parameter"), [
    ("GET", {"params": {}}, 422, "q"),
    ("GET", {"params": {"q": "   "}}, 422, "q"),
    ("GET", {"params": {"q": "x" * (MAX_NORMALIZE_LENGTH + 1)}}, 422, "q"),
    ("GET", {"params": {"q": "seizure", "k": 0}}, 422, "k"),
    ("GET", {"params": {"q": "seizure", "k": "many"}}, 422, "k"),
    ("GET", {"params": {"q": "seizure", "lang": "xx"}}, 400, "lang"),
    ("POST", {"json": {"queries": []}}, 422, "queries"),
    ("POST", {"json": {"queries": "seizure"}}, 422, "queries"),
    ("POST", {"json": {"k": 3}}, 422, "queries"),
    ("POST", {"json": {"queries": ["seizure"], "k": 101}}, 422, "k"),
    ("POST", {"json": {"queries": ["seizure"], "colour": "red"}}, 422, "colour"),
    ("POST", {"content": b"{not json", "headers": {"content-type": "application/json"}}, 422, None),
])
def test_malformed_requests_get_problem_documents(normalize_api: httpx.Client, method: str,
                                                  request_args: dict[str, Any], status: int,
                                                  parameter: str | None) -> None:
    response = normalize_api.request(method, "/normalize", **request_args)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    if parameter is not None:
        assert body["parameter"] == parameter


def test_bad_items_get_error_entries_and_the_others_results(normalize_api: httpx.Client) -> None:
    long_term = "Type 2 diabetes mellitus with " + ", ".join(["diabetic chronic kidney disease"] * 25)
    queries = ["seizure", "", 3, None, "x" * (MAX_NORMALIZE_LENGTH + 1), long_term, "癫痫"]
    response = normalize_api.post("/normalize", json={"queries": queries, "k": 2})
    assert response.status_code == 200, response.text
    results = NormalizeBatchOut.model_validate(response.json()).model_dump()["results"]
    assert len(results) == len(queries)
    assert results[0]["candidates"][0]["concept_id"] == "HP:0001250" and results[0]["error"] is None
    assert "empty" in results[1]["error"] and results[1]["candidates"] == []
    assert "expected a string" in results[2]["error"] and "expected a string" in results[3]["error"]
    assert str(MAX_NORMALIZE_LENGTH) in results[4]["error"]
    assert 200 < len(long_term) <= MAX_NORMALIZE_LENGTH and results[5]["error"] is None  # normalized, not refused
    assert results[6]["error"] is None and results[6]["candidates"]
    one = normalize_api.get("/normalize", params={"q": long_term})
    assert one.status_code == 200 and one.json()["error"] is None


def test_openapi_documents_normalize(normalize_api: httpx.Client) -> None:
    spec = normalize_api.get("/openapi.json").json()
    path = spec["paths"]["/normalize"]
    assert {"get", "post"} <= set(path)
    assert "413" in path["post"]["responses"]
    assert spec["components"]["schemas"]["NormalizeIn"]["examples"][0]["queries"] == ["heart attack", "癫痫"]
    names = [parameter["name"] for parameter in path["get"]["parameters"]]
    assert names == ["q", "k", "lang", "semantic_type", "source"]
