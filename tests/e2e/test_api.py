"""The HTTP API over real HTTP (uvicorn on loopback) against the real sample graph."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration


def test_health_and_sources(api: httpx.Client) -> None:
    health = api.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["concepts"] == 159834
    sources = {source["id"]: source for source in api.get("/sources").json()}
    assert set(sources) == {"HPO", "HPOA", "ICD10", "CMEKG"}
    assert sources["ICD10"]["counts"]["TermRecord"] == 119233 and sources["ICD10"]["status"] == "loaded"
    assert sources["HPO"]["licence"].startswith("HPO licence")


def test_search_in_any_language(api: httpx.Client) -> None:
    chinese = api.get("/search", params={"q": "癫痫", "limit": 5}).json()
    assert {"ICD10:G40", "CMEKG:癫痫"} <= {hit["id"] for hit in chinese["hits"]}
    english = api.get("/search", params={"q": "seizure", "lang": "en", "limit": 3}).json()
    first = english["hits"][0]
    assert (first["id"], first["method"], first["score"], first["types"][0]["name"]) == (
        "HP:0001250", "exact", 1.0, "Finding")
    assert len(english["hits"]) == 3
    operators = api.get("/search", params={"q": "AND"})  # a Lucene operator word is searched as a word
    assert operators.status_code == 200


def test_concept_card(api: httpx.Client) -> None:
    card = api.get("/concepts/HP:0001250").json()
    assert card["names"] == {"en": "Seizure"}
    assert {"text": "Epileptic seizure", "lang": "en", "tty": "SY", "sources": ["HPO"]} in card["terms"]
    assert "UMLS:C0036572" in card["xrefs"] and card["definitions"][0].startswith("A seizure is")
    assert card["types"] == [{"id": "UMLS_STY:T033", "name": "Finding", "name_zh": "发现"}]
    relations = {(group["direction"], group["type"]): group for group in card["relations"]}
    assert relations[("out", "IS_A")]["concepts"][0]["id"] == "HP:0012638"
    assert relations[("in", "HAS_PHENOTYPE")]["total"] > 1000
    icd = api.get("/concepts/ICD10:G40", params={"relations_per_type": 2}).json()
    assert icd["names"]["zh"] == "癫癎[癫痫]" and icd["names"]["en"] == "Epilepsy"
    assert {"CMEKG:癫痫病"} == {concept["id"] for concept in icd["joined"]}
    assert all(len(group["concepts"]) <= 2 for group in icd["relations"])
    assert api.get("/concepts/icd-10:G40").json()["id"] == "ICD10:G40"  # prefix spellings are folded
    assert api.get("/concepts/CMEKG:0.1mol/L盐酸").json()["names"]["zh"] == "0.1mol/L盐酸"  # ids with a slash


def test_retired_ids_redirect(api: httpx.Client) -> None:
    card = api.get("/concepts/HP:0001275").json()
    assert (card["id"], card["redirected_from"]) == ("HP:0001250", "HP:0001275")


@pytest.mark.parametrize(("path", "params", "status", "parameter"), [
    ("/concepts/HP:9999999", {}, 404, None),
    ("/concepts/not-a-curie", {}, 422, "concept_id"),
    ("/concepts/HP:0001250", {"relations_per_type": -1}, 422, "relations_per_type"),
    ("/search", {}, 422, "q"),
    ("/search", {"q": ""}, 422, "q"),
    ("/search", {"q": "x" * 201}, 422, "q"),
    ("/search", {"q": "seizure", "lang": "xx"}, 400, "lang"),
    ("/search", {"q": "seizure", "limit": 0}, 422, "limit"),
    ("/search", {"q": "seizure", "limit": "many"}, 422, "limit"),    ("/neighbourhood/HP:9999999", {}, 404, None),
    ("/neighbourhood/not-a-curie", {}, 422, "concept_id"),
    ("/neighbourhood/HP:0001250", {"limit": 0}, 422, "limit"),
    ("/neighbourhood/HP:0001250", {"limit": 201}, 422, "limit"),
    ("/paths", {"to": "HP:0001250"}, 422, "from"),
    ("/paths", {"from": "HP:0001250", "to": "seizure"}, 422, "to"),
    ("/paths", {"from": "HP:0001250", "to": "HP:9999999"}, 404, None),
    ("/paths", {"from": "HP:0001250", "to": "HP:0012638", "max_length": 9}, 422, "max_length"),
    ("/paths", {"from": "HP:0001250", "to": "HP:0012638", "max_length": 0}, 422, "max_length"),
    ("/paths", {"from": "HP:" + "1" * 300, "to": "HP:0012638"}, 422, "from"),
])
def test_bad_requests_get_problem_documents(api: httpx.Client, path: str, params: dict[str, Any], status: int,
                                            parameter: str | None) -> None:
    response = api.get(path, params=params)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    assert body.get("parameter") == parameter


def test_openapi_documents_every_endpoint(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/health", "/sources", "/search", "/concepts/{concept_id}"} <= set(paths)
    assert paths["/search"]["get"]["parameters"][0]["schema"]["examples"] == ["seizure", "癫痫"]
