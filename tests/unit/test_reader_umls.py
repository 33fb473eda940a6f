"""UmlsReader: RRF parsing, MRREL direction, filters, rejections and provenance."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.records import (
    Definition,
    Relation,
    RelationType,
    SemanticType,
    TermRecord,
    TypeAssignment,
)
from bios_kg.ingest.readers import READERS, Item, Parsed
from bios_kg.ingest.readers.umls import UmlsReader
from tests.support.bios_files import (
    UMLS_CONSO,
    UMLS_RELEASE,
    all_records,
    counts_of,
    records,
    rejected,
    write_umls_subset,
)


def read(folder: Path, **options: Any) -> list[Item]:
    return list(UmlsReader(folder, **options).read())


def conso(cui: str = "C0000001", lat: str = "ENG", text: str = "Heart", *, ts: str = "P", stt: str = "PF",
          ispref: str = "Y", aui: str = "A0000001", sab: str = "MSH", tty: str = "MH", suppress: str = "N") -> str:
    fields = [cui, lat, ts, "L0000001", stt, "S0000001", ispref, aui, "", "", "D000001", sab, tty, "D000001",
              text, "0", suppress, "256"]
    return "|".join(fields) + "|"


def rel(cui1: str, rel_: str, cui2: str, rela: str = "", *, rui: str = "R1", sab: str = "MSH",
        suppress: str = "N") -> str:
    fields = [cui1, "A1", "AUI", rel_, cui2, "A2", "AUI", rela, rui, "", sab, sab, "", "Y", suppress, ""]
    return "|".join(fields) + "|"


def write_meta(folder: Path, **files: list[str] | bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if "MRCONSO" not in files:
        files["MRCONSO"] = [conso()]
    for name, content in files.items():
        path = folder / f"{name}.RRF"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text("".join(line + "\n" for line in content), encoding="utf-8")


# -- the shared fixture ---------------------------------------------------------------------------


def test_fixture_subset_matches_its_counts(tmp_path: Path) -> None:
    expected = write_umls_subset(tmp_path)
    items = read(tmp_path)
    assert rejected(items) == []
    assert counts_of(items) == expected


def test_fixture_records(tmp_path: Path) -> None:
    write_umls_subset(tmp_path)
    items = read(tmp_path)
    terms = records(items, TermRecord)
    assert terms[0] == TermRecord("UMLS:C0011849", "Diabetes Mellitus", "en", "MH", "A0000001", True)
    # VO string type and non-preferred atoms are not preferred names
    assert terms[1] == TermRecord("UMLS:C0011849", "Diabetes mellitus", "en", "PT", "A0000002", False)
    assert TermRecord("UMLS:C0011849", "糖尿病", "zh", "MH", "A0000004", True) in terms
    assert "Epilepsy (old)" not in {t.text for t in terms}
    assert records(items, SemanticType)[0] == SemanticType("UMLS_STY:T047", "Disease or Syndrome")
    assert TypeAssignment("UMLS:C0004057", "UMLS_STY:T121") in records(items, TypeAssignment)
    assert records(items, RelationType) == [
        RelationType("IS_A", "is_a", None, "reverse_is_a"),
        RelationType("BROADER", "broader", None, "narrower"),
        RelationType("MAY_TREAT", "may_treat", None, "may_be_treated_by"),
        RelationType("RELATED_TO", "related_to", None, None),
        RelationType("FINDING_SITE_OF", "finding_site_of", None, "has_finding_site"),
    ]
    assert records(items, Definition)[0] == Definition(
        "UMLS:C0011849", "A heterogeneous group of disorders characterized by hyperglycemia.", "en"
    )
    order = [type(r).__name__ for r in all_records(items)]
    firsts = [order.index(n) for n in ("TermRecord", "SemanticType", "RelationType", "Definition")]
    assert firsts == sorted(firsts)
    assert {i.file for i in items} == {"META/MRCONSO.RRF", "META/MRSTY.RRF", "META/MRREL.RRF", "META/MRDEF.RRF"}


# -- MRREL direction ------------------------------------------------------------------------------


def test_mrrel_direction(tmp_path: Path) -> None:
    write_meta(tmp_path, MRREL=[
        rel("C1", "PAR", "C2", rui="R1"),  # C2 is the parent of C1
        rel("C1", "CHD", "C2", rui="R2"),  # C2 is a child of C1
        rel("C1", "RB", "C2", rui="R3"),  # C2 is broader than C1
        rel("C1", "RN", "C2", rui="R4"),  # C2 is narrower than C1
        rel("C1", "CHD", "C2", "isa", rui="R5"),  # C2 isa C1
        rel("C1", "PAR", "C2", "inverse_isa", rui="R6"),  # C2 inverse_isa C1
        rel("C1", "RO", "C2", "may_treat", rui="R7", sab="MED-RT"),  # C2 may_treat C1
        rel("C1", "RO", "C2", "may_be_treated_by", rui="R8", sab="MED-RT"),  # C2 may be treated by C1
        rel("C1", "RO", "C2", "has_part", rui="R9"),  # C2 has_part C1
        rel("C1", "RO", "C2", rui="R10"),
        rel("C1", "RQ", "C2", rui="R11"),
        rel("C1", "SY", "C2", rui="R12"),
        rel("C1", "SIB", "C2", rui="R13"),
        rel("C1", "AQ", "C2", rui="R14"),
        rel("C1", "QB", "C2", rui="R15"),
        rel("C3", "PAR", "C3", rui="R16"),  # self-loop
    ])
    got = [(r.head, r.type, r.tail, r.rel_id, r.rid) for r in records(read(tmp_path), Relation)]
    assert got == [
        ("UMLS:C1", "IS_A", "UMLS:C2", "PAR", "R1"),
        ("UMLS:C2", "IS_A", "UMLS:C1", "CHD", "R2"),
        ("UMLS:C1", "BROADER", "UMLS:C2", "RB", "R3"),
        ("UMLS:C2", "BROADER", "UMLS:C1", "RN", "R4"),
        ("UMLS:C2", "IS_A", "UMLS:C1", "isa", "R5"),
        ("UMLS:C1", "IS_A", "UMLS:C2", "inverse_isa", "R6"),
        ("UMLS:C2", "MAY_TREAT", "UMLS:C1", "may_treat", "R7"),
        ("UMLS:C1", "MAY_TREAT", "UMLS:C2", "may_be_treated_by", "R8"),
        ("UMLS:C1", "PART_OF", "UMLS:C2", "has_part", "R9"),
        ("UMLS:C1", "RELATED_TO", "UMLS:C2", "RO", "R10"),  # symmetric: the smaller CUI is the head
        ("UMLS:C1", "RELATED_TO", "UMLS:C2", "RQ", "R11"),
    ]


def test_both_directions_of_a_relation_give_one_edge(tmp_path: Path) -> None:
    write_meta(tmp_path, MRREL=[
        rel("C1", "RO", "C2", "has_ingredient", rui="R1"),  # C2 has_ingredient C1
        rel("C2", "RO", "C1", "ingredient_of", rui="R2"),  # C1 ingredient_of C2: the same relation
        rel("C1", "PAR", "C2", "Subsumes", rui="R3"),  # a pair of the built-in table
        rel("C2", "CHD", "C1", "Subsumed_By", rui="R4"),
        rel("C1", "RO", "C2", "related_to", rui="R5"),  # symmetric, stated both ways
        rel("C2", "RO", "C1", "related_to", rui="R6"),
    ])
    got = {(r.head, r.type, r.tail) for r in records(read(tmp_path), Relation)}
    assert got == {("UMLS:C1", "INGREDIENT_OF", "UMLS:C2"), ("UMLS:C2", "SUBSUMES", "UMLS:C1"),
                   ("UMLS:C1", "RELATED_TO", "UMLS:C2")}


def test_mrdoc_declares_the_inverse_pairs(tmp_path: Path) -> None:
    write_meta(tmp_path, MRREL=[rel("C1", "RO", "C2", "treats_well", rui="R1"),
                                rel("C2", "RO", "C1", "well_treated_by", rui="R2")],
               MRDOC=["RELA|treats_well|rela_inverse|well_treated_by|",
                      "RELA|well_treated_by|rela_inverse|treats_well|", "REL|PAR|rel_inverse|CHD|"])
    relations = records(read(tmp_path), Relation)
    assert {(r.head, r.type, r.tail) for r in relations} == {("UMLS:C2", "TREATS_WELL", "UMLS:C1")}
    (described,) = records(read(tmp_path), RelationType)
    assert described.inverse == "well_treated_by"


def test_concepts_left_without_atoms_lose_their_other_rows_and_are_counted(tmp_path: Path) -> None:
    write_meta(tmp_path, MRCONSO=[conso("C1", aui="A1"), conso("C2", aui="A2", suppress="O")],
               MRSTY=["C1|T047|B2|Disease or Syndrome|AT1||", "C2|T047|B2|Disease or Syndrome|AT2||"],
               MRREL=[rel("C1", "RO", "C2", rui="R1"), rel("C1", "RO", "C3", rui="R2")],
               MRDEF=["C1|A1|AT1||MSH|One.|N||", "C2|A2|AT2||MSH|Two.|N||"])
    reader = UmlsReader(tmp_path)
    items = list(reader.read())
    assert [t.concept_id for t in records(items, TypeAssignment)] == ["UMLS:C1"]
    assert [d.concept_id for d in records(items, Definition)] == ["UMLS:C1"]
    # C3 is not in MRCONSO at all: its relation is kept (it waits as a pending relation when loaded)
    assert [(r.head, r.tail) for r in records(items, Relation)] == [("UMLS:C1", "UMLS:C3")]
    assert reader.dropped == {"MRCONSO.RRF rows suppressed (SUPPRESS O)": 1, "MRCONSO concepts without a kept atom": 1,
                              "MRSTY.RRF rows of concepts without a kept atom": 1,
                              "MRREL.RRF rows of concepts without a kept atom": 1,
                              "MRDEF.RRF rows of concepts without a kept atom": 1}


def test_relation_types_emitted_once_before_first_use(tmp_path: Path) -> None:
    write_meta(tmp_path, MRREL=[rel("C1", "PAR", "C2"), rel("C3", "CHD", "C4"), rel("C5", "RO", "C6")])
    kinds = [type(r).__name__ for r in all_records(read(tmp_path))][1:]  # after the one term
    assert kinds == ["RelationType", "Relation", "Relation", "RelationType", "Relation"]


# -- filters --------------------------------------------------------------------------------------


def test_language_filter(tmp_path: Path) -> None:
    write_umls_subset(tmp_path)
    english = records(read(tmp_path, languages=["ENG"]), TermRecord)
    assert english and {t.lang for t in english} == {"en"}
    chinese = records(read(tmp_path, languages=["CHI"]), TermRecord)
    assert {t.lang for t in chinese} == {"zh"} and len(chinese) == sum(row[1] == "CHI" for row in UMLS_CONSO)
    assert records(read(tmp_path, languages=["zh"]), TermRecord) == chinese
    assert {t.lang for t in records(read(tmp_path), TermRecord)} == {"en", "zh", "fr"}
    with pytest.raises(ConfigError):
        UmlsReader(tmp_path, languages=["KLINGON"])


def test_sab_filter_applies_to_terms_relations_and_definitions(tmp_path: Path) -> None:
    write_umls_subset(tmp_path)
    items = read(tmp_path, sabs=["MED-RT", "MSHCHI"])
    assert {t.lang for t in records(items, TermRecord)} == {"zh"}
    assert {r.type for r in records(items, Relation)} == {"MAY_TREAT"}
    assert records(items, Definition) == []
    # MRSTY has no SAB: the types of the concepts that keep an atom of those sources are kept
    assert len(records(items, TypeAssignment)) == 11


def test_suppressed_rows(tmp_path: Path) -> None:
    write_meta(tmp_path, MRCONSO=[
        conso(text="Heart", suppress="N"), conso(text="Cor", suppress="O", aui="A2"),
        conso(text="Coeur", suppress="E", aui="A3"), conso(text="Herz", suppress="Y", aui="A4"),
        conso(text="Hart", suppress="", aui="A5"),
    ], MRREL=[rel("C1", "PAR", "C2", suppress="O")])
    assert [t.text for t in records(read(tmp_path), TermRecord)] == ["Heart", "Hart"]
    assert records(read(tmp_path), Relation) == []
    everything = read(tmp_path, include_suppressed=True)
    assert [t.text for t in records(everything, TermRecord)] == ["Heart", "Cor", "Coeur", "Herz", "Hart"]
    assert len(records(everything, Relation)) == 1


def test_preferred_needs_ts_stt_and_ispref(tmp_path: Path) -> None:
    write_meta(tmp_path, MRCONSO=[
        conso(), conso(ts="S"), conso(stt="VO"), conso(ispref="N"),
    ])
    assert [t.preferred for t in records(read(tmp_path), TermRecord)] == [True, False, False, False]


# -- rejections -----------------------------------------------------------------------------------


def test_mrconso_rejections(tmp_path: Path) -> None:
    lines = [
        conso(),  # 1 ok
        conso()[:-1].rsplit("|", 2)[0] + "|",  # 2 two columns short
        conso(cui=""),  # 3 empty CUI
        conso(lat="XYZ"),  # 4 unknown LAT
        conso(text=""),  # 5 empty string
        conso(text="Cor")[:-1],  # 6 no trailing delimiter: fine
    ]
    write_meta(tmp_path, MRCONSO=lines)
    items = read(tmp_path)
    assert [t.text for t in records(items, TermRecord)] == ["Heart", "Cor"]
    bad = rejected(items)
    assert [(r.file, r.line, r.raw) for r in bad] == [("MRCONSO.RRF", n, lines[n - 1]) for n in (2, 3, 4, 5)]
    assert [r.reason for r in bad] == [
        "expected 18 columns, got 16",
        "empty CUI",
        "unknown language code 'XYZ' (LAT)",
        "empty term string (STR)",
    ]


def test_invalid_utf8_rows(tmp_path: Path) -> None:
    good = conso().encode()
    write_meta(tmp_path, MRCONSO=good + b"\n" + conso(text="Co\xe9ur").encode("latin-1") + b"\n" + good + b"\n")
    items = read(tmp_path)
    assert len(records(items, TermRecord)) == 2
    assert [(r.file, r.line, r.reason) for r in rejected(items)] == [("MRCONSO.RRF", 2, "invalid UTF-8")]


def test_other_file_rejections(tmp_path: Path) -> None:
    write_meta(
        tmp_path,
        MRSTY=["C1|T047|B2|Disease or Syndrome|AT1||", "|T047|B2|Disease or Syndrome|AT2||", "C1|T047|"],
        MRREL=[rel("", "PAR", "C2"), rel("C1", "RO", "C2", "has_term"), rel("C1", "ZZ", "C2"), "C1|PAR|C2|"],
        MRDEF=["C1|A1|AT1||MSH|A definition.|N||", "|A1|AT1||MSH|x|N||", "C1|A1|AT1||MSH||N||"],
    )
    items = read(tmp_path)
    assert records(items, Definition) == [Definition("UMLS:C1", "A definition.", "en")]
    assert [(r.file, r.line, r.reason) for r in rejected(items)] == [
        ("MRSTY.RRF", 2, "empty CUI"),
        ("MRSTY.RRF", 3, "expected 6 columns, got 2"),
        ("MRREL.RRF", 1, "empty CUI1"),
        ("MRREL.RRF", 2, "invalid relation name 'has_term' (RELA)"),
        ("MRREL.RRF", 3, "unknown relationship 'ZZ' (REL)"),
        ("MRREL.RRF", 4, "expected 16 columns, got 3"),
        ("MRDEF.RRF", 2, "empty CUI"),
        ("MRDEF.RRF", 3, "empty definition (DEF)"),
    ]


def test_missing_mrconso_raises_naming_the_folder(tmp_path: Path) -> None:
    (tmp_path / "META").mkdir()
    (tmp_path / "META" / "MRREL.RRF").write_text(rel("C1", "PAR", "C2") + "\n")
    with pytest.raises(InputError) as info:
        read(tmp_path)
    assert info.value.path == str(tmp_path) and "MRCONSO.RRF" in info.value.problem


# -- provenance -----------------------------------------------------------------------------------


def test_source_version_and_checksums(tmp_path: Path) -> None:
    folder = tmp_path / "2024AA-full"
    write_umls_subset(folder)
    source = UmlsReader(folder).source()
    assert (source.id, source.version, source.licence, source.format) == (
        "UMLS", UMLS_RELEASE, "UMLS Metathesaurus License Agreement", "umls"
    )
    meta = folder / "META"
    assert source.checksums == {
        f"META/{path.name}": hashlib.sha256(path.read_bytes()).hexdigest() for path in meta.iterdir()
    }
    assert UmlsReader(folder, version="2023AB").source().version == "2023AB"
    (folder / "release.dat").unlink()
    assert UmlsReader(folder).source().version == "2024AA-full"


def test_files_directly_in_root(tmp_path: Path) -> None:
    write_meta(tmp_path / "2023AB")
    items = read(tmp_path / "2023AB")
    assert items == [Parsed(TermRecord("UMLS:C0000001", "Heart", "en", "MH", "A0000001", True), "MRCONSO.RRF", 1)]
    assert UmlsReader(tmp_path / "2023AB").source().version == "2023AB"


def test_registered_by_format_name() -> None:
    assert READERS.get("umls") is UmlsReader
