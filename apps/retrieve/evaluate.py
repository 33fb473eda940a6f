"""`bios eval retrieve`: score a run (metrics.py) with the figures of the benchmark's official script (CliniQ's
for CliniQ-format folders, PMC-Patients' for ReCDS), the run made here by one method or read from a file.

For a method, the collection is indexed once per (benchmark, encoder) into `index_dir` (default
`$BIOS_HOME/retrieve/indexes/<benchmark>-<encoder>`) and reused while it holds the same chunks and encoder.
Rankings are cut at `depth` (default 1000, enough for Recall@1000; 0 ranks the whole collection, as CliniQ's
script does, which the single-patient setting needs to be exact).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from bios_kg.apps.retrieve.datasets import Benchmark, read_cliniq, read_recds
from bios_kg.apps.retrieve.engine import CHUNKS, META, Method, RetrievalIndex, build_index
from bios_kg.apps.retrieve.knowledge import Budget, KnowledgeGraph, Weights
from bios_kg.apps.retrieve.metrics import cliniq_report, recds_report
from bios_kg.apps.retrieve.runs import Run, RunFormat, read_run, write_run
from bios_kg.graph.errors import ParameterError
from bios_kg.graph.settings import data_home
from bios_kg.graph.store import GraphStore

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


def score_run(bench: Benchmark, run: Run) -> dict[str, Any]:
    """The official figures of `bench` for `run` (metrics.py), with the benchmark's counts and warnings."""
    if bench.kind == "recds":
        scores = recds_report(run, bench.qrels)
    else:
        scores = cliniq_report(run, bench.qrels, bench.notes(), bench.query_types, bench.match_types, bench.queries)
    known = {chunk.id for chunk in bench.corpus}
    unknown = sum(1 for entries in run.values() for doc, _ in entries if doc not in known)
    return {**bench.summary(), **scores, "unknown_documents_in_run": unknown,
            "queries_not_in_benchmark": sum(1 for query in run if query not in bench.qrels),
            "warnings": list(bench.warnings)}


def evaluate_run_file(bench: Benchmark, path: Path) -> dict[str, Any]:
    """Score a run file made by any system (runs.py formats)."""
    return {"benchmark": bench.name, "method": None, "encoder": None, "run": str(path),
            **score_run(bench, read_run(path))}


def search_run(bench: Benchmark, method: Method, encoder: str = "minilm", store: GraphStore | None = None,
               index_dir: Path | None = None, depth: int = 1000, budget: Budget | None = None,
               weights: Weights | None = None, device: str = "auto", progress: bool = True) -> tuple[Run, float]:
    """The run of `method` over the benchmark's queries (entries best first) and the search seconds."""
    if method == "kg" and store is None:
        raise ParameterError("method", "kg needs the graph")
    if depth < 0:
        raise ParameterError("depth", f"{depth} is negative (0 ranks the whole collection)")
    index = _index_for(bench, None if method == "bm25" else encoder, index_dir, device, progress)
    knowledge = KnowledgeGraph(store) if method == "kg" and store is not None else None
    depth = min(depth or len(bench.corpus), len(bench.corpus))
    ids = list(bench.queries)
    run: Run = {}
    started = time.perf_counter()
    for start in range(0, len(ids), QUERY_BATCH):
        batch = ids[start:start + QUERY_BATCH]
        hits = index.search([bench.queries[q] for q in batch], method=method, k=depth, depth=depth,
                            knowledge=knowledge, budget=budget, weights=weights)
        run.update({q: [(hit.id, hit.score) for hit in ranked] for q, ranked in zip(batch, hits, strict=True)})
    return run, time.perf_counter() - started


def evaluate_retrieval(bench: Benchmark, method: Method, encoder: str = "minilm", store: GraphStore | None = None,
                       index_dir: Path | None = None, depth: int = 1000, budget: Budget | None = None,
                       weights: Weights | None = None, device: str = "auto", progress: bool = True,
                       run_out: Path | None = None, run_format: RunFormat = "json") -> dict[str, Any]:
    """Metrics of `method` on `bench` (module docstring); kg needs `store`. `run_out`: also write the run there."""
    run, seconds = search_run(bench, method, encoder, store, index_dir, depth, budget, weights, device, progress)
    if run_out is not None:
        write_run(run, run_out, run_format, tag=f"bios-{method}")
    return {"benchmark": bench.name, "method": method, "encoder": None if method == "bm25" else encoder,
            "depth": depth or len(bench.corpus), "search_seconds": round(seconds, 3),
            "budget": (budget or Budget()).__dict__ if method == "kg" else None,
            "weights": (weights or Weights()).__dict__ if method == "kg" else None, **score_run(bench, run)}
