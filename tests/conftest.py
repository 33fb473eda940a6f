"""Shared fixtures: one real Neo4j for the test session, a clean graph per test.

The session's Neo4j is BIOS_TEST_NEO4J_URI when set (.ci/run starts one), else a throw-away
instance started here on free ports. Tests never touch NEO4J_URI: that may be someone's data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.runtime import LocalNeo4j, ServerOptions, free_port
from graph.settings import Neo4jSettings
from graph.store import GraphStore


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    uri = os.environ.get("BIOS_TEST_NEO4J_URI")
    if uri:
        yield uri
        return
    home = Path(tempfile.mkdtemp(prefix="bios-test-neo4j-"))
    instance = LocalNeo4j(home)
    status = instance.start(ServerOptions(bolt_port=free_port(), http=False, heap="1g", pagecache="512m"))
    assert status.uri
    try:
        yield status.uri
    finally:
        instance.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def neo4j_settings(neo4j_uri: str) -> Neo4jSettings:
    return Neo4jSettings(uri=neo4j_uri, username=None, password=None, database="neo4j")


@pytest.fixture()
def store(neo4j_settings: Neo4jSettings) -> Iterator[GraphStore]:
    """An empty graph with the schema applied."""
    with GraphStore.connect(neo4j_settings) as graph_store:
        graph_store.clear()
        graph_store.apply_schema()
        yield graph_store


@pytest.fixture()
def graph_env(monkeypatch: pytest.MonkeyPatch, neo4j_uri: str, store: GraphStore) -> GraphStore:
    """Point CLI commands run in-process at the test graph."""
    monkeypatch.setenv("NEO4J_URI", neo4j_uri)
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    return store
