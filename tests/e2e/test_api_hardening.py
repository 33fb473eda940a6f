"""API hardening over real HTTP: problems for every error, pagination, limits, API keys, CORS, request log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from apps.api.app import create_app
from apps.api.security import require_api_key
from apps.api.settings import ApiSettings
from graph.settings import Neo4jSettings
from tests.e2e.conftest import served

pytestmark = pytest.mark.integration

# POST endpoints that only read (their body carries parameters); every other non-GET route must take an API key.
READ_ONLY_POSTS = {"/normalize", "/queries/{name}"}


@pytest.fixture(scope="module")
def guarded(sample_settings: Neo4jSettings) -> Iterator[httpx.Client]:
    """An app with API keys, CORS for one origin, a small body limit, and a write route only tests have."""
    app = create_app(sample_settings, ApiSettings(api_keys=frozenset({"key-1", "key-2"}),
                                                  cors_origins=("https://curators.example",), max_body_bytes=2048))

    @app.post("/test-writes", dependencies=[Depends(require_api_key)])
    def write() -> dict[str, bool]:
        return {"written": True}

    with served(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


def test_unknown_routes_and_methods_are_problems(api: httpx.Client) -> None:
    assert "/nothing-here" in assert_problem(api.get("/nothing-here"), 404)["detail"]
    wrong = api.delete("/health")
    assert assert_problem(wrong, 405)["detail"] == "DELETE is not allowed on /health"
    assert wrong.headers["allow"] == "GET"
    assert_problem(api.post("/normalize", content=b"{not json", headers={"content-type": "application/json"}), 422)


def test_writes_need_an_api_key(guarded: httpx.Client) -> None:
    missing = guarded.post("/test-writes")
    assert "X-API-Key" in assert_problem(missing, 401)["detail"]
    assert missing.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'
    assert_problem(guarded.post("/test-writes", headers={"X-API-Key": "key-3"}), 403)
    assert guarded.post("/test-writes", headers={"X-API-Key": "key-2"}).json() == {"written": True}


def test_writes_are_refused_when_no_key_is_configured(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, ApiSettings())
    app.post("/test-writes", dependencies=[Depends(require_api_key)])(lambda: {"written": True})
    with served(app) as url:
        refused = httpx.post(f"{url}/test-writes", headers={"X-API-Key": "anything"})
    assert "BIOS_API_KEYS" in assert_problem(refused, 403)["detail"]


def test_every_write_route_requires_a_key(sample_settings: Neo4jSettings) -> None:
    app: FastAPI = create_app(sample_settings, ApiSettings())
    for route in app.routes:
        if isinstance(route, APIRoute) and route.methods - {"GET", "HEAD"} and route.path not in READ_ONLY_POSTS:
            assert any(dep.call is require_api_key for dep in route.dependant.dependencies), route.path


def test_cors_is_off_by_default_and_follows_the_setting(api: httpx.Client, guarded: httpx.Client) -> None:
    preflight = {"Origin": "https://curators.example", "Access-Control-Request-Method": "POST"}
    assert "access-control-allow-origin" not in api.get("/health", headers={"Origin": "https://x.example"}).headers
    assert api.options("/queries/ancestors", headers=preflight).status_code == 405
    allowed = guarded.options("/queries/ancestors", headers=preflight)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://curators.example"
    other = guarded.get("/health", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in other.headers


def test_request_bodies_are_limited(guarded: httpx.Client) -> None:
    big = {"queries": ["seizure"] * 400}
    assert "2048 bytes" in assert_problem(guarded.post("/normalize", json=big), 413)["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield json.dumps(big).encode()

    assert_problem(guarded.post("/normalize", content=chunks(), headers={"content-type": "application/json"}), 413)
    assert guarded.post("/normalize", json={"queries": ["seizure"]}).status_code == 200


@pytest.mark.parametrize(("path", "params", "parameter"), [
    ("/search", {"q": "seizure", "offset": 401}, "offset"),
    ("/search", {"q": "seizure", "lang": "x" * 9}, "lang"),
    ("/sources", {"limit": 101}, "limit"),
    ("/normalize", {"q": "seizure", "source": ["HPO"] * 51}, "source"),
    ("/concepts/HP:" + "1" * 300, {}, "concept_id"),
])
def test_inputs_are_limited(api: httpx.Client, path: str, params: dict[str, Any], parameter: str) -> None:
    assert assert_problem(api.get(path, params=params), 422)["parameter"] == parameter


def test_search_and_sources_are_paged(api: httpx.Client) -> None:
    first = api.get("/search", params={"q": "seizure", "lang": "en", "limit": 3}).json()
    second = api.get("/search", params={"q": "seizure", "lang": "en", "limit": 3, "offset": 3}).json()
    assert first["has_more"] and (first["offset"], second["offset"]) == (0, 3)
    assert len(second["hits"]) == 3 and not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    page = api.get("/sources", params={"limit": 2, "offset": 1})
    assert [s["id"] for s in page.json()] == ["HPO", "HPOA"] and page.headers["x-total-count"] == "4"


def test_each_request_is_logged_as_one_structured_line(api: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="bios.api.access")
    api.get("/search", params={"q": "private patient text"})
    api.get("/concepts/HP:9999999")
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "bios.api.access"]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/search", 200), ("GET", "/concepts/HP:9999999", 404)]
    assert all(line["ms"] >= 0 for line in lines) and "private" not in caplog.text


def test_openapi_has_examples_and_problems_everywhere(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    for name, schema in spec["components"]["schemas"].items():
        properties = schema.get("properties", {}).values()
        assert "examples" in schema or all("examples" in p for p in properties), f"{name} has no example"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary") and operation.get("description"), f"{method} {path}"
            errors = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
            assert "422" in errors and all("application/problem+json" in r["content"] for r in errors.values())
    run = spec["paths"]["/queries/{name}"]["post"]["requestBody"]["content"]["application/json"]
    assert run["examples"]["ancestors"]["value"]["params"] == {"id": "HP:0001250", "max_depth": 30}
