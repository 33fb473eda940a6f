"""GET /queries and POST /queries/{name} over real HTTP against the sample graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bios_kg.apps.api.app import create_app
from bios_kg.graph.library import Library
from bios_kg.graph.settings import ApiSettings, Neo4jSettings
from tests.support.http import served

pytestmark = pytest.mark.integration


def test_the_library_is_listed_with_typed_parameters(api: httpx.Client) -> None:
    queries = {query["name"]: query for query in api.get("/queries").json()}
    assert set(queries) == set(Library().queries) and len(queries) >= 15
    ancestors = queries["ancestors"]
    assert ancestors["params"] == [
        {"name": "id", "type": "curie", "required": True, "default": None, "min": None, "max": None,
         "description": "the concept, e.g. HP:0001250"},
        {"name": "max_depth", "type": "int", "required": False, "default": 30, "min": 1, "max": 30,
         "description": "the most IS_A steps to climb"}]
    assert ancestors["example"] == {"id": "HP:0001250", "max_depth": 30}
    detail = api.get("/queries/ancestors").json()
    assert detail["cypher"].startswith("MATCH (c:Concept {id: $id})")


def test_a_query_runs_with_validated_parameters(api: httpx.Client) -> None:
    page = api.post("/queries/ancestors", json={"params": {"id": "hp:0001250", "max_depth": 2}}).json()
    assert page["params"] == {"id": "HP:0001250", "max_depth": 2}
    assert [row["id"] for row in page["rows"]] == ["HP:0012638", "HP:0000707"]
    assert page["columns"] == ["id", "name", "depth", "sources"] and page["has_more"] is False
    defaults = api.post("/queries/sources", json={}).json()
    assert {row["id"] for row in defaults["rows"]} == {"HPO", "HPOA", "ICD10", "CMEKG"}


def test_results_are_paged(api: httpx.Client) -> None:
    body: dict[str, Any] = {"params": {"id": "HP:0001250", "max_depth": 1}, "limit": 5}
    first = api.post("/queries/descendants", json=body).json()
    assert (len(first["rows"]), first["has_more"], first["next_offset"]) == (5, True, 5)
    rest = api.post("/queries/descendants", json={**body, "offset": first["next_offset"], "limit": 100}).json()
    assert (len(rest["rows"]), rest["has_more"], rest["next_offset"]) == (7, False, None)
    assert not {row["id"] for row in first["rows"]} & {row["id"] for row in rest["rows"]}


@pytest.mark.parametrize(("path", "body", "status", "parameter"), [
    ("/queries/nope", {}, 404, None),
    ("/queries/NOPE;DROP", {}, 422, "name"),
    ("/queries/ancestors", {"params": {}}, 422, "id"),
    ("/queries/ancestors", {"params": {"id": "HP:0001250", "max_depth": 99}}, 422, "max_depth"),
    ("/queries/ancestors", {"params": {"id": "HP:0001250", "max_depth": "2"}}, 422, "max_depth"),
    ("/queries/ancestors", {"params": {"id": "not a curie"}}, 422, "id"),
    ("/queries/ancestors", {"params": {"id": "HP:0001250", "depth": 2}}, 422, "depth"),
    ("/queries/concepts-missing-language", {"params": {"lang": "xx"}}, 422, "lang"),
    ("/queries/shortest-path", {"params": {"from": "HP:1", "to": "HP:2", "types": "IS_A"}}, 422, "types"),
    ("/queries/ancestors", {"params": {"id": "HP:0001250"}, "limit": 1001}, 422, "limit"),
    ("/queries/ancestors", {"params": {"id": "HP:0001250"}, "offset": -1}, 422, "offset"),
    ("/queries/ancestors", {"cypher": "MATCH (n) DETACH DELETE n"}, 422, "cypher"),  # no arbitrary Cypher
])
def test_bad_runs_are_problems_naming_the_parameter(api: httpx.Client, path: str, body: dict[str, Any], status: int,
                                                    parameter: str | None) -> None:
    response = api.post(path, json=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json().get("parameter") == parameter and response.json()["detail"]


def test_a_query_that_writes_is_refused(sample_settings: Neo4jSettings, tmp_path: Path) -> None:
    (tmp_path / "wipe.cypher").write_text("// name: wipe\n// description: Deletes everything.\n"
                                          "MATCH (n) DETACH DELETE n\n")
    app = create_app(sample_settings, ApiSettings())
    app.state.library = Library(tmp_path)
    with served(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        refused = client.post("/queries/wipe", json={})
        assert refused.status_code == 403 and "not read-only" in refused.json()["detail"]
        assert client.get("/health").json()["concepts"] == 159834
