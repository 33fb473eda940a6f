"""The local runner: start, status, refusal on a taken port, persistence, stop, Browser, indexes."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from neo4j import GraphDatabase

from bios_kg.graph.errors import RuntimeStateError
from bios_kg.graph.runtime import LocalNeo4j, ServerOptions, free_port
from bios_kg.graph.store import GraphStore

pytestmark = pytest.mark.integration


def test_start_status_persist_refuse_and_stop(tmp_path: Path) -> None:
    instance = LocalNeo4j(tmp_path / "instance")
    options = ServerOptions(bolt_port=free_port(), http_port=free_port(), heap="512m", pagecache="128m")
    status = instance.start(options)
    try:
        assert status.running and status.uri == f"bolt://127.0.0.1:{options.bolt_port}"
        assert instance.status().running
        assert status.uri is not None
        with GraphDatabase.driver(status.uri, auth=None) as driver:
            driver.execute_query("CREATE (:Probe {value: 42})", database_="neo4j")
            version = driver.execute_query("RETURN apoc.version() AS v", database_="neo4j").records[0]["v"]
        assert version.startswith("5.26")
        with urllib.request.urlopen(f"http://127.0.0.1:{options.http_port}/browser/", timeout=10) as page:
            assert b"Neo4j Browser" in page.read()
        with pytest.raises(RuntimeStateError, match="already running"):
            instance.start(options)
        with pytest.raises(RuntimeStateError, match=f"port {options.bolt_port} .* taken"):
            LocalNeo4j(tmp_path / "other").start(options)
    finally:
        assert instance.stop()
    assert not instance.status().running
    assert not instance.stop()

    status = instance.start(options)
    try:
        assert status.uri is not None
        with GraphDatabase.driver(status.uri, auth=None) as driver:
            records = driver.execute_query("MATCH (p:Probe) RETURN p.value AS v", database_="neo4j").records
        assert [r["v"] for r in records] == [42]
    finally:
        instance.stop()


def test_vector_and_fulltext_indexes_answer(store: GraphStore) -> None:
    store.run("CREATE VECTOR INDEX probe_vec IF NOT EXISTS FOR (n:VecProbe) ON n.embedding "
              "OPTIONS {indexConfig: {`vector.dimensions`: 3, `vector.similarity_function`: 'cosine'}}")
    store.run("UNWIND $rows AS r CREATE (:VecProbe {name: r.name, embedding: r.e})",
              rows=[{"name": "x", "e": [1.0, 0.0, 0.0]}, {"name": "y", "e": [0.0, 1.0, 0.0]},
                    {"name": "xy", "e": [0.7, 0.7, 0.0]}])
    store.run("CREATE (:Term {id: 'T1', text: '2型糖尿病', norm: '2型糖尿病', lang: 'zh'}), "
              "(:Term {id: 'T2', text: 'Epileptic seizure', norm: 'epileptic seizure', lang: 'en'})")
    store.run("CALL db.awaitIndexes(120)")
    hits = store.run("CALL db.index.vector.queryNodes('probe_vec', 2, [0.9, 0.1, 0.0]) YIELD node, score "
                     "RETURN node.name AS name, score")
    assert [h["name"] for h in hits] == ["x", "xy"]
    assert hits[0]["score"] > hits[1]["score"]
    zh = store.run("CALL db.index.fulltext.queryNodes('term_text', '\"糖尿病\"') YIELD node RETURN node.id AS id")
    en = store.run("CALL db.index.fulltext.queryNodes('term_text', 'SEIZURE') YIELD node RETURN node.id AS id")
    assert [h["id"] for h in zh] == ["T1"]
    assert [h["id"] for h in en] == ["T2"]
    store.run("DROP INDEX probe_vec")
