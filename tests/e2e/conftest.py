"""The API served by uvicorn on a free loopback port, over the real sample graph."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bios_kg.apps.api.app import create_app
from bios_kg.graph.settings import ApiSettings, BiosSettings, LlmSettings, Neo4jSettings
from tests.support.http import served


@pytest.fixture(scope="session")
def api_url(sample_settings: Neo4jSettings) -> Iterator[str]:
    # no API keys and no LLM, whatever the environment
    with served(create_app(BiosSettings(neo4j=sample_settings, api=ApiSettings(), llm=LlmSettings()))) as url:
        yield url


@pytest.fixture()
def api(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as client:
        yield client
