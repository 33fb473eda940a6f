"""`bios eval retrieve`: run one method over a benchmark and score it (metrics.py), by query and match type.

The collection is indexed once per (benchmark, encoder) into `index_dir` (default
`$BIOS_HOME/retrieve/indexes/<benchmark>-<encoder>`) and reused while it holds the same chunks and encoder.
Rankings are cut at `depth` (default 1000, enough for Recall@1000).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from apps.retrieve.datasets import Benchmark, read_cliniq, read_recds
from apps.retrieve.engine import CHUNKS, META, Method, RetrievalIndex, build_index
from apps.retrieve.knowledge import Budget, KnowledgeGraph, Weights
from apps.retrieve.metrics import evaluate_run
from graph.errors import ParameterError
from graph.settings import data_home
from graph.store import GraphStore

NAMED = ("cliniq", "pmc-patients")
QUERY_BATCH = 256


def load_benchmark(benchmark: str, data: Path | None = None, task: str = "PPR", split: str = "test") -> Benchmark:
    """`cliniq` or `pmc-patients` read from the release folder `data`, or a folder in CliniQ's format."""
    if benchmark in NAMED:
        if data is None:
            raise ParameterError("data", f"--benchmark {benchmark} needs --data, the folder of the release")
        return read_cliniq(data, "cliniq") if benchmark == "cliniq" else read_recds(data, task, split)
    return read_cliniq(Path(benchmark))


def _index_for(bench: Benchmark, encoder: str | None, index_dir: Path | None, device: str,
               progress: bool) -> RetrievalIndex:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{bench.name}-{Path(encoder).name if encoder else 'bm25'}")
    folder = index_dir or data_home() / "retrieve" / "indexes" / safe
    current = False
    if (folder / META).is_file() and (folder / CHUNKS).is_file():
        meta = json.loads((folder / META).read_text(encoding="utf-8"))
        held = [json.loads(line)["_id"] for line in (folder / CHUNKS).open(encoding="utf-8")]
        current = held == [c.id for c in bench.corpus] and (meta.get("dense") or {}).get("encoder") == encoder
    if not current:
        build_index(bench.corpus, folder, encoder=encoder, device=device, progress=progress)
    return RetrievalIndex(folder, device=device)


def evaluate_retrieval(bench: Benchmark, method: Method, encoder: str = "minilm", store: GraphStore | None = None,
                       index_dir: Path | None = None, depth: int = 1000, budget: Budget | None = None,
                       weights: Weights | None = None, device: str = "auto", progress: bool = True) -> dict[str, Any]:
    """Metrics of `method` on `bench` (module docstring); kg needs `store`."""
    if method == "kg" and store is None:
        raise ParameterError("method", "kg needs the graph")
    index = _index_for(bench, None if method == "bm25" else encoder, index_dir, device, progress)
    knowledge = KnowledgeGraph(store) if method == "kg" and store is not None else None
    ids = list(bench.queries)
    run: dict[str, list[str]] = {}
    started = time.perf_counter()
    for start in range(0, len(ids), QUERY_BATCH):
        batch = ids[start:start + QUERY_BATCH]
        hits = index.search([bench.queries[q] for q in batch], method=method, k=min(depth, len(bench.corpus)),
                            depth=depth, knowledge=knowledge, budget=budget, weights=weights)
        run.update({q: [hit.id for hit in ranked] for q, ranked in zip(batch, hits, strict=True)})
    seconds = time.perf_counter() - started
    scores = evaluate_run(run, bench.qrels, bench.query_types, bench.match_types)
    return {"benchmark": bench.name, "method": method, "encoder": None if method == "bm25" else encoder,
            "depth": depth, **bench.summary(), "search_seconds": round(seconds, 3),
            "budget": (budget or Budget()).__dict__ if method == "kg" else None,
            "weights": (weights or Weights()).__dict__ if method == "kg" else None, **scores}
