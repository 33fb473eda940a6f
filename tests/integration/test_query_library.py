"""Every query of the curated library on the real sample graph, the read-only guard, and `bios cypher`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from neo4j.exceptions import ClientError

from bios_kg.graph.errors import QueryTimeoutError, ReadOnlyError
from bios_kg.graph.library import Library
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore

pytestmark = pytest.mark.integration

LIBRARY = Library()
TESTED: set[str] = set()


def rows(store: GraphStore, name: str, params: dict[str, Any] | None = None, limit: int = 1000,
         **values: Any) -> list[dict[str, Any]]:
    """The rows of library query `name` with `params` (for names that are Python keywords, like `from`) and `values`."""
    TESTED.add(name)
    return LIBRARY.run(store, name, {**(params or {}), **values}, limit=limit).rows


def test_concept_card(sample_store: GraphStore) -> None:
    [card] = rows(sample_store, "concept-card", id="ICD10:G40")
    assert card["name"] == "Epilepsy" and {"lang": "zh", "name": "癫癎[癫痫]"} in card["names"]
    terms = {group["lang"]: [term["text"] for term in group["terms"]] for group in card["terms"]}
    assert terms["zh"][0] == "癫癎[癫痫]" and "癫痫" in terms["zh"]  # preferred first
    assert card["joined"] == ["CMEKG:癫痫病"]
    assert card["types"] == [{"id": "UMLS_STY:T047", "name": "Disease or Syndrome"}]
    assert {"type": "IS_A", "direction": "out", "n": 1} in card["relations"]
    assert rows(sample_store, "concept-card", id="HP:9999999") == []


def test_terms_by_language(sample_store: GraphStore) -> None:
    zh = rows(sample_store, "terms-by-language", id="ICD10:G40", lang="zh")
    assert [(r["text"], r["tty"]) for r in zh] == [("癫癎[癫痫]", "PT"), ("癫痫", "SY"), ("癫癎", "SY")]
    every = rows(sample_store, "terms-by-language", id="ICD10:G40")
    assert {r["lang"] for r in every} >= {"de", "en", "es", "fr", "ja", "zh"}
    english = next(r for r in every if r["text"] == "Epilepsy")
    assert english["shared_with"] == 2  # the HPO and CMeKG concepts named Epilepsy


def test_ambiguous_terms(sample_store: GraphStore) -> None:
    top = rows(sample_store, "ambiguous-terms", min_concepts=200)
    assert len(top) == 44 and (top[0]["text"], top[0]["lang"], top[0]["concept_count"]) == ("nan", "es", 228)
    assert len(top[0]["concepts"]) == 20 and top[0]["concepts"][0]["id"].startswith("ICD10:")
    chinese = rows(sample_store, "ambiguous-terms", limit=3, lang="zh", source="CMEKG")
    assert (chinese[0]["text"], chinese[0]["concept_count"]) == ("土细辛", 6)


def test_concepts_missing_language(sample_store: GraphStore) -> None:
    hpo = rows(sample_store, "concepts-missing-language", limit=2, lang="zh", source="HPO")
    assert hpo[0] == {"id": "HP:0000001", "name": "All", "sources": ["HPO"], "languages": ["en"]}
    assert rows(sample_store, "concepts-missing-language", lang="zh", source="ICD10") == []


def test_language_coverage(sample_store: GraphStore) -> None:
    coverage = {r["source"]: r for r in rows(sample_store, "language-coverage", lang="zh")}
    assert coverage["ICD10"] == {"source": "ICD10", "concepts": 12456, "with_lang": 12456, "without_lang": 0,
                                 "coverage": 1.0}
    assert coverage["HPO"]["coverage"] == 0.0 and coverage["CMEKG"]["with_lang"] == 108281


def test_orphans(sample_store: GraphStore) -> None:
    assert rows(sample_store, "orphans", source="HPO") == []
    cmekg = rows(sample_store, "orphans", limit=5, source="CMEKG")
    assert len(cmekg) == 5 and all(r["sources"] == ["CMEKG"] for r in cmekg)
    assert all(not sample_store.run("MATCH (:Concept {id: $id})-[r:IS_A]-() RETURN r", id=r["id"]) for r in cmekg)
    assert not any(r["id"].startswith(("OMIM:", "ORPHA:")) for r in rows(sample_store, "orphans", limit=50))


def test_hierarchy_roots(sample_store: GraphStore) -> None:
    assert rows(sample_store, "hierarchy-roots", source="HPO") == [
        {"id": "HP:0000001", "name": "All", "sources": ["HPO"], "children": 7}]
    icd = rows(sample_store, "hierarchy-roots", source="ICD10")
    assert len(icd) == 22 and icd[0]["id"] == "ICD10:XX"  # the chapters


def test_is_a_cycles(sample_store: GraphStore) -> None:
    cycles = rows(sample_store, "is-a-cycles")
    assert len(cycles) == 5 and all(c["length"] == 2 for c in cycles)
    assert cycles[0]["cycle"] == ["CMEKG:哮喘", "CMEKG:支气管哮喘", "CMEKG:哮喘"]
    assert rows(sample_store, "is-a-cycles", source="HPO") == []


def test_ancestors(sample_store: GraphStore) -> None:
    assert [(r["id"], r["depth"]) for r in rows(sample_store, "ancestors", id="HP:0001250")] == [
        ("HP:0012638", 1), ("HP:0000707", 2), ("HP:0000118", 3), ("HP:0000001", 4)]
    assert [r["id"] for r in rows(sample_store, "ancestors", id="HP:0001250", max_depth=1)] == ["HP:0012638"]
    in_cycle = rows(sample_store, "ancestors", id="CMEKG:急性肾衰竭")  # IS_A cycle: 急性肾衰竭 <-> 急性肾损伤
    assert [(r["id"], r["depth"]) for r in in_cycle] == [("CMEKG:急性肾损伤", 1)]


def test_descendants(sample_store: GraphStore) -> None:
    children = rows(sample_store, "descendants", id="HP:0001250", max_depth=1)
    assert len(children) == 12 and {"HP:0002133", "HP:0032807"} <= {r["id"] for r in children}
    deeper = rows(sample_store, "descendants", id="HP:0001250")
    assert len(deeper) > len(children) and max(r["depth"] for r in deeper) > 1
    assert "CMEKG:急性肾衰竭" not in {r["id"] for r in rows(sample_store, "descendants", id="CMEKG:急性肾衰竭")}


def test_shortest_path(sample_store: GraphStore) -> None:
    [path] = rows(sample_store, "shortest-path", {"from": "HP:0001250", "to": "HP:0000707"})
    assert path["length"] == 2 and [n["id"] for n in path["nodes"]] == ["HP:0001250", "HP:0012638", "HP:0000707"]
    assert path["steps"][0] == {"from": "HP:0001250", "type": "IS_A", "to": "HP:0012638"}
    [across] = rows(sample_store, "shortest-path", {"from": "CMEKG:癫痫", "to": "ICD10:G40"})
    assert across["steps"][-1]["type"] == "XREF"
    assert rows(sample_store, "shortest-path", {"from": "HP:0001250", "to": "HP:0000707", "types": ["XREF"]}) == []


def test_relation_counts(sample_store: GraphStore) -> None:
    counts = {(r["source"], r["type"]): r["relations"] for r in rows(sample_store, "relation-counts")}
    assert counts[("HPO", "IS_A")] == 23392 and counts[("HPOA", "HAS_PHENOTYPE")] == 512340
    assert counts[("(derived)", "XREF")] == 2902
    assert rows(sample_store, "relation-counts", source="ICD10") == [
        {"source": "ICD10", "type": "IS_A", "relations": 14678}]


def test_release_changes_and_suggestions_are_empty_on_the_sample(sample_store: GraphStore) -> None:
    # The sample's sources carry no releases of clustered concepts and no model suggestions: see the tests below.
    assert rows(sample_store, "release-changes", {"from": "2022v1", "to": "2023v1"}) == []
    assert rows(sample_store, "suggested-edges") == []


def test_xref_conflicts(sample_store: GraphStore) -> None:
    cmekg = rows(sample_store, "xref-conflicts", source="CMEKG", prefix="ICD10")
    assert len(cmekg) == 465 and (cmekg[0]["xref"], cmekg[0]["concept_count"]) == ("ICD10:K31.8", 12)
    assert cmekg[0]["in_graph"] is True
    hpo = rows(sample_store, "xref-conflicts", source="HPO", min_concepts=50)
    assert [(r["xref"], r["concept_count"], r["in_graph"]) for r in hpo] == [("NCIT:C3262", 79, False)]


def test_xref_type_mismatches(sample_store: GraphStore) -> None:
    hpo = rows(sample_store, "xref-type-mismatches", source="HPO")
    coma = next(r for r in hpo if r["id"] == "HP:0001259")
    assert (coma["types"], coma["xref"], coma["xref_types"]) == (["Finding"], "ICD10:R40.2", ["Sign or Symptom"])
    assert len(rows(sample_store, "xref-type-mismatches", source="CMEKG")) == 674


def test_dangling_xrefs(sample_store: GraphStore) -> None:
    assert rows(sample_store, "dangling-xrefs", prefix="ICD10") == [
        {"xref": "ICD10:26.8", "id": "HP:0011671", "name": "Interrupted inferior vena cava with azygous continuation",
         "sources": ["HPO"]}]
    assert len(rows(sample_store, "dangling-xrefs")) == 7


def test_sources(sample_store: GraphStore) -> None:
    sources = {r["id"]: r for r in rows(sample_store, "sources")}
    assert set(sources) == {"HPO", "HPOA", "ICD10", "CMEKG"}
    assert sources["HPO"]["version"] == "2025-01-16" and sources["HPO"]["status"] == "loaded"
    assert {"record": "TermRecord", "n": 119233} in sources["ICD10"]["counts"]


def test_semantic_types(sample_store: GraphStore) -> None:
    types = {r["name"]: r for r in rows(sample_store, "semantic-types")}
    finding = types["Finding"]
    assert finding["concepts"] == 25202 and finding["name_zh"] == "发现"
    assert {s["source"]: s["concepts"] for s in finding["by_source"]} == {"HPO": 18650, "CMEKG": 5829, "ICD10": 723}
    assert [r["name"] for r in rows(sample_store, "semantic-types", source="HPOA")] == [
        "Disease or Syndrome", "Gene or Genome"]


def test_untyped_concepts(sample_store: GraphStore) -> None:
    assert rows(sample_store, "untyped-concepts", source="HPO") == [{"id": "HP:0000001", "name": "All",
                                                                       "sources": ["HPO"]}]
    assert LIBRARY.run(sample_store, "untyped-concepts", {"source": "CMEKG"}, limit=1000).has_more


def test_term_statistics(sample_store: GraphStore) -> None:
    [icd] = rows(sample_store, "term-statistics", source="ICD10")
    assert icd == {"source": "ICD10", "concepts": 14700, "has_term": 119231, "mean": 8.11, "median": 8, "p90": 10,
                   "most": 33, "single_term": 0, "no_term": 0}
    assert {r["source"] for r in rows(sample_store, "term-statistics")} == {"CMEKG", "HPO", "HPOA", "ICD10"}


def test_pages(sample_store: GraphStore) -> None:
    first = LIBRARY.run(sample_store, "descendants", {"id": "HP:0001250", "max_depth": 1}, limit=5)
    second = LIBRARY.run(sample_store, "descendants", {"id": "HP:0001250", "max_depth": 1}, offset=5, limit=10)
    assert first.has_more and not second.has_more and len(first.rows) + len(second.rows) == 12
    assert first.columns == ["id", "name", "depth", "sources"]


def test_writes_are_refused_before_they_run(sample_store: GraphStore, tmp_path: Path) -> None:
    (tmp_path / "tag.cypher").write_text("// name: tag\n// description: Writes.\n"
                                         "MATCH (c:Concept {id: 'HP:0001250'}) SET c.tagged = true\n")
    (tmp_path / "make.cypher").write_text("// name: make\n// description: Creates.\nCREATE (n:LibraryWrite) RETURN n\n")
    library = Library(tmp_path)
    for name, kind in (("tag", "'w'"), ("make", "'rw'")):
        with pytest.raises(ReadOnlyError, match=f"query type {kind}"):
            library.run(sample_store, name, {})
    assert sample_store.run("MATCH (c:Concept {id: 'HP:0001250'}) RETURN c.tagged AS t") == [{"t": None}]


def test_read_transactions_refuse_writes_and_time_out(store: GraphStore, tmp_path: Path) -> None:
    with pytest.raises(ClientError, match="(?i)write"):
        store.read_page("CREATE (n:LibraryWrite) RETURN n", {}, 0, 10, 10)
    assert store.run("MATCH (n:LibraryWrite) RETURN count(n) AS n") == [{"n": 0}]
    store.run("UNWIND range(1, 3000) AS i CREATE (:Slow {i: i})")
    (tmp_path / "slow.cypher").write_text("// name: slow\n// description: A cartesian product.\n"
                                          "MATCH (a:Slow), (b:Slow), (c:Slow) WHERE a.i + b.i + c.i < 0\n"
                                          "RETURN count(*) AS n\n")
    with pytest.raises(QueryTimeoutError, match="slow ran longer than 0.5 s"):
        Library(tmp_path).run(store, "slow", {}, timeout_s=0.5)


def test_release_changes(store: GraphStore) -> None:
    store.run("""
    CREATE (fever:Term {id: 'en:fever', lang: 'en', text: 'fever'}), (pyrexia:Term {id: 'en:pyrexia', lang: 'en',
            text: 'pyrexia'}), (cough:Term {id: 'en:cough', lang: 'en', text: 'cough'}),
           (tussis:Term {id: 'la:tussis', lang: 'la', text: 'tussis'}), (rash:Term {id: 'en:rash', lang: 'en',
            text: 'rash'}), (gout:Term {id: 'en:gout', lang: 'en', text: 'gout'}), (flu:Term {id: 'en:flu',
            lang: 'en', text: 'flu'}), (grippe:Term {id: 'fr:grippe', lang: 'fr', text: 'grippe'})
    CREATE (:Concept {id: 'BIOS:CN1', release: 'r1'})-[:HAS_TERM]->(fever),
           (:Concept {id: 'BIOS:CN2', release: 'r1'})-[:HAS_TERM]->(pyrexia),
           (c3:Concept {id: 'BIOS:CN3', release: 'r1'})-[:HAS_TERM]->(cough),
           (:Concept {id: 'BIOS:CN4', release: 'r1'})-[:HAS_TERM]->(rash),
           (:Concept {id: 'BIOS:CN5', release: 'r1'})-[:HAS_TERM]->(gout),
           (c6:Concept {id: 'BIOS:CN6', release: 'r1'})-[:HAS_TERM]->(flu)
    CREATE (c6)-[:HAS_TERM]->(grippe)
    CREATE (n1:Concept {id: 'BIOS:CN10', release: 'r2'})-[:HAS_TERM]->(fever), (n1)-[:HAS_TERM]->(pyrexia),
           (n2:Concept {id: 'BIOS:CN11', release: 'r2'})-[:HAS_TERM]->(cough), (n2)-[:HAS_TERM]->(tussis),
           (:Concept {id: 'BIOS:CN12', release: 'r2'})-[:HAS_TERM]->(gout),
           (:Concept {id: 'BIOS:CN13', release: 'r2'})-[:HAS_TERM]->(flu),
           (:Concept {id: 'BIOS:CN14', release: 'r2'})-[:HAS_TERM]->(grippe),
           (:Concept {id: 'BIOS:CN15', release: 'r2'})-[:HAS_TERM]->(:Term {id: 'en:ache', lang: 'en', text: 'ache'})
    """)
    changes = rows(store, "release-changes", {"from": "r1", "to": "r2"})
    assert [(r["change"], r["from_ids"], r["to_ids"], r["terms_added"], r["terms_removed"]) for r in changes] == [
        ("added", [], ["BIOS:CN15"], ["en:ache"], []),
        ("changed", ["BIOS:CN3"], ["BIOS:CN11"], ["la:tussis"], []),
        ("merged", ["BIOS:CN1", "BIOS:CN2"], ["BIOS:CN10"], [], []),
        ("removed", ["BIOS:CN4"], [], [], ["en:rash"]),
        ("split", ["BIOS:CN6"], ["BIOS:CN13"], [], ["fr:grippe"]),
        ("split", ["BIOS:CN6"], ["BIOS:CN14"], [], ["en:flu"]),
    ]
    unchanged = rows(store, "release-changes", {"from": "r1", "to": "r2", "change": "unchanged"})
    assert [(r["from_ids"], r["to_ids"]) for r in unchanged] == [(["BIOS:CN5"], ["BIOS:CN12"])]


def test_suggested_edges(store: GraphStore) -> None:
    store.run("""
    CREATE (a:Concept {id: 'CMEKG:阿司匹林', name_zh: '阿司匹林'}), (b:Concept {id: 'HP:0002315', name: 'Headache'}),
           (c:Concept {id: 'HP:0001945', name: 'Fever'})
    CREATE (a)-[:SUGGESTED {relation: 'MAY_TREAT', score: 0.91, model: 'kge-1'}]->(b),
           (a)-[:SUGGESTED {relation: 'MAY_TREAT', score: 0.72, model: 'kge-1', status: 'pending'}]->(c),
           (a)-[:SUGGESTED {relation: 'MAY_CAUSE', score: 0.95, model: 'kge-1', status: 'rejected'}]->(c),
           (a)-[:MAY_TREAT]->(c)
    """)
    pending = rows(store, "suggested-edges")
    assert [(r["head"], r["relation"], r["tail"], r["score"], r["already_stated"]) for r in pending] == [
        ("CMEKG:阿司匹林", "MAY_TREAT", "HP:0002315", 0.91, False),
        ("CMEKG:阿司匹林", "MAY_TREAT", "HP:0001945", 0.72, True)]
    assert pending[0]["head_name"] == "阿司匹林" and pending[0]["tail_name"] == "Headache"
    assert [r["tail"] for r in rows(store, "suggested-edges", min_score=0.8)] == ["HP:0002315"]
    assert rows(store, "suggested-edges", model="other") == []


def test_every_library_query_is_tested() -> None:
    assert set(LIBRARY.queries) == TESTED


def bios(*args: str, uri: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from bios_kg.apps.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True,
                          env={"NEO4J_URI": uri, "PATH": "/usr/bin:/bin", "COLUMNS": "200"}, timeout=120)


def test_cypher_cli(sample_settings: Neo4jSettings) -> None:
    listed = bios("cypher", "list", "--json", uri=sample_settings.uri)
    assert listed.returncode == 0, listed.stderr
    assert {q["name"] for q in json.loads(listed.stdout)} == set(LIBRARY.queries)
    shown = bios("cypher", "show", "ancestors", uri=sample_settings.uri)
    assert shown.stdout.startswith("// name: ancestors\n") and "IS_A" in shown.stdout
    ran = bios("cypher", "run", "ancestors", "--param", "id=HP:0001250", "-p", "max_depth=2", "--json",
               uri=sample_settings.uri)
    assert ran.returncode == 0, ran.stderr
    page = json.loads(ran.stdout)
    assert [r["id"] for r in page["rows"]] == ["HP:0012638", "HP:0000707"] and page["params"]["max_depth"] == 2
    table = bios("cypher", "run", "descendants", "-p", "id=HP:0001250", "--limit", "3", uri=sample_settings.uri)
    assert "Status epilepticus" in table.stdout and "more with --offset 3" in table.stdout
    bad = bios("cypher", "run", "ancestors", "-p", "id=HP:0001250", "-p", "max_depth=99", uri=sample_settings.uri)
    assert (bad.returncode, bad.stderr.strip()) == (2, "error: max_depth: must be at most 30, got 99")
    unknown = bios("cypher", "run", "nope", uri=sample_settings.uri)
    assert unknown.returncode == 2 and "no query 'nope'" in unknown.stderr
