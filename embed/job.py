"""`bios embed terms`: a vector for every Term and Concept of the graph, the concept vector index and a faiss file.

One model's vectors belong to the graph at a time: `Term.embedding_model` (the model id) marks the embedded
terms, an `EmbeddingModel` node holds the encoder's settings, and `Concept.embedding` the concept vectors.
Embedding with another model is refused until the user says `--replace`: the old vector indexes are dropped and
the old vectors removed in batches first.

Term vectors are kept in a vector file per graph beside the faiss file (embed/vector_store.py), not in Neo4j:
sending them to the server cost as much CPU as encoding them. Terms are read in pages in id order (keyset, from
the unique index) among those without a vector of this model, encoded a page at a time (sorted by length, so
batches carry little padding), appended to the vector file and marked in the graph; the next page is read and the
previous one written while a page is encoded. Marked terms are skipped by the next run, so an interrupted job
resumes where it stopped and a run after an ingest embeds only the new terms. A job may be limited to some
languages (those its encoder was trained on: `bios sample load` embeds English and Chinese terms), recorded on the
EmbeddingModel node for later runs. Memory stays bounded: a page of terms in flight, and the vector file
memory-mapped.

Concept vectors are the L2-normalized mean of the concept's normalized term vectors, every language included:
a concept is then near each of its names (English, Chinese, synonyms, abbreviations) rather than near its
preferred name only, and concept-level search needs no separate encoder pass. A concept is recomputed when it
has no vector of this model or the number of its embedded terms changed (a term embedded or a HAS_TERM edge
added since), which covers every change the loaders make.

Then the vector index `concept_embedding` (cosine, the model's dimension) is created if absent and awaited, and
the faiss file is rebuilt from every term vector of this model, its kind chosen by size, and tagged with the
graph's fingerprint (embed/index.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bios_kg.embed import EMBED_BATCH_SIZE
from bios_kg.embed.encoders import DEFAULT_ENCODER, INT8, Encoder, load_encoder
from bios_kg.embed.index import current_index, default_index_dir, normalized, save_term_index
from bios_kg.embed.vector_store import TermVectorStore, graph_folder
from bios_kg.graph.errors import GraphError, ParameterError
from bios_kg.graph.languages import is_language
from bios_kg.graph.queries.embeddings import CONCEPT_VECTOR_INDEX, TERM_VECTOR_INDEX, VECTOR_INDEXES
from bios_kg.graph.store import GraphStore

DEFAULT_BATCH_SIZE = EMBED_BATCH_SIZE
READ_PAGE = 8192  # terms read per query and encoded together (sorted by length: little padding)
MARK_BATCH = 8192  # terms marked embedded per write
ENGINES = ("local", "ray")
console = Console(stderr=True, soft_wrap=True)


@dataclass
class EmbedReport:
    model_id: str
    dim: int
    terms_embedded: int = 0  # by this run
    terms_total: int = 0  # terms with a vector of this model after the run
    concepts_embedded: int = 0  # concept vectors (re)computed by this run
    replaced: list[str] = field(default_factory=list)  # models whose vectors this run removed
    languages: list[str] | None = None  # the languages of the terms embedded (None: every language)
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


def progress_bar(enabled: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    disable=not enabled)


def embed_terms(store: GraphStore, model: str | Path | Encoder = DEFAULT_ENCODER, *,
                batch_size: int = DEFAULT_BATCH_SIZE, replace: bool = False, concepts: bool = True,
                progress: bool = True, index_dir: Path | None = None, device: str = "auto",
                runtime: str = "auto", engine: str = "local", workers: int = 1,
                languages: Sequence[str] | None = None) -> EmbedReport:
    """Embed the terms (and concepts) of the graph that lack a vector of `model`; see the module docstring.

    `model`: a registered encoder name, a model folder, or a loaded Encoder; `runtime`: its inference engine
    (embed/onnx_runtime.py). `languages`: embed only terms in these languages (for instance those the encoder was
    trained on); recorded on the EmbeddingModel node, so a later run without it keeps the same languages.
    `index_dir`: where the faiss and vector files go (default
    `$BIOS_HOME/indexes/<model id>`). `engine` "ray" encodes on `workers` Ray actors (embed/distributed.py).
    """
    if batch_size < 1:
        raise ParameterError("batch_size", f"{batch_size} is not a positive integer")
    if engine not in ENGINES:
        raise ParameterError("engine", f"{engine!r} is not one of {', '.join(ENGINES)}")
    if runtime == INT8 or (isinstance(model, Encoder) and model.runtime == INT8):
        raise ParameterError("runtime", f"{INT8} approximates the model's vectors; the graph stores exact ones: "
                                        "use auto, onnx or torch (int8 is for query encoding)")
    if languages is not None:
        languages = checked_languages(languages)
    encoder = model if isinstance(model, Encoder) else load_encoder(model, device=device, runtime=runtime)
    report = EmbedReport(encoder.model_id, encoder.dim)
    with _phase(report, "prepare"):
        _prepare(store, report, replace)
        if languages is None:
            languages = next((m.get("languages") for m in store.embedding_models() if m["id"] == encoder.model_id),
                             None)
        report.languages = sorted(languages) if languages is not None else None
        store.merge_embedding_model({**encoder.record(), "languages": report.languages})
    folder = index_dir or default_index_dir(report.model_id)
    database = store.embedding_fingerprint(report.model_id).database
    vectors = TermVectorStore(graph_folder(folder, database), encoder.dim)
    _unmark_lost(store, vectors, report.model_id)
    with _phase(report, "terms"):
        if engine == "ray":
            from bios_kg.embed.distributed import embed_new_terms_ray  # ray loads only for this engine

            embed_new_terms_ray(store, encoder, vectors, batch_size, progress, report, workers,
                                max(batch_size, READ_PAGE), gpus_per_worker=1 if encoder.device.type == "cuda" else 0)
        else:
            _embed_new_terms(store, encoder, vectors, batch_size, progress, report)
    fingerprint = store.embedding_fingerprint(report.model_id)
    report.terms_total = fingerprint.terms
    current, _ = current_index(folder, report.model_id, fingerprint)
    term_vectors = _TermVectors(store, report.model_id, vectors, report)
    if concepts:
        with _phase(report, "concepts"):
            report.concepts_embedded = _embed_concepts(store, term_vectors, batch_size, progress)
    with _phase(report, "vector_indexes"):
        if concepts:
            store.create_vector_index(CONCEPT_VECTOR_INDEX, report.dim)
    if current is None and report.terms_total:
        ids, matrix = term_vectors.get()
        with _phase(report, "faiss"):
            current = save_term_index(folder, report.model_id, ids, matrix, fingerprint)
    if current is not None:
        report.index = {"path": str(folder), "kind": current.kind, "count": current.count,
                        "created_at": current.created_at}
    store.set_embedding_model_counts(report.model_id, {"terms": report.terms_total})
    return report


def checked_languages(languages: Sequence[str]) -> list[str]:
    """The language codes, validated (ParameterError naming `languages` otherwise)."""
    codes = [code.strip() for code in languages if code.strip()]
    bad = [code for code in codes if not is_language(code)]
    if not codes or bad:
        raise ParameterError("languages", f"unknown language code {bad[0]!r}" if bad else "no language given")
    return codes


def _prepare(store: GraphStore, report: EmbedReport, replace: bool) -> None:
    """Refuse to mix models; with `replace`, drop the old indexes and vectors. A vector index of another dimension
    with no other model's vectors in the graph indexes nothing: it is dropped, to be recreated; so is a term vector
    index left by a version that kept term vectors in Neo4j."""
    others = store.other_embedding_models(report.model_id)
    if others and not replace:
        raise GraphError(f"the graph holds vectors of {', '.join(others)}; embedding with {report.model_id} would "
                         "mix models in one vector space: rerun with --replace to remove them and embed every term "
                         f"with {report.model_id}")
    for name in VECTOR_INDEXES:
        info = store.vector_index(name)
        if info is not None and (others or info.dim != report.dim or name == TERM_VECTOR_INDEX):
            store.drop_vector_index(name)
    if others:
        store.clear_other_embeddings(report.model_id)
        report.replaced = others


def _unmark_lost(store: GraphStore, vectors: TermVectorStore, model_id: str) -> None:
    """Terms marked embedded whose vector the file lacks (it was deleted, or an older version kept term vectors in
    Neo4j) lose their mark, so this run encodes them again; checked when the file has fewer rows than marks."""
    if len(vectors) >= store.embedding_fingerprint(model_id).terms:
        return
    lost = vectors.lacking(store.embedded_term_ids(model_id))
    for start in range(0, len(lost), MARK_BATCH):
        store.unmark_terms_embedded(lost[start:start + MARK_BATCH])


def encode_page(encoder: Encoder, texts: list[str], batch_size: int) -> np.ndarray:
    """The stored vectors of a page of terms: normalized float32 rows (pure: what a distributed engine maps)."""
    return normalized(encoder.encode(texts, batch_size=batch_size))


def write_page(store: GraphStore, vectors: TermVectorStore, model_id: str, ids: list[str], page: np.ndarray) -> int:
    """Append a page's vectors to the vector file, then mark its terms embedded; returns how many."""
    vectors.append(ids, page)
    for start in range(0, len(ids), MARK_BATCH):
        store.mark_terms_embedded(model_id, ids[start:start + MARK_BATCH])
    return len(ids)


def _embed_new_terms(store: GraphStore, encoder: Encoder, vectors: TermVectorStore, batch_size: int,
                     progress: bool, report: EmbedReport) -> None:
    """Encode every term without a vector of this model, append the vectors to the store and mark the terms.

    Three stages overlap: the next page is read from the graph and the previous page written (vector file, then
    the graph's marks) while this page is encoded, so the encoder is the only stage the job waits on."""
    model_id, languages = report.model_id, report.languages
    total = store.count_terms_to_embed(model_id, languages)
    page_size = max(batch_size, READ_PAGE)
    with progress_bar(progress) as bar, ThreadPoolExecutor(2, thread_name_prefix="bios-embed-io") as io:
        task = bar.add_task(f"{encoder.name} terms", total=total)
        next_rows = io.submit(store.terms_to_embed, model_id, "", page_size, languages)
        pending: Future[int] | None = None
        while rows := next_rows.result():
            next_rows = io.submit(store.terms_to_embed, model_id, rows[-1].id, page_size, languages)
            page = encode_page(encoder, [row.text for row in rows], batch_size)
            if pending:
                bar.advance(task, pending.result())
            pending = io.submit(write_page, store, vectors, model_id, [row.id for row in rows], page)
            report.terms_embedded += len(rows)
        if pending:
            bar.advance(task, pending.result())


class _TermVectors:
    """Every term vector of the model in term id order (the store compacted to the graph's marked terms), read
    once when first needed."""

    def __init__(self, store: GraphStore, model_id: str, vectors: TermVectorStore, report: EmbedReport) -> None:
        self.store, self.model_id, self.vectors, self.report = store, model_id, vectors, report
        self.loaded: tuple[list[str], np.ndarray] | None = None
        self.row_of: dict[str, int] = {}

    def get(self) -> tuple[list[str], np.ndarray]:
        if self.loaded is None:
            with _phase(self.report, "read_back"):
                ids = self.store.embedded_term_ids(self.model_id)
                self.loaded = ids, self.vectors.compact(ids)
            self.row_of = {term_id: row for row, term_id in enumerate(ids)}
        return self.loaded


def _embed_concepts(store: GraphStore, term_vectors: _TermVectors, batch_size: int, progress: bool) -> int:
    """Write the mean term vector of each concept whose vector is missing or out of date; returns how many."""
    model_id = term_vectors.model_id
    page = store.concepts_to_embed(model_id, "", batch_size)
    if not page:
        return 0
    _, vectors = term_vectors.get()  # before this bar opens: reading back shows its own
    done = 0
    with progress_bar(progress) as bar:
        task = bar.add_task("concepts", total=None)
        while page:
            rows = []
            for concept in page:
                members = [term_vectors.row_of[term_id] for term_id in concept.terms
                           if term_id in term_vectors.row_of]
                if members:
                    mean = normalized(vectors[members].mean(axis=0))[0]
                    rows.append({"id": concept.id, "v": mean.tolist(), "n": len(concept.terms)})
            store.set_concept_vectors(model_id, rows)
            done += len(rows)
            bar.advance(task, len(page))
            page = store.concepts_to_embed(model_id, page[-1].id, batch_size)
    return done
