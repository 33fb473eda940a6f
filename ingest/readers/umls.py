"""UMLS Metathesaurus RRF files (MRCONSO, MRSTY, MRREL, MRDEF): a streaming reader.

RRF rows are pipe-delimited with a trailing `|` and no header. Files are looked up in the folder and
in its `META/` subfolder. Only MRCONSO.RRF is required.

Direction in MRREL: "REL is the relationship of the second concept to the first", so a row reads
`CUI2 <REL/RELA> CUI1`: CHD with RELA `isa` means CUI2 is_a CUI1. Without a RELA:
PAR -> (CUI1)-[:IS_A]->(CUI2), CHD -> (CUI2)-[:IS_A]->(CUI1), RB -> (CUI1)-[:BROADER]->(CUI2)
(SKOS sense: CUI2 is the broader one), RN -> (CUI2)-[:BROADER]->(CUI1), RO/RQ/RL/RU -> RELATED_TO.
SY, SIB, AQ, QB, XR and DEL rows and self-loops are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from graph.errors import ConfigError, InputError
from graph.languages import language_filter, to_iso
from graph.records import Definition, Relation, RelationType, SemanticType, Source, TermRecord, TypeAssignment
from graph.semantic_types import TYPE_PREFIX
from graph.vocabulary import canonical_relation, inverse_name
from ingest.readers.base import (
    Item,
    Records,
    Rejected,
    RowProblem,
    invalid_utf8,
    iter_lines,
    parse_rows,
    register_reader,
    sha256_file,
)

CONCEPT_PREFIX = "UMLS:"

SUPPRESSED = frozenset({"O", "E", "Y"})

# File name -> column names, in order (the trailing empty field of RRF is not a column).
COLUMNS: dict[str, tuple[str, ...]] = {
    "MRCONSO.RRF": (
        "CUI", "LAT", "TS", "LUI", "STT", "SUI", "ISPREF", "AUI", "SAUI", "SCUI", "SDUI", "SAB", "TTY",
        "CODE", "STR", "SRL", "SUPPRESS", "CVF",
    ),
    "MRSTY.RRF": ("CUI", "TUI", "STN", "STY", "ATUI", "CVF"),
    "MRREL.RRF": (
        "CUI1", "AUI1", "STYPE1", "REL", "CUI2", "AUI2", "STYPE2", "RELA", "RUI", "SRUI", "SAB", "SL",
        "RG", "DIR", "SUPPRESS", "CVF",
    ),
    "MRDEF.RRF": ("CUI", "AUI", "ATUI", "SATUI", "SAB", "DEF", "SUPPRESS", "CVF"),
}

# REL without RELA -> (relationship type, True when CUI1 is the head).
REL_TYPES: dict[str, tuple[str, bool]] = {
    "PAR": ("IS_A", True),
    "CHD": ("IS_A", False),
    "RB": ("BROADER", True),
    "RN": ("BROADER", False),
    "RO": ("RELATED_TO", False),
    "RQ": ("RELATED_TO", False),
    "RL": ("RELATED_TO", False),
    "RU": ("RELATED_TO", False),
}
SKIPPED_RELS = frozenset({"SY", "SIB", "AQ", "QB", "XR", "DEL"})

Row = dict[str, str]


@dataclass(frozen=True, slots=True)
class _RrfRow:
    """One split RRF row: where it is, its text, and its fields by column name."""

    file: str
    line: int
    raw: str
    values: Row

    def __getitem__(self, column: str) -> str:
        return self.values[column]

    def required(self, *columns: str) -> None:
        """Raise RowProblem naming the first of `columns` that is empty."""
        for column in columns:
            if not self.values[column]:
                raise RowProblem(f"empty {column}")


@register_reader("umls")
class UmlsReader:
    """Streams a UMLS release (the folder holding the RRF files, or its parent with `META/`)."""

    def __init__(
        self,
        root: Path,
        languages: list[str] | None = None,
        sabs: list[str] | None = None,
        include_suppressed: bool = False,
        version: str | None = None,
        licence: str = "UMLS Metathesaurus License Agreement",
    ) -> None:
        self.root = Path(root)
        self.languages = language_filter(languages, "UMLS")  # ISO codes; None: every language
        self.sabs = frozenset(sabs) if sabs is not None else None
        self.include_suppressed = include_suppressed
        self.version = version
        self.licence = licence

    # -- files ---------------------------------------------------------------------------------
    def _path(self, name: str) -> Path | None:
        for folder in (self.root, self.root / "META"):
            if (folder / name).is_file():
                return folder / name
        return None

    def files(self) -> dict[str, Path]:
        """The RRF files present, by name; raises InputError when MRCONSO.RRF is missing."""
        if not self.root.is_dir():
            raise InputError(str(self.root), None, "not a folder")
        found = {name: path for name in COLUMNS if (path := self._path(name)) is not None}
        if "MRCONSO.RRF" not in found:
            raise InputError(str(self.root), None, "no MRCONSO.RRF in this folder or its META/ subfolder")
        return found

    def _display(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def _release_version(self) -> str:
        if self.version:
            return self.version
        for folder in (self.root, self.root.parent):
            release = folder / "release.dat"
            if release.is_file():
                for line in release.read_text(encoding="utf-8", errors="replace").splitlines():
                    key, _, value = line.partition("=")
                    if key.strip() == "umls.release.name" and value.strip():
                        return value.strip()
        return self.root.resolve().name

    def source(self) -> Source:
        return Source(
            id="UMLS",
            name="UMLS Metathesaurus",
            version=self._release_version(),
            licence=self.licence,
            url="https://www.nlm.nih.gov/research/umls/",
            format="umls",
            checksums={self._display(path): sha256_file(path) for path in self.files().values()},
        )

    def read(self) -> Iterator[Item]:
        files = self.files()
        yield from self._mrconso(files["MRCONSO.RRF"])
        if "MRSTY.RRF" in files:
            yield from self._mrsty(files["MRSTY.RRF"])
        if "MRREL.RRF" in files:
            yield from self._mrrel(files["MRREL.RRF"])
        if "MRDEF.RRF" in files:
            yield from self._mrdef(files["MRDEF.RRF"])

    # -- rows ----------------------------------------------------------------------------------
    def _rows(self, path: Path) -> Iterator[_RrfRow | Rejected]:
        """One split row per line, or a rejection for a row that does not split."""
        display = self._display(path)
        columns = COLUMNS[path.name]
        for number, text, raw in iter_lines(path, display):
            if text is None:
                yield invalid_utf8(display, number, raw)
                continue
            if not text.strip():
                continue
            fields = text.split("|")
            if len(fields) != len(columns) and not fields[-1]:
                fields.pop()  # the trailing `|` of RRF
            if len(fields) != len(columns):
                yield Rejected(display, number, f"expected {len(columns)} columns, got {len(fields)}", text)
                continue
            yield _RrfRow(display, number, text, dict(zip(columns, fields, strict=True)))

    def _parse(self, path: Path, parse: Callable[[_RrfRow], Records]) -> Iterator[Item]:
        return parse_rows(self._rows(path), parse)

    def _keep(self, row: _RrfRow) -> bool:
        """SAB and suppression filters (shared by MRCONSO, MRREL and MRDEF)."""
        if self.sabs is not None and row["SAB"] not in self.sabs:
            return False
        return self.include_suppressed or row["SUPPRESS"] not in SUPPRESSED

    def _mrconso(self, path: Path) -> Iterator[Item]:
        return self._parse(path, self._term)

    def _term(self, row: _RrfRow) -> Records:
        row.required("CUI")
        if not self._keep(row):
            return ()
        lang = to_iso(row["LAT"])
        if lang is None:
            raise RowProblem(f"unknown language code {row['LAT']!r} (LAT)")
        if self.languages is not None and lang not in self.languages:
            return ()
        if not row["STR"].strip():
            raise RowProblem("empty term string (STR)")
        record = TermRecord(
            concept_id=CONCEPT_PREFIX + row["CUI"],
            text=row["STR"],
            lang=lang,
            tty=row["TTY"] or "SY",
            source_id=row["AUI"] or None,
            preferred=row["TS"] == "P" and row["STT"] == "PF" and row["ISPREF"] == "Y",
        )
        return (record,)

    def _mrsty(self, path: Path) -> Iterator[Item]:
        seen: set[str] = set()  # TUIs: about 130

        def parse(row: _RrfRow) -> Records:
            row.required("CUI", "TUI")
            type_id = TYPE_PREFIX + row["TUI"]
            assignment = TypeAssignment(CONCEPT_PREFIX + row["CUI"], type_id)
            if type_id in seen:
                return (assignment,)
            seen.add(type_id)
            return SemanticType(type_id, row["STY"] or row["TUI"]), assignment

        return self._parse(path, parse)

    def _mrrel(self, path: Path) -> Iterator[Item]:
        emitted: set[str] = set()  # relationship types already described by a RelationType

        def parse(row: _RrfRow) -> Records:
            row.required("CUI1", "CUI2")
            rel, rela = row["REL"], row["RELA"]
            if rel in SKIPPED_RELS or row["CUI1"] == row["CUI2"] or not self._keep(row):
                return ()
            if rela:
                try:
                    rel_type, swapped = canonical_relation(rela)
                except ConfigError:
                    raise RowProblem(f"invalid relation name {rela!r} (RELA)") from None
                cui1_is_head = swapped  # the row reads CUI2 RELA CUI1
            elif rel in REL_TYPES:
                rel_type, cui1_is_head = REL_TYPES[rel]
            else:
                raise RowProblem(f"unknown relationship {rel!r} (REL)")
            head, tail = (row["CUI1"], row["CUI2"]) if cui1_is_head else (row["CUI2"], row["CUI1"])
            relation = Relation(
                head=CONCEPT_PREFIX + head,
                type=rel_type,
                tail=CONCEPT_PREFIX + tail,
                rel_id=rela or rel,
                rid=row["RUI"] or None,
            )
            if rel_type in emitted:
                return (relation,)
            emitted.add(rel_type)
            name = rel_type.lower()
            return RelationType(rel_type, name, inverse=inverse_name(name)), relation

        return self._parse(path, parse)

    def _mrdef(self, path: Path) -> Iterator[Item]:
        return self._parse(path, self._definition)

    def _definition(self, row: _RrfRow) -> Records:
        row.required("CUI")
        if not self._keep(row):
            return ()
        if not row["DEF"].strip():
            raise RowProblem("empty definition (DEF)")
        return (Definition(CONCEPT_PREFIX + row["CUI"], row["DEF"], "en"),)
