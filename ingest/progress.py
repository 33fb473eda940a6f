"""Progress of a load over the lines of its source files (rich bar on a terminal, silent otherwise)."""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from graph.records import Source
from ingest.readers.base import Item


def count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n")
    return lines


class LineProgress:
    """Advances by source lines: an item on a new (file, line) moves the bar by one."""

    def __init__(self, root: Path, source: Source, enabled: bool = True) -> None:
        self.enabled = enabled
        self._last: tuple[str, int] | None = None
        self._progress = Progress(TextColumn(f"[bold]{source.id}[/bold] {{task.description}}"), BarColumn(),
                                  MofNCompleteColumn(), TimeRemainingColumn(), disable=not enabled)
        total = sum(count_lines(root / name) for name in source.checksums) if enabled else None
        self._task = self._progress.add_task("lines", total=total)

    def advance(self, item: Item) -> None:
        key = (item.file, item.line)
        if key != self._last:
            self._last = key
            self._progress.advance(self._task)

    def __enter__(self) -> LineProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if kind is None:  # blank and comment lines yield no item: show the finished bar full
            self._progress.update(self._task, completed=self._progress.tasks[0].total)
        self._progress.stop()
