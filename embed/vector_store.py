"""Term vectors of one model on disk, beside its faiss file: float32 rows appended as the embedding job encodes.

Term vectors are not stored in Neo4j. Sent as lists of floats, a 384-d vector costs the server about as much CPU
as encoding the term costs the client (Bolt unpacks every float into an object): the job ran at a third of its
encoder's speed. At BIOS-v2 size they would also add 11 GiB (7.4M x 384 x 4 bytes) to the store and a vector
index as large to the server's memory. The graph keeps `Term.embedding_model`, which marks the terms embedded
(what a rerun skips, what the faiss file's fingerprint counts); concept vectors (fewer, and searched by Cypher
users) stay in Neo4j.

Files, in the model's index folder (embed/index.py):

- `vectors.f32`: rows of `dim` little-endian float32, L2-normalized;
- `vectors.ids`: the term id of each row, one a line.

A page is appended vectors first, then ids, each flushed and fsynced, and only then marked in the graph: a job
killed at any point leaves at most rows of unmarked terms, which the next run encodes again (the last row of an
id wins), or a partial last row, cut off when the store is opened. `compact` rewrites both files to hold exactly
the marked terms in id order (the faiss file's row order), through `compact.*` files and a `compact.done` marker,
so that a kill during the swap is finished on the next open. Rows are read through a memory map: the job's memory
does not grow with the graph.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bios_kg.graph.errors import GraphError

VECTORS_FILE, VECTOR_IDS_FILE = "vectors.f32", "vectors.ids"
_COMPACT_VECTORS, _COMPACT_IDS, _COMPACT_DONE = "compact.f32", "compact.ids", "compact.done"
COPY_ROWS = 65_536  # rows gathered per step of compact


def graph_folder(index_folder: Path, database: str) -> Path:
    """The folder of the vector files of one graph (Neo4j database id) under a model's index folder: graphs that
    share a BIOS_HOME keep their vectors apart."""
    return index_folder / f"graph-{database}"


def _fsync_write(path: Path, data: bytes, mode: str) -> None:
    with path.open(mode) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


class TermVectorStore:
    """The vector files of one model in `folder`, `dim` floats a row."""

    def __init__(self, folder: Path, dim: int) -> None:
        self.folder, self.dim = folder, dim
        self.vectors_path, self.ids_path = folder / VECTORS_FILE, folder / VECTOR_IDS_FILE
        folder.mkdir(parents=True, exist_ok=True)
        self._finish_compaction()
        self._ids = self._read_consistent_ids()

    @property
    def row_bytes(self) -> int:
        return 4 * self.dim

    def __len__(self) -> int:
        return len(self._ids)

    def _finish_compaction(self) -> None:
        if (self.folder / _COMPACT_DONE).exists():
            for name, target in ((_COMPACT_VECTORS, self.vectors_path), (_COMPACT_IDS, self.ids_path)):
                if (self.folder / name).exists():
                    os.replace(self.folder / name, target)
            (self.folder / _COMPACT_DONE).unlink()
        for name in (_COMPACT_VECTORS, _COMPACT_IDS):  # an unfinished compaction: the old files still hold
            (self.folder / name).unlink(missing_ok=True)

    def _read_consistent_ids(self) -> list[str]:
        """The ids of the complete rows; a partial row or id line left by a kill is cut off."""
        self.vectors_path.touch()
        self.ids_path.touch()
        raw = self.ids_path.read_bytes()
        complete = raw[:raw.rfind(b"\n") + 1]
        ids = complete.decode().splitlines()
        vector_bytes = self.vectors_path.stat().st_size
        rows = min(len(ids), vector_bytes // self.row_bytes)
        if rows < len(ids) or len(complete) < len(raw):
            ids = ids[:rows]
            with self.ids_path.open("r+b") as handle:
                handle.truncate(sum(len(term_id.encode()) + 1 for term_id in ids))
        if vector_bytes != rows * self.row_bytes:
            with self.vectors_path.open("r+b") as handle:
                handle.truncate(rows * self.row_bytes)
        return ids

    def append(self, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Add rows (normalized float32 vectors, aligned with `ids`), durably, vectors first."""
        if vectors.shape != (len(ids), self.dim):
            raise ValueError(f"{len(ids)} ids but vectors of shape {vectors.shape} (dim {self.dim})")
        _fsync_write(self.vectors_path, np.ascontiguousarray(vectors, dtype="<f4").tobytes(), "ab")
        _fsync_write(self.ids_path, "".join(f"{term_id}\n" for term_id in ids).encode(), "ab")
        self._ids.extend(ids)

    def lacking(self, ids: list[str]) -> list[str]:
        """The ids of `ids` that have no row."""
        held = set(self._ids)
        return [term_id for term_id in ids if term_id not in held]

    def ids(self) -> list[str]:
        return list(self._ids)

    def matrix(self) -> np.ndarray:
        """Every row, memory-mapped read-only (an empty array when there are none)."""
        if not self._ids:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.memmap(self.vectors_path, dtype="<f4", mode="r", shape=(len(self._ids), self.dim))

    def compact(self, ids: list[str]) -> np.ndarray:
        """Rewrite the files to hold exactly `ids`, in that order (the last row of an id wins); returns the rows,
        memory-mapped. GraphError when a term of `ids` has no row (marked in the graph, its vector lost)."""
        if ids == self._ids:
            return self.matrix()
        last_row = {term_id: row for row, term_id in enumerate(self._ids)}
        missing = [term_id for term_id in ids if term_id not in last_row]
        if missing:
            raise GraphError(f"{len(missing):,} embedded terms (first {missing[0]}) have no vector in "
                             f"{self.vectors_path}: the file was removed or is from another graph; rerun "
                             "`bios embed terms --replace` to embed every term again")
        source = self.matrix()
        target_path = self.folder / _COMPACT_VECTORS
        target = np.memmap(target_path, dtype="<f4", mode="w+", shape=(max(len(ids), 1), self.dim))
        for start in range(0, len(ids), COPY_ROWS):
            rows = np.fromiter((last_row[term_id] for term_id in ids[start:start + COPY_ROWS]), dtype=np.int64)
            target[start:start + len(rows)] = source[rows]
        target.flush()
        del target, source
        if not ids:
            target_path.write_bytes(b"")
        _fsync_write(self.folder / _COMPACT_IDS, "".join(f"{term_id}\n" for term_id in ids).encode(), "wb")
        _fsync_write(self.folder / _COMPACT_DONE, b"", "wb")
        self._finish_compaction()
        self._ids = list(ids)
        return self.matrix()
