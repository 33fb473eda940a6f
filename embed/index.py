"""k-NN over the term vectors of one model: a faiss file when it is current for the graph, else Neo4j's index.

The embedding job (embed/job.py) writes three files per model, under `$BIOS_HOME/indexes/<model id>/` (the id
made file-safe) unless another folder is given:

- `terms.faiss`: exact `IndexFlatIP` up to 50,000 vectors, where a brute-force query still takes a few
  milliseconds (it grows linearly: ~30 ms at 200,000 384-d vectors on 2 cores); above, `IndexHNSWFlat` (M=32,
  efConstruction 80, efSearch 128, inner product: under 1 ms a query at 200,000);
- `terms.ids`: the term id of each row, one per line;
- `terms.json`: model_id, dim, kind, count, the SHA-256 of the ids file, the graph fingerprint it was built
  from and created_at.

Vectors are L2-normalized before they are added, so inner product is cosine. A file is current when its
fingerprint equals the graph's now (`GraphStore.embedding_fingerprint`): the same database, the same number and
id range of terms with this model's vectors, and the same Source loads (an ingest since makes it stale until the
job runs again). Otherwise searches go to the Neo4j vector index `term_embedding`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import faiss
import numpy as np

from graph import queries
from graph.errors import GraphError, ParameterError
from graph.settings import data_home
from graph.store import GraphStore

IndexKind = Literal["flat", "hnsw"]
FLAT_MAX = 50_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 128
INDEX_FILE, IDS_FILE, META_FILE = "terms.faiss", "terms.ids", "terms.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def default_index_dir(model_id: str) -> Path:
    return data_home() / "indexes" / _UNSAFE.sub("_", model_id)


def choose_kind(count: int) -> IndexKind:
    return "flat" if count <= FLAT_MAX else "hnsw"


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Float32 rows of unit length (zero rows stay zero)."""
    out = np.array(vectors, dtype=np.float32, copy=True, ndmin=2)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def build_faiss(vectors: np.ndarray, kind: IndexKind | None = None) -> faiss.Index:
    """An inner-product index over the normalized rows of `vectors`, flat or HNSW by size unless `kind` says."""
    vectors = normalized(vectors)
    kind = kind or choose_kind(len(vectors))
    dim = vectors.shape[1]
    if kind == "flat":
        index: faiss.Index = faiss.IndexFlatIP(dim)
    else:
        hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH  # saved with the index
        index = hnsw
    index.add(vectors)
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
                    fingerprint: dict[str, Any], kind: IndexKind | None = None) -> IndexMeta:
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
                     count=len(ids), ids_sha256=hashlib.sha256(ids_data).hexdigest(), fingerprint=fingerprint,
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
        index = faiss.read_index(str(folder / INDEX_FILE))
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
    """A Neo4j vector index (`term_embedding` or `concept_embedding`) restricted to one model's vectors."""

    kind = "neo4j"

    def __init__(self, store: GraphStore, model_id: str, reason: str,
                 index_name: str = queries.TERM_VECTOR_INDEX) -> None:
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
    if info["state"] != "ONLINE":
        return f"vector index {name} is {info['state']}"
    if info["dim"] != dim:
        return f"vector index {name} has dimension {info['dim']}, the model {dim}"
    return None


def current_index(folder: Path, model_id: str, fingerprint: dict[str, Any]) -> tuple[IndexMeta | None, str]:
    """(meta, reason): the meta of the files in `folder` when they are current for the graph, else None and why."""
    meta = read_meta(folder)
    if meta is None:
        return None, f"no faiss file in {folder}"
    if meta.model_id != model_id:
        return None, f"{folder / META_FILE} is for {meta.model_id}"
    if meta.fingerprint != fingerprint:
        return None, (f"the faiss file in {folder} is stale (built for {meta.count:,} terms and the sources then "
                      f"loaded; the graph has {fingerprint['terms']:,} terms with vectors of {model_id})")
    try:
        ids_sha = hashlib.sha256((folder / IDS_FILE).read_bytes()).hexdigest()
    except OSError:
        ids_sha = None
    if ids_sha != meta.ids_sha256 or not (folder / INDEX_FILE).is_file():
        return None, f"the index files in {folder} are incomplete or disagree with {META_FILE}"
    return meta, f"faiss file {folder / INDEX_FILE} is current"


def open_term_index(store: GraphStore, model_id: str | None = None, folder: Path | None = None) -> TermIndex:
    """The faiss file of `model_id` (default: the graph's model) when current for the graph, else the Neo4j
    vector index; GraphError when neither holds this model's vectors."""
    model = graph_model(store, model_id)
    model_id, dim = model["id"], int(model["dim"])
    folder = folder or default_index_dir(model_id)
    fingerprint = store.embedding_fingerprint(model_id)
    meta, why = current_index(folder, model_id, fingerprint)
    if meta is not None:
        return FaissTermIndex.load(folder, meta, why)
    problem = _neo4j_state(store, queries.TERM_VECTOR_INDEX, dim)
    if fingerprint["terms"] == 0:
        problem = f"no term has a vector of {model_id}"
    if problem:
        raise GraphError(f"no k-NN index for {model_id}: {why}, and {problem}; run `bios embed terms`")
    return Neo4jVectorIndex(store, model_id, f"{why}: using the Neo4j vector index {queries.TERM_VECTOR_INDEX}")


def open_concept_index(store: GraphStore, model_id: str | None = None) -> Neo4jVectorIndex:
    """k-NN over concept vectors (the mean of their term vectors) through the Neo4j index concept_embedding."""
    model = graph_model(store, model_id)
    problem = _neo4j_state(store, queries.CONCEPT_VECTOR_INDEX, int(model["dim"]))
    if problem:
        raise GraphError(f"no concept k-NN index for {model['id']}: {problem}; run `bios embed terms` "
                         "(without --no-concepts)")
    return Neo4jVectorIndex(store, model["id"], "concept vectors in Neo4j", queries.CONCEPT_VECTOR_INDEX)
