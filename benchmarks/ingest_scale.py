# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Ingest at BIOS v2 size: generate a BIOS-v2-shaped release, bulk-load it into an empty instance,
then load a second release changing 1 % of it transactionally, twice (the second load must change
nothing), with the sample-size release measured the same way in the same run as the baseline.

    python benchmarks/ingest_scale.py --preset bios-v2 --home /work/.data/scale/neo4j-big \
        --release /work/.data/scale/bios-v2 --out benchmarks/results/ingest_scale.json
    python benchmarks/ingest_scale.py --concepts 1000000 --home /tmp/quarter --release /tmp/quarter-release

The instance in --home is started (with --heap/--pagecache) when it is not running, and must be
empty unless --bulk-report names the JSON report (`bios ingest bios … --bulk --json`) of the bulk
load that filled it from the same release: then the bulk phase is not run again and its figures are
taken from that report. Phases of the bulk load: prepare, read (reader + CSV writer), sort_write,
stop_wait, import (neo4j-admin), check, start_schema_source (restart, constraints and indexes online,
Source node). Lines are the release's non-empty lines.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import platform
import resource
import subprocess
import time
from typing import Any

from bios_kg.graph.results import write_results
from bios_kg.graph.runtime import NEO4J_VERSION, LocalNeo4j, ServerOptions, free_port
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.bulk import available_memory, bulk_load
from bios_kg.ingest.loader import load_source
from bios_kg.ingest.progress import count_lines
from bios_kg.ingest.readers import READERS
from bios_kg.ingest.synthetic import PRESETS, SyntheticSize, write_change_release, write_synthetic_bios_release

HERE = Path(__file__).resolve().parent


def _lines(folder: Path) -> int:
    return sum(count_lines(path) for path in folder.glob("*.txt"))


def _store(instance: LocalNeo4j) -> GraphStore:
    uri = instance.status().uri
    assert uri, f"Neo4j in {instance.home} is not running"
    return GraphStore.connect(Neo4jSettings(uri=uri, username=None, password=None, database="neo4j"))


def _counts(store: GraphStore) -> dict[str, int]:
    """Node and edge counts from the count store (constant time at any size)."""
    counts = {row["label"]: store.count(f"MATCH (n:`{row['label']}`) RETURN count(n) AS n")
              for row in store.run("CALL db.labels() YIELD label RETURN label")}
    counts["relationships"] = store.count("MATCH ()-[r]->() RETURN count(r) AS n")
    counts["obsolete"] = store.count("MATCH (c:Concept) WHERE c.obsolete RETURN count(c) AS n")
    return counts


def _generate(folder: Path, size: SyntheticSize, changes: Path | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    if changes is not None:
        written = write_change_release(folder, changes, size)
        folder = changes
    elif not (folder / "Relations.txt").exists():
        written = write_synthetic_bios_release(folder, size)
    else:
        return {"folder": str(folder), "lines": _lines(folder), "generated_s": None}
    return {"folder": str(folder), "lines": _lines(folder), "generated_s": round(time.perf_counter() - started, 1),
            **written}


def measure(size: SyntheticSize, release: Path, home: Path, options: ServerOptions,
            bulk_report: Path | None) -> dict[str, Any]:
    """Generate (if needed), bulk-load (unless reported), and load the 1 % change release twice."""
    result: dict[str, Any] = {"size": vars(size), "release": _generate(release, size)}
    instance = LocalNeo4j(home)
    if not instance.status().running:
        instance.start(options)
    result["server"] = {"heap": options.heap, "pagecache": options.pagecache}
    lines = result["release"]["lines"]
    if bulk_report is not None:
        report = json.loads(bulk_report.read_text())
        result["bulk"] = {**report, "from": str(bulk_report)}
    else:
        result["available_before_bulk"] = f"{available_memory() / (1 << 30):.1f}G"
        report = bulk_load(READERS.get("bios")(release, version=release.name), instance, progress=False).as_dict()
        result["bulk"] = report
    result["bulk"]["lines_per_s"] = round(lines / float(report["seconds"]), 1)
    with _store(instance) as store:
        result["counts_after_bulk"] = _counts(store)
        changes = release.parent / f"{release.name}-changes"
        result["change_release"] = _generate(release, size, changes)
        loads = []
        for attempt in ("first", "again"):
            reader = READERS.get("bios")(changes, version=changes.name)
            started = time.perf_counter()
            load = load_source(reader, store, progress=False, force=attempt == "again")
            seconds = time.perf_counter() - started
            loads.append({"attempt": attempt, "seconds": round(seconds, 2),
                          "records": sum(load.records.values()),
                          "rows_per_s": round(result["change_release"]["lines"] / seconds, 1),
                          "counts": _counts(store)})
        result["change_loads"] = loads
        result["idempotent"] = loads[0]["counts"] == loads[1]["counts"]
    return result


_CPU_SNIPPET = """
import json, resource, shutil, sys, tempfile, time
from pathlib import Path
from bios_kg.ingest.bulk import BulkLoadReport, _write_files
from bios_kg.ingest.loader import RejectsWriter
from bios_kg.ingest.readers import READERS
reader = READERS.get("bios")(Path(sys.argv[1]))
source = reader.source()
out = Path(tempfile.mkdtemp())
report = BulkLoadReport(source.id, source.version)
started = time.process_time()
_write_files(reader, source, out, "stop", RejectsWriter(reader.root, None), report, False, 100000)
print(json.dumps({"cpu_s": time.process_time() - started,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
shutil.rmtree(out)
"""


def python_cpu(release: Path, trees: dict[str, Path]) -> dict[str, Any]:
    """CPU seconds of the bulk path's Python side (reader -> CSVs, sort included) per code tree, each in
    its own process: CPU time, not wall time, so that other jobs on the machine do not count."""
    lines = _lines(release)
    result: dict[str, Any] = {"release": str(release), "lines": lines}
    for name, tree in trees.items():
        done = subprocess.run([sys.executable, "-c", _CPU_SNIPPET, str(release)], capture_output=True, text=True,
                              check=True, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)})
        figures = json.loads(done.stdout.strip().splitlines()[-1])
        result[name] = {**figures, "lines_per_cpu_s": round(lines / figures["cpu_s"])}
    return result


def markdown(result: dict[str, Any]) -> str:
    bulk = result["bulk"]
    phases = ", ".join(f"{name} {seconds:.1f}" for name, seconds in bulk["phases"].items())
    memory = ", ".join(f"{key} {value}" for key, value in bulk.get("memory", {}).items())
    counts = result["counts_after_bulk"]
    rows = [
        f"Release: {result['release']['lines']:,} lines ({result['size']['concepts']:,} concepts); "
        f"{result['machine']}. Measured on a shared machine while other jobs ran (load average in the results).",
        "",
        "| step | wall s | lines or rows/s |",
        "|---|---:|---:|",
        f"| bulk load, end to end | {bulk['seconds']:,.1f} | {bulk['lines_per_s']:,.0f} |",
    ]
    for load in result["change_loads"]:
        rows.append(f"| 1 % change release, transactional ({load['attempt']}) | {load['seconds']:,.1f} | "
                    f"{load['rows_per_s']:,.0f} |")
    rows += ["", f"Bulk phases (s): {phases}.", f"Memory: {memory}.",
             f"Graph: {counts.get('Concept', 0):,} concepts, {counts.get('Term', 0):,} terms, "
             f"{counts['relationships']:,} relationships. Change release loaded twice gives the same counts: "
             f"{result['idempotent']}.", ""]
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concepts", type=int, default=1_000_000)
    parser.add_argument("--preset", choices=sorted(PRESETS), help="a named size instead of --concepts")
    parser.add_argument("--release", type=Path, required=True, help="release folder (generated when missing)")
    parser.add_argument("--home", type=Path, required=True, help="instance folder (empty database unless "
                                                                  "--bulk-report)")
    parser.add_argument("--bulk-report", type=Path, help="JSON report of the bulk load that filled --home")
    parser.add_argument("--heap", default="3g")
    parser.add_argument("--pagecache", default="4g")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ingest_scale.json")
    parser.add_argument("--cpu-baseline", type=Path, help="only compare the bulk path's Python CPU time on "
                        "--release between this code tree (e.g. an older `git archive`) and this one")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.cpu_baseline:
        cpu = python_cpu(args.release, {"baseline": args.cpu_baseline, "this": HERE.parent})
        cpu["speedup"] = round(cpu["baseline"]["cpu_s"] / cpu["this"]["cpu_s"], 2)
        cpu["load_average"] = os.getloadavg()
        table = (f"Bulk path, Python side, {cpu['lines']:,} lines: baseline {cpu['baseline']['cpu_s']:.1f} CPU s "
                 f"({cpu['baseline']['lines_per_cpu_s']:,} lines/CPU s), this {cpu['this']['cpu_s']:.1f} CPU s "
                 f"({cpu['this']['lines_per_cpu_s']:,} lines/CPU s): {cpu['speedup']}x.\n")
        print(table)
        write_results(cpu, args.out.with_name("ingest_python_cpu.json"), table)
        return
    size = PRESETS[args.preset] if args.preset else SyntheticSize.bios_v2_shaped(args.concepts)
    options = ServerOptions(bolt_port=free_port(), http=False, heap=args.heap, pagecache=args.pagecache)
    started = time.perf_counter()
    result = measure(size, args.release, args.home, options, args.bulk_report)
    result["machine"] = (f"{os.cpu_count()} CPUs, {available_memory() / (1 << 30):.1f} GiB available at the end, "
                         f"Neo4j {NEO4J_VERSION}, Python {platform.python_version()}")
    result["load_average"] = os.getloadavg()
    result["python_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    result["wall_s"] = round(time.perf_counter() - started, 1)
    table = markdown(result)
    print(table)
    write_results(result, args.out, table)


if __name__ == "__main__":
    main()
