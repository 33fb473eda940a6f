"""CmekgReader: records, order, types, ICD-10 mapping, rejections and pickle safety on small pickles
written per test, then facts of the real PyCMeKG package (read once per module)."""

from __future__ import annotations

import hashlib
import importlib.util
import pickle
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.records import Concept, Relation, RelationType, SemanticType, TermRecord, TypeAssignment, Xref
from bios_kg.ingest.readers import READERS, Item, Parsed
from bios_kg.ingest.readers.cmekg import CmekgReader, Predicates, concept_id, icd_xrefs
from tests.support.bios_files import records, rejected

SAMPLE: dict[Any, Any] = {
    "癫痫病": {
        "英文名称": ["epilepsy"], "其他名称": ["羊癫风", "无"], "ICD10": ["G40", "G40.901"],
        "常见症状": ["抽搐", "意识障碍", "抽搐"], "就诊科室": ["神经内科"], "相关药物": ["丙戊酸钠片"],
        "上位关系": ["癫癎[癫痫]"], "下位关系": ["颞叶癫痫"], "传染性": ["无"],
    },
    "坏值": {"常见症状": "抽搐"},
    "丙戊酸钠片": {
        "英文名": ["Sodium Valproate Tablets"], "适应症": ["癫痫病"], "成份": ["丙戊酸钠"],
        "不良反应": ["恶心", "尚不明确"], "分类": ["抗癫痫药"], "用法用量": ["口服，一次0.2g"], "ATC编码": ["N03AG01"],
    },
    42: {"常见症状": ["头痛"]},
    "支气管肺癌": {
        "别称": ["支气管癌", "肺癌"], "英文别名": ["bronchogenic carcinoma"], "ICD10": ["C34/D02.2", "M81400/3"],
        "影像学检查": ["X  线胸片"], "高危因素": ["吸烟史"], "诊断依据_病史": ["吸烟"],
    },
    "银杏叶": {"界": ["植物界"], "二名法": ["Ginkgo biloba"], "功效": ["活血"], "主治": ["胸痹"]},
    "坏列表": {"成份": ["水", 3]},
}
LINES = {name: line for line, name in enumerate(SAMPLE, start=1)}
C = concept_id


def write_pickle(folder: Path, data: Any, name: str = "cmekg.pkl") -> Path:
    path = folder / name
    path.write_bytes(pickle.dumps(data, protocol=0))  # the package's pickle is protocol 0
    return path


def read(folder: Path, predicates: Predicates = "core", data: Any = SAMPLE) -> list[Item]:
    return list(CmekgReader(write_pickle(folder, data), predicates=predicates).read())


def triples(items: list[Item]) -> set[tuple[str, str, str, str | None]]:
    return {(r.head, r.type, r.tail, r.rel_id) for r in records(items, Relation)}


def test_registered() -> None:
    assert READERS.get("cmekg") is CmekgReader


def test_concepts_terms_and_xrefs(tmp_path: Path) -> None:
    items = read(tmp_path)
    concepts = {c.id: c for c in records(items, Concept)}
    assert concepts[C("癫痫病")] == Concept(C("癫痫病"), name="epilepsy", names=(("zh", "癫痫病"),))
    assert concepts[C("丙戊酸钠片")].name == "Sodium Valproate Tablets"
    assert concepts[C("抽搐")] == Concept(C("抽搐"), names=(("zh", "抽搐"),))
    assert C("X 线胸片") == "CMEKG:X%20线胸片" and C("X 线胸片") in concepts  # whitespace collapsed, then encoded
    assert C("无") not in concepts and C("尚不明确") not in concepts  # placeholders
    assert C("吸烟史") not in concepts and C("植物界") not in concepts  # not core / literal attributes

    terms = {(t.concept_id, t.text, t.lang, t.tty, t.preferred) for t in records(items, TermRecord)}
    assert {t for t in terms if t[0] == C("癫痫病")} == {
        (C("癫痫病"), "癫痫病", "zh", "PT", True), (C("癫痫病"), "epilepsy", "en", "PT", True),
        (C("癫痫病"), "羊癫风", "zh", "SY", False)}
    assert {t for t in terms if t[0] == C("支气管肺癌")} == {
        (C("支气管肺癌"), "支气管肺癌", "zh", "PT", True), (C("支气管肺癌"), "支气管癌", "zh", "SY", False),
        (C("支气管肺癌"), "肺癌", "zh", "SY", False), (C("支气管肺癌"), "bronchogenic carcinoma", "en", "SY", False)}
    assert (C("银杏叶"), "Ginkgo biloba", "la", "SCN", False) in terms
    assert (C("抽搐"), "抽搐", "zh", "PT", True) in terms

    assert {(x.concept_id, x.target) for x in records(items, Xref)} == {
        (C("癫痫病"), "ICD10:G40"), (C("癫痫病"), "ICD10:G40.9"), (C("癫痫病"), "ICD10CN:G40.901"),
        (C("支气管肺癌"), "ICD10:C34"), (C("支气管肺癌"), "ICD10:D02.2"), (C("支气管肺癌"), "ICDO:8140/3"),
        (C("丙戊酸钠片"), "ATC:N03AG01")}


def test_each_concept_once_at_its_subject_line(tmp_path: Path) -> None:
    items = read(tmp_path)
    ids = [i.record.id for i in items if isinstance(i, Parsed) and isinstance(i.record, Concept)]
    assert len(ids) == len(set(ids))
    lines = {i.record.id: i.line for i in items if isinstance(i, Parsed) and isinstance(i.record, Concept)}
    assert lines[C("丙戊酸钠片")] == LINES["丙戊酸钠片"]  # named by 癫痫病 first, emitted as a subject
    assert lines[C("抽搐")] == LINES["癫痫病"]  # an object: the line of the first subject naming it


def test_relations_core(tmp_path: Path) -> None:
    items = read(tmp_path)
    assert triples(items) == {
        (C("癫痫病"), "HAS_SYMPTOM", C("抽搐"), "常见症状"),
        (C("癫痫病"), "HAS_SYMPTOM", C("意识障碍"), "常见症状"),
        (C("癫痫病"), "TREATED_IN_DEPARTMENT", C("神经内科"), "就诊科室"),
        (C("丙戊酸钠片"), "MAY_TREAT", C("癫痫病"), "相关药物"),  # may_be_treated_by, swapped; 适应症 is a duplicate
        (C("癫痫病"), "IS_A", C("癫癎[癫痫]"), "上位关系"),
        (C("颞叶癫痫"), "IS_A", C("癫痫病"), "下位关系"),
        (C("丙戊酸钠片"), "HAS_INGREDIENT", C("丙戊酸钠"), "成份"),
        (C("丙戊酸钠片"), "MAY_CAUSE", C("恶心"), "不良反应"),
        (C("丙戊酸钠片"), "IS_A", C("抗癫痫药"), "分类"),
        (C("支气管肺癌"), "HAS_EXAMINATION", C("X 线胸片"), "影像学检查"),
        (C("银杏叶"), "MAY_TREAT", C("胸痹"), "主治"),
    }
    types = {t.id: t for t in records(items, RelationType)}
    assert types["MAY_TREAT"] == RelationType("MAY_TREAT", "may_treat", "适应症", "may_be_treated_by")
    assert types["IS_A"].inverse == "reverse_is_a"
    assert set(types) == {r.type for r in records(items, Relation)}


def test_relations_all_add_unmapped_entity_predicates(tmp_path: Path) -> None:
    extra = triples(read(tmp_path, "all")) - triples(read(tmp_path))
    assert extra == {(C("支气管肺癌"), "RELATED_TO", C("吸烟史"), "高危因素")}  # not 诊断依据_*, 界, 传染性


def test_order_concepts_before_relations(tmp_path: Path) -> None:
    items = [i for i in read(tmp_path, "all") if isinstance(i, Parsed)]
    kinds = [type(i.record) for i in items]
    first = kinds.index(RelationType)
    assert all(kind in (RelationType, Relation) for kind in kinds[first:])
    assert kinds.index(SemanticType) < kinds.index(TypeAssignment)
    concepts = {i.record.id for i in items if isinstance(i.record, Concept)}
    assert all(r.head in concepts and r.tail in concepts for r in records(items, Relation))
    declared: set[str] = set()
    for item in items[first:]:
        if isinstance(item.record, RelationType):
            declared.add(item.record.id)
        else:
            assert isinstance(item.record, Relation) and item.record.type in declared


def test_semantic_types(tmp_path: Path) -> None:
    items = read(tmp_path)
    types = {a.concept_id: a.type_id.removeprefix("UMLS_STY:") for a in records(items, TypeAssignment)}
    assert len(types) == len(records(items, TypeAssignment))  # one type a concept
    expected = {"癫痫病": "T047", "支气管肺癌": "T047", "丙戊酸钠片": "T200", "银杏叶": "T121", "抽搐": "T184",
                "神经内科": "T093", "X 线胸片": "T060", "恶心": "T033", "丙戊酸钠": "T121",
                "癫癎[癫痫]": "T047", "颞叶癫痫": "T047"}  # 上位/下位 objects: the subject's type
    assert {name: types[C(name)] for name in expected} == expected
    assert {t.id for t in records(items, SemanticType)} == {f"UMLS_STY:{t}" for t in set(types.values())}


def test_malformed_entries_are_rejected(tmp_path: Path) -> None:
    items = read(tmp_path)
    bad = {r.line: r for r in rejected(items)}
    assert set(bad) == {LINES["坏值"], LINES[42], LINES["坏列表"]}
    assert all(r.file == "cmekg.pkl" for r in bad.values())
    assert "not a list" in bad[LINES["坏值"]].reason and "坏值" in bad[LINES["坏值"]].raw
    assert "not text" in bad[LINES[42]].reason
    assert "'成份'" in bad[LINES["坏列表"]].reason
    assert C("坏值") not in {c.id for c in records(items, Concept)}
    assert C("头痛") not in {c.id for c in records(items, Concept)}  # from the rejected entry 42


def test_duplicate_name_is_rejected(tmp_path: Path) -> None:
    items = read(tmp_path, data={"肺 癌": {}, "肺\u3000癌": {"常见症状": ["咳嗽"]}})
    assert [(r.line, "already entry 1" in r.reason) for r in rejected(items)] == [(2, True)]
    assert [c.id for c in records(items, Concept)] == ["CMEKG:肺%20癌"]


class _Boom:
    called = False

    @staticmethod
    def fire() -> None:
        _Boom.called = True

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Boom.fire, ())


def test_pickle_with_a_global_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cmekg.pkl"
    path.write_bytes(pickle.dumps({"癫痫病": {"常见症状": [_Boom()]}}))
    with pytest.raises(InputError, match=r"refused to load global .*_Boom\.fire"):
        list(CmekgReader(path).read())
    assert not _Boom.called


@pytest.mark.parametrize("content", [b"not a pickle", pickle.dumps(["a list"]), b""])
def test_unreadable_pickle(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "cmekg.pkl"
    path.write_bytes(content)
    with pytest.raises(InputError, match="cmekg.pkl"):
        list(CmekgReader(path).read())


def test_source(tmp_path: Path) -> None:
    path = write_pickle(tmp_path, SAMPLE)
    reader = CmekgReader(path)
    source = reader.source()
    assert reader.root == tmp_path
    assert (source.id, source.format, source.url) == ("CMEKG", "cmekg", "https://github.com/king-yyf/PyCMeKG")
    assert source.checksums == {"cmekg.pkl": hashlib.sha256(path.read_bytes()).hexdigest()}
    assert source.version.startswith(("PyCMeKG ", "cmekg.pkl sha256:"))


def test_options(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="core"):
        CmekgReader(tmp_path / "cmekg.pkl", predicates="some")  # type: ignore[arg-type]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pip install PyCMeKG==0\.2\.5"):
        CmekgReader()


@pytest.mark.parametrize(("text", "expected"), [
    ("G40.9", ["ICD10:G40.9"]),
    ("G40.901", ["ICD10:G40.9", "ICD10CN:G40.901"]),
    ("D66.x01", ["ICD10:D66", "ICD10CN:D66.x01"]),
    ("S72.00", ["ICD10:S72.0", "ICD10CN:S72.00"]),
    ("C34/D02.2", ["ICD10:C34", "ICD10:D02.2"]),
    ("N18↑D63.8*", ["ICD10:N18", "ICD10:D63.8"]),
    ("K76.6伴（K70—K71↑,K74↑,I98.3*）", ["ICD10:K76.6", "ICD10:K74", "ICD10:I98.3"]),
    ("E11.2—E11.9", []),
    ("Q42不包括Q42.—01", ["ICD10:Q42"]),
    ("M81400/3", ["ICDO:8140/3"]),
    ("CM—3：38.8501—38.8503,且不包括：39.6", []),
])
def test_icd_xrefs(text: str, expected: list[str]) -> None:
    assert icd_xrefs(text) == expected


@pytest.mark.parametrize("name", ["X 线胸片", "聚多卡醇注射液（3%）", "Cerebral Malaria", "a%20b"])
def test_concept_ids_are_curies(name: str) -> None:
    assert normalize_curie(concept_id(name)) == concept_id(name)
    assert " " not in concept_id(name)
    assert concept_id("a%20b") != concept_id("a b")


# -- the real package ------------------------------------------------------------------------------
WATCHED = {C("癫痫病"), C("支气管肺癌")}


@pytest.fixture(scope="module")
def real() -> dict[str, Any]:
    """One pass over the installed package: counts, order, and the records of the watched concepts."""
    kinds: Counter[str] = Counter()
    watched: list[Any] = []
    rejections = 0
    in_relations = out_of_order = False
    for item in CmekgReader().read():
        if not isinstance(item, Parsed):
            rejections += 1
            continue
        record = item.record
        kinds[type(record).__name__] += 1
        in_relations = in_relations or isinstance(record, RelationType)
        out_of_order = out_of_order or (in_relations and not isinstance(record, Relation | RelationType))
        if {getattr(record, field, None) for field in ("id", "concept_id", "head")} & WATCHED:
            watched.append(record)
    return {"kinds": kinds, "watched": watched, "rejections": rejections, "out_of_order": out_of_order}


def test_real_package_reads_cleanly(real: dict[str, Any]) -> None:
    assert real["rejections"] == 0 and not real["out_of_order"]
    kinds = real["kinds"]
    assert kinds["Concept"] > 27_403 and kinds["Relation"] > 700_000 and kinds["Xref"] > 2_800


def test_real_epilepsy(real: dict[str, Any]) -> None:
    records_ = [r for r in real["watched"] if getattr(r, "concept_id", getattr(r, "id", None)) == C("癫痫病")
                or getattr(r, "head", None) == C("癫痫病")]
    concept = next(r for r in records_ if isinstance(r, Concept))
    assert concept.name == "epilepsy"
    terms = {(t.text, t.lang, t.tty) for t in records_ if isinstance(t, TermRecord)}
    assert {("癫痫病", "zh", "PT"), ("epilepsy", "en", "PT"), ("羊癫风", "zh", "SY"), ("羊角风", "zh", "SY")} <= terms
    assert "ICD10:G40.9" in {x.target for x in records_ if isinstance(x, Xref)}
    assert (C("癫痫病"), C("抽搐")) in {(r.head, r.tail) for r in records_
                                         if isinstance(r, Relation) and r.type == "HAS_SYMPTOM"}
    assert TypeAssignment(C("癫痫病"), "UMLS_STY:T047") in records_


def test_real_bronchial_lung_cancer(real: dict[str, Any]) -> None:
    records_ = [r for r in real["watched"] if getattr(r, "concept_id", None) == C("支气管肺癌")]
    synonyms = {t.text for t in records_ if isinstance(t, TermRecord) and t.tty == "SY"}
    assert {"支气管癌", "肺癌"} <= synonyms
    assert {"ICD10:C34", "ICD10:D02.2"} <= {x.target for x in records_ if isinstance(x, Xref)}
