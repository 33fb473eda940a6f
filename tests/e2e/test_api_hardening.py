"""API hardening over real HTTP: problems for every error, pagination, limits, API keys, CORS, request log."""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict

from bios_kg.apps.api.app import create_app
from bios_kg.apps.api.extract_worker import WORKER_NICE, ExtractionWorker
from bios_kg.apps.api.limits import Deadline, stopping
from bios_kg.apps.api.resources import _LOCKS
from bios_kg.apps.api.security import require_api_key
from bios_kg.graph.errors import QueryTimeoutError
from bios_kg.graph.runtime import free_port
from bios_kg.graph.settings import ApiSettings, LlmSettings, Neo4jSettings
from bios_kg.graph.store import GraphStore
from tests.support.http import served

pytestmark = pytest.mark.integration

LONG_NOTE = "Small left pleural effusion. Mild cardiomegaly with pulmonary edema. No pneumothorax. " * 230  # ~20k

# POST endpoints that only read (their body carries parameters); every other non-GET route must take an API key.
READ_ONLY_POSTS = {"/normalize", "/queries/{name}"}


class Payload(BaseModel):
    model_config = ConfigDict(strict=True)

    n: int


@pytest.fixture(scope="module")
def guarded(sample_settings: Neo4jSettings) -> Iterator[httpx.Client]:
    """An app with API keys, CORS for one origin, a small body limit, and a write route only tests have."""
    app = create_app(sample_settings, ApiSettings(api_keys=frozenset({"key-1", "key-2"}),
                                                  cors_origins=("https://curators.example",), max_body_bytes=2048,
                                                  body_timeout_s=1.0))

    @app.post("/test-writes", dependencies=[Depends(require_api_key)])
    def write() -> dict[str, bool]:
        return {"written": True}

    @app.post("/test-writes-body", dependencies=[Depends(require_api_key)])
    def write_body(body: Payload) -> dict[str, int]:
        return {"written": body.n}

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
    assert assert_problem(wrong, 405)["detail"] == "DELETE is not allowed on /health; allowed: GET"
    assert wrong.headers["allow"] == "GET"
    assert assert_problem(api.options("/normalize"), 405).get("detail") and \
        api.options("/normalize").headers["allow"] == "GET, POST"
    assert_problem(api.post("/normalize", content=b"{not json", headers={"content-type": "application/json"}), 422)


def test_writes_need_an_api_key(guarded: httpx.Client) -> None:
    missing = guarded.post("/test-writes")
    assert "X-API-Key" in assert_problem(missing, 401)["detail"]
    assert missing.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'
    assert_problem(guarded.post("/test-writes", headers={"X-API-Key": "key-3"}), 403)
    assert guarded.post("/test-writes", headers={"X-API-Key": "key-2"}).json() == {"written": True}


def test_the_key_is_checked_before_the_body_is_read(guarded: httpx.Client) -> None:
    json_type = {"content-type": "application/json"}
    assert_problem(guarded.post("/test-writes-body", content=b"{not json", headers=json_type), 401)
    assert_problem(guarded.post("/test-writes-body", content=b"{not json", headers={**json_type, "X-API-Key": "key-3"}),
                   403)
    assert_problem(guarded.post("/test-writes-body", json={"n": "5"}, headers={"X-API-Key": "key-1"}), 422)
    assert guarded.post("/test-writes-body", json={"n": 5}, headers={"X-API-Key": "key-1"}).json() == {"written": 5}


def test_writes_are_refused_when_no_key_is_configured(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, ApiSettings())
    app.post("/test-writes", dependencies=[Depends(require_api_key)])(lambda: {"written": True})
    with served(app) as url:
        refused = httpx.post(f"{url}/test-writes", headers={"X-API-Key": "anything"})
    assert "BIOS_API_KEYS" in assert_problem(refused, 403)["detail"]


def test_every_write_route_requires_a_key(sample_settings: Neo4jSettings) -> None:
    app: FastAPI = create_app(sample_settings, ApiSettings())
    for route in app.routes:
        if not isinstance(route, APIRoute):
            continue
        if (route.methods or set()) - {"GET", "HEAD"} and route.path not in READ_ONLY_POSTS:
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


def test_a_body_shorter_than_its_length_is_not_waited_on(guarded: httpx.Client) -> None:
    address = urlsplit(str(guarded.base_url))
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(b"POST /normalize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                           b"Content-Length: 100\r\n\r\n{\"queries\": ")
        started = time.monotonic()
        answer = b""
        while b"}" not in answer:  # the problem document's end
            answer += connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408") and b"did not arrive within 1 s" in answer
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(("path", "body", "parameter"), [
    ("/extract", {"notes": [{"id": "n1", "text": "No effusion."}], "link": 0}, "link"),
    ("/queries/ancestors", {"params": {"id": "HP:0001250"}, "limit": "5"}, "limit"),
    ("/normalize", {"queries": ["seizure"], "k": "5"}, "k"),
])
def test_types_are_strict(api: httpx.Client, path: str, body: dict[str, Any], parameter: str) -> None:
    assert assert_problem(api.post(path, json=body), 422)["parameter"] == parameter


@pytest.mark.parametrize(("path", "params", "parameter"), [
    ("/concepts/not a curie", {}, "concept_id"),
    ("/search", {"q": "\x1f"}, "q"),  # str.strip() strips it: the schema says so too
    ("/normalize", {"q": " \x1c "}, "q"),
    ("/search", {"q": "seizure", "lang": "EN"}, "lang"),
    ("/paths", {"from": "HP:0001250", "to": "HP 1"}, "to"),
])
def test_schema_constraints_are_the_servers(api: httpx.Client, path: str, params: dict[str, Any],
                                             parameter: str) -> None:
    assert assert_problem(api.get(path, params=params), 422)["parameter"] == parameter
    spec = api.get("/openapi.json").json()
    assert "400" in spec["paths"]["/search"]["get"]["responses"]  # a well-formed but unknown language


def test_no_filesystem_path_in_problems(api: httpx.Client) -> None:
    detail = assert_problem(api.get("/queries/no-such-query"), 404)["detail"]
    assert "no-such-query" in detail and "cypher" not in detail and "/" not in detail.replace("GET /queries", "")


def test_work_budgets_are_413(api: httpx.Client) -> None:
    notes = [{"id": f"n{i}", "text": "No pleural effusion. " * 950} for i in range(6)]  # 6 x 19,950 characters
    assert "characters in all" in assert_problem(api.post("/extract", json={"notes": notes}), 413)["detail"]
    batch = {"queries": [f"term {i}" for i in range(1000)], "k": 100}
    assert assert_problem(api.post("/normalize", json=batch), 413)["parameter"] == "queries"


def test_work_past_the_deadline_is_504(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, ApiSettings(request_timeout_s=0.01))
    notes = [{"id": f"n{i}", "text": "Small left pleural effusion. Mild cardiomegaly. " * 40} for i in range(3)]
    with served(app) as url:
        answer = httpx.post(f"{url}/extract", json={"notes": notes}, timeout=60)
    assert "stopped before notes[1]" in assert_problem(answer, 504)["detail"]


def test_an_unconfigured_resource_answers_while_another_loads(api: httpx.Client) -> None:
    with _LOCKS["extractor"]:  # as while the extractor's dictionary is being built
        started = time.monotonic()
        assert_problem(api.post("/retrieve", json={"queries": ["cardiomegaly"]}), 503)
        assert time.monotonic() - started < 2


def test_preload_opens_the_extractor_at_start_up(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, preload=True)
    with served(app):
        assert app.state.extractor.name == "offline"


def test_shutdown_finishes_with_a_request_in_flight(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, ApiSettings(request_timeout_s=600))

    @app.get("/test-slow")
    def slow(request: Request) -> dict[str, bool]:
        deadline = Deadline.of(request)
        while True:  # work in steps, as the extractor does
            deadline.check("the next step")
            time.sleep(0.05)

    server, thread, url = served_app(app, shutdown_s=1)
    stop_with_request_in_flight(server, thread, lambda: httpx.get(f"{url}/test-slow", timeout=60))


def served_app(app: FastAPI, shutdown_s: int = 10) -> tuple[uvicorn.Server, threading.Thread, str]:
    """`app` in uvicorn in a thread, with a short graceful shutdown; the caller stops it."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=shutdown_s))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def stop_with_request_in_flight(server: uvicorn.Server, thread: threading.Thread,
                                send: Callable[[], httpx.Response]) -> None:
    """Send a request from another thread, stop the server half a second later: it must be gone within 10 s."""
    threading.Thread(target=send, daemon=True).start()
    time.sleep(0.5)
    started = time.monotonic()
    server.should_exit = True
    thread.join(timeout=15)
    assert not thread.is_alive() and time.monotonic() - started < 10


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"


def test_extraction_runs_in_a_worker_process_at_lower_priority(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, preload=True)
    with served(app) as url:
        worker = app.state.extractor
        assert worker.pid not in (None, os.getpid())
        assert os.getpriority(os.PRIO_PROCESS, worker.pid) == min(os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICE, 19)
        answer = httpx.post(f"{url}/extract", json={"notes": [{"id": "a", "text": "No pleural effusion."}]}, timeout=60)
        assert [e["phrase"] for e in answer.json()["results"][0]["entities"]] == ["pleural effusion"]
        pid = worker.pid
    assert not alive(pid)  # the worker stops with the server


def test_extractions_beyond_the_slots_are_503_with_retry_after(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, preload=True)
    with served(app) as url:
        worker = app.state.extractor
        for _ in range(worker.slots):  # as while that many extractions are in flight
            worker._admitted.acquire()
        try:
            busy = httpx.post(f"{url}/extract", json={"notes": [{"id": "a", "text": "Fever."}]}, timeout=30)
        finally:
            for _ in range(worker.slots):
                worker._admitted.release()
        assert f"{worker.slots} extraction requests are already in flight" in assert_problem(busy, 503)["detail"]
        assert busy.headers["retry-after"] == "5"
        assert httpx.post(f"{url}/extract", json={"notes": [{"id": "a", "text": "Fever."}]}, timeout=30).is_success
        documented = httpx.get(f"{url}/openapi.json").json()["paths"]["/extract"]["post"]["responses"]["503"]
        assert "Retry-After" in documented["headers"]


def test_an_extraction_past_its_deadline_is_504_and_the_worker_goes_on(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, ApiSettings(request_timeout_s=0.3))
    notes = [{"id": f"n{i}", "text": LONG_NOTE} for i in range(5)]
    with served(app) as url:
        app.state.extractor = ExtractionWorker(sample_settings, LlmSettings(), grace_s=60)
        pid = app.state.extractor.pid
        late = httpx.post(f"{url}/extract", json={"notes": notes, "link": False}, timeout=60)
        assert "stopped before notes[" in assert_problem(late, 504)["detail"]
        assert app.state.extractor.pid == pid  # it stopped between notes by itself
        assert httpx.post(f"{url}/extract", json={"notes": [{"id": "a", "text": "Fever."}]}, timeout=30).is_success


def test_a_worker_that_overruns_the_deadline_is_replaced(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, ApiSettings(request_timeout_s=0.1))
    with served(app) as url:
        worker = app.state.extractor = ExtractionWorker(sample_settings, LlmSettings(), grace_s=0)
        first = worker.pid
        assert first is not None
        late = httpx.post(f"{url}/extract", json={"notes": [{"id": "a", "text": LONG_NOTE}], "link": False},
                          timeout=60)
        assert "stopped before the rest of the notes" in assert_problem(late, 504)["detail"]
        assert worker.pid is None and not alive(first)  # killed in the middle of the note
        extractions = worker.extract(["No pleural effusion."], Deadline(60, stopping(app)))
        assert [e.phrase for e in extractions[0].entities] == ["pleural effusion"]
        assert worker.pid not in (None, first)


def test_shutdown_finishes_with_an_extraction_in_flight(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, ApiSettings(request_timeout_s=600), preload=True)
    server, thread, url = served_app(app, shutdown_s=1)
    pid = app.state.extractor.pid
    notes = [{"id": f"n{i}", "text": LONG_NOTE} for i in range(5)]
    stop_with_request_in_flight(server, thread, lambda: httpx.post(f"{url}/extract", json={"notes": notes},
                                                                   timeout=60))
    assert not alive(pid)


def test_a_normalize_batch_past_its_deadline_is_504(sample_settings: Neo4jSettings) -> None:
    app = create_app(sample_settings, ApiSettings(request_timeout_s=0.01), vector=False)
    queries = [f"pleural effusion {i}" for i in range(1000)]
    with served(app) as url:
        answer = httpx.post(f"{url}/normalize", json={"queries": queries, "k": 5}, timeout=60)
    assert "stopped before queries[256]" in assert_problem(answer, 504)["detail"]


CARTESIAN = "MATCH (a:Concept), (b:Concept) WHERE a.id + b.id = '' RETURN count(*) AS n"  # reads for hours


@pytest.mark.parametrize("read", [lambda store: store.run(CARTESIAN), lambda store: store.scalar(CARTESIAN),
                                  lambda store: list(store.stream(CARTESIAN))], ids=["run", "scalar", "stream"])
def test_every_graph_statement_of_the_api_has_a_timeout(sample_settings: Neo4jSettings, read: Any) -> None:
    app = create_app(sample_settings, ApiSettings(query_timeout_s=0.5), vector=False)
    with served(app):
        store: GraphStore = app.state.store
        started = time.monotonic()
        with pytest.raises(QueryTimeoutError, match="longer than 0.5 s"):
            read(store)
        assert time.monotonic() - started < 10
