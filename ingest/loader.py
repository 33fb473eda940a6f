"""The transactional loader: a reader's records into the graph, batch by batch, idempotently.

Each batch is one explicit transaction that also advances the source's checkpoint (the number of
reader items consumed), so a load that is killed resumes after the last committed batch when it is
run again on the same files. A bad row either stops the load (the failing batch is rolled back and
nothing of it is stored) or, with on_error="skip", is written to the rejects file with its reason.

A relation whose head or tail concept is not in the graph (a term of an ontology loaded later, or
never) is kept as a pending relation in the same transaction; after every load, the pending relations
of every source whose two concepts now exist become edges. Load order therefore does not matter.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from queue import Full, Queue
from typing import Literal, TextIO

from bios_kg.graph.errors import InputError
from bios_kg.graph.records import Source
from bios_kg.graph.store import Batch, GraphStore
from bios_kg.ingest.progress import LineProgress
from bios_kg.ingest.readers.base import Rejected, SourceReader

OnError = Literal["stop", "skip"]
DEFAULT_BATCH_SIZE = 5000


@dataclass
class LoadReport:
    source: str
    version: str
    records: Counter[str] = field(default_factory=Counter)
    rejected: int = 0
    resumed_from: int = 0
    skipped_unchanged: bool = False
    xrefs_linked: int = 0
    relations_pending: int = 0  # relations of this source kept until a concept of theirs is loaded
    relations_joined: int = 0  # pending relations (of any source) that became edges after this load
    dropped: Counter[str] = field(default_factory=Counter)  # rows the reader's filters left out, by kind
    warnings: list[str] = field(default_factory=list)  # what the reader kept in a way worth knowing
    seconds: float = 0.0

    @property
    def rows_per_second(self) -> float:
        return sum(self.records.values()) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"source": self.source, "version": self.version, "records": dict(self.records),
                "rejected": self.rejected, "resumed_from": self.resumed_from,
                "skipped_unchanged": self.skipped_unchanged, "xrefs_linked": self.xrefs_linked,
                "relations_pending": self.relations_pending, "relations_joined": self.relations_joined,
                "dropped": dict(self.dropped), "warnings": self.warnings,
                "seconds": round(self.seconds, 3),
                "rows_per_second": round(self.rows_per_second, 1)}


class RejectsWriter:
    """Rejected lines as `file<TAB>line<TAB>reason<TAB>raw`, one per line."""

    def __init__(self, root: Path, path: Path | None, append: bool = False) -> None:
        self.root = root  # errors name files by their full path
        self.path = path
        self.handle: TextIO | None = path.open("a" if append else "w", encoding="utf-8") if path else None
        self.count = 0

    def write(self, file: str, line: int, reason: str, raw: str) -> None:
        self.count += 1
        if self.handle:
            clean = raw.replace("\t", "\\t").replace("\n", "\\n")
            self.handle.write(f"{file}\t{line}\t{reason}\t{clean}\n")

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def _resume_point(store: GraphStore, source: Source, force: bool) -> tuple[int, bool]:
    """(items to skip, already loaded) from the Source node of an earlier load of the same files."""
    previous = store.source(source.id)
    if not previous or previous.get("checksums") != json.dumps(source.checksums, sort_keys=True):
        return 0, False
    if previous.get("status") == "loaded":
        return 0, not force
    return (0 if force else int(previous.get("checkpoint") or 0)), False


def load_source(reader: SourceReader, store: GraphStore, *, batch_size: int = DEFAULT_BATCH_SIZE,
                on_error: OnError = "stop", rejects: Path | None = None, force: bool = False,
                progress: bool = True) -> LoadReport:
    """Load everything `reader` streams into the graph; see the module docstring for the guarantees."""
    source = reader.source()
    report = LoadReport(source.id, source.version)
    skip, unchanged = _resume_point(store, source, force)
    if unchanged:
        report.skipped_unchanged = True
        return report
    report.resumed_from = skip
    store.begin_source(source, checkpoint=skip)
    rejects_writer = RejectsWriter(reader.root, rejects if on_error == "skip" else None, append=skip > 0)
    started = time.perf_counter()
    try:
        with LineProgress(reader, source, enabled=progress) as bar:
            for chunk in prefetch(_chunks(reader, skip, batch_size, bar)):
                for rejected in chunk.rejected:
                    reject(rejected, on_error, rejects_writer)
                _commit(store, source.id, chunk, report)
    except InputError as exc:
        store.fail_source(source.id, str(exc))
        raise
    finally:
        rejects_writer.close()
    report.rejected = rejects_writer.count
    report.xrefs_linked = store.link_xrefs()
    report.relations_joined = store.resolve_pending_relations()
    store.resolve_pending_alt_ids()
    report.relations_pending = store.count_pending_relations(source.id)
    reader_notes(reader, report)
    report.seconds = time.perf_counter() - started
    store.finish_source(source.id, {**report.records, "rejected": report.rejected})
    return report


def reject(item: Rejected, on_error: OnError, writer: RejectsWriter) -> None:
    """Stop the load with the row's error, or write the row to the rejects file."""
    if on_error == "stop":
        raise item.error(writer.root)
    writer.write(item.file, item.line, item.reason, item.raw)


def reader_notes(reader: SourceReader, report: LoadReport) -> None:
    """Copy what the reader dropped by its filters and its warnings into the report."""
    report.dropped.update(reader.dropped)
    report.warnings.extend(reader.warnings)


@dataclass
class _Chunk:
    """One batch's worth of reader items, grouped for writing, and the reader position after it."""

    batch: Batch = field(default_factory=Batch)
    rejected: list[Rejected] = field(default_factory=list)
    kinds: Counter[str] = field(default_factory=Counter)
    consumed: int = 0


def _chunks(reader: SourceReader, skip: int, batch_size: int, bar: LineProgress) -> Iterator[_Chunk]:
    chunk = _Chunk()
    for consumed, item in enumerate(reader.read(), start=1):
        bar.advance(item)
        if consumed <= skip:
            continue
        chunk.consumed = consumed
        if isinstance(item, Rejected):
            chunk.rejected.append(item)
            continue
        try:
            chunk.batch.add(item.record)
        except ValueError as exc:
            chunk.rejected.append(Rejected(item.file, item.line, str(exc), repr(item.record)))
            continue
        chunk.kinds[type(item.record).__name__] += 1
        if len(chunk.batch) >= batch_size:
            yield chunk
            chunk = _Chunk(consumed=consumed)
    yield chunk


def prefetch(chunks: Iterator[_Chunk], depth: int = 2) -> Iterator[_Chunk]:
    """Run the reader and batching in a thread, so parsing overlaps the database's work."""
    queue: Queue[_Chunk | BaseException | None] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        queue.put(chunk, timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(None)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            queue.put(exc)

    worker = threading.Thread(target=produce, name="bios-load-reader", daemon=True)
    worker.start()
    try:
        while (got := queue.get()) is not None:
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        stop.set()
        worker.join(timeout=5)


def _commit(store: GraphStore, source_id: str, chunk: _Chunk, report: LoadReport) -> None:
    """Write one batch and the new checkpoint in a single transaction."""
    batch, kinds = chunk.batch, chunk.kinds
    with store.transaction() as tx:
        store.write_nodes(tx, batch, source_id)
        missing = store.missing_relation_ends(tx, batch)
        if missing:
            store.write_pending_relations(tx, batch.drop_relations(set(missing)), source_id)
        store.write_relations(tx, batch, source_id)
        store.set_checkpoint(tx, source_id, chunk.consumed)
    report.records.update(kinds)
