"""What a reader is: the reader protocol, the registry by format name, and the items a reader streams.

A reader streams `Parsed` items (a canonical record and where it came from) and `Rejected` items
(a line it could not read, with the reason). It never raises for a bad row: the loader decides
whether a rejection stops the load or is written to the rejects file.

Readers register by format name in `READERS` (`@READERS.register("myformat")` on the class or factory);
other installed packages add theirs through the entry-point group `bios_kg.readers`. `bios ingest <format>`
is generated from the registry: the factory's first parameter is the input (annotate it with `Input`), every
other keyword parameter an option (annotate it with `Option` unless it is one of the provenance parameters
in `PROVENANCE_HELP`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar, Protocol, TypeVar

from bios_kg.graph.errors import InputError
from bios_kg.graph.records import Record, Source
from bios_kg.graph.registry import Registry


@dataclass(frozen=True, slots=True)
class Parsed:
    record: Record
    file: str  # file name relative to the source folder
    line: int  # 1-based


@dataclass(frozen=True, slots=True)
class Rejected:
    file: str
    line: int
    reason: str
    raw: str

    def error(self, root: Path | None = None) -> InputError:
        """The error that stops a load, naming the file by its full path when `root` is given."""
        return InputError(str(root / self.file) if root else self.file, self.line, self.reason)


Item = Parsed | Rejected


class SourceReader(Protocol):
    """A source on disk: what it is (provenance) and its records, streamed in load order.

    Readers subclass it. `counts_lines` says whether items carry lines of the text files named in
    `source().checksums` (progress then counts lines against their total); a reader whose items carry
    something else (positions in a pickle, records of an RDF graph) sets it to False and progress counts
    records.
    """

    counts_lines: ClassVar[bool] = True
    root: Path  # the folder the files of source().checksums are relative to
    # What read() left out on purpose (reason -> count) and kept in an unusual way; the load report copies both.
    # A reader that has any assigns its own Counter and list when read() starts.
    dropped: Mapping[str, int] = MappingProxyType({})
    warnings: Sequence[str] = ()

    def source(self) -> Source: ...

    def read(self) -> Iterator[Item]: ...


@dataclass(frozen=True)
class Input:
    """Annotates a reader factory's first parameter: the file or folder `bios ingest <format>` takes.

    Give the parameter a default of None when the reader finds its input in an installed package.
    """

    help: str
    folder: bool = False  # a folder (True) or one file (False)


@dataclass(frozen=True)
class Option:
    """Annotates a reader factory's keyword parameter: its help on `bios ingest <format>`, and its flag when
    not `--<parameter-name>` (e.g. `--lang` for `languages`)."""

    help: str
    flag: str | None = None


# Help of the provenance parameters readers share; a factory parameter of one of these names needs no Option.
PROVENANCE_HELP = {
    "source_id": "Source id recorded on the Source (default: the reader's, from the file).",
    "name": "Source name (default: the reader's, from the file).",
    "version": "Release name recorded on the Source (default: the reader's, from the files).",
    "licence": "Licence recorded on the Source.",
    "url": "Home page recorded on the Source.",
}

ReaderFactory = Callable[..., SourceReader]
READERS: Registry[ReaderFactory] = Registry("source format", "bios_kg.readers")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def iter_lines(path: Path, display: str) -> Iterator[tuple[int, str | None, bytes]]:
    """Yield (line number, decoded text or None when the bytes are not UTF-8, raw bytes) per line.

    A UTF-8 byte-order mark on the first line is dropped; the trailing newline is stripped.
    """
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            raw = raw.rstrip(b"\r\n")
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield number, raw.decode("utf-8"), raw
            except UnicodeDecodeError:
                yield number, None, raw


def invalid_utf8(display: str, number: int, raw: bytes) -> Rejected:
    return Rejected(display, number, "invalid UTF-8", raw.decode("utf-8", "replace"))


class RowProblem(Exception):
    """Raised by a row parser for a row it cannot read; `parse_rows` turns it into a `Rejected` item."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SourceRow(Protocol):
    """A split row of a source file: where it is and its text, for `Parsed` and `Rejected` items."""

    @property
    def file(self) -> str: ...

    @property
    def line(self) -> int: ...

    @property
    def raw(self) -> str: ...


RowT = TypeVar("RowT", bound=SourceRow)
Records = Sequence[Record]  # what a row parser makes of one row (often one record, sometimes none)


def parse_rows(rows: Iterable[RowT | Rejected], parse: Callable[[RowT], Iterable[Record]]) -> Iterator[Item]:
    """Stream `parse(row)`'s records as `Parsed` items, passing rejections on.

    A row whose parser raises `RowProblem` becomes a `Rejected` item with the problem as its reason; a
    row's records are all made before any is yielded, so a row gives either records or a rejection.
    """
    for row in rows:
        if isinstance(row, Rejected):
            yield row
            continue
        try:
            records = tuple(parse(row))
        except RowProblem as problem:
            yield Rejected(row.file, row.line, problem.reason, row.raw)
            continue
        for record in records:
            yield Parsed(record, row.file, row.line)
