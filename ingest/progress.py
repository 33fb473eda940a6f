"""Progress of a load over the lines of its source files (rich bar on a terminal, silent otherwise)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bios_kg.graph.records import Source
from bios_kg.ingest.readers.base import Item, SourceReader


def count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
    return lines


class LineProgress:
    """Advances by source lines: an item on a new (file, line) moves the bar by one.

    A reader whose items carry no line of a text file (a pickle, an RDF graph) declares
    `counts_lines = False` (SourceReader): the bar then counts records, without a total.
    """

    def __init__(self, reader: SourceReader, source: Source, enabled: bool = True) -> None:
        self.enabled = enabled
        self.by_lines = reader.counts_lines
        self._last: tuple[str, int] | None = None
        self._pending = 0  # lines not yet shown: the bar is moved in steps (a step per line costs a tenth of a load)
        self._progress = Progress(TextColumn(f"[bold]{source.id}[/bold] {{task.description}}"), BarColumn(),
                                  MofNCompleteColumn(), TimeRemainingColumn(), disable=not enabled)
        total = None
        if enabled and self.by_lines:
            total = sum(count_lines(reader.root / name) for name in source.checksums)
        self._task = self._progress.add_task("lines" if self.by_lines else "records", total=total)

    def advance(self, item: Item) -> None:
        key = (item.file, item.line)
        if not self.by_lines or key != self._last:
            self._last = key
            self._pending += 1
            if self._pending >= 2048:
                self._progress.advance(self._task, self._pending)
                self._pending = 0

    def __enter__(self) -> LineProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._progress.advance(self._task, self._pending)
        if kind is None and self.by_lines:  # blank and comment lines yield no item: show the finished bar full
            self._progress.update(self._task, completed=self._progress.tasks[0].total)
        self._progress.stop()
