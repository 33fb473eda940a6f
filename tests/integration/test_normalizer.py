"""The normalizer and its evaluation against real Neo4j: exact and full text on the sample graph (read-only),
the vector stage on a small graph embedded here with the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bios_kg.apps.cli import app as bios_app
from bios_kg.apps.normalize import normalizer as normalizer_module
from bios_kg.apps.normalize.cli import normalize_command
from bios_kg.apps.normalize.evaluate import (
    build_benchmarks,
    evaluate,
    held_out_concepts,
    write_results,
)
from bios_kg.apps.normalize.normalizer import (
    DEFAULT_FULLTEXT,
    DEFAULT_VECTOR,
    MAX_NORMALIZE_LENGTH,
    Normalizer,
    open_normalizer,
)
from bios_kg.embed.encoders import Encoder, load_encoder
from bios_kg.embed.index import open_term_index
from bios_kg.embed.job import embed_terms
from bios_kg.graph.errors import ConfigError, GraphError, ParameterError
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import trigram_dice
from bios_kg.ingest.loader import load_source
from bios_kg.ingest.readers import READERS
from tests.support.bios_files import write_bios_release

pytestmark = pytest.mark.integration


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """BIOS_HOME in tmp_path: no calibration file, so the documented defaults apply."""
    monkeypatch.setenv("BIOS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def minilm() -> Encoder:
    return load_encoder("minilm", device="cpu")


@pytest.fixture()
def embedded(store: GraphStore, tmp_path: Path, home: Path, minilm: Encoder) -> Iterator[GraphStore]:
    """The BIOS fixture release (12 concepts, en + zh) with MiniLM vectors and a faiss file in BIOS_HOME."""
    write_bios_release(tmp_path / "bios")
    load_source(READERS.get("bios")(tmp_path / "bios"), store, progress=False)
    embed_terms(store, minilm, progress=False)
    yield store


# --- exact and full text on the sample graph -------------------------------------------------------------------
@pytest.fixture()
def lexical(sample_store: GraphStore, home: Path) -> Normalizer:
    return Normalizer(sample_store)


def test_exact_match_comes_first_with_score_one(lexical: Normalizer) -> None:
    result = lexical.normalize("SEIZURE", k=5)
    assert result.methods == ["exact", "fulltext"] and not result.abstained
    first = result.candidates[0]
    assert (first.concept_id, first.name, first.score, first.method, first.matched_term) == (
        "HP:0001250", "Seizure", 1.0, "exact", "Seizure")
    assert first.semantic_types == [{"id": "UMLS_STY:T033", "name": "Finding"}]
    assert len(result.candidates) == 5
    rest = [c.score for c in result.candidates[1:]]
    assert rest == sorted(rest, reverse=True) and all(0 < s < 1 for s in rest)


def test_full_text_finds_what_exact_cannot(lexical: Normalizer) -> None:
    result = lexical.normalize("epileptic seizures", k=3)
    first = result.candidates[0]
    assert (first.concept_id, first.method, first.matched_term) == ("HP:0001250", "fulltext", "Epileptic seizure")
    similarity = trigram_dice("epileptic seizures", "epileptic seizure")
    assert first.score == round(DEFAULT_FULLTEXT(similarity), 4)  # calibrated 3-gram similarity


def test_chinese_terms_and_language_of_the_name(lexical: Normalizer) -> None:
    result = lexical.normalize("癫痫", k=5, lang="zh")
    exact = {c.concept_id: c for c in result.candidates if c.method == "exact"}
    assert {"ICD10:G40", "CMEKG:癫痫"} <= set(exact)
    assert exact["ICD10:G40"].name == "癫癎[癫痫]"  # the zh preferred name, asked in zh
    assert lexical.normalize("Epilepsy", k=5, lang="en").candidates[0].name in {"Epilepsy", "epilepsy"}


def test_filters(lexical: Normalizer) -> None:
    icd = lexical.normalize("癫痫", k=10, sources=["icd10"])
    assert icd.candidates and all(c.concept_id.startswith("ICD10:") for c in icd.candidates)
    for types in (["Finding"], ["umls_sty:t033"], ["发现"]):
        found = lexical.normalize("seizure", k=10, semantic_types=types)
        assert found.candidates and all(
            any(t["id"] == "UMLS_STY:T033" for t in c.semantic_types) for c in found.candidates)
    english = lexical.normalize("epilepsy", k=10, lang="en")
    assert english.candidates and all(not c.matched_term.startswith("癫") for c in english.candidates)
    assert lexical.normalize("seizure", semantic_types=["No Such Type"]).abstained


def test_abstention_and_batch_order(sample_store: GraphStore, lexical: Normalizer,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    gibberish = lexical.normalize("xqzvkw")
    assert gibberish.abstained and gibberish.candidates == []
    strict = Normalizer(sample_store, threshold=0.99)
    assert strict.normalize("epileptic seizures").abstained  # full-text scores stay below 0.99
    assert not strict.normalize("seizure").abstained  # exact is 1.0
    queries = ["heart attack", "xqzvkw", "癫痫", "seizure", "heart attack"]  # a repeated query is answered twice
    batch = lexical.normalize_batch(queries, k=3)
    assert [r.query for r in batch] == queries
    singles = [lexical.normalize(q, k=3).as_dict() for q in queries]
    assert [r.as_dict() for r in batch] == singles
    monkeypatch.setattr(normalizer_module, "CHUNK", 2)  # a large batch runs as chunks, two at a time, in order
    assert [r.as_dict() for r in lexical.normalize_batch(queries, k=3)] == singles


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"k": 0}, "k"), ({"k": 101}, "k"), ({"lang": "xx"}, "lang"), ({"text": " "}, "q"),
    ({"text": "x" * (MAX_NORMALIZE_LENGTH + 1)}, "q"),
    ({"sources": [""]}, "source"), ({"semantic_types": ["t"] * 51}, "semantic_type")])
def test_bad_parameters(lexical: Normalizer, kwargs: dict, parameter: str) -> None:
    text = kwargs.pop("text", "seizure")
    with pytest.raises(ParameterError) as error:
        lexical.normalize(text, **kwargs)
    assert error.value.name == parameter


def test_cli_batch_file_resume_and_terms(sample_settings: Neo4jSettings, monkeypatch: pytest.MonkeyPatch,
                                         home: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("NEO4J_URI", sample_settings.uri)
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    app = typer.Typer()
    app.command()(normalize_command)
    queries = tmp_path / "queries.txt"
    queries.write_text("seizure\n癫痫\nxqzvkw\nheart attack\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["--input", str(queries), "--output", str(out), "--k", "2", "--no-vector",
                                 "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["query"] for line in lines] == ["seizure", "癫痫", "xqzvkw", "heart attack"]
    assert lines[0]["candidates"][0] == {"concept_id": "HP:0001250", "name": "Seizure", "score": 1.0,
                                         "matched_term": "Seizure", "method": "exact",
                                         "semantic_types": [{"id": "UMLS_STY:T033", "name": "Finding"}]}
    assert lines[2] == {"query": "xqzvkw", "candidates": [], "abstained": True, "methods": ["exact", "fulltext"],
                        "truncated": False, "error": None}
    assert all(len(line["candidates"]) <= 2 for line in lines)
    # an interrupted run: two complete lines and a torn one; --resume keeps the two and redoes the rest
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines[:2]) + '{"query": "xq',
                   encoding="utf-8")
    result = runner.invoke(app, ["--input", str(queries), "--output", str(out), "--k", "2", "--no-vector", "--resume"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()] == lines

    shown = runner.invoke(app, ["seizure", "heart attack", "--json", "--k", "1", "--no-vector"])
    assert shown.exit_code == 0, shown.output
    assert [json.loads(line)["candidates"][0]["concept_id"] for line in shown.stdout.splitlines()] == [
        "HP:0001250", "HP:0001658"]
    assert runner.invoke(app, ["xqzvkw", "--no-vector"]).exit_code == 1  # nothing found
    both = runner.invoke(app, ["seizure", "--input", str(queries)])
    assert both.exit_code != 0 and "not both" in str(both.exception)


def test_one_bad_line_gets_an_error_entry(sample_settings: Neo4jSettings, monkeypatch: pytest.MonkeyPatch,
                                          home: Path, tmp_path: Path) -> None:
    monkeypatch.setenv("NEO4J_URI", sample_settings.uri)
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    app = typer.Typer()
    app.command()(normalize_command)
    long_term = "Type 2 diabetes mellitus with " + ", ".join(["diabetic chronic kidney disease"] * 25)
    queries = tmp_path / "queries.txt"
    queries.write_bytes(b"seizure\n\n" + b"bad \xff byte\n" + ("x" * (MAX_NORMALIZE_LENGTH + 1)).encode()
                        + f"\n{long_term}\n癫痫\n".encode())
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    result = runner.invoke(app, ["--input", str(queries), "--output", str(out), "--k", "1", "--no-vector"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 6
    assert lines[0]["candidates"][0]["concept_id"] == "HP:0001250" and lines[0]["error"] is None
    assert lines[1]["error"] == f"{queries}:2: the query is empty"
    assert lines[2]["error"].startswith(f"{queries}:3: invalid UTF-8") and lines[2]["candidates"] == []
    assert lines[3]["error"].startswith(f"{queries}:4: the query is longer than")
    assert lines[4]["error"] is None and lines[4]["query"] == long_term  # 800 characters: normalized
    assert lines[5]["error"] is None and lines[5]["candidates"]
    stopped = runner.invoke(app, ["--input", str(queries), "--output", str(tmp_path / "stop.jsonl"), "--no-vector",
                                  "--on-error", "stop"])
    assert stopped.exit_code != 0 and f"{queries}:2" in str(stopped.exception)


def test_batch_items_and_truncation(embedded: GraphStore, minilm: Encoder) -> None:
    normalizer = Normalizer(embedded, minilm, open_term_index(embedded, minilm.model_id))
    long_term = "fever " * 150
    results = normalizer.normalize_batch(["fever", long_term, "", "y" * (MAX_NORMALIZE_LENGTH + 1)], k=2,
                                         on_error="item")
    assert [r.truncated for r in results[:2]] == [False, True]  # the encoder reads 32 tokens of the long one
    assert results[1].error is None and results[1].methods[-1] == "vector"  # normalized, not refused
    assert results[2].error == "the query is empty" and str(MAX_NORMALIZE_LENGTH) in str(results[3].error)
    with pytest.raises(ParameterError, match="query 3"):
        normalizer.normalize_batch(["fever", long_term, ""], k=2)


# --- the evaluation on the sample graph ------------------------------------------------------------------------
def test_benchmarks_split_by_concept(sample_store: GraphStore) -> None:
    hpo, icd = build_benchmarks(sample_store, seed=0, max_queries=300)
    assert hpo.name == "hpo_synonyms" and len(hpo.dictionary) > 15000 and len(hpo.test) == 300
    assert all(concept.startswith("HP:") for concept, _ in hpo.dictionary)
    assert all(q.gold <= hpo.held_out for q in hpo.test + hpo.calibration)
    tested = {c for q in hpo.test for c in q.gold}
    assert not tested & {c for q in hpo.calibration for c in q.gold}  # calibration and test concepts differ
    assert all(not any("\u4e00" <= ch <= "\u9fff" for ch in name) for _, name in icd.dictionary)  # English only
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in q.text) for q in icd.test[:50])
    assert build_benchmarks(sample_store, seed=0, max_queries=300)[0].test == hpo.test  # deterministic
    held = held_out_concepts(sample_store, seed=0)
    assert hpo.held_out | icd.held_out <= held
    assert any(concept.startswith("CMEKG:") for concept in held)  # joined to held-out ICD-10 codes by XREF


def test_held_out_command_writes_the_split(sample_settings: Neo4jSettings, sample_store: GraphStore,
                                           monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NEO4J_URI", sample_settings.uri)
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    out = tmp_path / "held-out.txt"
    done = CliRunner().invoke(bios_app, ["eval", "held-out", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert out.read_text(encoding="utf-8").splitlines() == sorted(held_out_concepts(sample_store, seed=0))


def test_evaluation_and_calibration_files(sample_store: GraphStore, home: Path, tmp_path: Path) -> None:
    result = evaluate(sample_store, models=[], max_queries=60, calibrate=True)
    hpo = result["benchmarks"]["hpo_synonyms"]
    assert set(hpo["methods"]) == {"exact", "fulltext", "tfidf_char3"}
    assert hpo["methods"]["tfidf_char3"]["acc@1"] > 0.2 and hpo["methods"]["exact"]["acc@1"] < 0.1
    assert 0 <= hpo["methods"]["fulltext"]["acc@5"] <= 1 and hpo["test_queries"] == 60
    calibration = result["calibration"]["fulltext"]
    assert calibration["a"] > 0 and Path(calibration["path"]).is_file()
    assert Path(calibration["path"]).is_relative_to(home)
    assert Normalizer(sample_store).fulltext_calibration.a == pytest.approx(calibration["a"], abs=1e-4)  # the file
    json_path, table = write_results(result, tmp_path / "eval.json")
    assert json.loads(json_path.read_text())["seed"] == 0
    assert "| tfidf_char3 |" in table.read_text() and "### calibration" in table.read_text()
    done = CliRunner().invoke(bios_app, ["eval", "normalize", "--no-encoder", "--max-queries", "0"])
    assert isinstance(done.exception, ParameterError) and done.exception.name == "max_queries"


# --- the vector stage on a small embedded graph ----------------------------------------------------------------
def test_vector_stage_finds_what_lexical_cannot(embedded: GraphStore, minilm: Encoder) -> None:
    normalizer = open_normalizer(embedded, threshold=0.0)  # the graph's model, from its EmbeddingModel node
    assert normalizer.methods == ["exact", "fulltext", "vector"]
    assert normalizer.encoder is not None and normalizer.encoder.model_id == minilm.model_id
    assert normalizer.index is not None and normalizer.index.kind == "faiss"
    assert normalizer.vector_calibration == DEFAULT_VECTOR
    result = normalizer.normalize("acetylsalicylate", k=3)
    first = result.candidates[0]
    assert (first.concept_id, first.method) == ("BIOS:CN00000005", "vector")
    assert first.matched_term == "Acetylsalicylic acid"
    cosine = float(minilm.encode(["acetylsalicylate"])[0] @ minilm.encode(["Acetylsalicylic acid"])[0])
    assert first.score == pytest.approx(DEFAULT_VECTOR(cosine), abs=1e-3)  # the calibrated cosine
    assert Normalizer(embedded).normalize("acetylsalicylate").abstained  # lexical only: nothing
    exact = normalizer.normalize("heart attack", k=3).candidates[0]
    assert (exact.concept_id, exact.method, exact.score) == ("BIOS:CN00000007", "exact", 1.0)
    drugs = normalizer.normalize("acetylsalicylate", k=10, semantic_types=["chemical or drug"])
    assert drugs.candidates and all(any(t["name"] == "Chemical or Drug" for t in c.semantic_types)
                                    for c in drugs.candidates)
    chinese = normalizer.normalize("acetylsalicylate", k=10, lang="zh")
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in c.matched_term) for c in chinese.candidates)
    batch = normalizer.normalize_batch(["acetylsalicylate", "heart attack", "xqzvkw"], k=2)
    assert [r.candidates[0].concept_id if r.candidates else None for r in batch][:2] == [
        "BIOS:CN00000005", "BIOS:CN00000007"]
    assert Normalizer(embedded, minilm, normalizer.index, threshold=0.999).normalize("acetylsalicylate").abstained
    quantized = open_normalizer(embedded, runtime="onnx-int8", threshold=0.0)  # int8 queries, float term vectors
    assert quantized.encoder is not None and quantized.encoder.runtime == "onnx-int8"
    approximate = quantized.normalize("acetylsalicylate", k=3).candidates[0]
    assert (approximate.concept_id, approximate.method) == ("BIOS:CN00000005", "vector")
    assert approximate.score == pytest.approx(first.score, abs=0.05)
    with pytest.raises(ParameterError, match="int8"):  # the graph's vectors are always exact
        embed_terms(embedded, quantized.encoder, progress=False)


def test_model_and_index_must_agree(embedded: GraphStore, minilm: Encoder, tmp_path: Path) -> None:
    index = open_term_index(embedded, minilm.model_id)
    with pytest.raises(ConfigError, match="both an encoder and its term index"):
        Normalizer(embedded, minilm, None)
    index.model_id = "other@000000000000"
    with pytest.raises(ConfigError, match="embed the terms with this model"):
        Normalizer(embedded, minilm, index)
    with pytest.raises(ParameterError, match="threshold"):
        Normalizer(embedded, threshold=1.5)
    assert open_normalizer(embedded, vector=False).methods == ["exact", "fulltext"]
    assert open_normalizer(embedded, model="minilm").methods[-1] == "vector"
    other = tmp_path / "other"
    minilm.save(other)  # the same weights under another name: another model id, without vectors in the graph
    with pytest.raises(GraphError, match="no vectors of"):
        open_normalizer(embedded, model=other)
