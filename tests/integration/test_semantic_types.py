"""Semantic-type training and prediction against the real Neo4j, on a hand-made graph."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bios_kg.embed.semantic_types import TypeModel, predict_semantic_types, train_semantic_types
from bios_kg.graph.errors import ConfigError
from bios_kg.graph.records import Concept, SemanticType, TermRecord, TypeAssignment
from bios_kg.graph.store import Batch, GraphStore

pytestmark = pytest.mark.integration

TYPES = ["UMLS_STY:T047", "UMLS_STY:T121", "UMLS_STY:T184"]
MODEL = "tiny-vectors@000000000000"


def write(store: GraphStore, records: list, source: str = "TEST") -> None:  # type: ignore[type-arg]
    batch = Batch()
    for record in records:
        batch.add(record)
    with store.transaction() as tx:
        GraphStore.write_nodes(tx, batch, source)


@pytest.fixture()
def graph(store: GraphStore) -> GraphStore:
    """60 typed concepts (20 per type) and 6 untyped ones, with concept vectors around one centre per type."""
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 8)) * 3
    records: list = [SemanticType(t, t.split(":")[1]) for t in TYPES]  # type: ignore[type-arg]
    vectors = []
    for k, type_id in enumerate(TYPES):
        for i in range(22):
            concept_id = f"T:{k}{i:02d}"
            records += [Concept(concept_id, name=f"concept {k} {i}"), TermRecord(concept_id, f"term {k} {i}", "en")]
            if i < 20:
                records.append(TypeAssignment(concept_id, type_id))
            vector = centres[k] + rng.normal(scale=0.3, size=8)
            vectors.append({"id": concept_id, "v": (vector / np.linalg.norm(vector)).tolist(), "n": 1})
    write(store, records)
    store.merge_embedding_model({"id": MODEL, "dim": 8})
    store.set_concept_vectors(MODEL, vectors)
    return store


def predicted(store: GraphStore) -> list[dict]:  # type: ignore[type-arg]
    return store.run("MATCH (c:Concept)-[h:HAS_TYPE]->(s) WHERE h.model IS NOT NULL "
                     "RETURN c.id AS concept, s.id AS type, h.model AS model, h.source AS source, "
                     "h.sources AS sources, h.score AS score ORDER BY concept, type")


def test_train_evaluate_predict_idempotent(graph: GraphStore, tmp_path: Path) -> None:
    report = train_semantic_types(graph, tmp_path / "m", test_fraction=0.25, seed=1, progress=False)
    assert report["features"] == {"kind": "graph", "model_id": MODEL, "source": "graph"}
    assert report["typed_concepts"] == 60 and report["train"] == 45 and report["test"] == 15
    assert report["metrics"]["accuracy"] == 1.0 and report["metrics"]["macro_f1"] == 1.0
    assert {e["type"] for e in report["metrics"]["per_type"]} <= set(TYPES)
    assert report["metrics"]["accuracy_by_source"]["TEST"]["n"] == 15
    model_id = report["id"]
    assert TypeModel.load(tmp_path / "m").model_id == model_id
    assert graph.count("MATCH (m:PredictionModel) RETURN count(m) AS n") == 0  # training only reads

    result = predict_semantic_types(graph, tmp_path / "m", min_score=0.0, progress=False)
    node = graph.scalar("MATCH (m:PredictionModel {id: $id}) RETURN properties(m) AS m", id=model_id)
    assert node["task"] == "semantic_types" and node["test_accuracy"] == 1.0
    assert result.concepts == 6 and result.edges == 6 and result.without_vector == 0
    edges = predicted(graph)
    assert [(e["concept"], e["type"]) for e in edges] == [(f"T:{k}{i}", TYPES[k]) for k in range(3) for i in (20, 21)]
    assert all(e["model"] == e["source"] == model_id and e["sources"] == [model_id] and 0 < e["score"] <= 1
               for e in edges)

    again = predict_semantic_types(graph, tmp_path / "m", min_score=0.0, top_k=2, progress=False)
    assert again.concepts == 6 and again.edges == 12
    assert len(predicted(graph)) == 12
    predict_semantic_types(graph, tmp_path / "m", min_score=0.0, progress=False)
    assert predicted(graph) == edges  # reruns replace the model's earlier edges
    strict = predict_semantic_types(graph, tmp_path / "m", min_score=1.0, progress=False)
    assert strict.edges == 0 and predicted(graph) == []

    # predicted types are no training labels; a source asserting a type makes the concept typed
    predict_semantic_types(graph, tmp_path / "m", min_score=0.0, progress=False)
    assert train_semantic_types(graph, tmp_path / "m2", test_fraction=0.25, seed=1, progress=False)[
        "typed_concepts"] == 60
    write(graph, [TypeAssignment("T:020", TYPES[0])], source="LATER")
    merged = graph.run("MATCH (:Concept {id: 'T:020'})-[h:HAS_TYPE]->() RETURN h.sources AS sources")
    assert merged == [{"sources": [model_id, "LATER"]}]
    assert predict_semantic_types(graph, tmp_path / "m", min_score=0.0, progress=False).concepts == 5
    assert graph.count("MATCH (:Concept {id: 'T:020'})-[h:HAS_TYPE]->() RETURN count(h) AS n") == 1


def test_predict_refuses_vectors_of_another_model(graph: GraphStore, tmp_path: Path) -> None:
    train_semantic_types(graph, tmp_path / "m", test_fraction=0.25, progress=False)
    graph.run("MATCH (m:EmbeddingModel) SET m.id = 'other@111111111111'")
    with pytest.raises(ConfigError, match=f"trained on vectors of {MODEL}"):
        predict_semantic_types(graph, tmp_path / "m", progress=False)


def test_encoder_features_and_cli(graph: GraphStore, neo4j_uri: str, tmp_path: Path) -> None:
    """MiniLM vectors of the concepts' term texts, through the `bios types` commands."""
    env = {"NEO4J_URI": neo4j_uri, "PATH": "/usr/bin:/bin"}

    def bios(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-c", "from bios_kg.apps.cli import main; main()", *args],
                              capture_output=True, text=True, env=env, timeout=300)

    results = tmp_path / "results" / "sty.json"
    done = bios("types", "train", "--out", str(tmp_path / "m"), "--features", "minilm", "--test-fraction", "0.25",
                "--results", str(results), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["features"]["kind"] == "encoder" and report["features"]["model_id"].startswith("minilm@")
    assert json.loads(results.read_text())["id"] == report["id"]
    assert "| accuracy |" in results.with_suffix(".md").read_text()
    done = bios("types", "predict", "--model", str(tmp_path / "m"), "--min-score", "0", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["edges"] == 6
    failed = bios("types", "train", "--out", str(tmp_path / "x"), "--classifier", "svm")
    assert failed.returncode == 2 and failed.stderr.strip().startswith("error: classifier: 'svm' is not one of")
