"""`bios embed terms`: a vector for every Term and Concept of the graph, the vector indexes and a faiss file.

One model's vectors live in the graph at a time (`Term.embedding` + `Term.embedding_model`, the model id, and
an `EmbeddingModel` node with the encoder's settings). Embedding with another model is refused until the user
says `--replace`: the old vector indexes are dropped and the old vectors removed in batches first.

Terms are read in pages in id order (keyset, from the unique index) among those without a vector of this model,
encoded, and written back in batches as float32 vectors (`db.create.setNodeVectorProperty`) while the next page
is encoded. What is written is skipped by the next run, so an interrupted job resumes where it stopped and a run
after an ingest embeds only the new terms.

Concept vectors are the L2-normalized mean of the concept's normalized term vectors, every language included:
a concept is then near each of its names (English, Chinese, synonyms, abbreviations) rather than near its
preferred name only, and concept-level search needs no separate encoder pass. A concept is recomputed when it
has no vector of this model or the number of its embedded terms changed (a term embedded or a HAS_TERM edge
added since), which covers every change the loaders make.

Then the vector indexes `term_embedding` and `concept_embedding` (cosine, the model's dimension) are created if
absent and awaited, and the faiss file is rebuilt from every term vector of this model (those of this run kept
in memory, the rest read back from the graph) and tagged with the graph's fingerprint (embed/index.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from embed.encoders import DEFAULT_ENCODER, INT8, Encoder, load_encoder
from embed.index import current_index, default_index_dir, normalized, save_term_index
from graph import queries
from graph.errors import GraphError, ParameterError
from graph.store import GraphStore

DEFAULT_BATCH_SIZE = 512
READ_BATCH = 2000  # term vectors read back per query
console = Console(stderr=True, soft_wrap=True)


@dataclass
class EmbedReport:
    model_id: str
    dim: int
    terms_embedded: int = 0  # by this run
    terms_total: int = 0  # terms with a vector of this model after the run
    concepts_embedded: int = 0  # concept vectors (re)computed by this run
    replaced: list[str] = field(default_factory=list)  # models whose vectors this run removed
    index: dict[str, Any] = field(default_factory=dict)  # the faiss file: path, kind, count
    seconds: dict[str, float] = field(default_factory=dict)  # per phase; read_back within the one needing it

    @property
    def terms_per_second(self) -> float:
        spent = self.seconds.get("terms", 0.0)
        return self.terms_embedded / spent if spent else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
                "terms_per_second": round(self.terms_per_second, 1)}


@contextmanager
def _phase(report: EmbedReport, name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        report.seconds[name] = time.perf_counter() - started


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    disable=not enabled)


def embed_terms(store: GraphStore, model: str | Path | Encoder = DEFAULT_ENCODER, *,
                batch_size: int = DEFAULT_BATCH_SIZE, replace: bool = False, concepts: bool = True,
                progress: bool = True, index_dir: Path | None = None, device: str = "auto",
                runtime: str = "auto") -> EmbedReport:
    """Embed the terms (and concepts) of the graph that lack a vector of `model`; see the module docstring.

    `model`: a registered encoder name, a model folder, or a loaded Encoder; `runtime`: its inference engine
    (embed/onnx_runtime.py). `index_dir`: where the faiss files go (default `$BIOS_HOME/indexes/<model id>`).
    """
    if batch_size < 1:
        raise ParameterError("batch_size", f"{batch_size} is not a positive integer")
    if runtime == INT8 or (isinstance(model, Encoder) and model.runtime == INT8):
        raise ParameterError("runtime", f"{INT8} approximates the model's vectors; the graph stores exact ones: "
                                        "use auto, onnx or torch (int8 is for query encoding)")
    encoder = model if isinstance(model, Encoder) else load_encoder(model, device=device, runtime=runtime)
    report = EmbedReport(encoder.model_id, encoder.dim)
    with _phase(report, "prepare"):
        _prepare(store, report, replace)
        store.merge_embedding_model(encoder.record())
    with _phase(report, "terms"):
        fresh_ids, fresh = _embed_new_terms(store, encoder, batch_size, progress, report)
    folder = index_dir or default_index_dir(report.model_id)
    fingerprint = store.embedding_fingerprint(report.model_id)
    report.terms_total = int(fingerprint["terms"])
    current, _ = current_index(folder, report.model_id, fingerprint)
    term_vectors = _TermVectors(store, report.model_id, fresh_ids, fresh, progress, report)
    if concepts:
        with _phase(report, "concepts"):
            report.concepts_embedded = _embed_concepts(store, term_vectors, batch_size, progress)
    with _phase(report, "vector_indexes"):
        for name in (queries.TERM_VECTOR_INDEX, *([queries.CONCEPT_VECTOR_INDEX] if concepts else [])):
            store.create_vector_index(name, report.dim)
    if current is None and report.terms_total:
        ids, vectors = term_vectors.get()
        with _phase(report, "faiss"):
            current = save_term_index(folder, report.model_id, ids, vectors, fingerprint)
    if current is not None:
        report.index = {"path": str(folder), "kind": current.kind, "count": current.count,
                        "created_at": current.created_at}
    store.set_embedding_model_counts(report.model_id, {"terms": report.terms_total})
    return report


def _prepare(store: GraphStore, report: EmbedReport, replace: bool) -> None:
    """Refuse to mix models; with `replace`, drop the old indexes and vectors. A vector index of another dimension
    with no other model's vectors in the graph indexes nothing: it is dropped, to be recreated."""
    others = store.other_embedding_models(report.model_id)
    if others and not replace:
        raise GraphError(f"the graph holds vectors of {', '.join(others)}; embedding with {report.model_id} would "
                         "mix models in one vector space: rerun with --replace to remove them and embed every term "
                         f"with {report.model_id}")
    for name in queries.VECTOR_INDEXES:
        info = store.vector_index(name)
        if info is not None and (others or info["dim"] != report.dim):
            store.drop_vector_index(name)
    if others:
        store.clear_other_embeddings(report.model_id)
        report.replaced = others


def _embed_new_terms(store: GraphStore, encoder: Encoder, batch_size: int, progress: bool,
                     report: EmbedReport) -> tuple[list[str], np.ndarray]:
    """Encode and write every term without a vector of this model; returns their ids and vectors."""
    model_id = report.model_id
    total = store.count_terms_to_embed(model_id)
    ids: list[str] = []
    chunks: list[np.ndarray] = []
    with _progress(progress) as bar, ThreadPoolExecutor(1, thread_name_prefix="bios-embed-writer") as writer:
        task = bar.add_task(f"{encoder.name} terms", total=total)
        pending: tuple[Future[None], int] | None = None
        after = ""
        while rows := store.terms_to_embed(model_id, after, batch_size):
            vectors = encoder.encode([row["text"] for row in rows], batch_size=batch_size)
            page_ids = [row["id"] for row in rows]
            if pending:  # the previous page's write ran while this page was encoded
                pending[0].result()
                bar.advance(task, pending[1])
            writes = [{"id": term_id, "v": vector} for term_id, vector in zip(page_ids, vectors.tolist(), strict=True)]
            pending = (writer.submit(store.set_term_vectors, model_id, writes), len(rows))
            ids += page_ids
            chunks.append(vectors)
            after = page_ids[-1]
        if pending:
            pending[0].result()
            bar.advance(task, pending[1])
    report.terms_embedded = len(ids)
    return ids, np.concatenate(chunks) if chunks else np.zeros((0, encoder.dim), dtype=np.float32)


class _TermVectors:
    """Every term vector of the model, normalized, in term id order, read once when first needed: this run's
    from memory, the rest back from the graph."""

    def __init__(self, store: GraphStore, model_id: str, fresh_ids: list[str], fresh: np.ndarray, progress: bool,
                 report: EmbedReport) -> None:
        self.store, self.model_id, self.progress, self.report = store, model_id, progress, report
        self.fresh_ids, self.fresh = fresh_ids, fresh
        self.loaded: tuple[list[str], np.ndarray] | None = None
        self.row_of: dict[str, int] = {}

    def get(self) -> tuple[list[str], np.ndarray]:
        if self.loaded is None:
            with _phase(self.report, "read_back"):
                self.loaded = self._read()
            self.row_of = {term_id: row for row, term_id in enumerate(self.loaded[0])}
        return self.loaded

    def _read(self) -> tuple[list[str], np.ndarray]:
        ids = self.store.embedded_term_ids(self.model_id)
        vectors = np.zeros((len(ids), self.fresh.shape[1]), dtype=np.float32)
        fresh_row = {term_id: row for row, term_id in enumerate(self.fresh_ids)}
        missing: list[int] = []
        for row, term_id in enumerate(ids):
            if (source := fresh_row.get(term_id)) is None:
                missing.append(row)
            else:
                vectors[row] = self.fresh[source]
        with _progress(self.progress and bool(missing)) as bar:
            task = bar.add_task("reading term vectors", total=len(missing))
            for start in range(0, len(missing), READ_BATCH):
                rows = missing[start:start + READ_BATCH]
                got = self.store.term_vectors(self.model_id, [ids[row] for row in rows])
                lost = [ids[row] for row in rows if ids[row] not in got]
                if lost:
                    raise GraphError(f"term {lost[0]} lost its vector of {self.model_id} while the job ran; "
                                     "run it again")
                vectors[rows] = np.asarray([got[ids[row]] for row in rows], dtype=np.float32)
                bar.advance(task, len(rows))
        return ids, normalized(vectors) if ids else vectors


def _embed_concepts(store: GraphStore, term_vectors: _TermVectors, batch_size: int, progress: bool) -> int:
    """Write the mean term vector of each concept whose vector is missing or out of date; returns how many."""
    model_id = term_vectors.model_id
    page = store.concepts_to_embed(model_id, "", batch_size)
    if not page:
        return 0
    _, vectors = term_vectors.get()  # before this bar opens: reading back shows its own
    done = 0
    with _progress(progress) as bar:
        task = bar.add_task("concepts", total=None)
        while page:
            rows = []
            for concept in page:
                members = [term_vectors.row_of[term_id] for term_id in concept["terms"]
                           if term_id in term_vectors.row_of]
                if members:
                    mean = normalized(vectors[members].mean(axis=0))[0]
                    rows.append({"id": concept["id"], "v": mean.tolist(), "n": len(concept["terms"])})
            store.set_concept_vectors(model_id, rows)
            done += len(rows)
            bar.advance(task, len(page))
            page = store.concepts_to_embed(model_id, page[-1]["id"], batch_size)
    return done
