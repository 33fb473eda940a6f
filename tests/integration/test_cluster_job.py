"""The clustering job on a real Neo4j: a source's terms clustered and written as releases, review items, release
diffs through the curated query, idempotent reruns; explanations and the evaluation on the sample graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from bios_kg.apps.cli import app
from bios_kg.embed.cluster.config import BaselineConfig, BirchConfig
from bios_kg.embed.cluster.evaluate import evaluate_clustering, write_results
from bios_kg.embed.cluster.explanations import ExplanationCache, graph_definitions
from bios_kg.embed.cluster.job import cluster_source, release_diff, source_terms
from bios_kg.graph.errors import GraphError, InputError
from bios_kg.graph.library import Library
from bios_kg.graph.records import Concept, Definition, TermRecord
from bios_kg.graph.store import Batch, GraphStore

pytestmark = pytest.mark.integration

TERMS = {"HP:1": ["Seizure", "Seizures", "Epileptic seizure"], "HP:2": ["Fever", "Pyrexia"],
         "HP:3": ["Hypothyroidism"], "HP:4": ["Hyperthyroidism"], "HP:5": ["Chronic obstructive pulmonary disease",
                                                                           "COPD"]}


@pytest.fixture()
def graph(store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GraphStore:
    monkeypatch.setenv("BIOS_HOME", str(tmp_path / "home"))
    batch = Batch()
    for concept, texts in TERMS.items():
        batch.add(Concept(concept, texts[0]))
        for number, text in enumerate(texts):
            batch.add(TermRecord(concept, text, "en", "PT" if number == 0 else "SY", preferred=number == 0))
    batch.add(Definition("HP:2", "Body temperature above the normal range."))
    with store.transaction() as tx:
        store.write_nodes(tx, batch, "TOY")
    return store


def one(store: GraphStore, cypher: str, **params: Any) -> Any:
    return store.run(cypher, **params)[0]


def concepts_of(store: GraphStore, release: str) -> list[list[str]]:
    rows = store.run("MATCH (c:Concept {release: $r})-[:HAS_TERM]->(t:Term) WITH c, t ORDER BY t.text "
                     "WITH c, collect(t.text) AS terms RETURN terms ORDER BY terms[0]", r=release)
    return [row["terms"] for row in rows]


def test_write_a_release_rerun_it_and_diff_two(graph: GraphStore, graph_env: GraphStore) -> None:
    assert len(source_terms(graph, "TOY")) == 9
    with pytest.raises(GraphError, match="no terms of source 'NOPE'"):
        source_terms(graph, "NOPE")
    first = cluster_source(graph, "TOY", write=True, release="r1", method="birch", oracle="review", device="cpu",
                           birch=BirchConfig(upper=0.95, lower=0.3))
    assert first.written["release"] == "r1" and first.written["concepts"] == first.clusters
    assert first.stats["oracle_calls"] == first.written["review_items"] > 0
    run = one(graph, "MATCH (r:ClusterRun {id: $id}) RETURN properties(r) AS p", id=first.run_id)["p"]
    assert (run["method"], run["oracle"], run["release"], run["status"], run["terms"]) == (
        "birch", "review", "r1", "written", 9)
    assert run["oracle_calls"] == first.stats["oracle_calls"] and run["upper"] == 0.95 and run["finished_at"]
    clusters = concepts_of(graph, "r1")
    assert sorted(t for c in clusters for t in c) == sorted(t for texts in TERMS.values() for t in texts)
    edge = one(graph, "MATCH (c:Concept {release: 'r1'})-[h:HAS_TERM]->(t:Term {norm: 'seizure'}) "
                      "RETURN c.id AS id, c.sources AS sources, h.tty AS tty, h.source AS source")
    assert edge["id"].startswith("BIOS:CL") and edge["sources"] == [first.run_id] == [edge["source"]]
    item = one(graph, "MATCH (:ClusterRun {id: $id})-[:QUEUED]->(q:ReviewItem)-[:ABOUT {role: 'term'}]->(t:Term) "
                      "MATCH (q)-[:ABOUT {role: 'candidate'}]->(u:Term) "
                      "RETURN q.status AS status, q.provisional AS provisional, q.term_text AS term, t.text AS text, "
                      "u.text AS candidate, q.concept AS concept LIMIT 1", id=first.run_id)
    assert item["status"] == "pending" and item["term"] == item["text"] and item["candidate"]
    assert item["provisional"] in ("same", "different") and item["concept"].startswith("BIOS:CL")
    # the TOY concepts are untouched
    assert one(graph, "MATCH (c:Concept) WHERE c.release IS NULL RETURN count(c) AS n")["n"] == 5

    counts = one(graph, "MATCH (n) RETURN count(n) AS nodes, COUNT { ()-[]->() } AS edges")
    again = cluster_source(graph, "TOY", write=True, release="r1", method="birch", oracle="review", device="cpu",
                           birch=BirchConfig(upper=0.95, lower=0.3))
    assert again.run_id == first.run_id
    assert one(graph, "MATCH (n) RETURN count(n) AS nodes, COUNT { ()-[]->() } AS edges") == counts

    with pytest.raises(GraphError, match="release 'r1' already holds the concepts of cluster run"):
        cluster_source(graph, "TOY", write=True, release="r1", method="baseline", device="cpu")
    second = cluster_source(graph, "TOY", write=True, release="r2", method="baseline", device="cpu",
                            baseline=BaselineConfig(link=0.99))  # every term alone
    assert concepts_of(graph, "r2") == [[t] for t in sorted(t for texts in TERMS.values() for t in texts)]
    assert second.written["review_items"] == 0

    diff = release_diff(graph, "r1", "r2")
    library = Library().run(graph, "release-changes", {"from": "r1", "to": "r2"}, limit=1000).rows
    assert diff["changes"] == library
    merged_in_r1 = [c for c in clusters if len(c) > 1]
    assert diff["counts"]["split"] == sum(len(c) for c in merged_in_r1)
    assert diff["counts"]["added"] == diff["counts"]["removed"] == diff["counts"]["merged"] == 0
    back = release_diff(graph, "r2", "r1")
    assert back["counts"]["merged"] == len(merged_in_r1)
    assert set(release_diff(graph, "r2", "r1", "unchanged")["counts"]) == {"unchanged"}
    shown = CliRunner().invoke(app, ["release", "diff", "r2", "r1", "--json"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["counts"] == back["counts"]
    table = CliRunner().invoke(app, ["release", "diff", "r1", "r2", "--change", "split"])
    assert table.exit_code == 0 and f"r1 -> r2: {diff['counts']['split']} split" in table.output


def test_cli_file_in_file_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOS_HOME", str(tmp_path / "home"))
    terms = tmp_path / "terms.txt"
    terms.write_text("Seizure\nSeizures\nFever\npyrexia\nFEVER\n癫痫\tzh\n", encoding="utf-8")
    out = tmp_path / "clusters.tsv"
    done = CliRunner().invoke(app, ["cluster", "--input", str(terms), "--output", str(out), "--oracle", "review",
                                    "--lower", "0.3", "--device", "cpu", "--json"])
    assert done.exit_code == 0, done.output
    lines = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines()]
    assert [text for text, _ in lines] == ["Seizure", "Seizures", "Fever", "pyrexia", "FEVER", "癫痫"]
    label = {text: cluster for text, cluster in lines}
    assert label["Seizure"] == label["Seizures"] and label["Fever"] == label["FEVER"]
    review = out.with_name("clusters.tsv.review.tsv").read_text(encoding="utf-8").splitlines()
    assert review[0] == "term\tcandidate\tsimilarity\tprovisional" and len(review) > 1
    baseline = CliRunner().invoke(app, ["cluster", "--input", str(terms), "--output", str(out), "--method",
                                        "baseline", "--format", "bios", "--device", "cpu", "--json"])
    assert baseline.exit_code == 0, baseline.output
    assert "Seizure|Seizures" in out.read_text(encoding="utf-8").splitlines()
    terms.write_text("Seizure\nfever\tzz\n", encoding="utf-8")
    failed = CliRunner().invoke(app, ["cluster", "--input", str(terms), "--output", str(out), "--device", "cpu"])
    assert isinstance(failed.exception, InputError) and f"{terms}:2: unknown language code 'zz'" in str(
        failed.exception)


def test_explanations_from_the_sample_graph(sample_store: GraphStore, tmp_path: Path) -> None:
    found = graph_definitions(sample_store, [("en", "seizure", "Seizure"), ("en", "no such term", "x")])
    assert [(e.norm, e.source, e.provider) for e in found] == [("seizure", "HP:0001250", "graph:definition")]
    assert found[0].explanation.startswith("A seizure is an intermittent abnormality")
    cache = ExplanationCache(tmp_path / "x.jsonl")
    cache.add(found)
    assert ExplanationCache(tmp_path / "x.jsonl").get("en", "seizure") == found[0]


def test_evaluation_on_the_sample_graph(sample_store: GraphStore, tmp_path: Path) -> None:
    result = evaluate_clustering(sample_store, ["minilm"], max_concepts=60, device="cpu")
    hpo = result["sets"]["hpo"]
    assert hpo["concepts"] == 60 and hpo["terms"] >= 60 and hpo["gold_pairs"] > 0
    assert set(hpo["methods"]) == {"baseline:minilm", "baseline-published:minilm", "birch+threshold:minilm",
                                   "birch+rule:minilm"}
    for scores in hpo["methods"].values():
        assert 0.0 <= scores["f1"] <= 1.0
    assert hpo["methods"]["baseline:minilm"]["oracle_calls"] is None
    growth = hpo["oracle_growth"]
    assert [g["terms"] for g in growth] == sorted(g["terms"] for g in growth)
    assert all(g["oracle_calls"] <= g["terms"] for g in growth)
    assert result["sets"]["icd10_en_zh"]["concepts"] == 60
    json_path, table = write_results(result, tmp_path / "cluster_eval.json")
    assert json_path.exists() and "| birch+rule:minilm |" in table.read_text()
    assert np.isfinite(hpo["methods"]["birch+rule:minilm"]["seconds"])
