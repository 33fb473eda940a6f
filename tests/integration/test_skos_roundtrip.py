"""SKOS export and RDF import against the real Neo4j: graph -> Turtle -> records -> graph is lossless."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rdflib import Graph

from bios_kg.graph.errors import NotFoundError
from bios_kg.graph.records import (
    AltId,
    Concept,
    Definition,
    Record,
    Relation,
    RelationType,
    SemanticType,
    Source,
    TermRecord,
    TypeAssignment,
    Xref,
)
from bios_kg.graph.skos import export_skos
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.loader import load_source
from bios_kg.ingest.readers.base import Item, Parsed, SourceReader
from bios_kg.ingest.readers.rdf import RdfReader

pytestmark = pytest.mark.integration

T2DM, DM, ASPIRIN, METFORMIN = "BIOS:CN00000002", "BIOS:CN00000001", "BIOS:CN00000005", "BIOS:CN00000006"
SEIZURE, SEIZURES, EPILEPSY_ZH, ICD = "HP:0001250", "MESH:D012640", "CMEKG:癫痫", "ICD10:E11.9"

FIXTURE: list[Record] = [
    SemanticType("UMLS_STY:T047", "Disease or Syndrome", "疾病或综合征"),
    SemanticType("UMLS_STY:T121", "Pharmacologic Substance", "药理物质"),
    RelationType("IS_A", "is_a", "是一种", "inverse_isa"),
    RelationType("MAY_TREAT", "may_treat", "可能治疗", "may_be_treated_by"),
    RelationType("BROADER", "broader", None, "narrower"),
    Concept(DM),
    TermRecord(DM, "Diabetes mellitus", "en", "PT", preferred=True),
    TermRecord(DM, "糖尿病", "zh", "PT", preferred=True),
    Concept(T2DM),
    AltId(T2DM, "BIOS:CN00000099"),
    TermRecord(T2DM, "Type 2 diabetes mellitus", "en", "PT", preferred=True),
    TermRecord(T2DM, "2型糖尿病", "zh", "PT", preferred=True),
    TermRecord(T2DM, "T2DM", "en", "AB"),
    TermRecord(T2DM, "Adult-onset diabetes", "en", "SY"),
    TermRecord(T2DM, "成人型糖尿病", "zh", "SY"),
    Definition(T2DM, "A type of diabetes mellitus characterized by insulin resistance.", "en"),
    Xref(T2DM, ICD),
    Xref(T2DM, "UMLS:C0011860"),
    Concept(ICD, obsolete=True),
    TermRecord(ICD, "Type 2 diabetes mellitus without complications", "en", "PT", preferred=True),
    Concept(ASPIRIN),
    TermRecord(ASPIRIN, "Aspirin", "en", "PT", preferred=True),
    TermRecord(ASPIRIN, "阿司匹林", "zh", "PT", preferred=True),
    TermRecord(ASPIRIN, "ASA", "en", "AB"),
    Concept(METFORMIN),
    TermRecord(METFORMIN, "Metformin", "en", "PT", preferred=True),
    Concept(SEIZURE),
    TermRecord(SEIZURE, "Seizure", "en", "PT", preferred=True),
    TermRecord(SEIZURE, "Seizures", "en", "SY"),  # one Term node shared with SEIZURES
    TermRecord(SEIZURE, "Fits", "en", "RSY"),
    Concept(SEIZURES),
    TermRecord(SEIZURES, "Seizures", "en", "MH", preferred=True),  # a preferred name of another term type
    Concept(EPILEPSY_ZH),
    TermRecord(EPILEPSY_ZH, "癫痫", "zh", "PT", preferred=True),
    TermRecord(EPILEPSY_ZH, "羊癫疯", "zh", "SY"),
    Definition(EPILEPSY_ZH, "癫痫是大脑神经元突发性异常放电导致的短暂大脑功能障碍。", "zh"),
    Xref(EPILEPSY_ZH, SEIZURE),
    TypeAssignment(DM, "UMLS_STY:T047"),
    TypeAssignment(T2DM, "UMLS_STY:T047"),
    TypeAssignment(ASPIRIN, "UMLS_STY:T121"),
    TypeAssignment(METFORMIN, "UMLS_STY:T121"),
    Relation(T2DM, "IS_A", DM),
    Relation(ICD, "IS_A", T2DM),
    Relation(METFORMIN, "MAY_TREAT", T2DM),
    Relation(SEIZURE, "BROADER", SEIZURES),
    Relation(EPILEPSY_ZH, "IS_A", SEIZURE),
]
SOURCE = Source(id="FIXTURE", name="Round-trip fixture", version="1", licence="CC0-1.0",
                url="https://example.org/fixture")


class ListReader(SourceReader):
    """A reader over records in memory."""

    def __init__(self, root: Path, source: Source, records: list[Record]) -> None:
        self.root = root
        self._source = source
        self.records = records

    def source(self) -> Source:
        return self._source

    def read(self) -> Iterator[Item]:
        for number, record in enumerate(self.records, start=1):
            yield Parsed(record, "memory", number)


def snapshot(store: GraphStore) -> dict[str, Any]:
    """The graph's content, in comparable form."""
    def rows(cypher: str) -> list[tuple[Any, ...]]:
        return sorted(tuple(sorted(v) if isinstance(v, list) else v for v in row.values())
                      for row in store.run(cypher))

    return {
        "concepts": rows("MATCH (c:Concept) RETURN c.id AS id, "
                         "[k IN keys(c) WHERE k STARTS WITH 'name' | k + '=' + c[k]] AS names, "
                         "coalesce(c.definitions, []) AS definitions, coalesce(c.xrefs, []) AS xrefs, "
                         "coalesce(c.alt_ids, []) AS alt_ids, coalesce(c.obsolete, false) AS obsolete, "
                         "c.sources AS sources"),
        "terms": rows("MATCH (c:Concept)-[h:HAS_TERM]->(t:Term) RETURN c.id, t.text, t.lang, t.norm, h.tty"),
        "types": rows("MATCH (c:Concept)-[:HAS_TYPE]->(s:SemanticType) RETURN c.id, s.id, s.name, s.name_zh"),
        "relations": rows("MATCH (h:Concept)-[r]->(t:Concept) RETURN h.id, type(r), t.id"),
        "relation_types": rows("MATCH (t:RelationType) RETURN t.id, t.name, t.name_zh, t.inverse"),
    }


def records_of(reader: RdfReader) -> set[Record]:
    items = list(reader.read())
    assert [item for item in items if not isinstance(item, Parsed)] == []
    return {item.record for item in items if isinstance(item, Parsed)}


@pytest.mark.parametrize("page_size", [1000, 3])
def test_skos_round_trip_is_lossless(store: GraphStore, tmp_path: Path, page_size: int) -> None:
    load_source(ListReader(tmp_path, SOURCE, FIXTURE), store, progress=False)
    loaded = snapshot(store)
    assert ("HP:0001250", "XREF", "CMEKG:癫痫") not in loaded["relations"]
    assert (EPILEPSY_ZH, "XREF", SEIZURE) in loaded["relations"] and (T2DM, "XREF", ICD) in loaded["relations"]

    out = tmp_path / "fixture.ttl"
    report = export_skos(store, out, progress=False, page_size=page_size)
    assert (report.concepts, report.labels, report.definitions, report.relations, report.xrefs) == (
        8, 18, 2, 5, 3)
    assert report.sources == ["FIXTURE"] and report.triples == len(Graph().parse(out, format="turtle"))
    assert not out.with_name("fixture.ttl.part").exists()

    reader = RdfReader(out)
    assert records_of(reader) == set(FIXTURE)
    source = reader.source()
    assert (source.id, source.name, source.version, source.licence, source.url) == (
        SOURCE.id, SOURCE.name, SOURCE.version, SOURCE.licence, SOURCE.url)

    store.clear()
    report_back = load_source(RdfReader(out), store, progress=False)
    assert report_back.rejected == 0
    assert snapshot(store) == loaded


def test_turtle_is_readable_skos(store: GraphStore, tmp_path: Path) -> None:
    load_source(ListReader(tmp_path, SOURCE, FIXTURE), store, progress=False)
    out = tmp_path / "fixture.ttl"
    export_skos(store, out, progress=False)
    text = out.read_text(encoding="utf-8")
    assert "BIOS:CN00000002 a skos:Concept" in text
    assert 'skos:prefLabel "Type 2 diabetes mellitus"@en' in text and '"2型糖尿病"@zh' in text
    assert "skos:broader BIOS:CN00000001" in text and "rel:MAY_TREAT BIOS:CN00000002" in text
    assert 'tty:AB "T2DM"@en' in text and 'tty:MH "Seizures"@en' in text
    assert "HP:0001250 a skos:Concept" in text and "@prefix HP: <http://purl.obolibrary.org/obo/HP_> ." in text
    assert "<https://bios-kg.org/id/CMEKG/%E7%99%AB%E7%97%AB> a skos:Concept" in text


def test_export_of_one_source(store: GraphStore, tmp_path: Path) -> None:
    load_source(ListReader(tmp_path, SOURCE, FIXTURE), store, progress=False)
    other = Source(id="OTHER", name="Other", version="2", licence="MIT")
    load_source(ListReader(tmp_path, other, [
        Concept("OTHER:1"), TermRecord("OTHER:1", "Gestational diabetes", "en", "PT", preferred=True),
        TermRecord(DM, "DM", "en", "AB"), Relation("OTHER:1", "IS_A", DM)]), store, progress=False)

    fixture_only = tmp_path / "fixture.ttl"
    assert export_skos(store, fixture_only, source="FIXTURE", progress=False).concepts == 8
    records = records_of(RdfReader(fixture_only))
    assert TermRecord(DM, "DM", "en", "AB") not in records and Concept("OTHER:1") not in records

    other_only = tmp_path / "other.ttl"
    report = export_skos(store, other_only, source="OTHER", progress=False)
    assert (report.sources, report.concepts) == (["OTHER"], 2)  # DM: OTHER added a term to it
    records = records_of(RdfReader(other_only))
    assert {r for r in records if isinstance(r, Concept)} == {Concept("OTHER:1"), Concept(DM)}
    assert Relation("OTHER:1", "IS_A", DM) in records and TermRecord(DM, "DM", "en", "AB") in records
    assert Relation(T2DM, "IS_A", DM) not in records

    with pytest.raises(NotFoundError, match="NOPE"):
        export_skos(store, tmp_path / "nope.ttl", source="NOPE", progress=False)
