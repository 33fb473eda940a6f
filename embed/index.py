"""k-NN over the term vectors of one model: a faiss file, its kind chosen by the number of vectors.

The embedding job (embed/job.py) writes three files per model, under `$BIOS_HOME/indexes/<model id>/` (the id
made file-safe) unless another folder is given, beside the term vectors themselves (embed/vector_store.py):

- `terms.faiss`, by size:
  - up to 50,000 vectors `IndexFlatIP`, exact: a brute-force query still takes a few milliseconds;
  - up to 500,000 `IndexHNSWFlat` (M=32, efConstruction 80, efSearch 128, inner product: under 1 ms a query;
    its float vectors and links take ~1.8 KiB a vector, 0.9 GiB at 500,000);
  - above, `IndexIVFScalarQuantizer` with 8-bit codes (a byte a dimension: 2.8 GiB for BIOS v2's 7.4M 384-d
    vectors where float32 would take 11 GiB), nlist = 4·√N cells trained on a seeded sample of 40 vectors a cell,
    nprobe 256 (recall@10 against exact search 0.971 on 100,000 real bios-default term vectors of the sample,
    0.915 at nprobe 64: `benchmarks/embed_scale.py index --vectors …`).
    It is memory-mapped when opened: the API holds the cell lists in the page cache, shared and evictable.
  efSearch and nprobe are saved in the file, so every reader searches with the settings the job chose.
- `terms.ids`: the term id of each row, one per line;
- `terms.json`: model_id, dim, kind, count, the SHA-256 of the ids file, the graph fingerprint it was built
  from and created_at.

Vectors are L2-normalized before they are added, so inner product is cosine. A file is current when its
fingerprint equals the graph's now (`GraphStore.embedding_fingerprint`): the same database, the same number and
id range of terms with this model's vectors, and the same Source loads. After an ingest the file is stale until
the job runs again: it is still searched (terms added since are not found, and the caller is told so), as long as
it was built from the same database.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from bios_kg.graph.errors import GraphError, ParameterError
from bios_kg.graph.queries.embeddings import CONCEPT_VECTOR_INDEX
from bios_kg.graph.settings import data_home
from bios_kg.graph.store import EmbeddingFingerprint, GraphStore

IndexKind = Literal["flat", "hnsw", "ivf-sq8"]
FLAT_MAX = 50_000
HNSW_MAX = 500_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
IVF_TRAIN_PER_CELL = 40  # training vectors per cell (faiss warns below 39)
IVF_TRAIN_ITERATIONS = 10  # k-means iterations of the coarse quantizer
IVF_NPROBE = 256  # cells probed a query: recall@10 >= 0.95 on real term vectors needs ~20% of nlist at 100k
ADD_ROWS = 65_536  # vectors normalized and added per step: the build never copies the whole matrix
INDEX_FILE, IDS_FILE, META_FILE = "terms.faiss", "terms.ids", "terms.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def default_index_dir(model_id: str) -> Path:
    return data_home() / "indexes" / _UNSAFE.sub("_", model_id)


def choose_kind(count: int) -> IndexKind:
    return "flat" if count <= FLAT_MAX else "hnsw" if count <= HNSW_MAX else "ivf-sq8"


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Float32 rows of unit length (zero rows stay zero)."""
    out = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def _ivf_sq8(vectors: np.ndarray, seed: int = 0) -> faiss.Index:
    """An empty 8-bit scalar-quantized IVF index (inner product) for the rows of `vectors`, trained on a seeded
    sample of them (normalized)."""
    count, dim = vectors.shape
    nlist = max(1, min(int(4 * math.sqrt(count)), count // IVF_TRAIN_PER_CELL))
    sample_size = min(count, nlist * IVF_TRAIN_PER_CELL)
    rows = np.sort(np.random.default_rng(seed).choice(count, sample_size, replace=False))
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = IVF_TRAIN_ITERATIONS
    index.train(normalized(vectors[rows]))
    index.nprobe = min(IVF_NPROBE, nlist)  # saved with the index
    return index


def build_faiss(vectors: np.ndarray, kind: IndexKind | None = None) -> faiss.Index:
    """An inner-product index over the normalized rows of `vectors` (an array or a memory map), its kind by size
    unless `kind` says; rows are normalized and added a slice at a time."""
    kind = kind or choose_kind(len(vectors))
    dim = vectors.shape[1]
    if kind == "flat":
        index: faiss.Index = faiss.IndexFlatIP(dim)
    elif kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH  # saved with the index
        index = hnsw
    else:
        index = _ivf_sq8(vectors)
    for start in range(0, len(vectors), ADD_ROWS):
        index.add(normalized(vectors[start:start + ADD_ROWS]))
    return index


@dataclass(frozen=True)
class IndexMeta:
    model_id: str
    dim: int
    kind: IndexKind
    count: int
    ids_sha256: str
    fingerprint: dict[str, Any]
    created_at: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _ids_bytes(ids: list[str]) -> bytes:
    return "".join(f"{term_id}\n" for term_id in ids).encode()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def save_term_index(folder: Path, model_id: str, ids: list[str], vectors: np.ndarray,
                    fingerprint: EmbeddingFingerprint, kind: IndexKind | None = None) -> IndexMeta:
    """Build the index over `vectors` (rows aligned with `ids`) and write the three files, the meta last."""
    if len(ids) != len(vectors):
        raise ValueError(f"{len(ids)} ids but {len(vectors)} vectors")
    if not ids:
        raise GraphError(f"no term vectors of {model_id} to index")
    folder.mkdir(parents=True, exist_ok=True)
    index = build_faiss(vectors, kind)
    tmp = folder / (INDEX_FILE + ".tmp")
    faiss.write_index(index, str(tmp))
    os.replace(tmp, folder / INDEX_FILE)
    ids_data = _ids_bytes(ids)
    _write_atomic(folder / IDS_FILE, ids_data)
    meta = IndexMeta(model_id=model_id, dim=int(vectors.shape[1]), kind=kind or choose_kind(len(ids)),
                     count=len(ids), ids_sha256=hashlib.sha256(ids_data).hexdigest(),
                     fingerprint=asdict(fingerprint),
                     created_at=datetime.now(UTC).isoformat(timespec="seconds"))
    _write_atomic(folder / META_FILE, (json.dumps(meta.as_dict(), indent=2, ensure_ascii=False) + "\n").encode())
    return meta


def read_meta(folder: Path) -> IndexMeta | None:
    """The meta of the index files in `folder`, or None when there are none (or they are unreadable)."""
    try:
        return IndexMeta(**json.loads((folder / META_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


class TermIndex:
    """k-NN over the term vectors of one model."""

    kind: Literal["faiss", "neo4j"]

    def __init__(self, model_id: str, reason: str) -> None:
        self.model_id = model_id
        self.reason = reason  # why this kind was chosen, for logs and status lines

    def search(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        """Per query vector: (term id, cosine) of the `k` nearest terms, best first."""
        raise NotImplementedError


class FaissTermIndex(TermIndex):
    kind = "faiss"

    def __init__(self, model_id: str, index: faiss.Index, ids: list[str], reason: str) -> None:
        super().__init__(model_id, reason)
        self.index = index
        self.ids = ids

    @classmethod
    def load(cls, folder: Path, meta: IndexMeta, reason: str) -> FaissTermIndex:
        """Read the files of `folder` (checked by `current_index`)."""
        flags = faiss.IO_FLAG_MMAP if meta.kind == "ivf-sq8" else 0
        index = faiss.read_index(str(folder / INDEX_FILE), flags)
        if index.ntotal != meta.count:
            raise GraphError(f"{folder / INDEX_FILE} holds {index.ntotal} vectors, {META_FILE} says {meta.count}: "
                             "run `bios embed terms` to rebuild it")
        return cls(meta.model_id, index, (folder / IDS_FILE).read_text().splitlines(), reason)

    def search(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        _check_k(k)
        matrix = normalized(vectors)
        scores, rows = self.index.search(matrix, min(k, len(self.ids)))
        return [[(self.ids[row], float(score)) for row, score in zip(hits, sims, strict=True) if row >= 0]
                for hits, sims in zip(rows, scores, strict=True)]


class Neo4jVectorIndex(TermIndex):
    """A Neo4j vector index (`concept_embedding`) restricted to one model's vectors."""

    kind = "neo4j"

    def __init__(self, store: GraphStore, model_id: str, reason: str,
                 index_name: str = CONCEPT_VECTOR_INDEX) -> None:
        super().__init__(model_id, reason)
        self.store = store
        self.index_name = index_name

    def search(self, vectors: np.ndarray, k: int) -> list[list[tuple[str, float]]]:
        _check_k(k)
        return self.store.vector_search(self.index_name, self.model_id, normalized(vectors).tolist(), k)


def _check_k(k: int) -> None:
    if k < 1:
        raise ParameterError("k", f"{k} is not a positive integer")


def graph_model(store: GraphStore, model_id: str | None = None) -> dict[str, Any]:
    """The EmbeddingModel record of `model_id`, or of the one model whose vectors are in the graph."""
    models = store.embedding_models()
    if model_id is not None:
        found = [model for model in models if model["id"] == model_id]
        if found:
            return found[0]
        held = f"it holds {', '.join(m['id'] for m in models)}" if models else "it holds none"
        raise GraphError(f"the graph has no vectors of {model_id} ({held}): run `bios embed terms --model …`")
    if not models:
        raise GraphError("the graph holds no term vectors: run `bios embed terms`")
    if len(models) > 1:
        raise GraphError(f"the graph holds vectors of several models ({', '.join(m['id'] for m in models)}): "
                         "name one, or rerun `bios embed terms --replace`")
    return models[0]


def _neo4j_state(store: GraphStore, name: str, dim: int) -> str | None:
    """Why the vector index `name` cannot serve `dim`-d queries, or None when it can."""
    info = store.vector_index(name)
    if info is None:
        return f"there is no vector index {name}"
    if info.state != "ONLINE":
        return f"vector index {name} is {info.state}"
    if info.dim != dim:
        return f"vector index {name} has dimension {info.dim}, the model {dim}"
    return None


def _usable_meta(folder: Path, model_id: str, database: str) -> tuple[IndexMeta | None, str]:
    """(meta, "") when `folder` holds complete index files of `model_id` built from `database`, else None and why."""
    meta = read_meta(folder)
    if meta is None:
        return None, f"no faiss file in {folder}"
    if meta.model_id != model_id:
        return None, f"{folder / META_FILE} is for {meta.model_id}"
    if meta.fingerprint.get("database") != database:
        return None, f"the faiss file in {folder} was built from another database"
    try:
        ids_sha = hashlib.sha256((folder / IDS_FILE).read_bytes()).hexdigest()
    except OSError:
        ids_sha = None
    if ids_sha != meta.ids_sha256 or not (folder / INDEX_FILE).is_file():
        return None, f"the index files in {folder} are incomplete or disagree with {META_FILE}"
    return meta, ""


def _stale(folder: Path, meta: IndexMeta, fingerprint: EmbeddingFingerprint) -> str:
    return (f"the faiss file in {folder} is stale (built for {meta.count:,} terms and the sources then loaded; the "
            f"graph has {fingerprint.terms:,} terms with vectors of {meta.model_id})")


def current_index(folder: Path, model_id: str,
                  fingerprint: EmbeddingFingerprint) -> tuple[IndexMeta | None, str]:
    """(meta, reason): the meta of the files in `folder` when they are current for the graph, else None and why."""
    meta, problem = _usable_meta(folder, model_id, fingerprint.database)
    if meta is None:
        return None, problem
    if meta.fingerprint != asdict(fingerprint):
        return None, _stale(folder, meta, fingerprint)
    return meta, f"faiss file {folder / INDEX_FILE} is current"


def open_term_index(store: GraphStore, model_id: str | None = None, folder: Path | None = None) -> TermIndex:
    """The faiss file of `model_id` (default: the graph's model), current or stale (built from this database
    before an ingest: the reason says so); GraphError when there is none."""
    model_id = graph_model(store, model_id)["id"]
    folder = folder or default_index_dir(model_id)
    fingerprint = store.embedding_fingerprint(model_id)
    if fingerprint.terms == 0:
        raise GraphError(f"no k-NN index for {model_id}: no term has a vector of it; run `bios embed terms`")
    meta, problem = _usable_meta(folder, model_id, fingerprint.database)
    if meta is None:
        raise GraphError(f"no k-NN index for {model_id}: {problem}; run `bios embed terms`")
    if meta.fingerprint == asdict(fingerprint):
        return FaissTermIndex.load(folder, meta, f"faiss file {folder / INDEX_FILE} is current")
    return FaissTermIndex.load(folder, meta, f"{_stale(folder, meta, fingerprint)}: terms embedded since are not "
                                             "searched until `bios embed terms` rebuilds it")


def open_concept_index(store: GraphStore, model_id: str | None = None) -> Neo4jVectorIndex:
    """k-NN over concept vectors (the mean of their term vectors) through the Neo4j index concept_embedding."""
    model = graph_model(store, model_id)
    problem = _neo4j_state(store, CONCEPT_VECTOR_INDEX, int(model["dim"]))
    if problem:
        raise GraphError(f"no concept k-NN index for {model['id']}: {problem}; run `bios embed terms` "
                         "(without --no-concepts)")
    return Neo4jVectorIndex(store, model["id"], "concept vectors in Neo4j", CONCEPT_VECTOR_INDEX)
