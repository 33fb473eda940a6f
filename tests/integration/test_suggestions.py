"""Relation suggestions against the real Neo4j: export, PyKEEN training (tiny), vectors and SUGGESTED edges written
back, curator review (list, accept, reject) and the `bios suggest` commands."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bios_kg.embed.kge.export import export_triples, read_tsv
from bios_kg.embed.kge.train import KgeConfig, train_kge
from bios_kg.graph import suggestions
from bios_kg.graph.errors import GraphError, NotFoundError, ParameterError
from bios_kg.graph.records import Concept, Relation, RelationType, Xref
from bios_kg.graph.store import Batch, GraphStore

pytestmark = pytest.mark.integration
IDS = [f"X:{i:02d}" for i in range(26)]
CONFIG = KgeConfig(dim=8, epochs=2, batch_size=16, seed=5)


def write(store: GraphStore, records: list[Any], source: str) -> None:
    batch = Batch()
    for record in records:
        batch.add(record)
    with store.transaction() as tx:
        GraphStore.write_nodes(tx, batch, source)
        GraphStore.write_relations(tx, batch, source)


@pytest.fixture()
def graph(store: GraphStore) -> GraphStore:
    """An IS_A tree of 26 concepts and a PART_OF chain (source A), MAY_TREAT edges (source B) and an XREF."""
    records: list[Any] = [RelationType("IS_A", "is_a"), RelationType("PART_OF", "part_of"),
                          RelationType("MAY_TREAT", "may_treat"),
                          *(Concept(concept_id, name=f"concept {concept_id}") for concept_id in IDS)]
    records += [Relation(IDS[i], "IS_A", IDS[(i - 1) // 5]) for i in range(1, 26)]
    records += [Relation(IDS[i], "PART_OF", IDS[i + 1]) for i in range(25)]
    write(store, records, "A")
    write(store, [Relation(IDS[i], "MAY_TREAT", IDS[i + 10]) for i in range(5)] + [Xref(IDS[0], IDS[1])], "B")
    store.link_xrefs()
    return store


def test_export_filters(graph: GraphStore) -> None:
    everything = export_triples(graph)
    assert len(everything) == 55 and set(everything[:, 1]) == {"IS_A", "PART_OF", "MAY_TREAT"}
    assert (everything == np.unique(everything, axis=0)).all()
    assert len(export_triples(graph, sources=["B"])) == 5
    only = export_triples(graph, relations=["is_a", "reverse_part_of"])
    assert len(only) == 50 and set(only[:, 1]) == {"IS_A", "PART_OF"}
    sample = export_triples(graph, max_triples=10, seed=3)
    assert len(sample) == 10 and (sample == export_triples(graph, max_triples=10, seed=3)).all()
    with pytest.raises(ParameterError, match="relations: 'causes' is not in the graph's relation vocabulary"):
        export_triples(graph, relations=["causes"])
    with pytest.raises(GraphError, match="no concept relations to export"):
        export_triples(graph, sources=["NOPE"])


def open_suggestions(store: GraphStore) -> list[dict[str, Any]]:
    return suggestions.list_suggestions(store, limit=1000)


def test_train_write_back_and_review(graph: GraphStore, tmp_path: Path) -> None:
    report = train_kge(graph, tmp_path / "kge", CONFIG, sources=["A"], top_k=3, progress=False)
    assert report.triples == 50 and report.entities == 26 and report.relations == 2 and not report.resumed
    assert 0 < report.metrics["mrr"] <= 1 and report.vectors_written == 26 and report.suggestions_written == 6
    assert json.loads((tmp_path / "kge" / "report.json").read_text())["model_id"] == report.model_id
    vectors = graph.run("MATCH (c:Concept) RETURN c.kge_model AS model, size(c.kge_embedding) AS dim")
    assert vectors == [{"model": report.model_id, "dim": 8}] * 26
    node = graph.scalar("MATCH (m:PredictionModel {id: $id}) RETURN properties(m) AS m", id=report.model_id)
    assert node["task"] == "relation_suggestions" and node["test_mrr"] == report.metrics["mrr"]

    rows = open_suggestions(graph)
    assert len(rows) == 6 and {row["relation"] for row in rows} == {"IS_A", "PART_OF"}
    assert [row["score"] for row in rows] == sorted((row["score"] for row in rows), reverse=True)
    assert all(row["model"] == report.model_id and row["status"] == "open" for row in rows)
    existing = graph.run("MATCH (h)-[e]->(t) WHERE type(e) IN ['IS_A', 'PART_OF'] RETURN h.id, type(e), t.id")
    known = {tuple(row.values()) for row in existing}
    assert not {(row["head"], row["relation"], row["tail"]) for row in rows} & known

    first, second, third = rows[0]["id"], rows[1]["id"], rows[2]["id"]
    assert suggestions.accept(graph, [first], "curator-1") == suggestions.Review([first], [])
    assert suggestions.accept(graph, [first]) == suggestions.Review([], [first])  # idempotent
    head, relation, tail = rows[0]["head"], rows[0]["relation"], rows[0]["tail"]
    edge = graph.run("MATCH (:Concept {id: $h})-[e]->(:Concept {id: $t}) WHERE type(e) = $r "
                     "RETURN properties(e) AS e", h=head, t=tail, r=relation)
    assert len(edge) == 1
    assert edge[0]["e"]["source"] == report.model_id and edge[0]["e"]["sources"] == [report.model_id]
    assert edge[0]["e"]["suggestion"] == first and edge[0]["e"]["accepted_by"] == "curator-1"
    assert suggestions.reject(graph, [second, third]) == suggestions.Review([second, third], [])
    assert suggestions.reject(graph, [second]) == suggestions.Review([], [second])
    with pytest.raises(GraphError, match=f"suggestion {first} was accepted"):
        suggestions.reject(graph, [second, first])
    with pytest.raises(NotFoundError, match="no suggestion with id S0, S1"):
        suggestions.accept(graph, [first, "S0", "S1"])
    assert len(open_suggestions(graph)) == 3
    assert [r["id"] for r in suggestions.list_suggestions(graph, status="accepted")] == [first]
    assert len(suggestions.list_suggestions(graph, status=None, relation="is_a", limit=10)) == 3
    assert all(head in (r["head"], r["tail"]) for r in suggestions.list_suggestions(graph, status=None,
                                                                                   concept=head))
    with pytest.raises(ParameterError, match="status"):
        suggestions.list_suggestions(graph, status="done")

    # the same run again (the accepted edge's source is the model, not A): resumed from its checkpoint, the same
    # suggestions; the accepted one is not proposed again and the rejected ones stay rejected
    again = train_kge(graph, tmp_path / "kge", CONFIG, sources=["A"], top_k=3, progress=False)
    assert again.resumed and again.model_id == report.model_id and again.metrics == report.metrics
    statuses = graph.run("MATCH ()-[s:SUGGESTED]->() RETURN s.status AS status, count(*) AS n ORDER BY status")
    assert statuses == [{"status": "accepted", "n": 1}, {"status": "open", "n": 3}, {"status": "rejected", "n": 2}]
    # another model replaces the KG vectors; its suggestions sit beside the first model's
    other = train_kge(graph, tmp_path / "kge", KgeConfig(model="DistMult", dim=8, epochs=1, batch_size=16),
                      top_k=1, progress=False)
    assert other.triples == 56  # every source now, the accepted edge included
    assert graph.scalar("MATCH (c:Concept) RETURN collect(DISTINCT c.kge_model) AS m") == [other.model_id]
    assert len(suggestions.list_suggestions(graph, model=other.model_id)) == 3


def test_cli(graph: GraphStore, neo4j_uri: str, tmp_path: Path) -> None:
    env = {"NEO4J_URI": neo4j_uri, "PATH": "/usr/bin:/bin"}

    def bios(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from bios_kg.apps.cli import main; main()", *args],
                              capture_output=True, text=True, env=env, timeout=300)

    done = bios("suggest", "export", "--out", str(tmp_path / "t.tsv"), "--relations", "is_a,PART_OF")
    assert done.returncode == 0, done.stderr
    assert len(read_tsv(tmp_path / "t.tsv")) == 50
    results = tmp_path / "results" / "kge.json"
    done = bios("suggest", "train", "--out", str(tmp_path / "kge"), "--triples", str(tmp_path / "t.tsv"),
                "--dim", "8", "--epochs", "1", "--batch-size", "16", "--top-k", "2", "--results", str(results),
                "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["triples"] == 50 and report["suggestions_written"] == 4
    assert "| MRR | hits@1 |" in results.with_suffix(".md").read_text()
    listed = bios("suggest", "list", "--json")
    rows = json.loads(listed.stdout)
    assert len(rows) == 4 and rows[0]["head_name"].startswith("concept ")
    assert bios("suggest", "accept", rows[0]["id"]).returncode == 0
    assert bios("suggest", "reject", rows[1]["id"], "--curator", "me").returncode == 0
    assert len(json.loads(bios("suggest", "list", "--json").stdout)) == 2
    unknown = bios("suggest", "accept", "S123")
    assert unknown.returncode == 2 and unknown.stderr.strip() == "error: no suggestion with id S123"
    bad = bios("suggest", "train", "--out", str(tmp_path / "x"), "--model", "Nope")
    assert bad.returncode == 2 and "model: 'Nope' is not a PyKEEN model" in bad.stderr


def test_evaluation_only_reads(graph: GraphStore, tmp_path: Path) -> None:
    report = train_kge(graph, tmp_path / "kge", CONFIG, relations=["IS_A", "PART_OF"], top_k=0,
                       write_vectors=False, progress=False)
    assert report.triples == 50 and report.vectors_written == report.suggestions_written == 0
    assert graph.count("MATCH (c:Concept) WHERE c.kge_model IS NOT NULL RETURN count(c) AS n") == 0
    assert graph.count("MATCH (m:PredictionModel) RETURN count(m) AS n") == 0
    assert graph.count("MATCH ()-[s:SUGGESTED]->() RETURN count(s) AS n") == 0
