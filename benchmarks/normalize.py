# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Normalization service benchmark: latency over HTTP, batch throughput and API memory, on the sample graph.

    python benchmarks/normalize.py                                  # the graph at bolt://127.0.0.1:7687
    python benchmarks/normalize.py --uri bolt://127.0.0.1:7687 --queries 300 --model minilm --runtime onnx

The API (bios_kg.apps.api.app with the /normalize router) runs in a child process on a free loopback port, with the
normalizer opened before it serves: the model given by --model, else the one whose term vectors the graph
holds, else exact + full text only (the result says which stages ran). Queries are real strings drawn
(seeded) from the normalization benchmarks' test split: HPO synonyms and ICD-10 Chinese names, half each.

- warm-up: --warmup GET /normalize calls, not measured;
- single: one GET /normalize?q=…&k=10 at a time, --queries of them: p50 / p99 / mean latency;
- baseline: the same queries to GET /search (lookup: exact + full text, no vectors, no calibration);
- batch over HTTP: POST /normalize with batches of --batch-sizes, --batch-terms terms per size: terms/s;
- batch in process: Normalizer.normalize_batch on the same terms in this process, with the torch encoder (baseline),
  exact and int8 ONNX and --runtime: terms/s, and the mean share of the baseline's top-10 concepts found;
- memory: the API process's RSS after start-up, after the runs, and its peak (VmHWM), from /proc.
Traffic goes to 127.0.0.1 only and every loop is bounded. Results: --out (JSON) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import platform
import random
import statistics
import subprocess
import time
from typing import Any

import httpx

from bios_kg.apps.heap import long_lived_heap
from bios_kg.apps.normalize.evaluate import build_benchmarks
from bios_kg.apps.normalize.normalizer import open_normalizer
from bios_kg.graph.results import process_memory_mib, write_results
from bios_kg.graph.runtime import NEO4J_VERSION, free_port
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore

HERE = Path(__file__).resolve().parent
DEFAULT_URI = "bolt://127.0.0.1:7687"
START_TIMEOUT_S = 300


def settings_for(uri: str) -> Neo4jSettings:
    return Neo4jSettings(uri=uri, username=None, password=None, database="neo4j")


def serve(args: argparse.Namespace) -> None:
    """The child process: the API with a normalizer opened up front."""
    import uvicorn

    from bios_kg.apps.api.app import create_app

    app = create_app(settings_for(args.uri), model=args.model, vector=not args.no_vector, runtime=args.runtime)
    uvicorn.run(app, host="127.0.0.1", port=args.serve, log_level="warning")


def latency_summary(latencies_ms: list[float]) -> dict[str, Any]:
    ordered = sorted(latencies_ms)
    return {"requests": len(ordered), "p50_ms": round(statistics.median(ordered), 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))], 2),
            "mean_ms": round(statistics.fmean(ordered), 2), "max_ms": round(ordered[-1], 2)}


def get_ms(client: httpx.Client, path: str, params: dict[str, Any]) -> float:
    """Milliseconds from sending a GET to having its whole response."""
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


def draw_queries(store: GraphStore, n: int, seed: int) -> list[str]:
    hpo, icd = build_benchmarks(store, seed=seed, max_queries=n)
    queries = [q.text for q in hpo.test[: n - n // 2]] + [q.text for q in icd.test[: n // 2]]
    random.Random(seed).shuffle(queries)
    return queries


def start_api(args: argparse.Namespace, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), "--uri", args.uri]
    command += (["--model", args.model] if args.model else []) + (["--no-vector"] if args.no_vector else [])
    command += ["--runtime", args.runtime]
    return subprocess.Popen(command, cwd=HERE.parent, env={**os.environ, "PYTHONPATH": str(HERE.parent)})


def wait_ready(client: httpx.Client, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API process exited with {process.returncode}")
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"the API did not answer within {START_TIMEOUT_S} s")


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with GraphStore.connect(settings_for(args.uri)) as store:
        queries = draw_queries(store, args.queries, args.seed)
        batch_terms = list(dict.fromkeys(draw_queries(store, args.batch_terms, args.seed + 1)))  # no repeats:
        # the normalizer encodes a repeated string once
        result: dict[str, Any] = {
            "machine": {"python": platform.python_version(), "neo4j": NEO4J_VERSION, "cpus": os.cpu_count()},
            "graph": args.uri, "queries": len(queries), "seed": args.seed, "runtime": args.runtime}
        port = free_port()
        process = start_api(args, port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=600) as client:
                started = time.perf_counter()
                wait_ready(client, process)
                result["api_start_s"] = round(time.perf_counter() - started, 1)
                result["memory_after_start"] = process_memory_mib(process.pid)
                first = client.get("/normalize", params={"q": queries[0]}).json()
                result["methods"] = first["methods"]
                for text in queries[: args.warmup]:
                    client.get("/normalize", params={"q": text, "k": 10}).raise_for_status()
                result["single"] = latency_summary(
                    [get_ms(client, "/normalize", {"q": text, "k": 10}) for text in queries])
                result["baseline_search"] = latency_summary(
                    [get_ms(client, "/search", {"q": text, "limit": 10}) for text in queries])
                result["batch_http"] = {}
                for size in args.batch_sizes:
                    started = time.perf_counter()
                    for start in range(0, len(batch_terms), size):
                        body = {"queries": batch_terms[start:start + size], "k": 10}
                        client.post("/normalize", json=body).raise_for_status()
                    seconds = time.perf_counter() - started
                    result["batch_http"][str(size)] = {"terms": len(batch_terms), "seconds": round(seconds, 2),
                                                       "terms_per_s": round(len(batch_terms) / seconds)}
                result["memory_after_runs"] = process_memory_mib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=30)
        result["batch_in_process"] = {}
        size = max(args.batch_sizes)
        baseline: list[set[str]] = []
        for runtime in runtimes(args):  # the torch encoder is the in-process baseline
            normalizer = open_normalizer(store, model=args.model, vector=not args.no_vector, runtime=runtime)
            normalizer.normalize_batch(queries[:32])
            with long_lived_heap():  # as the API keeps its heap (apps/heap.py)
                started = time.perf_counter()
                found = [normalized for start in range(0, len(batch_terms), size)
                         for normalized in normalizer.normalize_batch(batch_terms[start:start + size], k=10)]
                seconds = time.perf_counter() - started
            tops = [{c.concept_id for c in r.candidates} for r in found]
            baseline = baseline or tops
            result["batch_in_process"][runtime] = {
                "batch_size": size, "terms": len(batch_terms), "seconds": round(seconds, 2),
                "terms_per_s": round(len(batch_terms) / seconds),
                "top10_overlap_with_torch": round(statistics.fmean(
                    len(top & base) / len(base) if base else float(not top)
                    for top, base in zip(tops, baseline, strict=True)), 4),
                "encoder_runtime": normalizer.encoder.runtime if normalizer.encoder else None}
    return result


def runtimes(args: argparse.Namespace) -> list[str]:
    """The encoder engines measured in process: torch (the baseline), exact ONNX and int8 ONNX when onnxruntime
    is installed, and the API's."""
    from bios_kg.embed.onnx_runtime import onnx_available

    measured = ["torch"] + (["onnx", "onnx-int8"] if onnx_available() else []) + [args.runtime]
    return list(dict.fromkeys(measured)) if not args.no_vector else [args.runtime]


def markdown(result: dict[str, Any]) -> str:
    lines = [f"Graph {result['graph']}, {result['queries']} queries (HPO synonyms + ICD-10 Chinese names), "
             f"stages: {', '.join(result['methods'])}; API encoder runtime {result['runtime']}; "
             f"{result['machine']['cpus']} CPUs.", "",
             "| HTTP, one query per request | requests | p50 ms | p99 ms | mean ms | max ms |",
             "|---|---:|---:|---:|---:|---:|"]
    for name in ("single", "baseline_search"):
        s = result[name]
        label = "GET /normalize (k=10)" if name == "single" else "baseline: GET /search (lookup, limit=10)"
        lines.append(f"| {label} | {s['requests']} | {s['p50_ms']} | {s['p99_ms']} | {s['mean_ms']} | {s['max_ms']} |")
    lines += ["", "| batch | terms | seconds | terms/s | top-10 shared with torch |", "|---|---:|---:|---:|---:|"]
    lines += [f"| POST /normalize, {size} per request | {b['terms']} | {b['seconds']} | {b['terms_per_s']:,} | |"
              for size, b in result["batch_http"].items()]
    for b in result["batch_in_process"].values():
        encoder = f"encoder on {b['encoder_runtime']}" if b["encoder_runtime"] else "no encoder"
        lines.append(f"| Normalizer.normalize_batch in process, {b['batch_size']} per call, {encoder} "
                     f"| {b['terms']} | {b['seconds']} | {b['terms_per_s']:,} | {b['top10_overlap_with_torch']} |")
    lines += ["", "| API process memory | RSS MiB | peak RSS MiB |", "|---|---:|---:|"]
    for name in ("memory_after_start", "memory_after_runs"):
        m = result[name]
        lines.append(f"| {name.removeprefix('memory_').replace('_', ' ')} | {m['rss_mib']} | {m['peak_rss_mib']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default=DEFAULT_URI, help="A graph with the sample loaded.")
    parser.add_argument("--model", help="Encoder (registry name or folder); default: the graph's model, if any.")
    parser.add_argument("--no-vector", action="store_true", help="Exact + full text only.")
    parser.add_argument("--runtime", default="auto", choices=["auto", "torch", "onnx", "onnx-int8"],
                        help="The API's query encoder engine (in process, torch is measured too, as the baseline).")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--batch-terms", type=int, default=3000, help="Terms sent per batch size.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "normalize.json")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return
    result = measure(args)
    table = markdown(result)
    write_results(result, args.out, table)
    print(table)


if __name__ == "__main__":
    main()
