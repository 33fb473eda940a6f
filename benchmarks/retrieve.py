# ruff: noqa: E402  (imports follow the sys.path fix below)
"""EHR retrieval benchmark: index build time, query throughput and memory for BM25, dense and hybrid search.

    python benchmarks/retrieve.py                        # the IU X-ray report chunks, MiniLM, 1 CPU thread
    python benchmarks/retrieve.py --corpus corpus.jsonl --encoder minilm --threads 2

The collection is the IU chest X-ray reports chunked as `bios retrieve build-benchmark` does (findings +
impression, 100-word windows), or any corpus.jsonl. Queries are the reports' MeSH headings (qualifiers removed,
un-inverted), seeded sample, the same for every method. Measured in this process:
- build: seconds for BM25 (bm25s) and for the dense index (encoding + faiss IndexFlatIP), and their size on disk;
- search: queries per second in batches of --batch (one call per batch) and one query at a time (latency p50/p99),
  top --k, for bm25, dense and hybrid (RRF over depth max(k, 100));
- memory: the process's resident set after loading each index and its peak (VmHWM, /proc).
Results: --out (JSON) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import platform
import random
import statistics
import tempfile
import time
from typing import Any

import torch

from bios_kg.apps.retrieve.chunking import Chunk, chunk_note, read_corpus
from bios_kg.apps.retrieve.engine import RetrievalIndex, build_index
from bios_kg.apps.retrieve.report_benchmark import SKIPPED_HEADINGS, report_text, uninvert
from bios_kg.graph.results import process_memory_mib, write_results
from bios_kg.ingest.readers.iu_xray import read_reports

HERE = Path(__file__).resolve().parent


def folder_mib(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 2)


def collection(corpus: Path | None) -> tuple[list[Chunk], list[str]]:
    """Chunks and candidate queries: the given corpus with the IU headings as queries, or the IU reports."""
    reports = list(read_reports())
    headings = sorted({uninvert(m.split("/", 1)[0].strip()).lower() for r in reports for m in r.mesh_major}
                      - SKIPPED_HEADINGS)
    if corpus is not None:
        return read_corpus(corpus), headings
    return [c for r in reports if report_text(r) for c in chunk_note(r.id, report_text(r))], headings


def measure(args: argparse.Namespace) -> dict[str, Any]:
    torch.set_num_threads(args.threads)
    chunks, headings = collection(args.corpus)
    queries = [random.Random(args.seed).choice(headings) for _ in range(args.queries)]
    result: dict[str, Any] = {"documents": len(chunks), "queries": len(queries), "k": args.k, "batch": args.batch,
                              "encoder": args.encoder, "threads": args.threads, "python": platform.python_version(),
                              "machine": platform.machine(), "build": {}, "search": {}, "memory": {}}
    with tempfile.TemporaryDirectory() as tmp:
        lexical, dense = Path(tmp) / "bm25", Path(tmp) / "dense"
        result["memory"]["start"] = process_memory_mib()
        meta = build_index(chunks, lexical, encoder=None, progress=False)
        result["build"]["bm25"] = {"seconds": meta["seconds"]["bm25"], "disk_mib": folder_mib(lexical)}
        meta = build_index(chunks, dense, encoder=args.encoder, progress=False)
        result["build"]["dense"] = {"seconds": meta["seconds"]["dense"],
                                    "disk_mib": round(folder_mib(dense) - folder_mib(lexical), 2)}
        result["memory"]["after_build"] = process_memory_mib()
        index = RetrievalIndex(dense)
        result["memory"]["index_loaded"] = process_memory_mib()
        for method in ("bm25", "dense", "hybrid"):
            index.search(queries[:8], method, k=args.k)  # warm-up
            started = time.perf_counter()
            for start in range(0, len(queries), args.batch):
                index.search(queries[start:start + args.batch], method, k=args.k)
            batch_seconds = time.perf_counter() - started
            latencies = []
            for query in queries[:args.single]:
                started = time.perf_counter()
                index.search([query], method, k=args.k)
                latencies.append(1000 * (time.perf_counter() - started))
            latencies.sort()
            result["search"][method] = {
                "batch_qps": round(len(queries) / batch_seconds, 1),
                "single_p50_ms": round(statistics.median(latencies), 2),
                "single_p99_ms": round(latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))], 2)}
        result["memory"]["end"] = process_memory_mib()
    return result


def markdown(result: dict[str, Any]) -> str:
    build, search, memory = result["build"], result["search"], result["memory"]
    lines = [f"Retrieval over {result['documents']:,} chunks, {result['queries']} queries, top {result['k']}, "
             f"encoder {result['encoder']}, {result['threads']} torch thread(s)", "",
             "| method | build s | disk MiB | batch QPS | single p50 ms | single p99 ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for method in ("bm25", "dense", "hybrid"):
        built = build.get(method, {"seconds": "(bm25 + dense)", "disk_mib": "-"})
        lines.append(f"| {method} | {built['seconds']} | {built['disk_mib']} | {search[method]['batch_qps']} | "
                     f"{search[method]['single_p50_ms']} | {search[method]['single_p99_ms']} |")
    lines += ["", f"Memory (RSS MiB): start {memory['start']['rss_mib']}, after builds "
                  f"{memory['after_build']['rss_mib']}, index loaded {memory['index_loaded']['rss_mib']}, "
                  f"end {memory['end']['rss_mib']}, peak {memory['end']['peak_rss_mib']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="A corpus.jsonl instead of the IU X-ray report chunks.")
    parser.add_argument("--encoder", default="minilm")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--single", type=int, default=100, help="Queries also timed one at a time.")
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "retrieve.json")
    args = parser.parse_args(argv)
    result = measure(args)
    table = markdown(result)
    write_results(result, args.out, table)
    print(table)


if __name__ == "__main__":
    main()
