"""Real terminology files written by others load with the default options, in any order, with the counts
their README lists (`../shared/realworld/README.md` beside the repository, as CI has it).

The expected numbers are the README's (counted independently of this code); where the graph holds more
than a README number (xrefs from `property_value: skos:exactMatch`, an alt id kept for a term outside the
file), the comment says where the difference comes from.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bios_kg.apps.cli import app
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.loader import LoadReport, load_source
from bios_kg.ingest.readers import READERS
from tests.support.realworld import REALWORLD

pytestmark = pytest.mark.integration

if not REALWORLD.is_dir():
    pytest.skip(f"the real-world files are not at {REALWORLD} (CI checks out ../shared beside the repository)",
                allow_module_level=True)


def load(store: GraphStore, fmt: str, path: str) -> LoadReport:
    return load_source(READERS.get(fmt)(REALWORLD / path), store, progress=False)


def counts(store: GraphStore, source: str) -> dict[str, int]:
    """What one source put in the graph."""

    def one(cypher: str) -> int:
        return store.count(cypher, source=source)

    related = "MATCH (h:Concept)-[r]->(t:Concept) WHERE $source IN r.sources AND NOT type(r) IN ['XREF', 'SUGGESTED']"
    return {
        "concepts": one("MATCH (c:Concept) WHERE $source IN c.sources RETURN count(c) AS n"),
        "names": one("MATCH (:Concept)-[h:HAS_TERM]->(:Term) WHERE $source IN h.sources RETURN count(h) AS n"),
        "is_a": one("MATCH (:Concept)-[r:IS_A]->(:Concept) WHERE $source IN r.sources RETURN count(r) AS n"),
        "other_relations": one(f"{related} AND type(r) <> 'IS_A' RETURN count(r) AS n"),
        "other_types": one(f"{related} AND type(r) <> 'IS_A' RETURN count(DISTINCT type(r)) AS n"),
        "related_pairs": one(f"{related} WITH DISTINCT CASE WHEN h.id < t.id THEN [h.id, t.id] ELSE [t.id, h.id] END "
                             "AS pair RETURN count(pair) AS n"),
        "type_assignments": one("MATCH (:Concept)-[h:HAS_TYPE]->() WHERE $source IN h.sources RETURN count(h) AS n"),
        "types": one("MATCH (s:SemanticType) WHERE $source IN s.sources RETURN count(s) AS n"),
        "defined": one("MATCH (c:Concept) WHERE $source IN c.sources AND size(coalesce(c.definitions, [])) > 0 "
                       "RETURN count(c) AS n"),
        "xrefs": one("MATCH (c:Concept) WHERE $source IN c.sources RETURN sum(size(coalesce(c.xrefs, []))) AS n"),
        "alt_ids": one("MATCH (c:Concept) WHERE $source IN c.sources RETURN sum(size(coalesce(c.alt_ids, []))) AS n"),
        "pending": one("MATCH (p:PendingRelation) WHERE $source IN p.sources RETURN count(p) AS n"),
    }


def test_doid_cancer_slim_obo_and_owl_give_the_same_graph(store: GraphStore) -> None:
    report = load(store, "obo", "obo/doid-DO_cancer_slim.obo")
    assert report.rejected == 0
    obo = counts(store, report.source)
    assert (obo["concepts"], obo["is_a"]) == (729, 657)
    # 3,013 xrefs; the two dated SNOMEDCT_US_2023_03_01/_2025_09_01 spellings of one code on DOID:0070324 are one
    # id; 6 property_value skos:exactMatch targets are not among the xrefs
    assert obo["xrefs"] == 3013 - 1 + 6
    assert obo["alt_ids"] == 209
    # the obsolete DOID:0080191 is replaced_by DOID:0050657, not in the slim: kept for it, with a warning
    assert store.run("MATCH (p:PendingAltId) RETURN p.concept AS concept, p.alt_id AS alt") == [
        {"concept": "DOID:0050657", "alt": "DOID:0080191"}]
    assert len(report.warnings) == 1 and "DOID:0050657" in report.warnings[0]
    # skos:broadMatch / narrowMatch / relatedMatch to MESH, UMLS, ORPHA...: relations waiting for those sources
    assert obo["pending"] == report.relations_pending == 12 and obo["other_relations"] == 0
    assert not store.run("MATCH (c:Concept) WHERE NOT $source IN c.sources RETURN c.id", source=report.source)

    store.clear()
    store.apply_schema()
    owl = load(store, "rdf", "owl/doid-DO_cancer_slim.owl")
    assert owl.rejected == 0
    assert {k: v for k, v in counts(store, owl.source).items() if k != "names"} == \
        {k: v for k, v in obo.items() if k != "names"}


@pytest.mark.parametrize("order", [("uo", "pato"), ("pato", "uo")])
def test_pato_and_uo_in_either_order(store: GraphStore, order: tuple[str, str]) -> None:
    reports = {name: load(store, "obo", f"obo/pronto-{name}.obo") for name in order}
    assert all(report.rejected == 0 for report in reports.values())
    if order[0] == "uo":  # UO's 48 relationship lines point into PATO: they wait, then join
        assert (reports["uo"].relations_pending, reports["pato"].relations_joined) == (48, 48)
    assert store.count_pending_relations() == 0
    pato, uo = counts(store, "PATO"), counts(store, "UO")
    assert (pato["concepts"], pato["names"], pato["is_a"]) == (1769, 2609, 2096)
    assert (pato["other_relations"], pato["other_types"]) == (455, 9)
    assert reports["pato"].dropped == {"xrefs naming no term (a datatype or a link)": 8}  # `Image:http://…` links
    assert (uo["concepts"], uo["is_a"], uo["other_relations"]) == (378, 396, 48)
    # has_part is stored as PART_OF, turned round
    assert store.count("MATCH (:Concept)-[r:PART_OF]->(:Concept) WHERE r.rel_id = 'has_part' RETURN count(r) AS n") > 0
    assert store.count("MATCH (c:Concept) WHERE c.id STARTS WITH 'PATO:' AND NOT 'PATO' IN c.sources "
                       "RETURN count(c) AS n") == 0  # no stand-in concepts


def test_iao_owl(store: GraphStore) -> None:
    report = load(store, "rdf", "owl/pronto-iao.owl")
    got = counts(store, report.source)
    assert report.rejected == 0
    assert (got["concepts"], got["names"], got["is_a"]) == (228, 223, 226)


def test_umls_nci_sample(store: GraphStore) -> None:
    report = load(store, "umls", "umls-nci-sample")
    assert report.rejected == 0
    got = counts(store, "UMLS")
    assert (got["concepts"], got["names"], got["type_assignments"], got["defined"]) == (2204, 12580, 2348, 704)
    assert got["related_pairs"] == 2848
    assert report.dropped["MRCONSO concepts without a kept atom"] == 2238 - 2204
    assert report.dropped["MRREL.RRF rows of concepts without a kept atom"] > 0
    # each relation once: no stored type is the inverse of another, and symmetric ones run from the smaller id
    types = {row["id"]: row["inverse"] for row in store.run("MATCH (t:RelationType) RETURN t.id AS id, "
                                                            "t.inverse AS inverse")}
    assert not {(inverse or "").upper() for inverse in types.values()} & set(types)
    assert store.count("MATCH (h:Concept)-[r:RELATED_TO]->(t:Concept) WHERE h.id > t.id RETURN count(r) AS n") == 0
    assert store.count_pending_relations() == 0


def test_umls_tiny_without_final_newlines(store: GraphStore) -> None:
    report = load(store, "umls", "umls-tiny")
    got = counts(store, "UMLS")
    assert report.rejected == 0
    assert (got["concepts"], got["names"], got["types"], got["defined"]) == (2, 3, 3, 1)


def test_export_skos_then_ingest_rdf(graph_env: GraphStore, tmp_path: Path) -> None:
    store = graph_env
    source = load(store, "obo", "obo/doid-DO_cancer_slim.obo").source
    before = counts(store, source)
    out = tmp_path / "doid.ttl"
    runner = CliRunner()
    exported = runner.invoke(app, ["export", "skos", "--out", str(out), "--source", source, "--json"])
    assert exported.exit_code == 0, exported.output
    store.clear()
    store.apply_schema()
    imported = runner.invoke(app, ["ingest", "rdf", str(out), "--json"])
    assert imported.exit_code == 0, imported.output
    after = counts(store, source)
    # relations waiting for other sources are not edges, so they are not exported
    assert after == {**before, "pending": 0}
