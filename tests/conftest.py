"""Shared fixtures: one real Neo4j for the test session, a clean graph per test, and the sample graph.

The session's Neo4j is BIOS_TEST_NEO4J_URI when set (.ci/run starts one), else a throw-away
instance started here on free ports: by the project's runner (Java 17 + Maven, the default and what CI uses),
or, with BIOS_TEST_NEO4J_BACKEND=testcontainers, in Docker by testcontainers' Neo4j module (the image
TESTCONTAINERS_NEO4J_IMAGE, default neo4j:5.26-community, with APOC; `pip install -e ".[docker-tests]"`).
Tests never touch NEO4J_URI: that may be someone's data.

The sample graph (real HPO, HPO annotations, ICD-10 and CMeKG from the installed data packages) is
read-only for tests and lives in a second instance, loaded once per session (a few minutes), or at
BIOS_TEST_SAMPLE_URI when set: a graph where `bios sample load` has run (it is loaded there if not).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bios_kg.graph.runtime import LocalNeo4j, ServerOptions, free_port
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.sample import load_sample

BACKENDS = ("runner", "testcontainers")


@contextmanager
def _neo4j(env: str, prefix: str) -> Iterator[str]:
    """The Bolt URI in `env`, else a throw-away instance for as long as the block runs."""
    uri = os.environ.get(env)
    if uri:
        yield uri
        return
    backend = os.environ.get("BIOS_TEST_NEO4J_BACKEND", "runner")
    if backend not in BACKENDS:
        raise pytest.UsageError(f"BIOS_TEST_NEO4J_BACKEND={backend!r}: expected one of {', '.join(BACKENDS)}")
    if backend == "testcontainers":
        with _docker_neo4j() as uri:
            yield uri
        return
    home = Path(tempfile.mkdtemp(prefix=prefix))
    instance = LocalNeo4j(home)
    status = instance.start(ServerOptions(bolt_port=free_port(), http=False, heap="1g", pagecache="512m"))
    assert status.uri
    try:
        yield status.uri
    finally:
        instance.stop()
        shutil.rmtree(home, ignore_errors=True)


@contextmanager
def _docker_neo4j() -> Iterator[str]:
    """Neo4j in a Docker container started by testcontainers, without authentication, with APOC core."""
    try:
        from testcontainers.neo4j import Neo4jContainer
    except ImportError as error:
        raise pytest.UsageError('BIOS_TEST_NEO4J_BACKEND=testcontainers needs `pip install -e ".[docker-tests]"` '
                                "and a running Docker engine") from error
    image = os.environ.get("TESTCONTAINERS_NEO4J_IMAGE", "neo4j:5.26-community")
    container = Neo4jContainer(image).with_env("NEO4J_AUTH", "none").with_env("NEO4J_PLUGINS", '["apoc"]')
    with container:
        yield container.get_connection_url()


@pytest.fixture(scope="session")
def neo4j_uri() -> Iterator[str]:
    with _neo4j("BIOS_TEST_NEO4J_URI", "bios-test-neo4j-") as uri:
        yield uri


@pytest.fixture(scope="session")
def sample_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Neo4jSettings]:
    """The real sample graph, loaded (or found loaded) once per session; tests only read it."""
    with _neo4j("BIOS_TEST_SAMPLE_URI", "bios-test-sample-") as uri:
        settings = Neo4jSettings(uri=uri, username=None, password=None, database="neo4j")
        with GraphStore.connect(settings) as graph_store:
            load_sample(graph_store, progress=False, rejects_dir=tmp_path_factory.mktemp("sample-rejects"))
        yield settings


@pytest.fixture(scope="session")
def sample_store(sample_settings: Neo4jSettings) -> Iterator[GraphStore]:
    with GraphStore.connect(sample_settings) as graph_store:
        yield graph_store


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
