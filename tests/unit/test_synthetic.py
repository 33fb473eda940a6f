"""The generated BIOS release reads back cleanly with the counts it reports."""

from __future__ import annotations

from pathlib import Path

from graph.records import Definition, Relation, TermRecord
from ingest.readers import get_reader
from ingest.synthetic import SyntheticSize, write_synthetic_bios_release
from tests.unit.bios_fixtures import records, rejected


def test_synthetic_release_reads_back(tmp_path: Path) -> None:
    written = write_synthetic_bios_release(tmp_path, SyntheticSize(concepts=300, terms=800, relations=500))
    items = list(get_reader("bios")(tmp_path).read())
    assert rejected(items) == []
    terms = records(items, TermRecord)
    assert len(terms) == written["concept_terms"] == 800
    assert len(records(items, Relation)) == written["relations"] == 500
    assert len(records(items, Definition)) == written["definitions"]
    assert {term.lang for term in terms} == {"en", "zh"}
