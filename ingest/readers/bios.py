"""BIOS releases: a format-sniffing, streaming reader (docs/algorithms/bios.md §4).

Layouts seen so far, each file sniffed on its own (delimiter, header or none, language codes):

- 2022v1 `CoreData/`: pipe-delimited, no header, RRF style (a trailing `|` is tolerated):
  `ConceptTerms.txt` CID|SID|STR|LANG|TTY (ENG/CHS), `SemanticTypes.txt` CID|STYID|STY,
  `SemanticNetwork.txt` STYID|LANG|STY…, `RelationNames.txt` RELID|LANG|REL,
  `Relations.txt` RID|CID_HEAD|CID_TAIL|RELID|REL, `Definitions.txt` CID|DEF or CID|LANG|DEF.
  `Retired.txt` CID (concepts a release no longer states: kept in the graph, marked obsolete).
  Any of them may also come tab-separated with a header row naming the columns.
- 2023-12-15: tab, no header: `Concepts.txt` cid, tid, string, tty, lang (EN/ZH); `Semtypes*.txt` cid, sty.
- 2021-11-05 dump: tab with a header: `Concepts*.txt` cid, tid, str (no language: guessed from the text);
  `Semtypes*.txt` cid, sty where sty may be `a|b|c`.

A header row is recognised by its first field being a known column name; columns are then mapped by
name. Rows that cannot be read become `Rejected` items; only a missing terms file or an unusable
header raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.languages import guess_language, to_iso
from bios_kg.graph.records import (
    Concept,
    Definition,
    Relation,
    RelationType,
    SemanticType,
    Source,
    TermRecord,
    TypeAssignment,
)
from bios_kg.graph.vocabulary import canonical_relation, inverse_name
from bios_kg.ingest.readers.base import (
    READERS,
    Input,
    Item,
    Parsed,
    Records,
    Rejected,
    RowProblem,
    SourceReader,
    invalid_utf8,
    iter_lines,
    parse_rows,
    sha256_file,
)

CONCEPT_PREFIX = "BIOS:"
TYPE_PREFIX = "BIOS_STY:"
SUFFIXES = (".txt", ".tsv")
SUBFOLDERS = ("", "CoreData")

# File kinds in load order, with the (lower-case) name prefixes that identify them.
FILE_KINDS: dict[str, tuple[str, ...]] = {
    "network": ("semanticnetwork",),
    "terms": ("conceptterms", "concepts"),
    "semtypes": ("semantictypes", "semtypes"),
    "relnames": ("relationnames",),
    "relations": ("relations",),
    "definitions": ("definitions",),
    "retired": ("retired",),
}

# Header names (lower-case, `_` for spaces and dashes) -> canonical column keys.
COLUMN_ALIASES: dict[str, str] = {
    "cid": "cid", "concept_id": "cid", "cui": "cid",
    "sid": "sid", "tid": "sid", "term_id": "sid", "aui": "sid",
    "str": "str", "string": "str", "term": "str",
    "lang": "lang", "lat": "lang", "language": "lang",
    "tty": "tty",
    "styid": "styid", "sty_id": "styid", "tui": "styid",
    "sty": "sty", "semtype": "sty", "semtypes": "sty", "semantic_type": "sty",
    "rid": "rid",
    "cid_head": "head", "head": "head", "head_cid": "head", "cid1": "head",
    "cid_tail": "tail", "tail": "tail", "tail_cid": "tail", "cid2": "tail",
    "relid": "relid", "rel_id": "relid",
    "rel": "rel", "rel_name": "rel", "relation": "rel",
    "def": "def", "definition": "def",
}

# Columns a header must name, per file kind (any one of each group).
REQUIRED: dict[str, tuple[tuple[str, ...], ...]] = {
    "network": (("styid",), ("sty",)),
    "terms": (("cid",), ("str",)),
    "semtypes": (("cid",), ("sty", "styid")),
    "relnames": (("relid",), ("rel",)),
    "relations": (("head",), ("tail",), ("rel", "relid")),
    "definitions": (("cid",), ("def",)),
    "retired": (("cid",),),
}

# Header-less layouts: (keys, labels used in messages).
_Columns = tuple[tuple[str, ...], tuple[str, ...]]
TERMS_2022: _Columns = (("cid", "sid", "str", "lang", "tty"), ("CID", "SID", "STR", "LANG", "TTY"))
TERMS_2023: _Columns = (("cid", "sid", "str", "tty", "lang"), ("cid", "tid", "string", "tty", "lang"))
TERMS_3: _Columns = (("cid", "sid", "str"), ("cid", "tid", "str"))
SEMTYPES_3: _Columns = (("cid", "styid", "sty"), ("CID", "STYID", "STY"))
SEMTYPES_2: _Columns = (("cid", "sty"), ("cid", "sty"))
NETWORK: _Columns = (("styid", "lang", "sty"), ("STYID", "LANG", "STY"))
RELNAMES: _Columns = (("relid", "lang", "rel"), ("RELID", "LANG", "REL"))
RELATIONS: _Columns = (("rid", "head", "tail", "relid", "rel"), ("RID", "CID_HEAD", "CID_TAIL", "RELID", "REL"))
DEFS_2: _Columns = (("cid", "def"), ("CID", "DEF"))
DEFS_3: _Columns = (("cid", "lang", "def"), ("CID", "LANG", "DEF"))
DEFS_3_LAST: _Columns = (("cid", "def", "lang"), ("CID", "DEF", "LANG"))
RETIRED: _Columns = (("cid",), ("CID",))  # concepts a release no longer has: kept, marked obsolete
# Widths a header-less file of a kind may have.
KNOWN_WIDTHS: dict[str, tuple[int, ...]] = {
    "terms": (3, 5), "semtypes": (2, 3), "definitions": (2, 3), "network": (3,), "relnames": (3,), "relations": (5,),
    "retired": (1,),
}


@dataclass(frozen=True, slots=True)
class Layout:
    """How one file's rows split into named columns."""

    delimiter: str
    keys: tuple[str | None, ...]  # canonical key per column; None: a column this reader ignores
    labels: tuple[str, ...]  # column names as the file (or the spec) spells them
    header_line: int | None = None  # line number of the header row, if any
    extra_ok: bool = False  # rows may carry more columns than named (SemanticNetwork)

    def label(self, key: str) -> str:
        return self.labels[self.keys.index(key)] if key in self.keys else key.upper()

    def split(self, text: str) -> dict[str, str] | str:
        """The row's fields by key, or a rejection reason."""
        fields = text.split(self.delimiter)
        width = len(self.keys)
        if len(fields) > 1 and len(fields) != width and not fields[-1].strip():
            fields.pop()  # RRF-style trailing delimiter
        if len(fields) != width and not (self.extra_ok and len(fields) > width):
            names = "|".join(self.labels)
            return f"expected {width} columns ({names}), got {len(fields)}"
        return {key: value.strip() for key, value in zip(self.keys, fields, strict=False) if key}


@dataclass(slots=True)
class _Row:
    file: str
    line: int
    raw: str
    values: dict[str, str]
    layout: Layout

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def has(self, key: str) -> bool:
        return key in self.values

    def reject(self, reason: str) -> Rejected:
        return Rejected(self.file, self.line, reason, self.raw)

    def required(self, key: str, what: str | None = None) -> str:
        """The value of `key`; raises RowProblem when it is empty (`empty WHAT (LABEL)`, or `empty LABEL`)."""
        value = self.get(key)
        if not value:
            label = self.layout.label(key)
            raise RowProblem(f"empty {what} ({label})" if what else f"empty {label}")
        return value

    def language(self, text: str) -> str:
        """ISO code from the row's language column, or guessed from `text` when the layout has none.

        Raises RowProblem for an empty or unknown code.
        """
        if not self.has("lang"):
            return guess_language(text)
        code = self.get("lang")
        label = self.layout.label("lang")
        if not code:
            raise RowProblem(f"empty language code ({label})")
        iso = to_iso(code)
        if iso is None:
            raise RowProblem(f"unknown language code {code!r} ({label})")
        return iso


def _header_key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def type_slug(name: str) -> str:
    """Id part for a semantic type known only by name: `Sign, Symptom, or Finding` -> `sign_symptom_or_finding`."""
    return re.sub(r"\W+", "_", name.casefold()).strip("_")


def _first_line(path: Path) -> tuple[int, str] | None:
    """The first non-blank line (number, text decoded leniently), or None for an empty file."""
    for number, text, raw in iter_lines(path, path.name):
        line = text if text is not None else raw.decode("utf-8", "replace")
        if line.strip():
            return number, line
    return None


def _is_language(code: str) -> bool:
    return to_iso(code) is not None


def sniff_layout(path: Path, display: str, kind: str) -> Layout | None:
    """Detect delimiter, header and column order of one file from its first non-blank line."""
    first = _first_line(path)
    if first is None:
        return None
    number, line = first
    delimiter = "\t" if "\t" in line else "|"
    fields = [f.strip() for f in line.split(delimiter)]
    if len(fields) > 1 and not fields[-1] and len(fields) not in KNOWN_WIDTHS.get(kind, ()):
        fields.pop()  # trailing delimiter (a first row whose last column is empty keeps its width)
    if _header_key(fields[0]) in COLUMN_ALIASES:
        while len(fields) > 1 and not fields[-1]:
            fields.pop()
        keys = tuple(COLUMN_ALIASES.get(_header_key(name)) for name in fields)
        for group in REQUIRED[kind]:
            if not any(key in keys for key in group):
                wanted = " or ".join(group)
                raise InputError(display, number, f"header names no {wanted} column (got {'|'.join(fields)})")
        return Layout(delimiter, keys, tuple(fields), header_line=number)
    columns, extra_ok = _headerless_columns(kind, delimiter, fields), kind == "network"
    return Layout(delimiter, columns[0], columns[1], extra_ok=extra_ok)


def _headerless_columns(kind: str, delimiter: str, fields: list[str]) -> _Columns:
    """Column order of a header-less file: by delimiter and width, checked against the first row."""
    width = len(fields)
    if kind == "terms":
        if width == 3:
            return TERMS_3
        if width == 5:
            # Pipe files follow 2022 (LANG before TTY), tab files 2023 (tty before lang), unless the
            # first row clearly says otherwise (only one of the two columns is a language code).
            lang3, lang4 = _is_language(fields[3]), _is_language(fields[4])
            if lang3 != lang4:
                return TERMS_2022 if lang3 else TERMS_2023
        return TERMS_2022 if delimiter == "|" else TERMS_2023
    if kind == "semtypes":
        if width in (2, 3):
            return SEMTYPES_2 if width == 2 else SEMTYPES_3
        return SEMTYPES_3 if delimiter == "|" else SEMTYPES_2
    if kind == "definitions":
        if width == 3 and _is_language(fields[2]) and not _is_language(fields[1]):
            return DEFS_3_LAST
        return DEFS_3 if width == 3 else DEFS_2
    return {"network": NETWORK, "relnames": RELNAMES, "relations": RELATIONS, "retired": RETIRED}[kind]


@dataclass(slots=True)
class _TypeInfo:
    line: int
    name_en: str | None = None
    name_zh: str | None = None


@dataclass(slots=True)
class _RelName:
    line: int
    names: dict[str, str] = field(default_factory=dict)  # iso lang -> name


@READERS.register("bios")
class BiosReader(SourceReader):
    """Streams a BIOS release folder (or its `CoreData/` subfolder) as canonical records."""

    def __init__(self, root: Annotated[Path, Input("BIOS release folder.", folder=True)], version: str | None = None,
                 licence: str = "CC-BY-NC-ND-4.0") -> None:
        self.root = Path(root)
        self.version = version
        self.licence = licence
        # Small lookups built from the small files while reading (type and relation vocabularies).
        self._type_ids: set[str] = set()
        self._type_by_name: dict[str, str] = {}
        self._relation_types: set[str] = set()
        self._relid_names: dict[str, str] = {}

    # -- files ---------------------------------------------------------------------------------
    def files(self) -> dict[str, list[Path]]:
        """The release files by kind, in load order; raises InputError when there is no terms file."""
        if not self.root.is_dir():
            raise InputError(str(self.root), None, "not a folder")
        found: dict[str, list[Path]] = {kind: [] for kind in FILE_KINDS}
        for sub in SUBFOLDERS:
            folder = self.root / sub if sub else self.root
            if not folder.is_dir():
                continue
            for path in sorted(folder.iterdir()):
                name = path.name.lower()
                if not path.is_file() or not name.endswith(SUFFIXES):
                    continue
                for kind, prefixes in FILE_KINDS.items():
                    if name.startswith(prefixes):
                        found[kind].append(path)
                        break
        if not found["terms"]:
            raise InputError(
                str(self.root), None, "no BIOS terms file (ConceptTerms*.txt or Concepts*.txt) in this folder"
            )
        return found

    def _display(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def source(self) -> Source:
        checksums = {
            self._display(path): sha256_file(path) for paths in self.files().values() for path in paths
        }
        version = self.version or (
            self.root.resolve().parent.name if self.root.name == "CoreData" else self.root.resolve().name
        )
        return Source(
            id="BIOS",
            name="BIOS",
            version=version,
            licence=self.licence,
            url="https://bios.idea.edu.cn",
            format="bios",
            checksums=checksums,
        )

    def read(self) -> Iterator[Item]:
        files = self.files()
        self._type_ids, self._type_by_name = set(), {}
        self._relation_types, self._relid_names = set(), {}
        readers = {
            "network": self._network,
            "terms": self._terms,
            "semtypes": self._semtypes,
            "relnames": self._relnames,
            "relations": self._relations,
            "definitions": self._definitions,
            "retired": self._retired,
        }
        for kind, read_file in readers.items():
            for path in files[kind]:
                yield from read_file(path)

    # -- rows ----------------------------------------------------------------------------------
    def _rows(self, path: Path, kind: str) -> Iterator[_Row | Rejected]:
        display = self._display(path)
        layout = sniff_layout(path, display, kind)
        if layout is None:
            return
        for number, text, raw in iter_lines(path, display):
            if number == layout.header_line:
                continue
            if text is None:
                yield invalid_utf8(display, number, raw)
                continue
            if not text.strip():
                continue
            values = layout.split(text)
            if isinstance(values, str):
                yield Rejected(display, number, values, text)
            else:
                yield _Row(display, number, text, values, layout)

    def _parse(self, path: Path, kind: str, parse: Callable[[_Row], Records]) -> Iterator[Item]:
        return parse_rows(self._rows(path, kind), parse)

    def _terms(self, path: Path) -> Iterator[Item]:
        return self._parse(path, "terms", _term)

    def _network(self, path: Path) -> Iterator[Item]:
        """SemanticNetwork: bilingual type names, gathered per STYID (a small file), then emitted."""
        types: dict[str, _TypeInfo] = {}

        def gather(row: _Row) -> Records:
            styid, name = row.required("styid"), row.required("sty")
            lang = row.language(name)
            info = types.setdefault(styid, _TypeInfo(row.line))
            if lang == "zh":
                info.name_zh = info.name_zh or name
            elif lang == "en":
                info.name_en = info.name_en or name
            return ()

        yield from self._parse(path, "network", gather)
        display = self._display(path)
        for styid, info in types.items():
            name = info.name_en or info.name_zh or styid
            type_id = TYPE_PREFIX + styid
            self._type_ids.add(type_id)
            for known in (info.name_en, info.name_zh):
                if known:
                    self._type_by_name.setdefault(known.casefold(), type_id)
            yield Parsed(SemanticType(type_id, name, info.name_zh), display, info.line)

    def _semtypes(self, path: Path) -> Iterator[Item]:
        return self._parse(path, "semtypes", self._semtype)

    def _semtype(self, row: _Row) -> Records:
        cid = row.required("cid")
        styid, sty = row.get("styid"), row.get("sty")
        pairs: list[tuple[str, str]]  # (type id, name)
        if styid:
            pairs = [(TYPE_PREFIX + styid, sty or styid)]
        elif sty:
            # Several types joined by `|` (2021 dump); only possible when `|` is not the delimiter.
            names = [n.strip() for n in sty.split("|")] if row.layout.delimiter != "|" else [sty]
            pairs = [(self._type_id_for_name(n), n) for n in names if n]
        else:
            raise RowProblem(f"empty {row.layout.label('styid' if row.has('styid') else 'sty')}")
        records: list[SemanticType | TypeAssignment] = []
        for type_id, name in pairs:
            if type_id not in self._type_ids:
                self._type_ids.add(type_id)
                records.append(SemanticType(type_id, name))
            records.append(TypeAssignment(CONCEPT_PREFIX + cid, type_id))
        return records

    def _type_id_for_name(self, name: str) -> str:
        known = self._type_by_name.get(name.casefold())
        return known or TYPE_PREFIX + (type_slug(name) or name)

    def _relnames(self, path: Path) -> Iterator[Item]:
        """RelationNames: one RelationType per canonical type, named in Chinese from the forward RELID."""
        relids: dict[str, _RelName] = {}
        rows: dict[str, _Row] = {}  # RELID -> its English row, for rejections

        def gather(row: _Row) -> Records:
            relid, name = row.required("relid"), row.required("rel")
            lang = row.language(name)
            entry = relids.setdefault(relid, _RelName(row.line))
            if lang not in entry.names:
                entry.names[lang] = name
                if lang == "en":
                    rows[relid] = row
            return ()

        yield from self._parse(path, "relnames", gather)
        # type -> (line, Chinese name of the forward RELID)
        types: dict[str, tuple[int, str | None]] = {}
        for relid, entry in relids.items():
            name_en = entry.names.get("en")
            if name_en is None:
                continue
            try:
                rel_type, swapped = canonical_relation(name_en)
            except ConfigError:
                yield rows[relid].reject(f"invalid relation name {name_en!r}")
                continue
            self._relid_names[relid] = name_en
            line, name_zh = types.get(rel_type, (rows[relid].line, None))
            if not swapped:
                line, name_zh = rows[relid].line, name_zh or entry.names.get("zh")
            types[rel_type] = (line, name_zh)
        display = self._display(path)
        for rel_type, (line, name_zh) in types.items():
            self._relation_types.add(rel_type)
            yield Parsed(_relation_type(rel_type, name_zh), display, line)

    def _relations(self, path: Path) -> Iterator[Item]:
        return self._parse(path, "relations", self._relation)

    def _relation(self, row: _Row) -> Records:
        head, tail = row.required("head"), row.required("tail")
        relid = row.get("relid")
        name = row.get("rel") or self._relid_names.get(relid, "")
        if not name:
            raise RowProblem(f"empty {row.layout.label('rel')} and no name known for RELID {relid!r}")
        rel_type, swapped = _canonical_relation(name)
        if swapped:
            head, tail = tail, head
        relation = Relation(
            head=CONCEPT_PREFIX + head,
            type=rel_type,
            tail=CONCEPT_PREFIX + tail,
            rel_id=relid or None,
            rid=row.get("rid") or None,
        )
        if rel_type in self._relation_types:
            return (relation,)
        self._relation_types.add(rel_type)
        return _relation_type(rel_type, None), relation

    def _definitions(self, path: Path) -> Iterator[Item]:
        return self._parse(path, "definitions", _definition)

    def _retired(self, path: Path) -> Iterator[Item]:
        return self._parse(path, "retired", lambda row: (Concept(CONCEPT_PREFIX + row.required("cid"), obsolete=True),))


def _term(row: _Row) -> Records:
    cid = row.required("cid")
    text = row.required("str", "term string")
    tty = row.get("tty") or "SY"
    record = TermRecord(
        concept_id=CONCEPT_PREFIX + cid,
        text=text,
        lang=row.language(text),
        tty=tty,
        source_id=row.get("sid") or None,
        preferred=tty.upper() == "PT",
    )
    return (record,)


def _definition(row: _Row) -> Records:
    cid = row.required("cid")
    text = row.required("def", "definition")
    return (Definition(CONCEPT_PREFIX + cid, text, row.language(text)),)


def _canonical_relation(name: str) -> tuple[str, bool]:
    """`canonical_relation`, raising RowProblem for a name it does not accept."""
    try:
        return canonical_relation(name)
    except ConfigError:
        raise RowProblem(f"invalid relation name {name!r}") from None


def _relation_type(rel_type: str, name_zh: str | None) -> RelationType:
    name = rel_type.lower()
    return RelationType(id=rel_type, name=name, name_zh=name_zh, inverse=inverse_name(name))
