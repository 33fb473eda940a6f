# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Sample-graph benchmark: loading the real sample sources, and term lookup against a scan baseline.

    python benchmarks/lookup.py                        # fresh local Neo4j: load the sample, then measure
    python benchmarks/lookup.py --uri bolt://127.0.0.1:7687 --queries 500   # a graph where the sample is loaded

Load: `bios_kg.ingest.sample.load_sample` source by source into an empty instance (records/s per source).
Lookup: --queries terms drawn at random (seeded) from the graph's Term nodes, asked three ways:
- exact: the term as stored, upper-cased (exercises normalization; `bios_kg.graph.lookup.lookup`);
- partial: the term minus its last word (English) or last character (Chinese), which exact matching
  cannot find and full text should;
- baseline: the same exact query as a label scan comparing lower-cased text (what a user without the
  `Term.norm` index and the full-text index would write).
Accuracy is whether the concept the term came from is among the hits (@1, @10); latency is per call
(p50, p95, mean, in ms) on loopback. Results go to --out (JSON) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import platform
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

from bios_kg.graph.lookup import lookup
from bios_kg.graph.results import write_results
from bios_kg.graph.runtime import NEO4J_VERSION, LocalNeo4j, ServerOptions, free_port
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.sample import DEFAULT_SAMPLE, load_sample

HERE = Path(__file__).resolve().parent
CANDIDATE_TERMS = """
MATCH (c:Concept)-[:HAS_TERM]->(t:Term) WHERE t.lang IN ['en', 'zh'] AND size(t.text) >= 4
RETURN c.id AS concept, t.text AS text, t.lang AS lang ORDER BY concept, text
"""
SCAN_BASELINE = """
MATCH (c:Concept)-[:HAS_TERM]->(t:Term) WHERE toLower(t.text) = toLower($q)
RETURN c.id AS id LIMIT 10
"""


def _partial(text: str, lang: str) -> str | None:
    if lang == "zh":
        return text[:-1] if len(text) >= 3 else None
    words = text.split()
    return " ".join(words[:-1]) if len(words) >= 2 else None


def _timed(ask: Callable[[GraphStore, str], list[str]], store: GraphStore, query: str) -> tuple[float, list[str]]:
    started = time.perf_counter()
    ids = ask(store, query)
    return (time.perf_counter() - started) * 1000, ids


def _summary(latencies: list[float], ranks: list[int | None]) -> dict[str, Any]:
    ordered = sorted(latencies)
    return {"queries": len(latencies), "p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
            "mean_ms": round(statistics.fmean(ordered), 2),
            "hit_at_1": round(sum(1 for r in ranks if r == 0) / len(ranks), 3),
            "hit_at_10": round(sum(1 for r in ranks if r is not None and r < 10) / len(ranks), 3)}


def _lookup_ids(store: GraphStore, query: str) -> list[str]:
    return [hit.id for hit in lookup(store, query, limit=10)]


def _scan_ids(store: GraphStore, query: str) -> list[str]:
    return [row["id"] for row in store.run(SCAN_BASELINE, q=query)]


def measure_lookup(store: GraphStore, n: int, seed: int) -> dict[str, Any]:
    sample = random.Random(seed).sample(store.run(CANDIDATE_TERMS), n)
    runs: dict[str, tuple[list[float], list[int | None]]] = {}
    for row in sample:
        asks: list[tuple[str, Callable[[GraphStore, str], list[str]], str]] = [
            ("exact", _lookup_ids, row["text"].upper()), ("baseline_scan", _scan_ids, row["text"].upper())]
        partial = _partial(row["text"], row["lang"])
        if partial:
            asks.append(("partial", _lookup_ids, partial))
        for name, ask, query in asks:
            latency, ids = _timed(ask, store, query)
            latencies, ranks = runs.setdefault(name, ([], []))
            latencies.append(latency)
            ranks.append(ids.index(row["concept"]) if row["concept"] in ids else None)
    return {name: _summary(latencies, ranks) for name, (latencies, ranks) in runs.items()}


def measure_load(store: GraphStore) -> list[dict[str, Any]]:
    reports = load_sample(store, DEFAULT_SAMPLE, progress=False, rejects_dir=Path(tempfile.mkdtemp()))
    return [{"source": r.source, "version": r.version, "records": sum(r.records.values()),
             "seconds": round(r.seconds, 1), "records_per_second": round(r.rows_per_second), "rejected": r.rejected}
            for r in reports]


def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {"machine": {"python": platform.python_version(), "neo4j": NEO4J_VERSION,
                                          "cpus": os.cpu_count()}}
    home = None
    uri = args.uri
    if uri is None:
        home = Path(tempfile.mkdtemp(prefix="bios-bench-lookup-"))
        uri = LocalNeo4j(home).start(ServerOptions(bolt_port=free_port(), http=False, heap="2g", pagecache="1g")).uri
    try:
        with GraphStore.connect(Neo4jSettings(uri=uri, username=None, password=None, database="neo4j")) as store:
            if home is not None:
                result["load"] = measure_load(store)
            result["lookup"] = measure_lookup(store, args.queries, args.seed)
    finally:
        if home is not None:
            LocalNeo4j(home).stop()
            shutil.rmtree(home, ignore_errors=True)
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = []
    if "load" in result:
        lines += ["| source | version | records | seconds | records/s | rejected |", "|---|---|---:|---:|---:|---:|"]
        lines += [f"| {r['source']} | {r['version']} | {r['records']:,} | {r['seconds']} "
                  f"| {r['records_per_second']:,} | {r['rejected']} |" for r in result["load"]]
        lines.append("")
    lines += ["| lookup | queries | p50 ms | p95 ms | mean ms | hit@1 | hit@10 |",
              "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | {s['queries']} | {s['p50_ms']} | {s['p95_ms']} | {s['mean_ms']} | {s['hit_at_1']} "
              f"| {s['hit_at_10']} |" for name, s in result["lookup"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", help="A graph with the sample loaded (default: a fresh instance, loaded here).")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "lookup.json")
    args = parser.parse_args(argv)
    result = run(args)
    table = markdown(result)
    write_results(result, args.out, table)
    print(table)


if __name__ == "__main__":
    main()
