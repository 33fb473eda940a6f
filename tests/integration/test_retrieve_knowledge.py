"""Knowledge injection, the report benchmark builder, kg search and DR.EHR stage 1 against a real Neo4j holding a
small OBO ontology loaded here."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bios_kg.apps.extract import OfflineExtractor
from bios_kg.apps.extract.link import Linker
from bios_kg.apps.normalize.normalizer import Normalizer
from bios_kg.apps.retrieve.abbreviations import rule_miner
from bios_kg.apps.retrieve.datasets import read_cliniq
from bios_kg.apps.retrieve.engine import RetrievalIndex, build_index
from bios_kg.apps.retrieve.evaluate import evaluate_retrieval
from bios_kg.apps.retrieve.knowledge import Budget, KnowledgeGraph, Weights
from bios_kg.apps.retrieve.report_benchmark import build_report_benchmark, uninvert
from bios_kg.apps.retrieve.training import STAGE1_FILE, extractor_finder, prepare_stage1, read_examples
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.loader import load_source
from bios_kg.ingest.readers import READERS
from bios_kg.ingest.readers.iu_xray import Report

pytestmark = pytest.mark.integration

OBO = """format-version: 1.2
ontology: tst

[Term]
id: TST:0000001
name: Abnormal heart morphology
synonym: "Heart defect" EXACT []

[Term]
id: TST:0000002
name: Cardiomegaly
synonym: "Enlarged heart" EXACT []
synonym: "Increased heart size" EXACT []
is_a: TST:0000001 ! Abnormal heart morphology
relationship: part_of TST:0000003

[Term]
id: TST:0000003
name: Heart

[Term]
id: TST:0000004
name: Pleural effusion
synonym: "Fluid around lungs" EXACT []

[Term]
id: TST:0000005
name: Hiatal hernia
synonym: "Hiatus hernia" EXACT []
"""


@pytest.fixture()
def graph(store: GraphStore, tmp_path: Path) -> GraphStore:
    path = tmp_path / "tst.obo"
    path.write_text(OBO, encoding="utf-8")
    types = {"TST:0000001": "T033", "TST:0000003": "T023", "TST:0000004": "T047", "TST:0000005": "T047"}
    load_source(READERS.get("obo")(path, source_id="TST", version="1", type_roots=types), store, progress=False)
    return store


def report(rid: str, findings: str, *headings: str) -> Report:
    return Report(rid, "", "", findings, "", tuple(headings), ())


REPORTS = [
    report("CXR1", "There is cardiomegaly. No pleural effusion.", "Cardiomegaly/mild"),
    report("CXR2", "The heart is enlarged in size.", "Cardiomegaly"),
    report("CXR3", "Enlarged heart. Lungs clear.", "Cardiomegaly/borderline"),
    report("CXR4", "Small right pleural effusion.", "Pleural Effusion/right/small"),
    report("CXR5", "Blunting of the costophrenic angle, likely fluid.", "Pleural Effusion"),
    report("CXR6", "Hiatus hernia behind the heart.", "Hernia, Hiatal"),
    report("CXR7", "Normal chest.", "normal"),
]


def test_expansion_and_injection_read_the_neighbourhood(graph: GraphStore) -> None:
    knowledge = KnowledgeGraph(graph)
    cardio, parent = knowledge.expand(["cardiomegaly", "abnormal heart morphology"], Budget(), Weights())
    assert [(e.kind, e.text) for e in cardio] == [("synonym", "Enlarged heart"), ("synonym", "Increased heart size"),
                                                  ("parent", "Abnormal heart morphology"), ("related", "Heart")]
    assert [(e.kind, e.text) for e in parent] == [("synonym", "Heart defect"), ("child", "Cardiomegaly")]
    assert knowledge.expand(["zzzz unknown"], Budget(), Weights()) == [[]]
    import random

    injected = knowledge.inject([("cardiomegaly", "TST:0000002")], Budget(children=0), random.Random(0))
    assert injected[0] == "cardiomegaly"
    assert {"Enlarged heart", "Increased heart size", "Abnormal heart morphology", "Heart defect",
            "Heart"} == set(injected[1:])
    assert knowledge.inject([("cardiomegaly", "TST:0000002")], Budget(synonyms=1, parents=0, related=0, children=0),
                            random.Random(0)) == ["cardiomegaly", "Enlarged heart"]


def test_report_benchmark_is_in_cliniq_format_with_match_and_query_types(graph: GraphStore, tmp_path: Path) -> None:
    assert uninvert("Hernia, Hiatal") == "Hiatal Hernia"
    summary = build_report_benchmark(graph, tmp_path / "bench", REPORTS, min_reports=1, max_share=1.0)
    assert summary["reports"] == 7 and summary["linked_headings"] == 3
    bench = read_cliniq(tmp_path / "bench")
    by_text = {text: qid for qid, text in bench.queries.items()}
    cardio = by_text["cardiomegaly"]
    assert bench.query_types[cardio] == "mixed"  # in 1 of its 3 gold reports
    assert bench.match_types[cardio] == {"CXR1_0": "string", "CXR2_0": "implication", "CXR3_0": "synonym"}
    assert bench.query_types[by_text["increased heart size"]] == "semantic"
    assert bench.match_types[by_text["abnormal heart morphology"]] == {
        "CXR1_0": "hyponym", "CXR2_0": "implication", "CXR3_0": "hyponym"}
    hernia = by_text["hiatal hernia"]  # the un-inverted heading, written as a synonym in the report
    assert bench.query_types[hernia] == "semantic" and bench.match_types[hernia] == {"CXR6_0": "synonym"}
    assert "normal" not in by_text


def test_kg_search_finds_synonym_mentions_bm25_cannot(graph: GraphStore, tmp_path: Path) -> None:
    summary = build_report_benchmark(graph, tmp_path / "bench", REPORTS, min_reports=1, max_share=1.0)
    assert summary["queries"]["semantic"] > 0
    bench = read_cliniq(tmp_path / "bench")
    build_index(bench.corpus, tmp_path / "index", encoder="minilm", device="cpu", progress=False)
    index = RetrievalIndex(tmp_path / "index", device="cpu")
    lexical = [hit.id for hit in index.search(["cardiomegaly"], "bm25", k=5)[0]]
    assert lexical == ["CXR1_0"]  # the only chunk with the word
    expanded = [hit.id for hit in index.search(["cardiomegaly"], "kg", k=3, knowledge=KnowledgeGraph(graph))[0]]
    assert set(expanded[:2]) == {"CXR1_0", "CXR3_0"}  # "Enlarged heart" found as a phrase
    bm25 = evaluate_retrieval(bench, "bm25", index_dir=tmp_path / "bm25", progress=False, device="cpu")
    kg = evaluate_retrieval(bench, "kg", store=graph, index_dir=tmp_path / "index", progress=False, device="cpu")
    assert kg["multi_by_match_type"]["synonym"]["ndcg@10"] > bm25["multi_by_match_type"]["synonym"]["ndcg@10"]
    assert kg["by_match_type"] == {}  # one-chunk reports: CliniQ's single-patient setting skips every note
    assert json.loads(json.dumps(kg))["budget"]["synonyms"] == 2


def test_stage1_injects_graph_knowledge_and_resumes(graph: GraphStore, tmp_path: Path) -> None:
    from bios_kg.apps.retrieve.chunking import Chunk

    chunks = [Chunk("CXR1_0", "There is cardiomegaly."), Chunk("CXR7_0", "Normal chest."),
              Chunk("CXR4_0", "Small pleural effusion.")]
    find = extractor_finder(OfflineExtractor.open(graph, languages=("en",)), Linker(Normalizer(graph)))
    path = prepare_stage1(chunks[:1], find, KnowledgeGraph(graph), tmp_path, progress=False)
    prepare_stage1(chunks, find, KnowledgeGraph(graph), tmp_path, progress=False)
    examples = read_examples(tmp_path / STAGE1_FILE)
    assert path == tmp_path / STAGE1_FILE and [e.idx for e in examples] == ["CXR1_0", "CXR4_0"]  # no entity: dropped
    assert examples[0].entities[0] == "cardiomegaly" and "Abnormal heart morphology" in examples[0].entities
    assert examples[1].entities == ["pleural effusion", "Fluid around lungs"]  # the synonym; no parent, no relation


ABBR_OBO = """format-version: 1.2
ontology: tsa

[Term]
id: TSA:0000001
name: Congestive heart failure
synonym: "CHF" EXACT abbreviation []
"""


def test_stage1_adds_the_full_names_of_abbreviations_mined_by_rules(graph: GraphStore, tmp_path: Path) -> None:
    from bios_kg.apps.retrieve.chunking import Chunk

    path = tmp_path / "tsa.obo"
    path.write_text(ABBR_OBO, encoding="utf-8")
    load_source(READERS.get("obo")(path, source_id="TSA", version="1", type_roots={"TSA:0000001": "T047"}), graph,
                progress=False)
    knowledge = KnowledgeGraph(graph)
    assert knowledge.abbreviation_expansions(["CHF", "FAL"]) == {"CHF": "Congestive heart failure"}
    assert knowledge.concept_of_term("Congestive  heart failure") == "TSA:0000001"
    assert knowledge.concept_of_term("heart failure") is None
    chunks = [Chunk("N1_0", "There is cardiomegaly. Known CHF, with fluid around lungs (FAL).")]
    find = extractor_finder(OfflineExtractor.open(graph, languages=("en",)), Linker(Normalizer(graph)))
    written = prepare_stage1(chunks, find, knowledge, tmp_path / "s1", progress=False, miner=rule_miner(knowledge))
    row = json.loads(written.read_text(encoding="utf-8"))
    assert row["abbr"] == {"FAL": "fluid around lungs", "CHF": "Congestive heart failure"}
    assert "congestive heart failure" in row["entities"]  # the full name, lower-cased as DR.EHR adds it
