"""The API served by uvicorn on a free loopback port, over the real sample graph."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from bios_kg.apps.api.app import create_app
from bios_kg.graph.runtime import free_port
from bios_kg.graph.settings import ApiSettings, BiosSettings, LlmSettings, Neo4jSettings


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """`app` served by uvicorn in a thread on a free loopback port, for as long as the block runs; yields its URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="bios-test-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def api_url(sample_settings: Neo4jSettings) -> Iterator[str]:
    # no API keys and no LLM, whatever the environment
    with served(create_app(BiosSettings(neo4j=sample_settings, api=ApiSettings(), llm=LlmSettings()))) as url:
        yield url


@pytest.fixture()
def api(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        yield client
