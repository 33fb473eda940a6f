"""BiosReader: format sniffing, exact records, rejections and provenance, on files written per test."""

from __future__ import annotations

import hashlib
import tracemalloc
from pathlib import Path

import pytest

from bios_kg.graph.errors import InputError
from bios_kg.graph.records import (
    Definition,
    Relation,
    RelationType,
    SemanticType,
    TermRecord,
    TypeAssignment,
)
from bios_kg.ingest.readers import READERS, Item, Parsed
from bios_kg.ingest.readers.bios import BiosReader
from tests.support.bios_files import BIOS_FORMATS, all_records, counts_of, records, rejected, write_bios_release


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def read(folder: Path, **options: str) -> list[Item]:
    return list(BiosReader(folder, **options).read())


TERMS_2022 = "CN00000001|S0000001|Diabetes mellitus|ENG|PT\nCN00000001|S0000002|糖尿病|CHS|SY\n"


# -- the shared fixture release ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", BIOS_FORMATS)
def test_fixture_release_matches_its_counts(tmp_path: Path, fmt: str) -> None:
    expected = write_bios_release(tmp_path, fmt)
    items = read(tmp_path)
    assert rejected(items) == []
    assert counts_of(items) == expected
    # Every type is described once, and before it is assigned.
    type_ids = [t.id for t in records(items, SemanticType)]
    assert len(type_ids) == len(set(type_ids))


@pytest.mark.parametrize("fmt", BIOS_FORMATS)
def test_every_format_gives_the_same_terms(tmp_path: Path, fmt: str) -> None:
    write_bios_release(tmp_path / "ref", "2022")
    write_bios_release(tmp_path / "other", fmt)
    ref = {(t.concept_id, t.text, t.lang, t.source_id) for t in records(read(tmp_path / "ref"), TermRecord)}
    other = {(t.concept_id, t.text, t.lang, t.source_id) for t in records(read(tmp_path / "other"), TermRecord)}
    assert other == ref


def test_fixture_2022_records_in_load_order(tmp_path: Path) -> None:
    write_bios_release(tmp_path, "2022")
    items = read(tmp_path)
    order = [type(r).__name__ for r in all_records(items)]
    # network types, terms, assignments, relation types, relations, definitions
    firsts = [order.index(name) for name in ("SemanticType", "TermRecord", "TypeAssignment",
                                             "RelationType", "Relation", "Definition")]
    assert firsts == sorted(firsts)
    assert records(items, SemanticType)[1] == SemanticType(
        "BIOS_STY:T002", "Sign, Symptom, or Finding", "体征、症状或发现"
    )
    assert records(items, RelationType) == [
        RelationType("IS_A", "is_a", "是一种", "reverse_is_a"),
        RelationType("MAY_TREAT", "may_treat", "可能治疗", "may_be_treated_by"),
        RelationType("MAY_CAUSE", "may_cause", "可能导致", "may_be_caused_by"),
    ]
    relations = {r.rid: r for r in records(items, Relation)}
    assert relations["R1"] == Relation("BIOS:CN00000002", "IS_A", "BIOS:CN00000001", "1", "R1")
    # reverse_is_a rows fold onto IS_A with head and tail swapped
    assert relations["R6"] == Relation("BIOS:CN00000002", "IS_A", "BIOS:CN00000001", "2", "R6")
    assert relations["R7"] == Relation("BIOS:CN00000004", "IS_A", "BIOS:CN00000011", "2", "R7")
    assert Definition("BIOS:CN00000001", "一组以长期高血糖为特征的代谢性疾病。", "zh") in records(items, Definition)


# -- terms: sniffing ------------------------------------------------------------------------------


def test_terms_2022_pipe_without_header(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", TERMS_2022)
    items = read(tmp_path)
    assert items == [
        Parsed(TermRecord("BIOS:CN00000001", "Diabetes mellitus", "en", "PT", "S0000001", True),
               "ConceptTerms.txt", 1),
        Parsed(TermRecord("BIOS:CN00000001", "糖尿病", "zh", "SY", "S0000002", False), "ConceptTerms.txt", 2),
    ]


def test_terms_2022_trailing_delimiter_crlf_and_bom(tmp_path: Path) -> None:
    text = "\ufeffCN00000001|S0000001|Diabetes mellitus|ENG|PT|\r\nCN00000002|S0000002|Epilepsy|ENG|SY|\r\n"
    write(tmp_path, "ConceptTerms.txt", text)
    assert all_records(read(tmp_path)) == [
        TermRecord("BIOS:CN00000001", "Diabetes mellitus", "en", "PT", "S0000001", True),
        TermRecord("BIOS:CN00000002", "Epilepsy", "en", "SY", "S0000002", False),
    ]


def test_terms_2023_tab_tty_before_lang(tmp_path: Path) -> None:
    write(tmp_path, "Concepts.txt", "CN00000001\tT1\tDiabetes\tPT\tEN\nCN00000001\tT2\t糖尿病\tSY\tZH\n")
    assert all_records(read(tmp_path)) == [
        TermRecord("BIOS:CN00000001", "Diabetes", "en", "PT", "T1", True),
        TermRecord("BIOS:CN00000001", "糖尿病", "zh", "SY", "T2", False),
    ]


def test_terms_language_column_found_by_content(tmp_path: Path) -> None:
    # Tab-separated but in 2022 column order: LANG (ENG) before TTY (SY) is recognised from the row.
    write(tmp_path, "Concepts.txt", "CN00000001\tT1\tDiabetes\tENG\tSY\n")
    assert all_records(read(tmp_path)) == [TermRecord("BIOS:CN00000001", "Diabetes", "en", "SY", "T1", False)]


def test_terms_2021_header_without_language(tmp_path: Path) -> None:
    write(tmp_path, "Concepts 2021-11-05.txt", "cid\ttid\tstr\nCN00468812\tT1\tEpilepsy\nCN00468812\tT2\t癫痫\n")
    items = read(tmp_path)
    assert items == [
        Parsed(TermRecord("BIOS:CN00468812", "Epilepsy", "en", "SY", "T1", False), "Concepts 2021-11-05.txt", 2),
        Parsed(TermRecord("BIOS:CN00468812", "癫痫", "zh", "SY", "T2", False), "Concepts 2021-11-05.txt", 3),
    ]


def test_terms_tab_header_maps_columns_by_name(tmp_path: Path) -> None:
    text = "TTY\tLANG\tSTR\tSID\tCID\tNOTE\t\nPT\tCHS\t癫痫\tS9\tCN00000003\tx\t\n"
    write(tmp_path, "ConceptTerms.txt", text)
    assert all_records(read(tmp_path)) == [TermRecord("BIOS:CN00000003", "癫痫", "zh", "PT", "S9", True)]


def test_terms_header_without_string_column_raises(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", "cid\ttid\nCN00000001\tT1\n")
    with pytest.raises(InputError) as info:
        read(tmp_path)
    assert info.value.path == "ConceptTerms.txt" and info.value.line == 1 and "str" in info.value.problem


def test_files_in_coredata_subfolder(tmp_path: Path) -> None:
    write(tmp_path, "CoreData/ConceptTerms.txt", "CN1|S1|Heart|ENG|PT\nCN1|S2|心脏|XX|PT\n")
    items = read(tmp_path)
    assert all_records(items) == [TermRecord("BIOS:CN1", "Heart", "en", "PT", "S1", True)]
    assert [(r.file, r.line) for r in rejected(items)] == [("CoreData/ConceptTerms.txt", 2)]


# -- terms: rejections ----------------------------------------------------------------------------


def test_terms_rejections_name_file_line_and_problem(tmp_path: Path) -> None:
    lines = [
        "CN00000001|S1|Heart|ENG|PT",  # 1 ok
        "CN00000002|S2|Lung|ENG",  # 2 too few columns
        "|S3|Liver|ENG|PT",  # 3 empty CID
        "CN00000004|S4|Rein|XX|PT",  # 4 unknown language
        "CN00000005|S5||ENG|PT",  # 5 empty term
        "",  # 6 blank: skipped
        "CN00000007|S7|Kidney|ENG|PT|extra|",  # 7 too many columns
        "CN00000008|S8|Stomach||PT",  # 8 empty language
    ]
    write(tmp_path, "ConceptTerms.txt", "\n".join(lines) + "\n")
    items = read(tmp_path)
    assert all_records(items) == [TermRecord("BIOS:CN00000001", "Heart", "en", "PT", "S1", True)]
    bad = rejected(items)
    assert [(r.file, r.line, r.raw) for r in bad] == [
        ("ConceptTerms.txt", n, lines[n - 1]) for n in (2, 3, 4, 5, 7, 8)
    ]
    reasons = [r.reason for r in bad]
    assert reasons[0] == "expected 5 columns (CID|SID|STR|LANG|TTY), got 4"
    assert reasons[1] == "empty CID"
    assert "unknown language code" in reasons[2] and "'XX'" in reasons[2] and "LANG" in reasons[2]
    assert "empty term string" in reasons[3] and "STR" in reasons[3]
    assert reasons[4] == "expected 5 columns (CID|SID|STR|LANG|TTY), got 6"
    assert "empty language code" in reasons[5]
    assert isinstance(bad[0].error(), InputError)


def test_invalid_utf8_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", b"CN1|S1|Heart|ENG|PT\nCN2|S2|Br\xffin|ENG|PT\nCN3|S3|Lung|ENG|PT\n")
    items = read(tmp_path)
    assert [t.concept_id for t in records(items, TermRecord)] == ["BIOS:CN1", "BIOS:CN3"]
    bad = rejected(items)
    assert len(bad) == 1
    assert (bad[0].file, bad[0].line, bad[0].reason) == ("ConceptTerms.txt", 2, "invalid UTF-8")
    assert bad[0].raw == "CN2|S2|Br\ufffdin|ENG|PT"


def test_tab_header_column_count_is_the_header_width(tmp_path: Path) -> None:
    write(tmp_path, "Concepts.txt", "cid\ttid\tstr\nCN1\tT1\tHeart\tPT\n")
    bad = rejected(read(tmp_path))
    assert [(r.line, r.reason) for r in bad] == [(2, "expected 3 columns (cid|tid|str), got 4")]


def test_missing_terms_file_raises_naming_the_folder(tmp_path: Path) -> None:
    write(tmp_path, "Relations.txt", "R1|CN1|CN2|1|is_a\n")
    with pytest.raises(InputError) as info:
        read(tmp_path)
    assert info.value.path == str(tmp_path) and "ConceptTerms" in info.value.problem
    with pytest.raises(InputError):
        BiosReader(tmp_path).source()
    with pytest.raises(InputError):
        read(tmp_path / "absent")


# -- semantic types -------------------------------------------------------------------------------


def test_semtypes_2022_with_network(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", TERMS_2022)
    write(tmp_path, "SemanticNetwork.txt", "T047|ENG|Disease or Syndrome|x\nT047|CHS|疾病或综合征|x\n")
    write(tmp_path, "SemanticTypes.txt", "CN00000001|T047|Disease or Syndrome\nCN00000002|T184|Sign or Symptom\n")
    items = read(tmp_path)
    assert records(items, SemanticType) == [
        SemanticType("BIOS_STY:T047", "Disease or Syndrome", "疾病或综合征"),
        SemanticType("BIOS_STY:T184", "Sign or Symptom"),
    ]
    assert records(items, TypeAssignment) == [
        TypeAssignment("BIOS:CN00000001", "BIOS_STY:T047"),
        TypeAssignment("BIOS:CN00000002", "BIOS_STY:T184"),
    ]
    assert [i.file for i in items if isinstance(i, Parsed)][0] == "SemanticNetwork.txt"


def test_semtypes_2023_names_only_become_slugs_once(tmp_path: Path) -> None:
    write(tmp_path, "Concepts.txt", "CN1\tT1\tFever\tPT\tEN\n")
    write(tmp_path, "Semtypes 20231215.txt", "CN1\tSign, Symptom, or Finding\nCN2\tSign, Symptom, or Finding\n")
    items = read(tmp_path)
    assert records(items, SemanticType) == [
        SemanticType("BIOS_STY:sign_symptom_or_finding", "Sign, Symptom, or Finding")
    ]
    assert records(items, TypeAssignment) == [
        TypeAssignment("BIOS:CN1", "BIOS_STY:sign_symptom_or_finding"),
        TypeAssignment("BIOS:CN2", "BIOS_STY:sign_symptom_or_finding"),
    ]


def test_semtypes_2021_header_with_joined_types(tmp_path: Path) -> None:
    write(tmp_path, "Concepts 2021-11-05.txt", "cid\ttid\tstr\nCN1\tT1\tSeizure\n")
    write(tmp_path, "Semtypes 2021-11-05.txt", "cid\tsty\nCN1\tSign, Symptom, or Finding|Disease or Syndrome\n")
    items = read(tmp_path)
    assert records(items, TypeAssignment) == [
        TypeAssignment("BIOS:CN1", "BIOS_STY:sign_symptom_or_finding"),
        TypeAssignment("BIOS:CN1", "BIOS_STY:disease_or_syndrome"),
    ]
    assert all(i.line == 2 for i in items if isinstance(i, Parsed) and i.file.startswith("Semtypes"))


def test_semtype_names_resolve_to_network_ids(tmp_path: Path) -> None:
    write(tmp_path, "Concepts.txt", "CN1\tT1\tFever\tPT\tEN\n")
    write(tmp_path, "SemanticNetwork.txt", "T184|ENG|Sign or Symptom\n")
    write(tmp_path, "Semtypes.txt", "CN1\tsign or symptom\n")
    items = read(tmp_path)
    assert records(items, SemanticType) == [SemanticType("BIOS_STY:T184", "Sign or Symptom")]
    assert records(items, TypeAssignment) == [TypeAssignment("BIOS:CN1", "BIOS_STY:T184")]


def test_semtype_rejections(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", TERMS_2022)
    write(tmp_path, "SemanticNetwork.txt", "|ENG|Anatomy\nT1|XYZ|Anatomy\n")
    write(tmp_path, "SemanticTypes.txt", "CN1||\n|T1|Anatomy\nCN1|T1\n")
    bad = rejected(read(tmp_path))
    assert [(r.file, r.line) for r in bad] == [
        ("SemanticNetwork.txt", 1), ("SemanticNetwork.txt", 2),
        ("SemanticTypes.txt", 1), ("SemanticTypes.txt", 2), ("SemanticTypes.txt", 3),
    ]
    assert [r.reason for r in bad][:3] == [
        "empty STYID", "unknown language code 'XYZ' (LANG)", "empty STYID",
    ]
    assert bad[3].reason == "empty CID"
    assert bad[4].reason == "expected 3 columns (CID|STYID|STY), got 2"


# -- relations ------------------------------------------------------------------------------------


def test_relation_names_and_direction_folding(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", TERMS_2022)
    write(tmp_path, "RelationNames.txt",
          "2|ENG|reverse_is_a\n2|CHS|反向是一种\n1|ENG|is_a\n1|CHS|是一种\n"
          "13|ENG|expressed_in\n14|ENG|is_expression_of\n14|CHS|的表达\n17|ENG|significant_drug_interaction\n")
    write(tmp_path, "Relations.txt",
          "R1|CN2|CN1|2|reverse_is_a\nR2|CN3|CN4|14|is_expression_of\nR3|CN5|CN6|17|significant_drug_interaction\n"
          "R4|CN7|CN8|1|\nR5|CN9|CN10|99|found_in\n")
    items = read(tmp_path)
    assert records(items, RelationType) == [
        RelationType("IS_A", "is_a", "是一种", "reverse_is_a"),
        RelationType("EXPRESSED_IN", "expressed_in", None, "is_expression_of"),
        RelationType("SIGNIFICANT_DRUG_INTERACTION", "significant_drug_interaction", None, None),
        RelationType("FOUND_IN", "found_in", None, "reverse_found_in"),
    ]
    # The IS_A type comes from the forward row (line 3), even though the reverse is listed first.
    assert [i.line for i in items if isinstance(i, Parsed) and isinstance(i.record, RelationType)][0] == 3
    assert records(items, Relation) == [
        Relation("BIOS:CN1", "IS_A", "BIOS:CN2", "2", "R1"),
        Relation("BIOS:CN4", "EXPRESSED_IN", "BIOS:CN3", "14", "R2"),
        Relation("BIOS:CN5", "SIGNIFICANT_DRUG_INTERACTION", "BIOS:CN6", "17", "R3"),
        Relation("BIOS:CN7", "IS_A", "BIOS:CN8", "1", "R4"),  # name taken from RELID 1
        Relation("BIOS:CN9", "FOUND_IN", "BIOS:CN10", "99", "R5"),
    ]
    # A type not in RelationNames is described right before its first relation.
    kinds = [type(r).__name__ for r in all_records(items)][-2:]
    assert kinds == ["RelationType", "Relation"]


def test_relations_tab_with_header(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", TERMS_2022)
    write(tmp_path, "Relations.txt", "RID\tCID_HEAD\tCID_TAIL\tRELID\tREL\t\nR1\tCN1\tCN2\t6\treverse_may_treat\t\n")
    assert records(read(tmp_path), Relation) == [Relation("BIOS:CN2", "MAY_TREAT", "BIOS:CN1", "6", "R1")]


def test_relation_rejections(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", TERMS_2022)
    write(tmp_path, "RelationNames.txt", "1|ENG|is_a\n3|ENG|has term\n4|QQQ|foo\n5|ENG|\n")  # QQQ: private use
    lines = [
        "R1|CN1|CN2|1|is_a",  # 1 ok
        "R2|CN1|CN2|3|has_term",  # 2 structural type: invalid
        "R3|CN1|CN2|7|!!!",  # 3 no usable name
        "R4||CN2|1|is_a",  # 4 empty head
        "R5|CN1||1|is_a",  # 5 empty tail
        "R6|CN1|CN2|1",  # 6 column count
        "R7|CN1|CN2|77|",  # 7 no name at all
    ]
    write(tmp_path, "Relations.txt", "\n".join(lines) + "\n")
    items = read(tmp_path)
    assert records(items, Relation) == [Relation("BIOS:CN1", "IS_A", "BIOS:CN2", "1", "R1")]
    bad = rejected(items)
    assert [(r.file, r.line) for r in bad] == [
        ("RelationNames.txt", 3), ("RelationNames.txt", 4), ("RelationNames.txt", 2),
        ("Relations.txt", 2), ("Relations.txt", 3), ("Relations.txt", 4), ("Relations.txt", 5),
        ("Relations.txt", 6), ("Relations.txt", 7),
    ]
    reasons = [r.reason for r in bad]
    assert "'QQQ'" in reasons[0]
    assert reasons[1] == "empty REL"
    assert reasons[2] == "invalid relation name 'has term'"
    assert reasons[3] == "invalid relation name 'has_term'"
    assert reasons[4] == "invalid relation name '!!!'"
    assert reasons[5:8] == ["empty CID_HEAD", "empty CID_TAIL",
                            "expected 5 columns (RID|CID_HEAD|CID_TAIL|RELID|REL), got 4"]
    assert "RELID '77'" in reasons[8]


# -- definitions ----------------------------------------------------------------------------------


def test_definitions_without_language_are_guessed(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", TERMS_2022)
    write(tmp_path, "Definitions.txt", "CN1|A disease of high blood sugar.\nCN1|高血糖疾病。\n")
    assert records(read(tmp_path), Definition) == [
        Definition("BIOS:CN1", "A disease of high blood sugar.", "en"),
        Definition("BIOS:CN1", "高血糖疾病。", "zh"),
    ]


def test_definitions_with_language(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", TERMS_2022)
    write(tmp_path, "Definitions.txt", "CN1|CHS|高血糖疾病。|\nCN2|ENG|Heart.|\nCN3|XX|Lung.|\nCN4|ENG||\n")
    items = read(tmp_path)
    assert records(items, Definition) == [
        Definition("BIOS:CN1", "高血糖疾病。", "zh"), Definition("BIOS:CN2", "Heart.", "en")
    ]
    assert [(r.line, r.reason) for r in rejected(items)] == [
        (3, "unknown language code 'XX' (LANG)"), (4, "empty definition (DEF)")
    ]


def test_definitions_header_names_the_columns(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", TERMS_2022)
    write(tmp_path, "Definitions.txt", "cid\tdefinition\tlang\nCN1\t心脏。\tZH\n")
    assert records(read(tmp_path), Definition) == [Definition("BIOS:CN1", "心脏。", "zh")]


def test_definitions_language_last_without_header(tmp_path: Path) -> None:
    write(tmp_path, "ConceptTerms.txt", TERMS_2022)
    write(tmp_path, "Definitions.txt", "CN1|Heart.|ENG\n")
    assert records(read(tmp_path), Definition) == [Definition("BIOS:CN1", "Heart.", "en")]


# -- provenance, registry, memory -----------------------------------------------------------------


def test_source_provenance_and_checksums(tmp_path: Path) -> None:
    folder = tmp_path / "BIOS_2022v1"
    write_bios_release(folder, "2022")
    source = BiosReader(folder).source()
    assert (source.id, source.name, source.version, source.licence, source.format, source.url) == (
        "BIOS", "BIOS", "BIOS_2022v1", "CC-BY-NC-ND-4.0", "bios", "https://bios.idea.edu.cn"
    )
    assert source.checksums == {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in folder.iterdir()
    }
    assert len(source.checksums) == 6
    assert BiosReader(folder, version="2022v1", licence="other").source().version == "2022v1"


def test_coredata_version_is_the_release_folder(tmp_path: Path) -> None:
    write(tmp_path / "BIOS_v2", "CoreData/ConceptTerms.txt", TERMS_2022)
    source = BiosReader(tmp_path / "BIOS_v2" / "CoreData").source()
    assert source.version == "BIOS_v2" and list(source.checksums) == ["ConceptTerms.txt"]
    assert list(BiosReader(tmp_path / "BIOS_v2").source().checksums) == ["CoreData/ConceptTerms.txt"]


def test_registered_by_format_name() -> None:
    assert READERS.get("bios") is BiosReader


def test_memory_stays_flat_while_streaming(tmp_path: Path) -> None:
    rows = 100_000
    with (tmp_path / "ConceptTerms.txt").open("w", encoding="utf-8") as handle:
        for n in range(rows):
            handle.write(f"CN{n:08d}|S{n:08d}|term number {n} with some words|ENG|PT\n")
    tracemalloc.start()
    count = sum(1 for item in BiosReader(tmp_path).read() if isinstance(item, Parsed))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == rows
    assert peak < 2_000_000  # the file holds about 5 MB of text; nothing may keep it all
