"""Search over a chunk collection: BM25 (bm25s), dense (an embed/ encoder + faiss), hybrid (reciprocal rank
fusion of the two, equal weights) and kg (knowledge-injected: the query's BM25 run, its dense run with weight
`Weights.dense`, and for each graph expansion (knowledge.py) the BM25 hits that contain the expansion as a whole
phrase (normalized text), with the expansion kind's weight). Expansions are matched as phrases because a
synonym's single words drift ("skin emphysema" -> every "emphysema"); dense runs of expansions did the same.

An index folder (`build_index`) holds:
- `chunks.jsonl`: the collection ({"_id", "text"}), row order = document number;
- `bm25/`: the bm25s index (lower-cased word tokens of 2+ characters, English stop words removed, no stemming;
  k1 1.5, b 0.75: the Lucene/Elasticsearch defaults);
- `dense.faiss` + `dense.json` (encoder name, model id, max_length): inner product over L2-normalized vectors;
  while encoding, blocks of vectors go to `dense.partial/` so that an interrupted build resumes;
- `index.json`: counts, settings and build seconds, written last.
Fusion: score(d) = Σ_runs w_run / (rrf_k + rank_run(d)), rank from 1 (PMC-Patients' RRF with weights; k = 60).
A BM25 hit with score 0 (no query word in the chunk) is not a hit.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import bm25s
import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bios_kg.apps.retrieve.chunking import Chunk, read_corpus, write_corpus
from bios_kg.graph.errors import ConfigError, ParameterError
from bios_kg.graph.text import normalize_term

if TYPE_CHECKING:
    import faiss

    from bios_kg.apps.retrieve.knowledge import Budget, KnowledgeGraph, Weights
    from bios_kg.embed.encoders import Encoder

Method = Literal["bm25", "dense", "hybrid", "kg"]
METHODS: tuple[str, ...] = get_args(Method)
RRF_K = 60
K1, B = 1.5, 0.75
STOPWORDS = "en"
DEFAULT_MAX_LENGTH = 256  # tokens per chunk for the dense encoder (a 100-word chunk is ~130-160 word pieces)
BLOCK = 2048  # vectors per resumable block
MAX_K = 1000
CHUNKS, BM25_DIR, DENSE_INDEX, DENSE_META, META, PARTIAL = (
    "chunks.jsonl", "bm25", "dense.faiss", "dense.json", "index.json", "dense.partial")


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    text: str


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    tokens: list[list[str]] = bm25s.tokenize(list(texts), stopwords=STOPWORDS, return_ids=False, show_progress=False)
    return tokens


def load_dense_encoder(name: str, max_length: int = DEFAULT_MAX_LENGTH, device: str = "auto") -> Encoder:
    """An embed/ encoder (registry name or folder) with its declared contract but `max_length` tokens."""
    from bios_kg.embed.encoders import load_encoder

    encoder = load_encoder(name, device=device)
    encoder.settings = replace(encoder.settings, max_length=max_length)
    return encoder


def _progress(label: str, disable: bool) -> Progress:
    return Progress(TextColumn(f"[bold]{label}[/bold]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    disable=disable)


def build_index(chunks: Sequence[Chunk], out: Path, encoder: str | None = "minilm",
                max_length: int = DEFAULT_MAX_LENGTH, batch_size: int = 64, device: str = "auto",
                progress: bool = True) -> dict[str, Any]:
    """Write an index folder (module docstring) for `chunks`; dense only when `encoder` is given. Resumes the
    dense encoding of an interrupted build of the same collection and encoder."""
    if not chunks:
        raise ParameterError("corpus", "no chunks to index")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / META).unlink(missing_ok=True)
    started = time.perf_counter()
    write_corpus(chunks, out / CHUNKS)
    texts = [chunk.text for chunk in chunks]
    with _progress("bm25", not progress) as bar:
        task = bar.add_task("bm25", total=1)
        retriever = bm25s.BM25(k1=K1, b=B)
        retriever.index(bm25s.tokenize(texts, stopwords=STOPWORDS, show_progress=False), show_progress=False)
        shutil.rmtree(out / BM25_DIR, ignore_errors=True)
        retriever.save(str(out / BM25_DIR))
        bar.advance(task)
    seconds = {"bm25": round(time.perf_counter() - started, 3)}
    meta: dict[str, Any] = {"documents": len(chunks), "k1": K1, "b": B, "stopwords": STOPWORDS, "dense": None}
    if encoder is not None:
        dense_started = time.perf_counter()
        meta["dense"] = _build_dense(texts, out, encoder, max_length, batch_size, device, progress)
        seconds["dense"] = round(time.perf_counter() - dense_started, 3)
    meta["seconds"] = seconds
    (out / META).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return meta


def _build_dense(texts: list[str], out: Path, name: str, max_length: int, batch_size: int, device: str,
                 progress: bool) -> dict[str, Any]:
    from bios_kg.embed.index import build_faiss

    model = load_dense_encoder(name, max_length, device)
    identity = {"encoder": name, "model_id": model.model_id, "max_length": max_length, "documents": len(texts)}
    partial = out / PARTIAL
    state = partial / "state.json"
    if state.is_file() and json.loads(state.read_text()) != identity:
        shutil.rmtree(partial)  # another collection or encoder: start over
    partial.mkdir(exist_ok=True)
    state.write_text(json.dumps(identity))
    blocks = []
    with _progress(f"encode {model.name}", not progress) as bar:
        task = bar.add_task("chunks", total=len(texts))
        for start in range(0, len(texts), BLOCK):
            block_file = partial / f"{start:09d}.npy"
            if not block_file.is_file():
                vectors = model.encode(texts[start:start + BLOCK], batch_size=batch_size)
                np.save(partial / "block.tmp.npy", vectors)
                (partial / "block.tmp.npy").rename(block_file)
            blocks.append(np.load(block_file))
            bar.advance(task, min(BLOCK, len(texts) - start))
    import faiss

    faiss.write_index(build_faiss(np.concatenate(blocks), kind="flat"), str(out / DENSE_INDEX))
    (out / DENSE_META).write_text(json.dumps({**identity, "dim": model.dim}, indent=2) + "\n", encoding="utf-8")
    shutil.rmtree(partial)
    return {**identity, "dim": model.dim}


class RetrievalIndex:
    """An index folder loaded for search."""

    def __init__(self, folder: Path, device: str = "auto", encoder: Encoder | None = None) -> None:
        self.folder = Path(folder)
        if not (self.folder / META).is_file():
            raise ConfigError(f"{self.folder}: not a complete retrieval index (no {META}); "
                              "run `bios retrieve index --corpus FILE --out DIR`")
        self.meta = json.loads((self.folder / META).read_text(encoding="utf-8"))
        self.chunks = read_corpus(self.folder / CHUNKS)
        self.bm25 = bm25s.BM25.load(str(self.folder / BM25_DIR))
        self.encoder: Encoder | None = encoder
        self._norms: list[str] | None = None
        self.faiss: faiss.Index | None = None
        if self.meta.get("dense"):
            import faiss

            self.faiss = faiss.read_index(str(self.folder / DENSE_INDEX))
            if self.encoder is None:
                dense = self.meta["dense"]
                self.encoder = load_dense_encoder(dense["encoder"], dense["max_length"], device)
                if self.encoder.model_id != dense["model_id"]:
                    raise ConfigError(f"{self.folder}: built with {dense['model_id']}, but {dense['encoder']} now "
                                      f"loads as {self.encoder.model_id}: rebuild the index")

    @property
    def methods(self) -> list[str]:
        return list(METHODS) if self.faiss is not None else ["bm25"]

    def bm25_search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        tokens = tokenize(queries)
        k = min(k, len(self.chunks))
        out: list[list[tuple[int, float]]] = [[] for _ in queries]
        asked = [i for i, words in enumerate(tokens) if words]
        if asked:
            rows, scores = self.bm25.retrieve([tokens[i] for i in asked], k=k, show_progress=False, n_threads=1)
            for i, row, score in zip(asked, rows, scores, strict=True):
                out[i] = [(int(doc), float(s)) for doc, s in zip(row, score, strict=True) if s > 0]
        return out

    def phrase_search(self, phrases: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        """BM25 hits of each phrase that contain it whole (normalized text, word boundaries)."""
        if self._norms is None:
            self._norms = [normalize_term(chunk.text) for chunk in self.chunks]
        norms = self._norms
        patterns = [re.compile(rf"(?<!\w){re.escape(normalize_term(p))}(?!\w)") for p in phrases]
        return [[(doc, s) for doc, s in run if pattern.search(norms[doc])]
                for run, pattern in zip(self.bm25_search(phrases, k), patterns, strict=True)]

    def dense_search(self, queries: Sequence[str], k: int) -> list[list[tuple[int, float]]]:
        if self.faiss is None or self.encoder is None:
            raise ParameterError("method", f"{self.folder} has no dense index (built without an encoder)")
        vectors = self.encoder.encode(list(queries), batch_size=64)
        scores, rows = self.faiss.search(vectors, min(k, len(self.chunks)))
        return [[(int(doc), float(s)) for doc, s in zip(row, score, strict=True) if doc >= 0]
                for row, score in zip(rows, scores, strict=True)]

    def search(self, queries: Sequence[str], method: Method = "hybrid", k: int = 10, depth: int | None = None,
               knowledge: KnowledgeGraph | None = None, budget: Budget | None = None,
               weights: Weights | None = None, rrf_k: int = RRF_K) -> list[list[Hit]]:
        """Top `k` chunks per query; each fused run is cut at `depth` (default max(k, 100))."""
        if method not in METHODS:
            raise ParameterError("method", f"{method!r} is not one of {', '.join(METHODS)}")
        if not 1 <= k <= max(MAX_K, len(self.chunks)):
            raise ParameterError("k", f"{k} is not in 1..{max(MAX_K, len(self.chunks))} (at most the collection)")
        depth = max(depth or 100, k)
        if method == "bm25":
            runs = self.bm25_search(queries, k)
        elif method == "dense":
            runs = self.dense_search(queries, k)
        elif method == "hybrid":
            lexical, dense = self.bm25_search(queries, depth), self.dense_search(queries, depth)
            runs = [fuse([(lex, 1.0), (den, 1.0)], rrf_k) for lex, den in zip(lexical, dense, strict=True)]
        else:
            if knowledge is None:
                raise ParameterError("method", "kg needs the graph (knowledge injection)")
            from bios_kg.apps.retrieve.knowledge import Budget, Weights

            weights = weights or Weights()
            expansions = knowledge.expand(queries, budget or Budget(), weights)
            lexical, dense = self.bm25_search(queries, depth), self.dense_search(queries, depth)
            flat = [e for own in expansions for e in own if e.weight > 0]
            phrase_runs = iter(self.phrase_search([e.text for e in flat], depth))
            weighted: list[list[tuple[list[tuple[int, float]], float]]] = [
                [(lex, 1.0), (den, weights.dense)] for lex, den in zip(lexical, dense, strict=True)]
            for own, extra in zip(weighted, expansions, strict=True):
                own.extend((next(phrase_runs), e.weight) for e in extra if e.weight > 0)
            runs = [fuse(own, rrf_k) for own in weighted]
        return [[Hit(self.chunks[doc].id, score, self.chunks[doc].text) for doc, score in run[:k]] for run in runs]


def fuse(runs: Sequence[tuple[Sequence[tuple[int, float]], float]], rrf_k: int = RRF_K) -> list[tuple[int, float]]:
    """Weighted reciprocal rank fusion of (run, weight) pairs; best first, ties by document number."""
    scores: dict[int, float] = defaultdict(float)
    for run, weight in runs:
        for rank, (doc, _) in enumerate(run, 1):
            scores[doc] += weight / (rrf_k + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))
