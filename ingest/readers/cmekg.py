"""CMeKG (Chinese Medical Knowledge Graph), read from the PyCMeKG package's `pyCMeKG/model/cmekg.pkl`.

The pickle is one dict: entity name -> {predicate -> [value, ...]}, all strings (PyCMeKG 0.2.5: 27,403
subject entities, 469 predicates, 967,409 values). It is loaded with an unpickler that refuses every
global, so a pickle that would build objects or call functions fails with InputError before any of it
runs. A pickle has no lines: an item's `line` is the 1-based position of its subject entity in the dict
(an object entity takes the line of the first subject naming it). A malformed entry (a name or value
that is not text, a predicate whose value is not a list, a name met twice) is rejected whole.

Records, all concepts, terms, types and xrefs before the first relation:
- Concepts `CMEKG:<name>` for the subjects and for the values of the relation predicates loaded. A
  name has its whitespace runs collapsed to one space; in the id, `%` becomes `%25` and a space `%20`
  (injective, and the Chinese stays readable). Each has its name as zh PT preferred term, also when
  the name is Latin text (CT, MRI): it is the name Chinese text uses.
- 英文名/英文名称/外文名/英文: the first in Latin script is the en PT, preferred, and Concept.name.
  The others and 别称/又称/其他名称/同义词/中文名/中文学名/英文别名/英文别称 are SY terms in
  the language `guess_language` gives; 拉丁学名/学名/二名法: `la` SCN terms when Latin text, else zh SY.
  Placeholder values (无, 尚不明确, …) are skipped everywhere.
- ICD10 -> Xref `ICD10:<WHO code>`: codes of the Chinese clinical extension (G40.901, D66.x01) map to
  the WHO category or subcategory they extend (G40.9, D66), and the raw code is kept as
  `ICD10CN:<code>`. Several codes in one value (C34/D02.2, N18↑D63.8*) each give an xref; ranges
  (E11.2—E11.9), codes after 不包括/除外 and ICD-9-CM-3 procedure codes give none; ICD-O morphology
  codes of the extension (M81400/3) map to `ICDO:8140/3`. ATC编码 -> `ATC:`, CAS号 -> `CAS:`.
- Semantic types (the pickle records no entity category): a subject is typed by the predicates it has
  (`SUBJECT_TYPES`: herb, mineral or formula T121, drug product T200, disease T047, examination T060);
  any other entity by the roles it fills as an object (`RELATIONS`' object types), the first of
  `TYPE_PRIORITY` winning; 上位关系/下位关系 objects take their subject's type. One type a concept.
- Relations: `RELATIONS` maps 32 entity-valued predicates onto the relation vocabulary (rel_id keeps
  the predicate); with predicates="all" every other predicate that is not a literal attribute
  (`ATTRIBUTES`, `LITERAL_PREFIXES`) becomes RELATED_TO. Duplicates (a drug's 适应症 and its disease's
  相关药物 give the same MAY_TREAT edge) and self-loops are dropped.
- No Definition: the pickle has no definition-like predicate (定义, 概述).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import pickle
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.languages import guess_language
from bios_kg.graph.records import Concept, Record, Relation, RelationType, Source, TermRecord, TypeAssignment, Xref
from bios_kg.graph.semantic_types import semantic_type
from bios_kg.graph.vocabulary import canonical_relation, inverse_name
from bios_kg.ingest.packages import package_data_path
from bios_kg.ingest.readers.base import (
    READERS,
    Input,
    Item,
    Option,
    Parsed,
    Rejected,
    SourceReader,
    sha256_file,
)

PACKAGE = "pyCMeKG"
DISTRIBUTION = "PyCMeKG"
PICKLE = "cmekg.pkl"
PREFIX = "CMEKG:"
Predicates = Literal["core", "all"]
Facts = dict[str, list[str]]  # one entity's predicate -> values
SAME = "same"  # object type: the subject's

# Relation predicate -> (relation name, TUI of its objects, or SAME, or None when they are too mixed).
RELATIONS: dict[str, tuple[str, str | None]] = {
    "不良反应": ("may_cause", "T033"),
    "成份": ("has_ingredient", "T121"),
    "组成": ("has_ingredient", "T121"),  # of a formula
    "常见症状": ("has_symptom", "T184"),
    "临床症状及体征": ("has_symptom", "T184"),
    "适应症": ("may_treat", "T047"),
    "主治": ("may_treat", "T047"),
    "相关药物": ("may_be_treated_by", "T200"),
    "药物治疗": ("may_be_treated_by", "T121"),
    "治疗": ("may_be_treated_by", "T061"),
    "手术治疗": ("may_be_treated_by", "T061"),
    "分类": ("is_a", "T121"),  # a drug's class (钙拮抗药, 中成药)
    "用途分类": ("is_a", "T121"),
    "上位关系": ("is_a", SAME),
    "下位关系": ("reverse_is_a", SAME),
    "相关疾病": ("related_to", "T047"),
    "相关症状": ("related_to", "T184"),
    "常见病因": ("may_be_caused_by", None),
    "病因": ("may_be_caused_by", None),
    "并发症": ("has_complication", "T047"),
    "检查": ("has_examination", "T060"),
    "影像学检查": ("has_examination", "T060"),
    "辅助检查": ("has_examination", "T060"),
    "内窥镜检查": ("has_examination", "T060"),
    "实验室检查": ("has_examination", "T059"),
    "组织学检查": ("has_examination", "T059"),
    "就诊科室": ("treated_in_department", "T093"),
    "商品名": ("has_tradename", "T200"),
    "通用名": ("reverse_has_tradename", "T200"),
    "药物相互作用": ("interacts_with", "T121"),
    "常见发病部位": ("has_finding_site", "T023"),
    "发病部位": ("has_finding_site", "T023"),
}
# Forward relation name -> Chinese name (the predicate; the usual names for the shared IS_A, RELATED_TO).
RELATION_NAMES_ZH: dict[str, str] = {
    "may_cause": "不良反应",
    "has_ingredient": "成份",
    "has_symptom": "常见症状",
    "may_treat": "适应症",
    "is_a": "是一种",
    "related_to": "相关",
    "has_complication": "并发症",
    "has_examination": "检查",
    "treated_in_department": "就诊科室",
    "has_tradename": "商品名",
    "interacts_with": "药物相互作用",
    "has_finding_site": "发病部位",
}
RELATED_TO = "related_to"  # predicates="all": the relation of every unmapped entity-valued predicate

ENGLISH_NAMES = ("英文名", "英文名称", "外文名", "英文")
ALIASES = ("别称", "又称", "其他名称", "同义词", "中文名", "中文学名", "英文别名", "英文别称")
SCIENTIFIC_NAMES = ("拉丁学名", "学名", "二名法")
XREF_PREDICATES = ("ICD10", "ATC编码", "CAS号")
# Literal attributes: text, numbers, labels and the plants' taxonomy, never relations.
ATTRIBUTES = frozenset(
    "注意事项 药品监管分级 OTC类型 药品类型 用法用量 用量 性状 分布区域 分布 产地 贮藏 贮藏方式 禁忌 规格 性味 味 性 "
    "性味归经 功效 功效分类 功能主治 功用 功能 作用 用于 采收时间 采收季节 采收 采集时间 采集加工 有效期 入药部位 毒性 "
    "传染性 多发群体 发病人群 多发地区 发病性别倾向 传播途径 出处 治疗方案 出院标准 标准住院时间 进入路径标准 "
    "选择治疗方案的依据 特殊药品 是否处方药 是否处方 是否纳入医保 是否进入医保 剂型 批准文号 执行标准 警示语 "
    "运动员慎用 预后状况 汉语拼音 拼音 分子量 化学式 分子式 颜色 光泽 透明度 晶系 条痕 比重 硬度 解离程度 服药方法 "
    "服药时间 制法 主要配伍 特殊主治 方法 主要用药禁忌 主要用药 主要适用症 主要适用 阶段 疾病分期 转移方式 "
    "界 亚界 总门 门 亚门 纲 亚纲 超目 目 亚目 科 亚科 族 亚族 属 亚属 种 亚种 类别 种类".split()
)
LITERAL_PREFIXES = ("诊断依据_", "手术_", "术前准备_", "术后住院_")  # clinical-pathway text
NOT_RELATIONS = frozenset((*ENGLISH_NAMES, *ALIASES, *SCIENTIFIC_NAMES, *XREF_PREDICATES)) | ATTRIBUTES
PLACEHOLDERS = frozenset({"无", "暂无", "不详", "未知", "尚不明确"})

# TUI -> the predicates that make a subject one (the first match wins).
SUBJECT_TYPES: tuple[tuple[str, frozenset[str]], ...] = (
    ("T121", frozenset("界 门 纲 科 属 性味 功效 入药部位 晶系 出处 功用 组成".split())),  # herbs, minerals, formulas
    ("T200", frozenset("适应症 成份 不良反应 规格 OTC类型 药品类型 商品名 通用名 批准文号 剂型 药品监管分级".split())),
    ("T047", frozenset("常见症状 临床症状及体征 ICD10 就诊科室 并发症 相关药物 常见病因 病因 上位关系 下位关系 "
                       "鉴别诊断 进入路径标准 出院标准 标准住院时间".split())),
    ("T060", frozenset({"所属分类"})),  # examinations (所属分类: 免疫学, 眼科)
)
# An entity typed by its roles as an object takes the first of these it qualifies for.
TYPE_PRIORITY = ("T184", "T047", "T200", "T121", "T059", "T060", "T061", "T093", "T023", "T033")
_RANK = {tui: rank for rank, tui in enumerate(TYPE_PRIORITY)}

_ICD10_CODE = r"[A-Z]\d{2}(?:\.[xX]?\d+)?"
_ICD10 = re.compile(r"(?<![A-Za-z0-9])([A-Z]\d{2})(?:\.([xX]?\d+))?(?![0-9])")
_ICD10_RANGE = re.compile(rf"(?<![A-Za-z0-9]){_ICD10_CODE}\s*[—–\-~～]\s*{_ICD10_CODE}")
_ICD_O = re.compile(r"M(\d{4})\d?[A-Z]?/(\d)")  # the extension's morphology code: M8140 + digit + /behaviour
_EXCLUDING = re.compile(r"不包括|除外")
_ATC = re.compile(r"^[A-Z]\d{2}(?:[A-Z](?:[A-Z](?:\d{2})?)?)?$")
_CAS = re.compile(r"^(\d{2,7})[-—–](\d{2})[-—–](\d)$")


def entity_name(text: str) -> str:
    """A name with its whitespace runs (also no-break and ideographic spaces) collapsed to one space."""
    name = " ".join(text.split())
    return text if name == text else name  # the pickle's own string: shared, not copied


def concept_id(name: str) -> str:
    """`CMEKG:<name>` with `%` and spaces percent-encoded, so the local id has no space."""
    return PREFIX + name.replace("%", "%25").replace(" ", "%20")


def icd_xrefs(text: str) -> list[str]:
    """The CURIEs of the codes one ICD10 value states (see the module docstring); [] when none."""
    text = _EXCLUDING.split(text, maxsplit=1)[0]
    targets = [f"ICDO:{m[1]}/{m[2]}" for m in _ICD_O.finditer(text)]
    text = _ICD10_RANGE.sub(" ", _ICD_O.sub(" ", text))
    for match in _ICD10.finditer(text):
        category, sub = match[1], (match[2] or "").lower()
        who = f"{category}.{sub[0]}" if sub and sub[0] != "x" else category
        targets.append(f"ICD10:{who}")
        if len(sub) > 1:
            targets.append(f"ICD10CN:{category}.{sub}")
    return targets


def _other_xref(predicate: str, text: str) -> str | None:
    code = text.replace(" ", "").upper()
    if predicate == "ATC编码":
        return f"ATC:{code}" if _ATC.match(code) else None
    cas = _CAS.match(code)
    return f"CAS:{cas[1]}-{cas[2]}-{cas[3]}" if cas else None


class _NoGlobals(pickle.Unpickler):
    """Builds only plain containers and strings: any global (class, function) is refused."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused to load global {module}.{name}")


def load_pickle(path: Path) -> dict[Any, Any]:
    """The CMeKG dict; InputError for a pickle that is unreadable, names a global or is not a dict."""
    try:
        with path.open("rb") as handle:
            data = _NoGlobals(handle).load()
    except OSError as exc:
        raise InputError(str(path), None, f"cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # with no global loadable, any failure is a malformed or refused pickle
        raise InputError(str(path), None, f"not a plain-data CMeKG pickle: {type(exc).__name__}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(str(path), None, f"expected a dict of entities, got {type(data).__name__}")
    return data


@READERS.register("cmekg")
class CmekgReader(SourceReader):
    """Streams CMeKG from the installed PyCMeKG package, or from the pickle at `path`."""

    counts_lines = False  # items carry entity positions, not lines: progress counts records

    def __init__(self, path: Annotated[Path | None, Input("cmekg.pkl (default: the PyCMeKG package's).")] = None,
                 predicates: Annotated[Predicates, Option("core: mapped relation predicates; all: every entity-valued "
                                                         "predicate (the rest as RELATED_TO).")] = "core") -> None:
        if predicates not in ("core", "all"):
            raise ConfigError(f"predicates must be 'core' or 'all', not {predicates!r}")
        self.path = Path(path) if path is not None else package_data_path("PyCMeKG", PACKAGE, "model", PICKLE)
        self.root = self.path.parent
        self.predicates = predicates
        self.skipped: Counter[str] = Counter()  # values left out, by reason (filled by read)

    def _version(self) -> str:
        try:
            return f"{DISTRIBUTION} {importlib.metadata.version(DISTRIBUTION)}"
        except importlib.metadata.PackageNotFoundError:
            return f"{self.path.name} sha256:{sha256_file(self.path)[:12]}"

    def source(self) -> Source:
        if not self.path.is_file():
            raise InputError(str(self.path), None, "no such file")
        return Source(
            id="CMEKG",
            name="Chinese Medical Knowledge Graph (CMeKG, via PyCMeKG)",
            version=self._version(),
            licence="MIT (PyCMeKG package); data from the PKU CMeKG project",
            url="https://github.com/king-yyf/PyCMeKG",
            format="cmekg",
            checksums={self.path.name: sha256_file(self.path)},
        )

    def relation(self, predicate: str) -> tuple[str, str | None] | None:
        """(relation name, object type) for a predicate loaded as a relation, else None."""
        if predicate in RELATIONS:
            return RELATIONS[predicate]
        if self.predicates == "all" and predicate not in NOT_RELATIONS and not predicate.startswith(LITERAL_PREFIXES):
            return RELATED_TO, None
        return None

    def read(self) -> Iterator[Item]:
        data = load_pickle(self.path)
        self.skipped = Counter()
        subjects: dict[str, int] = {}  # name -> line, for the well-formed entries
        rejections: dict[int, Rejected] = {}
        for line, (key, facts) in enumerate(data.items(), start=1):
            problem = _problem(key, facts, subjects)
            if problem:
                rejections[line] = Rejected(self.path.name, line, problem, _raw(key, facts))
            else:
                subjects[entity_name(key)] = line
        yield from self._concepts(data, subjects, rejections)
        yield from self._relations(data, subjects)

    def _entries(self, data: dict[Any, Any], subjects: dict[str, int]) -> Iterator[tuple[int, str, Facts]]:
        for line, (key, facts) in enumerate(data.items(), start=1):
            name = entity_name(key) if isinstance(key, str) else ""
            if subjects.get(name) == line:
                yield line, name, facts

    def _values(self, values: Sequence[str], exclude: str | None = None, count: bool = True) -> Iterator[str]:
        """A predicate's values as names, placeholders, empty values and `exclude` left out, each once."""
        seen = set()
        for value in values:
            name = entity_name(value)
            if not name or name in PLACEHOLDERS:
                self.skipped["placeholder or empty value"] += count
            elif name != exclude and name not in seen:
                seen.add(name)
                yield name

    # -- concepts, terms, xrefs and types -----------------------------------------------------------
    def _concepts(self, data: dict[Any, Any], subjects: dict[str, int],
                  rejections: dict[int, Rejected]) -> Iterator[Item]:
        lines: dict[str, int] = {}  # every concept emitted, in order -> line
        subject_types = {name: tui for _, name, facts in self._entries(data, subjects)
                         if (tui := _subject_type(facts))}
        object_types: dict[str, str] = {}
        for line, (key, facts) in enumerate(data.items(), start=1):
            if line in rejections:
                yield rejections[line]
                continue
            name = entity_name(key)
            lines[name] = line
            for record in self._subject_records(name, facts):
                yield Parsed(record, self.path.name, line)
            for predicate, values in facts.items():
                relation = self.relation(predicate)
                if relation is None:
                    continue
                tui = subject_types.get(name) if relation[1] == SAME else relation[1]
                for value in self._values(values, exclude=name):
                    if tui and _RANK[tui] < _RANK.get(object_types.get(value, ""), len(_RANK)):
                        object_types[value] = tui
                    if value not in subjects and value not in lines:
                        lines[value] = line
                        cid = concept_id(value)
                        yield Parsed(Concept(cid, names=(("zh", value),)), self.path.name, line)
                        yield Parsed(TermRecord(cid, value, "zh", "PT", preferred=True), self.path.name, line)
        emitted: set[str] = set()
        for name, line in lines.items():
            tui = subject_types.get(name) or object_types.get(name)
            if tui is None:
                continue
            if tui not in emitted:
                emitted.add(tui)
                yield Parsed(semantic_type(tui), self.path.name, line)
            yield Parsed(TypeAssignment(concept_id(name), semantic_type(tui).id), self.path.name, line)

    def _subject_records(self, name: str, facts: Facts) -> Iterator[Record]:
        cid = concept_id(name)
        english = [v for p in ENGLISH_NAMES for v in self._values(facts.get(p, ()))]
        preferred = next((text for text in english if guess_language(text) == "en"), None)
        yield Concept(cid, name=preferred, names=(("zh", name),))
        terms = [TermRecord(cid, name, "zh", "PT", preferred=True)]
        if preferred:
            terms.append(TermRecord(cid, preferred, "en", "PT", preferred=True))
        terms += [TermRecord(cid, text, guess_language(text)) for text in english]
        for predicate in ALIASES:
            terms += [TermRecord(cid, text, guess_language(text)) for text in self._values(facts.get(predicate, ()))]
        for predicate in SCIENTIFIC_NAMES:
            for text in self._values(facts.get(predicate, ())):
                latin = guess_language(text) == "en"
                terms.append(TermRecord(cid, text, "la" if latin else "zh", "SCN" if latin else "SY"))
        seen: set[tuple[str, str]] = set()
        for term in terms:
            if (term.lang, term.text) not in seen:
                seen.add((term.lang, term.text))
                yield term
        targets: list[str] = []
        for text in self._values(facts.get("ICD10", ())):
            found = icd_xrefs(text)
            targets += found
            if not found:
                self.skipped["ICD10 value without a single code"] += 1
        for predicate in XREF_PREDICATES[1:]:
            for text in self._values(facts.get(predicate, ())):
                target = _other_xref(predicate, text)
                if target:
                    targets.append(target)
                else:
                    self.skipped[f"{predicate} value that is not a code"] += 1
        for target in dict.fromkeys(targets):
            yield Xref(cid, target)

    # -- relations -------------------------------------------------------------------------------
    def _relations(self, data: dict[Any, Any], subjects: dict[str, int]) -> Iterator[Item]:
        ids: dict[str, str] = {}
        seen: set[tuple[str, str, str]] = set()
        emitted: set[str] = set()
        for line, name, facts in self._entries(data, subjects):
            for predicate, values in facts.items():
                relation = self.relation(predicate)
                if relation is None:
                    continue
                rel_type, swapped = canonical_relation(relation[0])
                for value in self._values(values, exclude=name, count=False):
                    head, tail = (value, name) if swapped else (name, value)
                    key = (head, rel_type, tail)
                    if key in seen:
                        continue
                    seen.add(key)
                    if rel_type not in emitted:
                        emitted.add(rel_type)
                        yield Parsed(_relation_type(rel_type), self.path.name, line)
                    head_id = ids.get(head) or ids.setdefault(head, concept_id(head))
                    tail_id = ids.get(tail) or ids.setdefault(tail, concept_id(tail))
                    yield Parsed(Relation(head_id, rel_type, tail_id, rel_id=predicate), self.path.name, line)


def _relation_type(rel_type: str) -> RelationType:
    name = rel_type.lower()
    return RelationType(rel_type, name, RELATION_NAMES_ZH.get(name), inverse_name(name))


def _subject_type(facts: Facts) -> str | None:
    return next((tui for tui, signature in SUBJECT_TYPES if not signature.isdisjoint(facts)), None)


def _problem(key: Any, facts: Any, subjects: dict[str, int]) -> str | None:
    """Why an entry is malformed, or None."""
    if not isinstance(key, str) or not entity_name(key):
        return f"entity name is not text: {key!r}"
    if entity_name(key) in subjects:
        return f"entity {entity_name(key)!r} is already entry {subjects[entity_name(key)]}"
    if not isinstance(facts, dict):
        return f"expected a dict of predicate -> list of values, got {type(facts).__name__}"
    for predicate, values in facts.items():
        if not isinstance(predicate, str):
            return f"predicate is not text: {predicate!r}"
        if not isinstance(values, list):
            return f"values of {predicate!r} are not a list: {type(values).__name__}"
        if not all(isinstance(value, str) for value in values):
            return f"a value of {predicate!r} is not text"
    return None


def _raw(key: Any, facts: Any) -> str:
    text = repr({key: facts})
    return text if len(text) <= 500 else text[:497] + "..."
