"""The bulk path's file side, without a database: external sort, CSV rows, the importer's report."""

from __future__ import annotations

import csv
import random
from pathlib import Path

from bios_kg.graph.records import Concept, Definition, Record, Relation, SemanticType, TermRecord, TypeAssignment
from bios_kg.graph.text import normalize_term, term_id
from bios_kg.ingest.bulk import ARRAY_DELIMITER, BulkWriter, _SortedSpool, parse_import_report


def _rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_sorted_spool_merges_many_runs(tmp_path: Path) -> None:
    spool = _SortedSpool(tmp_path, "x", buffer=10)
    items = [(f"k{random.Random(1).randrange(50)}{i % 7}", i, "payload") for i in range(3000)]
    for item in items:
        spool.add(item)
    assert len(spool.stretches) == 300
    assert list(spool.sorted()) == sorted(items)
    spool.close()
    assert not list(tmp_path.glob("*.run"))


def test_sorted_spool_reads_ascending_stretches_without_merging_their_runs(tmp_path: Path) -> None:
    """Rows grouped by key file after file: one stretch per file, however many runs each has."""
    spool = _SortedSpool(tmp_path, "x", buffer=10)
    first = [(f"k{i:04d}", i) for i in range(95)]
    second = [(f"k{i:04d}", 1000 + i) for i in range(0, 95, 2)]
    for item in first + second:
        spool.add(item)
    spool.add(("k0001", 5000))  # out of order inside the buffer: sorted on its own
    # 9 runs of the first file, the run where the files meet (sorted), 4 runs of the second file
    assert [len(runs) for runs in spool.stretches] == [9, 1, 4]
    assert list(spool.sorted()) == sorted([*first, *second, ("k0001", 5000)])
    spool.close()


def test_writer_rows_follow_the_transactional_rules(tmp_path: Path) -> None:
    writer = BulkWriter(tmp_path, "SRC", sort_buffer=3)
    records: list[Record] = [
        TermRecord("C:2", "second, with \"quotes\"", "en", "SY", "s1"),  # no English preferred term: first
        TermRecord("C:2", "Other", "en", "SY", "s2"),                   # English term becomes the name
        TermRecord("C:1", "Alpha", "en", "PT", "a1", preferred=True),
        TermRecord("C:1", "阿尔法", "zh", "PT", "a2", preferred=True),
        TermRecord("C:1", "alpha", "en", "SY", "a3"),  # same Term as "Alpha": one HAS_TERM, first tty kept
        TypeAssignment("C:1", "T:1"),
        TypeAssignment("C:1", "T:1"),
        TypeAssignment("C:9", "T:9"),  # unknown concept: dropped, and T:9 is not created
        SemanticType("T:1", "Type one", "类型一"),
        Definition("C:1", "First; with a semicolon."),
        Definition("C:1", "Second."),
        Definition("C:1", "First; with a semicolon."),
        Definition("C:8", "No concept."),
        Relation("C:1", "IS_A", "C:2", rel_id="1", rid="R1"),
        Relation("C:1", "IS_A", "C:2", rel_id="2", rid="R2"),  # the same edge again: first row kept
        TermRecord("C:2", "Beta", "en", "PT", "b1", preferred=True),  # late preferred name wins
        Concept("C:3", names=(("de", "Gamma"),)),
    ]
    for record in records:
        writer.add(record)
    files = writer.finish()
    assert not files.multiline
    assert _rows(tmp_path / "concepts_header.csv") == [
        ["id:ID(Concept)", "sources:string[]", "name", "name_de", "name_zh", "definitions:string[]", "definition"]]
    concepts = {row[0]: row for row in _rows(tmp_path / "concepts.csv")}
    assert concepts == {
        "C:1": ["C:1", "SRC", "Alpha", "", "阿尔法", f"First; with a semicolon.{ARRAY_DELIMITER}Second.",
                "First; with a semicolon."],
        "C:2": ["C:2", "SRC", "Beta", "", "", "", ""],
        "C:3": ["C:3", "SRC", "", "Gamma", "", "", ""],
    }
    alpha = term_id("en", normalize_term("Alpha"))
    has_term = [row for row in _rows(tmp_path / "has_term.csv") if row[0] == "C:1"]
    assert ["C:1", alpha, "HAS_TERM", "PT", "SRC", "a1", "SRC"] in has_term and len(has_term) == 2
    assert _rows(tmp_path / "has_type.csv") == [["C:1", "T:1", "HAS_TYPE", "SRC", "SRC"]]
    assert _rows(tmp_path / "semantic_types.csv") == [["T:1", "Type one", "类型一", "SRC"]]
    assert _rows(tmp_path / "relations.csv") == [["C:1", "C:2", "IS_A", "SRC", "1", "R1", "SRC"]]
    terms = _rows(tmp_path / "terms.csv")
    assert ["second, with \"quotes\"" in row for row in terms].count(True) == 1
    assert files.rows["Term"] == 6  # one row per term record; the importer skips repeated ids
    assert not (tmp_path / "spool").exists()


def test_import_report_lines(tmp_path: Path) -> None:
    report = tmp_path / "import.report"
    report.write_text(
        "Id 'T123' is defined more than once in group 'Term'\n"
        "BIOS:CN1 (Concept)-[IS_A]->BIOS:CN9 (Concept) referring to missing node BIOS:CN9\n"
        "BIOS:CN8 (Concept)-[MAY_TREAT]->BIOS:CN2 (Concept) referring to missing node BIOS:CN8\n"
        "something else\n", encoding="utf-8")
    bad, duplicates, other = parse_import_report(report)
    assert bad == {("IS_A", "BIOS:CN1", "BIOS:CN9"): "BIOS:CN9", ("MAY_TREAT", "BIOS:CN8", "BIOS:CN2"): "BIOS:CN8"}
    assert duplicates == 1
    assert other == ["something else"]
