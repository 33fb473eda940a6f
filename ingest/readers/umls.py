"""UMLS Metathesaurus RRF files (MRCONSO, MRSTY, MRREL, MRDEF): a streaming reader.

RRF rows are pipe-delimited with a trailing `|` and no header. Files are looked up in the folder and
in its `META/` subfolder. Only MRCONSO.RRF is required.

Direction in MRREL: "REL is the relationship of the second concept to the first", so a row reads
`CUI2 <REL/RELA> CUI1`: CHD with RELA `isa` means CUI2 is_a CUI1. Without a RELA:
PAR -> (CUI1)-[:IS_A]->(CUI2), CHD -> (CUI2)-[:IS_A]->(CUI1), RB -> (CUI1)-[:BROADER]->(CUI2)
(SKOS sense: CUI2 is the broader one), RN -> (CUI2)-[:BROADER]->(CUI1), RO/RQ/RL/RU -> RELATED_TO.
SY, SIB, AQ, QB, XR and DEL rows and self-loops are skipped.

MRREL states every relation twice, once per direction (`has_ingredient` and `ingredient_of`). Each
RELA is folded onto one member of its inverse pair, so both rows give one edge: the pairs the release
declares in MRDOC.RRF (`RELA|<name>|rela_inverse|<inverse>`) or, without MRDOC, the built-in
RELA_INVERSES and the `has_X`/`X_of` and `inverse_X`/`X` spellings. The graph vocabulary's forward name
wins (`isa`, `part_of`, `may_treat`), else the member that is not spelled as an inverse (`has_…`,
`inverse_…`, `…_by`, `…_from`), else the first in alphabetical order. A symmetric relation (its own
inverse, or RELATED_TO) is stored once per pair, with the smaller CUI as head.

Suppression: without `include_suppressed`, atoms whose SUPPRESS flag is O, E or Y are left out, and so
is every concept left without an atom (after the SAB and language filters too): its MRSTY, MRDEF and
MRREL rows are left out with it, and `dropped` counts what each filter left out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.languages import language_filter, to_iso
from bios_kg.graph.records import Definition, Relation, RelationType, SemanticType, Source, TermRecord, TypeAssignment
from bios_kg.graph.semantic_types import TYPE_PREFIX
from bios_kg.graph.vocabulary import canonical_relation, inverse_name
from bios_kg.ingest.readers.base import (
    READERS,
    Input,
    Item,
    Option,
    Records,
    Rejected,
    RowProblem,
    SourceReader,
    invalid_utf8,
    iter_lines,
    parse_rows,
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
    "MRDOC.RRF": ("DOCKEY", "VALUE", "TYPE", "EXPL"),
}

# RELA inverse pairs for releases without MRDOC.RRF (pairs the spelling rules below do not find).
RELA_INVERSES: dict[str, str] = {
    "isa": "inverse_isa",
    "Subsumes": "Subsumed_By",
    "Concept_In_Subset": "Subset_Includes_Concept",
    "use": "used_for",
    "see": "see_from",
    "mapped_to": "mapped_from",
    "contains": "contained_in",
    "includes": "included_in",
    "constitutes": "consists_of",
    "measures": "measured_by",
    "may_treat": "may_be_treated_by",
    "may_prevent": "may_be_prevented_by",
    "may_diagnose": "may_be_diagnosed_by",
    "induces": "induced_by",
    "classifies": "classified_as",
    "contraindicated_with_disease": "has_contraindicated_drug",
    "Role_Has_Domain": "Kind_Is_Domain_Of",
    "Role_Has_Range": "Kind_Is_Range_Of",
    "Role_Has_Parent": "Role_Is_Parent_Of",
    "Has_NICHD_Parent": "Parent_Is_NICHD",
    "Chemotherapy_Regimen_Has_Component": "Is_Component_Of_Chemotherapy_Regimen",
    "Anatomic_Structure_Is_Physical_Part_Of": "Has_Physical_Part_Of_Anatomic_Structure",
    "Gene_Encodes_Gene_Product": "Gene_Product_Encoded_By_Gene",
    "Gene_Plays_Role_In_Process": "Process_Involves_Gene",
}
_INVERSE_SPELLING = re.compile(r"^(?:has_|inverse_)|_by$|_from$", re.IGNORECASE)

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


class _CuiSet:
    """A set of CUIs: a bitmap over the numbers of `C` + 7-digit CUIs (1.25 MB for all of UMLS), a set
    for any other spelling."""

    def __init__(self) -> None:
        self.bits = bytearray(10**7 // 8 + 1)
        self.other: set[str] = set()
        self.size = 0

    @staticmethod
    def _number(cui: str) -> int | None:
        return int(cui[1:]) if len(cui) == 8 and cui[0] == "C" and cui[1:].isdigit() else None

    def add(self, cui: str) -> None:
        if cui in self:
            return
        self.size += 1
        number = self._number(cui)
        if number is None:
            self.other.add(cui)
        else:
            self.bits[number >> 3] |= 1 << (number & 7)

    def __contains__(self, cui: str) -> bool:
        number = self._number(cui)
        return cui in self.other if number is None else bool(self.bits[number >> 3] & (1 << (number & 7)))

    def __len__(self) -> int:
        return self.size


def _forward(rela: str, inverse: str) -> str:
    """The member of an inverse pair that names the stored relation (see the module docstring)."""
    for name, other in ((rela, inverse), (inverse, rela)):
        with suppress(ConfigError):
            if canonical_relation(name)[1] is False and canonical_relation(other) == (canonical_relation(name)[0],
                                                                                     True):
                return name
    return min(rela, inverse, key=lambda name: (bool(_INVERSE_SPELLING.search(name)), name))


def _spelled_inverse(rela: str) -> str | None:
    """The inverse a RELA's spelling implies: has_X <-> X_of, inverse_X <-> X."""
    lower = rela.lower()
    if lower.startswith("has_"):
        return rela[4:] + "_of"
    if lower.endswith("_of"):
        return "has_" + rela[:-3]
    if lower.startswith("inverse_"):
        return rela[8:]
    return None


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


@READERS.register("umls")
class UmlsReader(SourceReader):
    """Streams a UMLS release (the folder holding the RRF files, or its parent with `META/`)."""

    def __init__(
        self,
        root: Annotated[Path, Input("UMLS release or META folder.", folder=True)],
        languages: Annotated[list[str] | None, Option("MRCONSO LAT codes to keep, e.g. ENG,CHI.", "--lang")] = None,
        sabs: Annotated[list[str] | None, Option("Source vocabularies (SAB) to keep, e.g. MSH,SNOMEDCT_US.", "--sab")]
        = None,
        include_suppressed: Annotated[bool, Option("Keep suppressible and obsolete rows.")] = False,
        version: str | None = None,
        licence: str = "UMLS Metathesaurus License Agreement",
    ) -> None:
        self.root = Path(root)
        self.languages = language_filter(languages, "UMLS")  # ISO codes; None: every language
        self.sabs = frozenset(sabs) if sabs is not None else None
        self.include_suppressed = include_suppressed
        self.version = version
        self.licence = licence
        self.dropped: Counter[str] = Counter()  # rows the filters left out, by what and why (read() counts them)
        self.inverses: dict[str, str] = {}  # RELA -> its inverse (MRDOC, else the built-in pairs)
        self._kept = _CuiSet()  # concepts with a kept atom
        self._seen = _CuiSet()  # concepts of MRCONSO

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
        self.dropped, self._kept, self._seen = Counter(), _CuiSet(), _CuiSet()
        self.inverses = self._mrdoc(files["MRDOC.RRF"]) if "MRDOC.RRF" in files else self._builtin_inverses()
        yield from self._mrconso(files["MRCONSO.RRF"])
        if len(self._seen) > len(self._kept):
            self.dropped["MRCONSO concepts without a kept atom"] = len(self._seen) - len(self._kept)
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
        """SAB and suppression filters (shared by MRCONSO, MRREL and MRDEF); counts what they leave out."""
        if self.sabs is not None and row["SAB"] not in self.sabs:
            self.dropped[f"{row.file} rows of other sources (SAB)"] += 1
            return False
        if not self.include_suppressed and row["SUPPRESS"] in SUPPRESSED:
            self.dropped[f"{row.file} rows suppressed (SUPPRESS {row['SUPPRESS']})"] += 1
            return False
        return True

    def _known(self, row: _RrfRow, *columns: str) -> bool:
        """False when a CUI of `columns` lost every atom of MRCONSO to the filters (counting the row it
        leaves out); a CUI MRCONSO does not list is kept (its relations wait for it as pending ones)."""
        if all(row[column] in self._kept or row[column] not in self._seen for column in columns):
            return True
        self.dropped[f"{row.file} rows of concepts without a kept atom"] += 1
        return False

    def _mrdoc(self, path: Path) -> dict[str, str]:
        """RELA -> inverse, as the release declares them (MRDOC rows `RELA|name|rela_inverse|inverse`)."""
        inverses: dict[str, str] = {}
        for row in self._rows(path):
            if (isinstance(row, _RrfRow) and row["DOCKEY"] == "RELA" and row["TYPE"] == "rela_inverse"
                    and row["VALUE"] and row["EXPL"]):
                inverses[row["VALUE"]] = row["EXPL"]
        return inverses

    @staticmethod
    def _builtin_inverses() -> dict[str, str]:
        return {**RELA_INVERSES, **{inverse: rela for rela, inverse in RELA_INVERSES.items()}}

    def _inverse(self, rela: str) -> str | None:
        return self.inverses.get(rela) or _spelled_inverse(rela)

    def _mrconso(self, path: Path) -> Iterator[Item]:
        return self._parse(path, self._term)

    def _term(self, row: _RrfRow) -> Records:
        row.required("CUI")
        self._seen.add(row["CUI"])
        if not self._keep(row):
            return ()
        lang = to_iso(row["LAT"])
        if lang is None:
            raise RowProblem(f"unknown language code {row['LAT']!r} (LAT)")
        if self.languages is not None and lang not in self.languages:
            self.dropped[f"{row.file} rows of other languages (LAT)"] += 1
            return ()
        if not row["STR"].strip():
            raise RowProblem("empty term string (STR)")
        self._kept.add(row["CUI"])
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
            if not self._known(row, "CUI"):
                return ()
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
            if not self._known(row, "CUI1", "CUI2"):
                return ()
            inverse_of_type: str | None = None  # the inverse's name, for the RelationType, when the pair names it
            if rela:
                inverse = self._inverse(rela)
                forward = _forward(rela, inverse) if inverse else rela
                try:
                    canonical_relation(rela)  # a name that may not be a relationship type (has_term) is refused
                    rel_type, swapped = canonical_relation(forward)
                except ConfigError:
                    raise RowProblem(f"invalid relation name {rela!r} (RELA)") from None
                cui1_is_head = swapped != (forward != rela)  # the row reads CUI2 RELA CUI1
                symmetric = inverse == rela or inverse_name(rel_type) is None
                other = (inverse if forward == rela else rela) if inverse else None
                with suppress(ConfigError):  # the pair's name, where the vocabulary has no inverse of its own
                    inverse_of_type = None if other is None or canonical_relation(other)[1] else other
            elif rel in REL_TYPES:
                rel_type, cui1_is_head = REL_TYPES[rel]
                symmetric = rel_type == "RELATED_TO"
            else:
                raise RowProblem(f"unknown relationship {rel!r} (REL)")
            head, tail = (row["CUI1"], row["CUI2"]) if cui1_is_head else (row["CUI2"], row["CUI1"])
            if symmetric:
                head, tail = sorted((head, tail))
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
            inverse_text = None if symmetric else (inverse_of_type.lower() if inverse_of_type else inverse_name(name))
            return RelationType(rel_type, name, inverse=inverse_text), relation

        return self._parse(path, parse)

    def _mrdef(self, path: Path) -> Iterator[Item]:
        return self._parse(path, self._definition)

    def _definition(self, row: _RrfRow) -> Records:
        row.required("CUI")
        if not self._keep(row) or not self._known(row, "CUI"):
            return ()
        if not row["DEF"].strip():
            raise RowProblem("empty definition (DEF)")
        return (Definition(CONCEPT_PREFIX + row["CUI"], row["DEF"], "en"),)
