"""The offline extractor on real Neo4j: real terms of the sample graph found with exact offsets and linked to
concepts of a consistent type; `bios extract` with resume and write-back on the BIOS fixture release (mentions
replaced, not added, when a note is extracted again); SFT pairs distilled from it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bios_kg.apps.extract.cli import extract_app
from bios_kg.apps.extract.link import Linker
from bios_kg.apps.extract.offline import (
    _CACHE,
    OfflineExtractor,
    dictionary_file,
    dictionary_key,
    load_dictionary,
)
from bios_kg.apps.extract.pipeline import Note, distil_sft_pairs, extract_notes
from bios_kg.apps.extract.queries import NOTE_MENTIONS
from bios_kg.apps.extract.records import TYPE_MAP
from bios_kg.apps.normalize.normalizer import Normalizer
from bios_kg.graph.errors import InputError
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import normalize_term
from bios_kg.ingest.loader import load_source
from bios_kg.ingest.readers import READERS
from tests.support.bios_files import write_bios_release

pytestmark = pytest.mark.integration

NOTE = ("FINDINGS: No pneumothorax or pleural effusion. Mild cardiomegaly. Possible pneumonia in the left lung.\n"
        "既往高血压。否认糖尿病。")


@pytest.fixture(scope="module")
def sample_extractor(sample_store: GraphStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OfflineExtractor]:
    """The sample graph's extractor, its dictionary file in a BIOS_HOME of the test's own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BIOS_HOME", str(tmp_path_factory.mktemp("home")))
        yield OfflineExtractor.open(sample_store)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOS_HOME", str(tmp_path / "home"))


def test_dictionary_is_kept_in_a_file_per_graph_state(sample_store: GraphStore,
                                                      sample_extractor: OfflineExtractor) -> None:
    key = dictionary_key(sample_store)
    assert not dictionary_file(key).exists()  # this test's BIOS_HOME
    _CACHE.clear()
    built = load_dictionary(sample_store)
    assert dictionary_file(key).is_file() and built.counts == sample_extractor.dictionary.counts
    _CACHE.clear()
    again = load_dictionary(sample_store)
    assert again is not built and again.counts == built.counts and again.automaton.get("cardiomegaly") == (
        len("cardiomegaly"), "entity", "Disease, Syndrome or Pathologic Function")
    assert load_dictionary(sample_store) is again  # then from the process


def test_sample_graph_terms_found_linked_and_typed(sample_store: GraphStore,
                                                   sample_extractor: OfflineExtractor) -> None:
    assert sample_extractor.dictionary.counts["entity"] > 100_000
    [result] = extract_notes([Note("n1", NOTE)], sample_extractor, Linker(Normalizer(sample_store)))
    found = {e.phrase: e for e in result.entities}
    assert {"pneumothorax", "pleural effusion", "cardiomegaly", "pneumonia", "高血压", "糖尿病"} <= set(found)
    for entity in result.entities:
        assert entity.start is not None and NOTE[entity.start:entity.end] == entity.phrase
    assert [found[p].assertion_status for p in ("pneumothorax", "pleural effusion", "cardiomegaly", "pneumonia",
                                                "高血压", "糖尿病")] == ["negated", "negated", "present", "possible",
                                                                       "historical", "negated"]
    assert found["cardiomegaly"].modifier == "Mild" and found["pneumonia"].body_location == "left lung"
    # cardiomegaly names a disease (ICD-10) and a finding (HPO): a tie, resolved by the map's order
    assert (found["cardiomegaly"].semantic_type, found["cardiomegaly"].concept_id) == (
        "Disease, Syndrome or Pathologic Function", "ICD10:I51.7")
    for entity in result.entities:  # every link names the phrase and has a type consistent with the entity's
        assert entity.concept_id, entity.phrase
        row = sample_store.run("MATCH (c:Concept {id: $id})-[:HAS_TERM]->(t:Term) "
                               "RETURN collect(t.norm) AS norms, COLLECT { MATCH (c)-[:HAS_TYPE]->(s) "
                               "RETURN toLower(s.name) } AS types", id=entity.concept_id)[0]
        assert normalize_term(entity.phrase) in row["norms"]
        assert {t.lower() for t in TYPE_MAP[entity.semantic_type or ""]} & set(row["types"])


def test_a_type_without_consistent_concepts_links_to_nothing(sample_store: GraphStore,
                                                             sample_extractor: OfflineExtractor) -> None:
    [extraction] = sample_extractor.extract(["Mild cardiomegaly."])
    [entity] = extraction.entities
    entity.semantic_type = "Chemical or Drug"  # as a generative extractor might mistype it
    Linker(Normalizer(sample_store)).link([entity])
    assert entity.concept_id is None and entity.concept_name is None


@pytest.fixture()
def bios_graph(graph_env: GraphStore, tmp_path: Path) -> GraphStore:
    write_bios_release(tmp_path / "bios")
    load_source(READERS.get("bios")(tmp_path / "bios"), graph_env, progress=False)
    return graph_env


def _mentions(store: GraphStore, note: str) -> list[tuple[str, str, int]]:
    return [(row["concept"], row["props"]["assertion"], row["props"]["start"])
            for row in store.run(NOTE_MENTIONS, id=note)]


def test_cli_extracts_resumes_and_writes_mentions_idempotently(bios_graph: GraphStore, tmp_path: Path) -> None:
    notes = tmp_path / "notes.jsonl"
    first = "Heart attack treated with aspirin. No diabetes mellitus. 患者否认癫痫。"
    second = "Metformin for type 2 diabetes mellitus."
    notes.write_text(json.dumps({"id": "n1", "text": first}, ensure_ascii=False) + "\n"
                     + json.dumps({"id": 2, "text": second}) + "\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    runner = CliRunner()
    done = runner.invoke(extract_app, ["--input", str(notes), "--output", str(out), "--write", "--backend",
                                       "offline"])
    assert done.exit_code == 0, done.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["n1", "2"]
    heart = lines[0]["entities"][0]
    assert (heart["phrase"], heart["concept_id"], heart["body_location"], heart["body_location_concept_id"]) == (
        "Heart attack", "BIOS:CN00000007", "Heart", "BIOS:CN00000006")
    expected = [("BIOS:CN00000007", "present", 0), ("BIOS:CN00000005", "present", 26),
                ("BIOS:CN00000001", "negated", 38), ("BIOS:CN00000003", "negated", 61)]
    assert _mentions(bios_graph, "n1") == expected
    drug = lines[1]["entities"][0]
    assert (drug["phrase"], drug["purpose"], drug["concept_id"]) == ("Metformin", "type 2 diabetes mellitus",
                                                                     "BIOS:CN00000008")

    # resumed: both notes are done, nothing is extracted again
    again = runner.invoke(extract_app, ["--input", str(notes), "--output", str(out), "--write", "--backend",
                                        "offline"])
    assert again.exit_code == 0 and "2 skipped" in again.output
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2

    # a torn last line is cut and its note extracted again; the note's mentions are replaced, not added to
    out.write_text(out.read_text(encoding="utf-8").splitlines(keepends=True)[0] + '{"id": "2", "enti',
                   encoding="utf-8")
    resumed = runner.invoke(extract_app, ["--input", str(notes), "--output", str(out), "--write", "--backend",
                                          "offline"])
    assert resumed.exit_code == 0 and "1 skipped" in resumed.output
    assert [json.loads(line)["id"] for line in out.read_text(encoding="utf-8").splitlines()] == ["n1", "2"]
    assert len(_mentions(bios_graph, "2")) == 2
    changed = tmp_path / "changed.jsonl"
    changed.write_text(json.dumps({"id": "n1", "text": "Possible seizure."}) + "\n", encoding="utf-8")
    redo = runner.invoke(extract_app, ["--input", str(changed), "--output", str(tmp_path / "redo.jsonl"),
                                       "--write", "--backend", "offline"])
    assert redo.exit_code == 0, redo.output
    assert _mentions(bios_graph, "n1") == [("BIOS:CN00000004", "possible", 9)]
    assert bios_graph.count("MATCH (n:Note) RETURN count(n) AS n") == 2


def test_cli_names_the_bad_line(bios_graph: GraphStore, tmp_path: Path) -> None:
    notes = tmp_path / "notes.jsonl"
    notes.write_text('{"id": "a", "text": "Fit."}\n{"id": "b"}\n', encoding="utf-8")
    done = CliRunner().invoke(extract_app, ["--input", str(notes), "--output", str(tmp_path / "out.jsonl")])
    assert isinstance(done.exception, InputError)
    assert str(done.exception) == f"{notes}:2: field 'text' is missing or not a string"


def test_distilled_pairs_are_genie_prompts_and_lists(bios_graph: GraphStore) -> None:
    extractor = OfflineExtractor.open(bios_graph)
    [english, chinese] = distil_sft_pairs([Note("a", "No heart attack."), Note("b", "否认糖尿病。")], extractor)
    assert english["prompt"] == "Human:\nNo heart attack.\n\n Assistant:" and english["id"] == "a#0"
    assert chinese["prompt"] == "Human:\n否认糖尿病。\n\n Assistant:\n"
    [entity] = json.loads(english["completion"])
    assert entity == {"phrase": "heart attack", "semantic_type": "Disease, Syndrome or Pathologic Function",
                      "assertion_status": "negated", "body_location": "heart", "modifier": "null",
                      "value": "not applicable", "unit": "not applicable", "purpose": "not applicable"}
    assert json.loads(chinese["completion"])[0]["phrase"] == "糖尿病"
