# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Ingest benchmark: the transactional loader vs the bulk path (neo4j-admin import) on a generated
BIOS release, a naive one-row-per-transaction baseline, and a check that Python memory stays flat.

    python benchmarks/ingest.py                       # 100k concepts, 250k terms, 200k relations
    python benchmarks/ingest.py --concepts 20000 --terms 50000 --relations 40000 --out /tmp/small.json

Each measurement runs in its own Python process (so peak RSS belongs to one path) against a fresh
local Neo4j on free ports with HTTP off:

- baseline: the first --baseline-rows records, each MERGEd in its own transaction (the same
  statements as the loader, one row each) into an empty database with the schema; rows/s extrapolated.
- transactional: bios_kg.ingest.loader.load_source into an empty database with the schema applied.
- bulk: bios_kg.ingest.bulk.bulk_load into the (running, empty) instance: CSVs, stop, import, start, schema.

Rows are the source's non-empty lines; records are what the reader yields. Memory: the worker's peak
RSS (getrusage), the JVMs' peak RSS (the server's VmHWM; children sampled from /proc every 0.25 s,
which is how the neo4j-admin JVM is measured), and the importer's own "Peak memory usage" line.
Memory flat: the reader plus the loader's batcher, and the reader plus the bulk CSV writer, without a
database, at two sizes (--flat-factors) with tracemalloc; the peaks should be about equal.

Results go to --out (JSON) and a Markdown table next to it (same name, .md).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, and this file's name would then hide
# the `ingest` package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bios_kg.graph.results import write_results
from bios_kg.graph.runtime import NEO4J_VERSION, LocalNeo4j, ServerOptions, free_port
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import Batch, GraphStore
from bios_kg.ingest.bulk import BulkWriter, bulk_load
from bios_kg.ingest.loader import DEFAULT_BATCH_SIZE, load_source
from bios_kg.ingest.progress import count_lines
from bios_kg.ingest.readers import READERS, Parsed
from bios_kg.ingest.synthetic import SyntheticSize, write_synthetic_bios_release

HERE = Path(__file__).resolve().parent
MIB = 1024 * 1024


# --- measuring --------------------------------------------------------------------------------------
class ChildRss(threading.Thread):
    """Samples the resident memory of this process's children (the JVMs) from /proc."""

    def __init__(self, interval: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak: dict[str, int] = {}  # kind -> bytes
        self._done = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self._done.wait(self.interval):
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                    if int(stat.rsplit(")", 1)[1].split()[1]) != me:
                        continue
                    cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                    rss = _status_kib(int(entry), "VmRSS") * 1024
                except (OSError, ValueError, IndexError):
                    continue
                kind = ("admin" if b"AdminTool" in cmdline else "server" if b"CommunityEntryPoint" in cmdline
                        else "other")
                self.peak[kind] = max(self.peak.get(kind, 0), rss)

    def finish(self) -> dict[str, int]:
        self._done.set()
        self.join()
        return self.peak


def _status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def _python_peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def _server_peak(instance: LocalNeo4j) -> int | None:
    status = instance.status()
    try:
        return _status_kib(status.pid, "VmHWM") * 1024 if status.pid else None
    except OSError:
        return None


def _importer_peak(instance: LocalNeo4j) -> str | None:
    if not instance.import_log.exists():
        return None
    for line in instance.import_log.read_text(errors="replace").splitlines():
        if line.startswith("Peak memory usage:"):
            return line.split(":", 1)[1].strip()
    return None


def _store(instance: LocalNeo4j) -> GraphStore:
    uri = instance.status().uri
    assert uri
    return GraphStore.connect(Neo4jSettings(uri=uri, username=None, password=None, database="neo4j"))


def _counts(store: GraphStore) -> dict[str, int]:
    stats = store.stats()
    return dict(sorted({**stats.labels, **stats.relationship_types}.items()))


def _options(args: argparse.Namespace) -> ServerOptions:
    return ServerOptions(bolt_port=free_port(), http=False, heap=args.heap, pagecache=args.pagecache)


# --- workers (one process each) -----------------------------------------------------------------------
def worker_transactional(args: argparse.Namespace) -> dict[str, Any]:
    reader = READERS.get("bios")(args.release, version="benchmark")
    instance = LocalNeo4j(args.instance)
    sampler = ChildRss()
    sampler.start()
    mark = time.perf_counter()
    instance.start(_options(args))
    started_s = time.perf_counter() - mark
    try:
        with _store(instance) as store:
            store.apply_schema()
            baseline = _baseline(reader, store, args.baseline_rows)
            store.clear()
            mark = time.perf_counter()
            report = load_source(reader, store, batch_size=args.batch_size, progress=False)
            wall = time.perf_counter() - mark
            counts = _counts(store)
        server_peak = _server_peak(instance)
    finally:
        instance.stop()
    children = sampler.finish()
    return {"wall_s": wall, "server_start_s": started_s, "records": dict(report.records),
            "rejected": report.rejected, "batch_size": args.batch_size, "counts": counts,
            "python_peak_rss": _python_peak_rss(), "server_peak_rss": server_peak or children.get("server"),
            "baseline": baseline}


def _baseline(reader: Any, store: GraphStore, rows: int) -> dict[str, Any]:
    """One record per transaction, with the loader's MERGE statements (one-row UNWINDs)."""
    source_id = reader.source().id
    done = 0
    mark = time.perf_counter()
    for item in reader.read():
        if done >= rows:
            break
        if not isinstance(item, Parsed):
            continue
        batch = Batch()
        batch.add(item.record)
        with store.transaction() as tx:
            store.write_nodes(tx, batch, source_id)
            store.write_relations(tx, batch, source_id)
        done += 1
    wall = time.perf_counter() - mark
    return {"rows": done, "wall_s": wall, "rows_per_s": done / wall if wall else 0.0}


def worker_bulk(args: argparse.Namespace) -> dict[str, Any]:
    reader = READERS.get("bios")(args.release, version="benchmark")
    instance = LocalNeo4j(args.instance)
    sampler = ChildRss()
    sampler.start()
    mark = time.perf_counter()
    instance.start(_options(args))
    started_s = time.perf_counter() - mark
    try:
        mark = time.perf_counter()
        report = bulk_load(reader, instance, progress=False)
        wall = time.perf_counter() - mark
        with _store(instance) as store:
            counts = _counts(store)
        server_peak = _server_peak(instance)
    finally:
        instance.stop()
    children = sampler.finish()
    return {"wall_s": wall, "server_start_s": started_s, "records": dict(report.records),
            "rejected": report.rejected, "phases": report.phases, "imported": report.imported, "counts": counts,
            "python_peak_rss": _python_peak_rss(), "server_peak_rss": server_peak,
            "admin_peak_rss": children.get("admin"), "admin_reported_peak": _importer_peak(instance)}


def worker_flat(args: argparse.Namespace) -> dict[str, Any]:
    """Reader + batcher (transactional) or reader + CSV writer (bulk), no database, under tracemalloc."""
    reader = READERS.get("bios")(args.release)
    records = 0
    tracemalloc.start()
    mark = time.perf_counter()
    if args.worker == "flat-transactional":
        batch = Batch()
        for item in reader.read():
            if isinstance(item, Parsed):
                batch.add(item.record)
                records += 1
                if len(batch) >= args.batch_size:
                    batch = Batch()
    else:
        folder = Path(tempfile.mkdtemp(prefix="bios-flat-", dir=args.instance.parent))
        try:
            writer = BulkWriter(folder, "BIOS")
            for item in reader.read():
                if isinstance(item, Parsed):
                    writer.add(item.record)
                    records += 1
            writer.finish()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    wall = time.perf_counter() - mark
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"records": records, "wall_s_traced": wall, "tracemalloc_peak": peak, "python_peak_rss": _python_peak_rss()}


WORKERS = {"transactional": worker_transactional, "bulk": worker_bulk, "flat-transactional": worker_flat,
           "flat-bulk": worker_flat}


def _spawn(worker: str, release: Path, instance: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", worker, "--release", str(release),
               "--instance", str(instance), "--batch-size", str(args.batch_size), "--heap", args.heap,
               "--pagecache", args.pagecache, "--baseline-rows", str(args.baseline_rows)]
    mark = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"worker {worker} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - mark
    return result


# --- the run ------------------------------------------------------------------------------------------
def _release(folder: Path, size: SyntheticSize) -> dict[str, Any]:
    if not (folder / "Relations.txt").exists():
        write_synthetic_bios_release(folder, size)
    files = sorted(p for p in folder.iterdir() if p.suffix == ".txt")
    return {"folder": str(folder), "lines": sum(count_lines(p) for p in files),
            "bytes": sum(p.stat().st_size for p in files)}


def _mib(value: int | None) -> float | None:
    return round(value / MIB, 1) if value else None


def run(args: argparse.Namespace) -> dict[str, Any]:
    temporary = args.home is None
    base = Path(tempfile.mkdtemp(prefix="bios-bench-")) if temporary else args.home.resolve()
    base.mkdir(parents=True, exist_ok=True)
    size = SyntheticSize(args.concepts, args.terms, args.relations)
    try:
        print(f"generating the release in {base / 'release'}", file=sys.stderr)
        release = _release(base / "release", size)
        lines = release["lines"]
        print("transactional load (and the one-row-per-transaction baseline)", file=sys.stderr)
        tx = _spawn("transactional", base / "release", base / "instance-transactional", args)
        print("bulk load", file=sys.stderr)
        bulk = _spawn("bulk", base / "release", base / "instance-bulk", args)

        flat: list[dict[str, Any]] = []
        jobs: list[tuple[str, float, Path]] = []
        for factor in args.flat_factors:
            scaled = SyntheticSize(max(1, int(size.concepts * factor)), max(1, int(size.terms * factor)),
                                   int(size.relations * factor))
            folder = base / f"release-x{factor:g}"
            info = _release(folder, scaled)
            for worker in ("flat-transactional", "flat-bulk"):
                jobs.append((worker, factor, folder))
                flat.append({"path": worker.removeprefix("flat-"), "factor": factor, "lines": info["lines"]})
        print(f"memory-flat check ({len(jobs)} runs, two at a time, under tracemalloc)", file=sys.stderr)
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = list(pool.map(lambda job: _spawn(job[0], job[2], base / f"flat-{job[0]}-{job[1]:g}" / "x",
                                                         args), jobs))
        for entry, outcome in zip(flat, outcomes, strict=True):
            entry.update(records=outcome["records"], tracemalloc_peak_mib=_mib(outcome["tracemalloc_peak"]),
                         python_peak_rss_mib=_mib(outcome["python_peak_rss"]),
                         wall_s_traced=round(outcome["wall_s_traced"], 1))
    finally:
        if temporary:
            shutil.rmtree(base, ignore_errors=True)
        else:
            for instance in base.glob("instance-*"):
                shutil.rmtree(instance, ignore_errors=True)

    records = sum(tx["records"].values())
    baseline = tx.pop("baseline")
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "neo4j": NEO4J_VERSION,
                    "heap": args.heap, "pagecache": args.pagecache},
        "size": {"concepts": size.concepts, "terms": size.terms, "relations": size.relations},
        "release": {"lines": lines, "records": records, "mib": _mib(release["bytes"])},
        "baseline": {"rows": baseline["rows"], "wall_s": round(baseline["wall_s"], 2),
                     "rows_per_s": round(baseline["rows_per_s"], 1),
                     "extrapolated_wall_s": round(lines / baseline["rows_per_s"], 1)
                     if baseline["rows_per_s"] else None},
        "transactional": {"wall_s": round(tx["wall_s"], 2), "rows_per_s": round(lines / tx["wall_s"], 1),
                          "records_per_s": round(records / tx["wall_s"], 1), "batch_size": tx["batch_size"],
                          "python_peak_rss_mib": _mib(tx["python_peak_rss"]),
                          "server_peak_rss_mib": _mib(tx["server_peak_rss"]), "counts": tx["counts"]},
        "bulk": {"wall_s": round(bulk["wall_s"], 2), "rows_per_s": round(lines / bulk["wall_s"], 1),
                 "records_per_s": round(records / bulk["wall_s"], 1),
                 "phases_s": {k: round(v, 2) for k, v in bulk["phases"].items()},
                 # rows/s of the size-dependent work only: reading + CSV files + neo4j-admin import
                 "rows_per_s_files_and_import": round(lines / sum(bulk["phases"][k] for k in
                                                                  ("read", "sort_write", "import")), 1),
                 "python_peak_rss_mib": _mib(bulk["python_peak_rss"]),
                 "admin_peak_rss_mib": _mib(bulk["admin_peak_rss"]),
                 "admin_reported_peak": bulk["admin_reported_peak"],
                 "server_peak_rss_mib": _mib(bulk["server_peak_rss"]), "counts": bulk["counts"],
                 "csv_rows": bulk["imported"]},
        "same_counts": tx["counts"] == bulk["counts"] and tx["records"] == bulk["records"],
        "memory_flat": flat,
    }
    result["speedup"] = {
        "bulk_vs_transactional": round(result["bulk"]["rows_per_s"] / result["transactional"]["rows_per_s"], 2),
        "transactional_vs_baseline": round(result["transactional"]["rows_per_s"] / baseline["rows_per_s"], 1)
        if baseline["rows_per_s"] else None,
    }
    return result


def markdown(result: dict[str, Any]) -> str:
    lines_ = result["release"]["lines"]
    size = result["size"]
    rows = [
        (f"baseline (1 row/tx, first {result['baseline']['rows']:,} rows, extrapolated)",
         result["baseline"]["extrapolated_wall_s"], result["baseline"]["rows_per_s"], "", "", ""),
        (f"transactional (batch {result['transactional']['batch_size']})", result["transactional"]["wall_s"],
         result["transactional"]["rows_per_s"], result["transactional"]["python_peak_rss_mib"], "",
         result["transactional"]["server_peak_rss_mib"]),
        ("bulk (CSV + neo4j-admin import + restart + schema)", result["bulk"]["wall_s"], result["bulk"]["rows_per_s"],
         result["bulk"]["python_peak_rss_mib"], result["bulk"]["admin_peak_rss_mib"],
         result["bulk"]["server_peak_rss_mib"]),
    ]
    out = [f"Release: {size['concepts']:,} concepts, {size['terms']:,} terms, {size['relations']:,} relations "
           f"= {lines_:,} lines, {result['release']['records']:,} records ({result['release']['mib']} MiB); "
           f"{result['machine']['cpus']} CPUs, Neo4j {result['machine']['neo4j']}, heap {result['machine']['heap']}, "
           f"page cache {result['machine']['pagecache']}.", "",
           "| path | wall s | rows/s | Python peak RSS MiB | admin JVM peak RSS MiB | server JVM peak RSS MiB |",
           "|---|---:|---:|---:|---:|---:|"]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    phases = ", ".join(f"{k} {v}" for k, v in result["bulk"]["phases_s"].items())
    out += ["", f"Bulk phases (s): {phases}. Importer's own peak: {result['bulk']['admin_reported_peak']}.",
            f"Bulk rows/s counting only reading, CSV writing and the import (no server stop/start/schema): "
            f"{result['bulk']['rows_per_s_files_and_import']:,.0f}.",
            f"Bulk vs transactional: {result['speedup']['bulk_vs_transactional']}x; transactional vs baseline: "
            f"{result['speedup']['transactional_vs_baseline']}x. Same node/edge counts: {result['same_counts']}.", "",
            "Memory flat (no database, tracemalloc):", "",
            "| path | size factor | lines | tracemalloc peak MiB | peak RSS MiB |", "|---|---:|---:|---:|---:|"]
    out += [f"| {f['path']} | {f['factor']:g} | {f['lines']:,} | {f['tracemalloc_peak_mib']} | "
            f"{f['python_peak_rss_mib']} |" for f in result["memory_flat"]]
    return "\n".join(out) + "\n"


def _cell(value: object) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--concepts", type=int, default=100_000)
    parser.add_argument("--terms", type=int, default=250_000)
    parser.add_argument("--relations", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="transactional batch size")
    parser.add_argument("--baseline-rows", type=int, default=2000, help="rows of the one-row-per-transaction baseline")
    parser.add_argument("--flat-factors", type=lambda text: [float(x) for x in text.split(",")], default=[0.5, 2.0],
                        help="release sizes (times the main size) for the memory-flat check, e.g. 1,4")
    parser.add_argument("--heap", default="2g", help="Neo4j heap of the benchmark instances")
    parser.add_argument("--pagecache", default="1g", help="Neo4j page cache of the benchmark instances")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ingest.json")
    parser.add_argument("--home", type=Path, default=None,
                        help="folder for the release and the instances (default: a temporary folder, deleted)")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--release", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--instance", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        args.instance.parent.mkdir(parents=True, exist_ok=True)
        print(json.dumps(WORKERS[args.worker](args)))
        return
    result = run(args)
    table = markdown(result)
    write_results(result, args.out, table)
    print(table)
    print(f"saved {args.out} and {args.out.with_suffix('.md')}", file=sys.stderr)


if __name__ == "__main__":
    main()
