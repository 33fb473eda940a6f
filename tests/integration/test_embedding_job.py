"""The embedding job against the real Neo4j, with tiny BERT encoders built here (nothing is downloaded)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from bios_kg.embed import job
from bios_kg.embed.cli import embed_terms_command
from bios_kg.embed.encoders import Encoder, load_encoder
from bios_kg.embed.index import META_FILE, default_index_dir, open_concept_index, open_term_index, read_meta
from bios_kg.embed.job import embed_terms
from bios_kg.embed.vector_store import TermVectorStore, graph_folder
from bios_kg.graph.errors import GraphError, ParameterError
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.loader import load_source
from bios_kg.ingest.readers import READERS
from tests.support.bios_files import write_bios_release, write_umls_subset
from tests.support.models import fixture_bert

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def encoders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Encoder, Encoder]:
    root = tmp_path_factory.mktemp("encoders")
    return (load_encoder(fixture_bert(root / "tiny-a", 32, seed=1), device="cpu"),
            load_encoder(fixture_bert(root / "tiny-b", 48, seed=2), device="cpu"))


@pytest.fixture()
def graph(store: GraphStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphStore]:
    """The BIOS fixture release loaded, no vector index left by an earlier test, BIOS_HOME in tmp_path."""
    monkeypatch.setenv("BIOS_HOME", str(tmp_path / "home"))
    write_bios_release(tmp_path / "bios")
    load_source(READERS.get("bios")(tmp_path / "bios"), store, progress=False)
    yield store


def one(store: GraphStore, cypher: str, **params: Any) -> Any:
    return next(iter(store.run(cypher, **params)[0].values()))


def vectors_of(store: GraphStore, label: str) -> dict[str, tuple[str | None, Any]]:
    """(model, vector) of each node; term vectors come from the model's vector file, concept vectors from Neo4j."""
    rows = store.run(f"MATCH (n:{label}) RETURN n.id AS id, n.embedding_model AS model, n.embedding AS v")
    if label == "Term":
        stored: dict[str, np.ndarray] = {}
        for model in {row["model"] for row in rows} - {None}:
            dim = next(m["dim"] for m in store.embedding_models() if m["id"] == model)
            files = TermVectorStore(graph_folder(default_index_dir(model), store.embedding_fingerprint(model)
                                                 .database), dim)
            stored |= dict(zip(files.ids(), files.matrix(), strict=True))
        return {row["id"]: (row["model"], stored.get(row["id"])) for row in rows}
    return {row["id"]: (row["model"], row["v"]) for row in rows}


def test_vectors_model_node_indexes_concepts_and_faiss(graph: GraphStore, encoders: tuple[Encoder, Encoder],
                                                       tmp_path: Path) -> None:
    tiny = encoders[0]
    report = embed_terms(graph, tiny, batch_size=16, progress=False)
    terms = vectors_of(graph, "Term")
    assert report.terms_embedded == report.terms_total == len(terms) > 16  # several pages
    assert all(model == tiny.model_id and v is not None and len(v) == 32 for model, v in terms.values())
    record = graph.embedding_models()
    assert [m["id"] for m in record] == [tiny.model_id]
    assert record[0]["dim"] == 32 and record[0]["pooling"] == "mean" and record[0]["terms"] == len(terms)
    assert graph.vector_index("term_embedding") is None  # term vectors are in the vector file
    info = graph.vector_index("concept_embedding")
    assert info is not None and info.dim == 32 and info.state == "ONLINE" and info.similarity == "COSINE"

    # a concept's vector is the normalized mean of its term vectors, every language included
    concepts = vectors_of(graph, "Concept")
    assert report.concepts_embedded == len(concepts) == 12
    members = graph.run("MATCH (c:Concept {id: 'BIOS:CN00000003'})-[:HAS_TERM]->(t:Term) RETURN t.id AS id")
    mean = np.mean([terms[row["id"]][1] for row in members], axis=0)
    assert np.allclose(concepts["BIOS:CN00000003"][1], mean / np.linalg.norm(mean), atol=1e-5)
    assert one(graph, "MATCH (c:Concept {id: 'BIOS:CN00000003'}) RETURN c.embedding_terms") == len(members) == 5

    folder = default_index_dir(tiny.model_id)
    assert folder.is_relative_to(tmp_path / "home" / "indexes")
    assert report.index == {"path": str(folder), "kind": "flat", "count": len(terms),
                            "created_at": report.index["created_at"]}
    index = open_term_index(graph)
    assert index.kind == "faiss" and index.model_id == tiny.model_id
    epilepsy = one(graph, "MATCH (t:Term {norm: 'epilepsy'}) RETURN t.id")
    best = index.search(np.array([terms[epilepsy][1]]), 3)[0]
    assert best[0][0] == epilepsy and best[0][1] == pytest.approx(1.0, abs=1e-5)
    by_concept = open_concept_index(graph).search(np.array([concepts["BIOS:CN00000003"][1]]), 2)[0]
    assert by_concept[0][0] == "BIOS:CN00000003" and by_concept[0][1] == pytest.approx(1.0, abs=1e-2)


def test_rerun_embeds_only_new_terms_and_a_stale_faiss_file_still_answers(graph: GraphStore,
                                                                  encoders: tuple[Encoder, Encoder],
                                                                  tmp_path: Path) -> None:
    tiny = encoders[0]
    first = embed_terms(graph, tiny, progress=False)
    meta = read_meta(default_index_dir(tiny.model_id))
    again = embed_terms(graph, tiny, progress=False)
    assert (again.terms_embedded, again.concepts_embedded) == (0, 0)
    assert read_meta(default_index_dir(tiny.model_id)) == meta  # current: not rebuilt

    write_umls_subset(tmp_path / "umls")
    load_source(READERS.get("umls")(tmp_path / "umls"), graph, progress=False)
    new_terms = one(graph, "MATCH (t:Term) WHERE t.embedding_model IS NULL RETURN count(t)")
    umls_concepts = one(graph, "MATCH (c:Concept) WHERE c.embedding IS NULL RETURN count(c)")
    assert 0 < new_terms < first.terms_total
    stale = open_term_index(graph)  # the Source loads changed: the faiss file no longer describes the graph
    assert stale.kind == "faiss" and "stale" in stale.reason and "not searched" in stale.reason
    known = one(graph, "MATCH (t:Term {norm: 'aspirin'}) RETURN t.id")
    assert stale.search(np.array([vectors_of(graph, "Term")[known][1]]), 1)[0][0][0] == known

    later = embed_terms(graph, tiny, progress=True)  # reads vectors back: its bar and the others in turn
    assert later.terms_embedded == new_terms
    assert later.terms_total == first.terms_total + new_terms
    # the UMLS concepts, all new; the BIOS concepts keep their terms (shared terms gain edges from UMLS concepts)
    assert later.concepts_embedded == umls_concepts
    assert one(graph, "MATCH (t:Term) WHERE t.embedding_model IS NULL RETURN count(t)") == 0
    current = open_term_index(graph)
    assert current.kind == "faiss" and read_meta(default_index_dir(tiny.model_id)).count == later.terms_total  # type: ignore[union-attr]


def test_languages_limit_the_terms_embedded_and_later_runs_keep_them(graph: GraphStore,
                                                                   encoders: tuple[Encoder, Encoder]) -> None:
    tiny = encoders[0]
    with pytest.raises(ParameterError, match="languages.*'english'"):
        embed_terms(graph, tiny, languages=["english"], progress=False)
    chinese = one(graph, "MATCH (t:Term {lang: 'zh'}) RETURN count(t)")
    assert 0 < chinese < one(graph, "MATCH (t:Term) RETURN count(t)")
    report = embed_terms(graph, tiny, languages=["zh"], progress=False)
    assert report.terms_embedded == report.terms_total == chinese and report.languages == ["zh"]
    assert one(graph, "MATCH (t:Term) WHERE t.embedding_model IS NOT NULL AND t.lang <> 'zh' RETURN count(t)") == 0
    assert graph.embedding_models()[0]["languages"] == ["zh"]
    # a concept with Chinese names gets the mean of those; the rest of the concepts get no vector
    assert one(graph, "MATCH (c:Concept) WHERE c.embedding IS NOT NULL AND NOT EXISTS "
                      "{ (c)-[:HAS_TERM]->(:Term {lang: 'zh'}) } RETURN count(c)") == 0
    again = embed_terms(graph, tiny, progress=False)  # no languages given: the recorded ones
    assert again.terms_embedded == 0 and again.languages == ["zh"]
    everything = embed_terms(graph, tiny, languages=["en", "zh"], progress=False)
    assert everything.terms_embedded == one(graph, "MATCH (t:Term {lang: 'en'}) RETURN count(t)") > 0


def test_a_new_edge_to_an_embedded_term_refreshes_the_concept(graph: GraphStore,
                                                              encoders: tuple[Encoder, Encoder]) -> None:
    tiny = encoders[0]
    embed_terms(graph, tiny, progress=False)
    before = one(graph, "MATCH (c:Concept {id: 'BIOS:CN00000006'}) RETURN c.embedding")
    graph.run("MATCH (c:Concept {id: 'BIOS:CN00000006'}), (t:Term {norm: 'pancreas'}) MERGE (c)-[:HAS_TERM]->(t)")
    report = embed_terms(graph, tiny, progress=False)
    assert (report.terms_embedded, report.concepts_embedded) == (0, 1)
    assert one(graph, "MATCH (c:Concept {id: 'BIOS:CN00000006'}) RETURN c.embedding_terms") == 4
    assert one(graph, "MATCH (c:Concept {id: 'BIOS:CN00000006'}) RETURN c.embedding") != before


def test_switching_models_is_explicit(graph: GraphStore, encoders: tuple[Encoder, Encoder]) -> None:
    tiny_a, tiny_b = encoders
    embed_terms(graph, tiny_a, progress=False)
    with pytest.raises(GraphError) as refused:
        embed_terms(graph, tiny_b, progress=False)
    assert tiny_a.model_id in str(refused.value) and tiny_b.model_id in str(refused.value)
    assert "--replace" in str(refused.value)
    assert {model for model, _ in vectors_of(graph, "Term").values()} == {tiny_a.model_id}
    assert [m["id"] for m in graph.embedding_models()] == [tiny_a.model_id]

    report = embed_terms(graph, tiny_b, replace=True, progress=False)
    assert report.replaced == [tiny_a.model_id]
    assert report.terms_embedded == report.terms_total
    terms, concepts = vectors_of(graph, "Term"), vectors_of(graph, "Concept")
    assert all(model == tiny_b.model_id and v is not None and len(v) == 48
               for model, v in [*terms.values(), *concepts.values()])
    assert [m["id"] for m in graph.embedding_models()] == [tiny_b.model_id]
    info = graph.vector_index("concept_embedding")
    assert info is not None and info.dim == 48
    assert open_term_index(graph).model_id == tiny_b.model_id
    with pytest.raises(GraphError, match=f"no vectors of {tiny_a.model_id}"):
        open_term_index(graph, tiny_a.model_id)


def test_a_missing_faiss_or_vector_file_is_rebuilt(graph: GraphStore,
                                                               encoders: tuple[Encoder, Encoder]) -> None:
    tiny = encoders[0]
    with pytest.raises(GraphError, match="bios embed terms"):
        open_term_index(graph)
    embed_terms(graph, tiny, progress=False)
    folder = default_index_dir(tiny.model_id)
    before = open_term_index(graph)
    (folder / META_FILE).unlink()
    with pytest.raises(GraphError, match="no faiss file.*bios embed terms"):
        open_term_index(graph)
    report = embed_terms(graph, tiny, progress=False)
    assert report.terms_embedded == 0 and report.index["count"] == report.terms_total  # nothing encoded again
    after = open_term_index(graph)
    queries = np.array([v for _, v in list(vectors_of(graph, "Term").values())[:5]])
    assert after.search(queries, 3) == before.search(queries, 3)

    # the vector file lost (or a graph embedded by a version that kept term vectors in Neo4j): encoded again
    shutil.rmtree(graph_folder(folder, graph.embedding_fingerprint(tiny.model_id).database))
    again = embed_terms(graph, tiny, progress=False)
    assert again.terms_embedded == again.terms_total == report.terms_total


def test_an_interrupted_run_resumes(graph: GraphStore, encoders: tuple[Encoder, Encoder],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    tiny = encoders[0]
    mark = graph.mark_terms_embedded
    calls = []

    def fail_second_write(model_id: str, ids: list[str]) -> None:
        calls.append(len(ids))
        if len(calls) == 2:
            raise RuntimeError("killed")
        mark(model_id, ids)

    monkeypatch.setattr(job, "READ_PAGE", 8)
    monkeypatch.setattr(graph, "mark_terms_embedded", fail_second_write)
    with pytest.raises(RuntimeError, match="killed"):
        embed_terms(graph, tiny, batch_size=8, progress=False)
    monkeypatch.setattr(graph, "mark_terms_embedded", mark)
    assert one(graph, "MATCH (t:Term) WHERE t.embedding_model IS NOT NULL RETURN count(t)") == 8
    # the second page's vectors were appended before the kill: the rerun encodes those terms again, the last wins
    report = embed_terms(graph, tiny, batch_size=8, progress=False)
    assert report.terms_embedded == report.terms_total - 8
    terms = vectors_of(graph, "Term")
    assert len(terms) == report.terms_total and all(len(v) == 32 for _, v in terms.values())
    fresh = tiny.encode([one(graph, "MATCH (t:Term {id: $id}) RETURN t.text", id=term_id) for term_id in terms])
    assert np.allclose(np.array([v for _, v in terms.values()]), fresh, atol=1e-5)


def test_ray_engine_gives_the_vectors_of_the_single_process_job(graph: GraphStore,
                                                                encoders: tuple[Encoder, Encoder],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray", reason="the distributed extra (ray) is not installed")
    tiny = encoders[0]
    monkeypatch.setattr(job, "READ_PAGE", 16)  # several pages, so both workers encode
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        report = embed_terms(graph, tiny, batch_size=8, engine="ray", workers=2, progress=False)
    finally:
        ray.shutdown()
    assert report.terms_embedded == report.terms_total > 32 and report.concepts_embedded == 12
    terms = vectors_of(graph, "Term")
    assert all(model == tiny.model_id for model, _ in terms.values())
    texts = [one(graph, "MATCH (t:Term {id: $id}) RETURN t.text", id=term_id) for term_id in terms]
    assert np.allclose(np.array([v for _, v in terms.values()]), tiny.encode(texts), atol=1e-5)
    assert open_term_index(graph).kind == "faiss"


def test_cli_command(graph: GraphStore, graph_env: GraphStore, encoders: tuple[Encoder, Encoder]) -> None:
    app = typer.Typer()
    app.command()(embed_terms_command)
    done = CliRunner().invoke(app, ["--model", str(encoders[0].path), "--batch-size", "10", "--no-concepts",
                                    "--device", "cpu", "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["model_id"] == encoders[0].model_id and report["terms_embedded"] == report["terms_total"]
    assert report["concepts_embedded"] == 0 and report["index"]["kind"] == "flat"
    assert graph.vector_index("concept_embedding") is None
