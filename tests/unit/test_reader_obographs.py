"""The OBO Graphs JSON reader on a small file written to tmp_path, and the RDF reader refusing such a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bios_kg.graph.errors import InputError
from bios_kg.graph.records import AltId, Concept, Definition, Relation, TermRecord, Xref
from bios_kg.ingest.readers.base import READERS, Parsed, Rejected
from bios_kg.ingest.readers.obographs import OboGraphsReader
from bios_kg.ingest.readers.rdf import RdfReader

OBO = "http://purl.obolibrary.org/obo/"
OIO = "http://www.geneontology.org/formats/oboInOwl#"
GRAPH = {"graphs": [{
    "id": f"{OBO}tst.owl",
    "meta": {"version": f"{OBO}tst/releases/2024-03-01/tst.owl"},
    "nodes": [
        {"id": f"{OBO}TST_0000001", "lbl": "All", "type": "CLASS"},
        {"id": f"{OBO}TST_0000002", "lbl": "Heart abnormality", "type": "CLASS", "meta": {
            "definition": {"val": "An abnormality of the heart.", "xrefs": ["PMID:1"]},
            "synonyms": [{"pred": "hasExactSynonym", "val": "Cardiac anomaly"},
                         {"pred": "hasRelatedSynonym", "val": "Heart trouble", "synonymType": f"{OBO}OMO_0003003"},
                         {"pred": "hasBroadSynonym", "val": "Heart problems"},
                         {"pred": "hasExactSynonym", "val": "HA", "synonymType": f"{OBO}OMO_0003000"},
                         {"pred": "hasSomeSynonym", "val": "Odd"}],
            "xrefs": [{"val": "MSH:D006331"}, {"val": "SNOMEDCT_US_2025_09_01:49601007"},
                      {"val": "Image:http://example.org/heart.png"}],
            "basicPropertyValues": [{"pred": f"{OIO}hasAlternativeId", "val": "TST:0000090"},
                                    {"pred": "http://www.w3.org/2004/02/skos/core#exactMatch", "val": "NCI:C1234"},
                                    {"pred": "http://www.w3.org/2004/02/skos/core#broadMatch", "val": "MIM:609322"}]}},
        {"id": f"{OBO}TST_0000003", "lbl": "Valve", "type": "CLASS"},
        {"id": f"{OBO}TST_0000050", "lbl": "obsolete old heart", "type": "CLASS", "meta": {
            "deprecated": True, "basicPropertyValues": [{"pred": f"{OBO}IAO_0100001", "val": "TST:0009999"}]}},
        {"id": f"{OBO}BFO_0000050", "lbl": "part of", "type": "PROPERTY"},
    ],
    "edges": [{"sub": f"{OBO}TST_0000002", "pred": "is_a", "obj": f"{OBO}TST_0000001"},
              {"sub": f"{OBO}TST_0000003", "pred": f"{OBO}BFO_0000050", "obj": f"{OBO}TST_0000002"},
              {"sub": f"{OBO}TST_0000003", "pred": "is_a", "obj": f"{OBO}UBERON_0000948"}],
}]}


def _write(tmp_path: Path, data: object, name: str = "tst.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_records_match_the_obo_readers_rules(tmp_path: Path) -> None:
    reader = OboGraphsReader(_write(tmp_path, GRAPH))
    items = list(reader.read())
    records = [item.record for item in items if isinstance(item, Parsed)]
    assert [c for c in records if isinstance(c, Concept)] == [
        Concept("TST:0000001", "All"), Concept("TST:0000002", "Heart abnormality"), Concept("TST:0000003", "Valve")]
    assert {(t.text, t.tty) for t in records if isinstance(t, TermRecord) and t.concept_id == "TST:0000002"} == {
        ("Heart abnormality", "PT"), ("Cardiac anomaly", "SY"), ("Heart trouble", "RT_LAY"), ("Heart problems", "BT"),
        ("HA", "AB")}
    assert Definition("TST:0000002", "An abnormality of the heart.", "en") in records
    assert {x.target for x in records if isinstance(x, Xref)} == {"MESH:D006331", "SNOMEDCT:49601007", "NCIT:C1234"}
    assert {(a.concept_id, a.alt_id) for a in records if isinstance(a, AltId)} == {
        ("TST:0000002", "TST:0000090"), ("TST:0009999", "TST:0000050")}
    assert {(r.head, r.type, r.tail) for r in records if isinstance(r, Relation)} == {
        ("TST:0000002", "IS_A", "TST:0000001"), ("TST:0000003", "PART_OF", "TST:0000002"),
        ("TST:0000003", "IS_A", "UBERON:0000948"), ("TST:0000002", "BROADER", "OMIM:609322")}
    assert [r.reason for r in items if isinstance(r, Rejected)] == [
        "a synonym needs a text and a scope (hasExactSynonym, hasRelatedSynonym, …)"]
    assert reader.dropped == {"xrefs naming no term (a datatype or a link)": 1}
    assert len(reader.warnings) == 1 and "TST:0009999" in reader.warnings[0]
    source = reader.source()
    assert (source.id, source.format, source.version) == ("TST", "obographs", f"{OBO}tst/releases/2024-03-01/tst.owl")


def test_not_obo_graphs_or_empty_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no top-level `graphs` list"):
        list(OboGraphsReader(_write(tmp_path, {"@context": {}})).read())
    with pytest.raises(InputError, match="no class"):
        list(OboGraphsReader(_write(tmp_path, {"graphs": [{"nodes": []}]})).read())
    assert READERS.get("obographs") is OboGraphsReader


def test_the_rdf_reader_refuses_obo_graphs_json(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="OBO Graphs JSON file, not JSON-LD: load it with `bios ingest obographs`"):
        list(RdfReader(_write(tmp_path, GRAPH, "tst.jsonld")).read())
