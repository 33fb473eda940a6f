"""The bulk path: a reader's records -> neo4j-admin CSV files -> `database import full` into an empty
local database, producing the same graph as the transactional loader (ingest/loader.py).

Every record goes through `bios_kg.graph.store.Batch`, exactly as in the transactional path, so validation,
term ids (`bios_kg.graph.text.term_id`/`normalize_term`), relationship types and row shapes are shared. What
MERGE does in the transactional path is done here on files, with memory that stays flat:

- Term nodes are written as they stream by; the importer keeps the first row of an id
  (`--skip-duplicate-nodes`), i.e. the first spelling, like `ON CREATE SET` does.
- Everything keyed by a concept (its name properties from preferred terms and Concept records,
  HAS_TERM and HAS_TYPE edges, definitions) is spooled as small events and sorted on disk by
  (concept id, stream position): chunks of `sort_buffer` events are sorted in memory and written as
  runs, which are merged. Each concept's events then arrive together and in stream order, and are
  reduced with the transactional rules: the last preferred name per language wins, a concept without
  an English preferred name takes its first English term, one HAS_TERM per (concept, term) and one
  HAS_TYPE per (concept, type) with the first row's properties, definitions kept once each in order
  (`definition` is the first); only terms and Concept records create a concept, so type assignments
  and definitions of an unknown concept are dropped, as MATCH drops them. The result does not depend
  on the rows of a concept being contiguous.
- Concept relations are sorted the same way by (type, head, tail, position): one edge per triple,
  with the first row's `rel_id`/`rid` (BIOS states most relations twice, forward and reverse).
- Semantic and relation types are small vocabularies kept in memory.
- Alt ids and cross-references become the concept's `alt_ids`/`xrefs` arrays (XREF edges are joined
  after the import, as the transactional path does after a load), an obsolete flag a boolean column,
  relation qualifiers columns of the relations file. Alt ids of a concept the source never creates
  are dropped (the transactional path keeps them pending for a later source).

Python memory is bounded by `sort_buffer` plus the vocabularies; disk holds the spool and the CSVs.

Relations whose head or tail concept does not exist are dropped by the importer and listed in its
report; their rows are read back from the relations CSV and kept as pending relations, as the
transactional path keeps them, to become edges when a later load brings the missing concept.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import pickle
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from csv import reader as csv_rows
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from rich.console import Console

from bios_kg.graph.connection import open_driver
from bios_kg.graph.errors import GraphError, RuntimeStateError
from bios_kg.graph.queries.ingest import MERGE_PENDING_ALT_IDS
from bios_kg.graph.queries.schema import COUNT_NODES
from bios_kg.graph.records import (
    AltId,
    Concept,
    Definition,
    Record,
    Relation,
    RelationType,
    SemanticType,
    Source,
    TermRecord,
    TypeAssignment,
    Xref,
)
from bios_kg.graph.runtime import LocalNeo4j, ServerOptions, free_port, port_is_free
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import Batch, GraphStore
from bios_kg.ingest.loader import LoadReport, OnError, RejectsWriter, reader_notes, reject
from bios_kg.ingest.progress import LineProgress
from bios_kg.ingest.readers.base import Rejected, SourceReader

# Array elements are separated by the ASCII unit separator: `;` and `,` occur in definitions.
ARRAY_DELIMITER = "\x1f"
SCHEMA_WAIT_S = 24 * 3600  # how long the bulk path waits for the indexes of an imported database
SORT_BUFFER = 100_000  # events sorted in memory before a run goes to disk (about 50 MB of Python objects)
_RUN_BLOCK = 4096  # events per pickled block in a run file
_MAX_FAN_IN = 64  # runs merged at once; more are first merged into longer runs

_NODE_LABELS = frozenset({"Concept", "Term", "SemanticType", "RelationType"})
# Concept event kinds (the third field of an event; events of one concept sort by stream position).
_PROPS, _TERM, _TYPE, _DEF, _LIST = 0, 1, 2, 3, 4

_MISSING = re.compile(
    r"^(?P<head>.*) \(Concept\)-\[(?P<type>[A-Z][A-Z0-9_]*)\]->(?P<tail>.*) \(Concept\) "
    r"referring to missing node (?P<missing>.*)$"
)
_DUPLICATE = re.compile(r"^Id '.*' is defined more than once in group '(?P<group>[^']*)'")


@dataclass
class BulkLoadReport(LoadReport):
    """A LoadReport with the bulk path's phases (seconds) and what was imported."""

    phases: dict[str, float] = field(default_factory=dict)
    imported: dict[str, int] = field(default_factory=dict)  # CSV rows per file kind
    memory: dict[str, str] = field(default_factory=dict)  # what each phase's JVM was given

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "phases": {k: round(v, 3) for k, v in self.phases.items()},
                "imported": dict(self.imported), "memory": dict(self.memory)}


# --- CSV ---------------------------------------------------------------------------------------------
def _q(value: str | None) -> str:
    """A CSV field: strings always quoted (kept as written, `""` for an empty string), None empty."""
    return "" if value is None else '"' + value.replace('"', '""') + '"'


class _Csv:
    """One header file and one data file of neo4j-admin CSV."""

    def __init__(self, folder: Path, name: str) -> None:
        self.header = folder / f"{name}_header.csv"
        self.data = folder / f"{name}.csv"
        self.handle: TextIO = self.data.open("w", encoding="utf-8", newline="", buffering=1 << 20)
        self.rows = 0
        self.multiline = False

    def row(self, *values: str | None) -> None:
        if None in values:
            line = ",".join(map(_q, values))
        else:  # the common case, joined in one go
            line = '"' + '","'.join([value.replace('"', '""') for value in values]) + '"'  # type: ignore[union-attr]
        if "\n" in line or "\r" in line:
            self.multiline = True
        self.handle.write(line + "\n")
        self.rows += 1

    def close(self, columns: Sequence[str]) -> list[Path]:
        self.handle.close()
        self.header.write_text(",".join(columns) + "\n", encoding="utf-8")
        return [self.header, self.data]


def _array(values: Iterable[str]) -> str:
    return ARRAY_DELIMITER.join(values)


# --- external sort ---------------------------------------------------------------------------------
class _SortedSpool:
    """Tuples sorted on disk with bounded memory: in-memory sorted runs, merged with heapq.merge.

    The first two fields of every tuple must make it unique, so later fields are never compared.
    Input that arrives in ascending stretches (a source's rows grouped by concept, file after file)
    is neither sorted again nor merged run by run: the runs of a stretch are read one after the other
    and only the stretches are merged.
    """

    def __init__(self, folder: Path, name: str, buffer: int) -> None:
        self.folder = folder
        self.name = name
        self.buffer = buffer
        self.items: list[tuple[Any, ...]] = []
        self.stretches: list[list[Path]] = []  # runs in ascending order, one stretch after another
        self._ascending = True  # whether `items` arrived in order
        self._last: tuple[Any, ...] | None = None  # the last item of the last run written
        self._next_run = 0

    def add(self, item: tuple[Any, ...]) -> None:
        if self._ascending and self.items and item < self.items[-1]:
            self._ascending = False
        self.items.append(item)
        if len(self.items) >= self.buffer:
            self._spill()

    def _take(self) -> tuple[list[tuple[Any, ...]], bool]:
        """The buffered items, sorted, and whether they continue the last stretch."""
        items, ascending = self.items, self._ascending
        if not ascending:
            items.sort()
        continues = ascending and bool(items) and self._last is not None and items[0] > self._last
        self.items, self._ascending = [], True
        return items, continues

    def _spill(self) -> None:
        items, continues = self._take()
        path = self._write_run(items)
        self._last = items[-1]
        if continues:
            self.stretches[-1].append(path)
        else:
            self.stretches.append([path])

    @staticmethod
    def _read_run(path: Path) -> Iterator[tuple[Any, ...]]:
        handle: BinaryIO
        with path.open("rb") as handle:
            while True:
                try:
                    block = pickle.load(handle)
                except EOFError:
                    return
                yield from block

    def _read_stretch(self, runs: list[Path]) -> Iterator[tuple[Any, ...]]:
        for path in runs:
            yield from self._read_run(path)

    def _write_run(self, items: Iterable[tuple[Any, ...]]) -> Path:
        path = self.folder / f"{self.name}-{self._next_run:05d}.run"
        self._next_run += 1
        with path.open("wb") as handle:
            block: list[tuple[Any, ...]] = []
            for item in items:
                block.append(item)
                if len(block) >= _RUN_BLOCK:
                    pickle.dump(block, handle, protocol=pickle.HIGHEST_PROTOCOL)
                    block = []
            if block:
                pickle.dump(block, handle, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    def sorted(self) -> Iterator[tuple[Any, ...]]:
        items, _ = self._take()
        while len(self.stretches) >= _MAX_FAN_IN:  # keep the number of open files bounded
            group, self.stretches = self.stretches[:_MAX_FAN_IN], self.stretches[_MAX_FAN_IN:]
            self.stretches.append([self._write_run(heapq.merge(*map(self._read_stretch, group)))])
            for path in (path for runs in group for path in runs):
                path.unlink()
        streams = [*map(self._read_stretch, self.stretches), iter(items)]
        yield from streams[0] if len(streams) == 1 else heapq.merge(*streams)

    def close(self) -> None:
        self.items = []
        for path in (path for runs in self.stretches for path in runs):
            path.unlink(missing_ok=True)
        self.stretches = []


# --- records -> CSV ----------------------------------------------------------------------------------
@dataclass
class ImportFiles:
    """What `LocalNeo4j.import_csv` gets, and how many rows each file holds."""

    nodes: list[tuple[str, list[Path]]]
    relationships: list[list[Path]]
    multiline: bool
    rows: dict[str, int]
    xrefs: bool = False  # concepts carry cross-references: join them once the graph is up
    pending_alt_ids: list[dict[str, Any]] = field(default_factory=list)  # rows of MERGE_PENDING_ALT_IDS


class BulkWriter:
    """Turns canonical records into neo4j-admin CSV files in `folder` (no database needed).

    `add` raises ValueError (like Batch.add) for a record that cannot be stored; `finish` sorts the
    spools, writes the remaining files and returns what to import.
    """

    def __init__(self, folder: Path, source_id: str, sort_buffer: int = SORT_BUFFER) -> None:
        self.folder = folder
        self.source_id = source_id
        self.sources = _array([source_id])
        self._spool_dir = folder / "spool"
        self._spool_dir.mkdir(parents=True, exist_ok=True)
        self.terms = _Csv(folder, "terms")
        self.concept_events = _SortedSpool(self._spool_dir, "concepts", sort_buffer)
        self.relation_events = _SortedSpool(self._spool_dir, "relations", sort_buffer)
        self.semantic_types: dict[str, dict[str, Any]] = {}  # declared, merged like MERGE_SEMANTIC_TYPES
        self.referenced_types: dict[str, None] = {}  # named by a written HAS_TYPE edge (ordered set)
        self.relation_types: dict[str, dict[str, Any]] = {}
        self.name_keys: set[str] = set()
        self._seq = 0
        self._batch = Batch()  # validates each record into rows that `add` takes out again
        self.obsolete = False  # whether any concept is marked obsolete (a column then)
        self.lists: set[str] = set()  # concept list properties seen: alt_ids, xrefs
        self.relation_prop_keys: set[str] = set()  # relation qualifiers seen (columns of the relations file)
        self.pending_alt_ids: list[dict[str, Any]] = []  # alt ids of concepts this source does not create

    def _add_lists(self, seq: int) -> None:
        """Alt ids and cross-references the batch holds, as concept events (they do not create a concept)."""
        for (cid, key), ids in self._batch.lists.items():
            self.lists.add(key)
            self.concept_events.add((cid, seq, _LIST, key, tuple(sorted(ids))))
        self._batch.lists.clear()

    def add(self, record: Record) -> None:
        if isinstance(record, Definition) and ARRAY_DELIMITER in record.text:
            raise ValueError("definition contains the control character U+001F")
        batch = self._batch
        try:
            batch.add(record)  # the transactional path's validation and rows, taken out of it below
        except ValueError:
            self._batch = Batch()
            raise
        seq = self._seq
        self._seq += 1
        if isinstance(record, TermRecord):
            tid, term = batch.terms.popitem()
            self.terms.row(tid, term["text"], term["norm"], term["lang"], self.sources)
            cid, props = batch.concepts.popitem()
            edge = batch.has_term.popitem()[1]
            # props is {} or {name key: text}; fallback_name is the text for an English term
            name_key = next(iter(props), None)
            if name_key is not None:
                self.name_keys.add(name_key)
            self.concept_events.add((cid, seq, _TERM, name_key, term["text"] if name_key is None else props[name_key],
                                     tid, edge["tty"], edge["source_id"], edge["fallback_name"] is not None))
        elif isinstance(record, Concept):
            cid, props = batch.concepts.popitem()
            self.obsolete |= bool(props.pop("obsolete", False))
            self.name_keys.update(props)
            self.concept_events.add((cid, seq, _PROPS, tuple(props.items()), record.obsolete))
            self._add_lists(seq)
        elif isinstance(record, Xref | AltId):
            self._add_lists(seq)
        elif isinstance(record, TypeAssignment):
            cid, type_id = batch.has_type.popitem()[0]
            self.concept_events.add((cid, seq, _TYPE, type_id))
        elif isinstance(record, Definition):
            row = batch.definitions.pop()
            self.concept_events.add((row["concept"], seq, _DEF, row["text"]))
        elif isinstance(record, Relation):
            rel_type, row = batch.relations.pop()
            self.relation_prop_keys.update(row["props"])
            self.relation_events.add((rel_type, row["head"], row["tail"], seq, row["rel_id"], row["rid"],
                                      tuple(row["props"].items())))
        elif isinstance(record, SemanticType):
            row = batch.semantic_types.pop(record.id)
            known = self.semantic_types.get(record.id, {})
            self.semantic_types[record.id] = {"name": row["name"], "name_zh": _coalesce(row["name_zh"],
                                                                                      known.get("name_zh"))}
        elif isinstance(record, RelationType):
            row = batch.relation_types.popitem()[1]
            known = self.relation_types.get(row["id"], {})
            self.relation_types[row["id"]] = {"name": row["name"], "inverse": row["inverse"],
                                              "name_zh": _coalesce(row["name_zh"], known.get("name_zh"))}

    # -- finish ---------------------------------------------------------------------------------
    def finish(self) -> ImportFiles:
        try:
            return self._finish()
        finally:
            self.close()

    def close(self) -> None:
        if not self.terms.handle.closed:
            self.terms.handle.close()
        self.concept_events.close()
        self.relation_events.close()
        shutil.rmtree(self._spool_dir, ignore_errors=True)

    def _finish(self) -> ImportFiles:
        src = self.source_id
        name_keys = sorted(self.name_keys, key=lambda key: (key != "name", key))
        concepts, has_term, has_type = _Csv(self.folder, "concepts"), _Csv(self.folder, "has_term"), \
            _Csv(self.folder, "has_type")
        lists = sorted(self.lists)
        for cid, events in _groups(self.concept_events.sorted()):
            self._write_concept(cid, events, name_keys, lists, concepts, has_term, has_type)
        relations = _Csv(self.folder, "relations")
        prop_keys = sorted(self.relation_prop_keys)
        last: tuple[str, str, str] | None = None
        for rel_type, head, tail, _, rel_id, rid, rel_props in self.relation_events.sorted():
            if (rel_type, head, tail) != last:
                last = (rel_type, head, tail)
                qualifiers = dict(rel_props)
                relations.row(head, tail, rel_type, src, rel_id, rid, self.sources,
                              *(_text(qualifiers.get(key)) for key in prop_keys))
        semantic_types = _Csv(self.folder, "semantic_types")
        for type_id, props in self.semantic_types.items():
            semantic_types.row(type_id, props["name"], props["name_zh"], self.sources)
        for type_id in self.referenced_types:
            if type_id not in self.semantic_types:  # MERGE_HAS_TYPE creates it named by its id
                semantic_types.row(type_id, type_id, None, self.sources)
        relation_types = _Csv(self.folder, "relation_types")
        for type_id, props in self.relation_types.items():
            relation_types.row(type_id, props["name"], props["name_zh"], props["inverse"], self.sources)

        files = {
            "Concept": (concepts, ["id:ID(Concept)", "sources:string[]", *name_keys, "definitions:string[]",
                                   "definition", *(f"{key}:string[]" for key in lists),
                                   *(["obsolete:boolean"] if self.obsolete else [])]),
            "Term": (self.terms, ["id:ID(Term)", "text", "norm", "lang", "sources:string[]"]),
            "SemanticType": (semantic_types, ["id:ID(SemanticType)", "name", "name_zh", "sources:string[]"]),
            "RelationType": (relation_types, ["id:ID(RelationType)", "name", "name_zh", "inverse",
                                              "sources:string[]"]),
            "HAS_TERM": (has_term, [":START_ID(Concept)", ":END_ID(Term)", ":TYPE", "tty", "source", "source_id",
                                    "sources:string[]"]),
            "HAS_TYPE": (has_type, [":START_ID(Concept)", ":END_ID(SemanticType)", ":TYPE", "source",
                                    "sources:string[]"]),
            "relations": (relations, [":START_ID(Concept)", ":END_ID(Concept)", ":TYPE", "source", "rel_id", "rid",
                                      "sources:string[]", *prop_keys]),
        }
        nodes: list[tuple[str, list[Path]]] = []
        rels: list[list[Path]] = []
        for kind, (csv, columns) in files.items():
            paths = csv.close(columns)
            if kind in _NODE_LABELS:
                if csv.rows or kind == "Concept":  # the importer needs at least one node input
                    nodes.append((kind, paths))
            elif csv.rows:
                rels.append(paths)
        return ImportFiles(nodes, rels, any(csv.multiline for csv, _ in files.values()),
                           {kind: csv.rows for kind, (csv, _) in files.items()}, "xrefs" in lists,
                           self.pending_alt_ids)

    def _write_concept(self, cid: str, events: list[tuple[Any, ...]], name_keys: list[str], lists: list[str],
                       concepts: _Csv, has_term: _Csv, has_type: _Csv) -> None:
        props: dict[str, str] = {}
        ids: dict[str, dict[str, None]] = {key: {} for key in lists}
        obsolete = False
        fallback: str | None = None
        terms: dict[str, tuple[str, str | None]] = {}
        types: dict[str, None] = {}
        definitions: dict[str, None] = {}
        # Only terms and Concept records create a concept: type assignments and definitions of a
        # concept that does not exist are dropped (MATCH in MERGE_HAS_TYPE and MERGE_DEFINITIONS).
        exists = False
        for event in events:
            kind = event[2]
            if kind == _TERM:
                _, _, _, name_key, text, tid, tty, source_id, english = event
                if name_key is not None:
                    props[name_key] = text
                terms.setdefault(tid, (tty, source_id))
                if fallback is None and english:
                    fallback = text
                exists = True
            elif kind == _PROPS:
                props.update(event[3])
                obsolete |= event[4]
                exists = True
            elif kind == _LIST:
                ids[event[3]].update(dict.fromkeys(event[4]))
            elif kind == _TYPE:
                types.setdefault(event[3])
            else:
                definitions.setdefault(event[3])
        if not exists:
            if ids.get("alt_ids"):  # kept pending for a later source, as the transactional path does
                self.pending_alt_ids.append({"concept": cid, "ids": sorted(ids["alt_ids"])})
            return
        if "name" not in props and fallback:
            props["name"] = fallback
        first_definition = next(iter(definitions), None)
        concepts.row(cid, self.sources, *(props.get(key) for key in name_keys),
                     _array(definitions) if definitions else None, first_definition,
                     *(_array(sorted(ids[key])) if ids[key] else None for key in lists),
                     *(["true" if obsolete else None] if self.obsolete else []))
        for tid, (tty, source_id) in terms.items():
            has_term.row(cid, tid, "HAS_TERM", tty, self.source_id, source_id, self.sources)
        for type_id in types:
            self.referenced_types[type_id] = None
            has_type.row(cid, type_id, "HAS_TYPE", self.source_id, self.sources)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _coalesce(value: str | None, known: str | None) -> str | None:
    return value if value is not None else known


def _groups(events: Iterator[tuple[Any, ...]]) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Consecutive events of one concept id."""
    current: str | None = None
    group: list[tuple[Any, ...]] = []
    for event in events:
        if event[0] != current:
            if group and current is not None:
                yield current, group
            current, group = event[0], []
        group.append(event)
    if group and current is not None:
        yield current, group


# --- the importer's report -----------------------------------------------------------------------------
def parse_import_report(path: Path) -> tuple[dict[tuple[str, str, str], str], int, list[str]]:
    """(bad relationships {(type, head, tail): missing concept id}, duplicate Term ids, other lines)."""
    bad: dict[tuple[str, str, str], str] = {}
    duplicates = 0
    other: list[str] = []
    if not path.exists():
        return bad, duplicates, other
    with path.open(encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line.strip():
                continue
            missing = _MISSING.match(line)
            if missing:
                bad[(missing["type"], missing["head"], missing["tail"])] = missing["missing"]
                continue
            duplicate = _DUPLICATE.match(line)
            if duplicate and duplicate["group"] == "Term":
                duplicates += 1
                continue
            if len(other) < 20:
                other.append(line)
    return bad, duplicates, other


# --- the instance ----------------------------------------------------------------------------------------
@dataclass
class _Instance:
    """The local instance's state before the load, and how to start it again."""

    local: LocalNeo4j
    database: str
    was_running: bool
    options: ServerOptions

    def store(self) -> GraphStore:
        status = self.local.status()
        if not status.running or status.uri is None:
            raise RuntimeStateError(f"Neo4j is not running from {self.local.home}")
        password = self.options.password
        settings = Neo4jSettings(uri=status.uri, username="neo4j" if password else None, password=password,
                                 database=self.database)
        return GraphStore(open_driver(settings), self.database)

    def start(self) -> None:
        if not self.local.status().running:
            self.local.start(self.options)

    def restore(self) -> None:
        """Running again if it was running before, stopped if it was not."""
        if self.was_running:
            self.start()
        else:
            self.local.stop()

    def node_count(self) -> int:
        with self.store() as store:
            return store.count(COUNT_NODES)


def _prepare(local: LocalNeo4j, database: str, password: str | None) -> _Instance:
    """Remember the instance's state and options; refuse unless its database is empty or absent."""
    was_running = local.status().running
    options = local.read_options(password) or ServerOptions(http=False)
    conf = local.read_options(password="required")  # the password comes back only when auth is on
    if conf is not None and conf.password is not None and not password:
        raise GraphError(f"the Neo4j instance in {local.home} requires a password: set NEO4J_PASSWORD")
    if not was_running:
        # Started only to check and to finish the load, then stopped again: any free ports will do.
        wanted = [options.bolt_port] + ([options.http_port] if options.http else [])
        if not all(port_is_free(port) for port in wanted):
            options = ServerOptions(bolt_port=free_port(), http=False, heap=options.heap,
                                    pagecache=options.pagecache, password=options.password)
    instance = _Instance(local, database, was_running, options)
    if was_running or local.has_database(database):
        instance.start()
        try:
            nodes = instance.node_count()
        finally:
            if not was_running:
                local.stop()
        if nodes:
            raise GraphError(
                f"database {database!r} of the Neo4j instance in {local.home} holds {nodes:,} nodes; the bulk "
                "path imports only into an empty database: load without --bulk, or use a new instance folder")
    return instance


class _Background:
    """A call run in a thread; `wait` re-raises its exception."""

    def __init__(self, call: Callable[[], object]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(call,), name="bios-bulk", daemon=True)
        self._thread.start()

    def _run(self, call: Callable[[], object]) -> None:
        try:
            call()
        except BaseException as exc:  # handed to wait()
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


# --- memory --------------------------------------------------------------------------------------------
def available_memory() -> int:
    """Bytes of memory available to new processes now (MemAvailable), or the machine's total elsewhere."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def import_memory(available: int) -> tuple[str, str]:
    """(JVM heap, off-heap cache) for neo4j-admin import out of `available` bytes: the importer keeps
    its id maps and caches off the heap, so the heap gets an eighth (1-4 GiB) and the caches half (1-16 GiB)."""
    gib = 1 << 30
    heap = min(4, max(1, available // 8 // gib))
    off_heap = min(16, max(1, available // 2 // gib))
    return f"{heap}g", f"{off_heap}G"


# --- the load --------------------------------------------------------------------------------------------
def _folder_name(source_id: str) -> str:
    return "bulk-" + (re.sub(r"[^\w.-]+", "_", source_id) or "source")


def bulk_load(reader: SourceReader, instance: LocalNeo4j, *, on_error: OnError = "stop",
              rejects: Path | None = None, progress: bool = True, database: str = "neo4j",
              sort_buffer: int = SORT_BUFFER, keep_files: bool = False,
              password: str | None = None) -> BulkLoadReport:
    """Load everything `reader` streams into the empty `database` of a local instance with neo4j-admin.

    The reader is streamed once into CSV files under `instance.home/import/bulk-<source id>/` while
    the instance (if it runs) is stopped; after the import it is started again on the options it had
    (read back from its neo4j.conf), the schema is applied and the Source node written. The instance
    ends as it was found: running or stopped.
    Raises GraphError when the database already holds data, InputError for a bad row with
    on_error="stop" (nothing is imported, or the import is deleted again). The CSV files are deleted
    afterwards unless `keep_files`. `password` is the instance's (NEO4J_PASSWORD) when it has auth on.
    """
    console = Console(stderr=True, quiet=not progress)
    started = time.perf_counter()
    source = reader.source()
    report = BulkLoadReport(source.id, source.version)
    state = _prepare(instance, database, password)
    report.phases["prepare"] = time.perf_counter() - started
    folder = instance.home / "import" / _folder_name(source.id)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rejects_writer = RejectsWriter(reader.root, rejects if on_error == "skip" else None)
    # The empty database serves nothing during the load: stop it while the files are written (a
    # server stop spends most of its ~10 s waiting for Bolt to wind down).
    stopping = _Background(instance.stop) if state.was_running else None
    imported = False
    try:
        files = _write_files(reader, source, folder, on_error, rejects_writer, report, progress, sort_buffer)
        report.imported = files.rows
        mark = time.perf_counter()
        if stopping is not None:
            stopping.wait()
        instance.stop()
        report.phases["stop_wait"] = time.perf_counter() - mark
        available = available_memory()
        heap, off_heap = import_memory(available)
        report.memory = {"available": f"{available / (1 << 30):.1f}G", "import_heap": heap,
                         "import_off_heap": off_heap, "server_heap": state.options.heap,
                         "server_pagecache": state.options.pagecache}
        console.print(f"{source.id}: importing {sum(files.rows.values()):,} CSV rows with neo4j-admin "
                      f"(heap {heap}, off-heap {off_heap}, threads {os.cpu_count()}; "
                      f"{report.memory['available']} available)")
        mark = time.perf_counter()
        imported = True
        instance.import_csv(files.nodes, files.relationships, database=database,
                            report=folder / "import.report", array_delimiter=ARRAY_DELIMITER,
                            multiline_fields=files.multiline, heap=heap, off_heap=off_heap)
        report.phases["import"] = time.perf_counter() - mark
        mark = time.perf_counter()
        bad, _, other = parse_import_report(folder / "import.report")
        if other:
            raise GraphError("neo4j-admin reported problems the bulk writer should have prevented:\n"
                             + "\n".join(other))
        pending = _pending_relations(folder / "relations.csv", bad)
        report.phases["check"] = time.perf_counter() - mark
        mark = time.perf_counter()
        console.print(f"{source.id}: starting Neo4j (heap {state.options.heap}, page cache "
                      f"{state.options.pagecache}) and applying the schema")
        state.start()
        with state.store() as store:
            # Populating the indexes of a big import takes long; a timeout must not undo the import.
            store.apply_schema(await_seconds=SCHEMA_WAIT_S)
            with store.transaction() as tx:
                store.write_pending_relations(tx, pending, source.id)
            report.relations_pending = len(pending)
            if files.xrefs:
                report.xrefs_linked = store.link_xrefs()
            if files.pending_alt_ids:
                store.run(MERGE_PENDING_ALT_IDS, rows=files.pending_alt_ids, source=source.id)
            reader_notes(reader, report)
            report.rejected = rejects_writer.count
            report.seconds = time.perf_counter() - started
            store.begin_source(source)
            store.finish_source(source.id, {**report.records, "rejected": report.rejected})
        report.phases["start_schema_source"] = time.perf_counter() - mark
        if not state.was_running:
            instance.stop()
    except BaseException:
        # Leave the instance as it was found: its database empty, running if it was running.
        with contextlib.suppress(Exception):  # the original error is the one to report
            if stopping is not None:
                stopping.wait()
            instance.stop()
            if imported:
                instance.drop_database(database)
            if state.was_running:
                state.start()
        raise
    finally:
        rejects_writer.close()
        if not keep_files:
            shutil.rmtree(folder, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


def _write_files(reader: SourceReader, source: Source, folder: Path, on_error: OnError, rejects: RejectsWriter,
                 report: BulkLoadReport, progress: bool, sort_buffer: int) -> ImportFiles:
    mark = time.perf_counter()
    writer = BulkWriter(folder, source.id, sort_buffer)
    try:
        with LineProgress(reader, source, enabled=progress) as bar:
            for item in reader.read():
                bar.advance(item)
                if isinstance(item, Rejected):
                    reject(item, on_error, rejects)
                    continue
                try:
                    writer.add(item.record)
                except ValueError as exc:
                    reject(Rejected(item.file, item.line, str(exc), repr(item.record)), on_error, rejects)
                    continue
                report.records[type(item.record).__name__] += 1
        report.phases["read"] = time.perf_counter() - mark
        mark = time.perf_counter()
        files = writer.finish()
        report.phases["sort_write"] = time.perf_counter() - mark
        return files
    finally:
        writer.close()


def _pending_relations(path: Path, bad: dict[tuple[str, str, str], str]) -> list[dict[str, Any]]:
    """The rows of the relations the importer dropped (an end concept missing), read back from the
    relations CSV, as pending-relation rows."""
    if not bad:
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        return [{"head": head, "type": rel_type, "tail": tail, "rel_id": rel_id or None, "rid": rid or None}
                for head, tail, rel_type, _, rel_id, rid, *_ in csv_rows(handle)
                if (rel_type, head, tail) in bad]



