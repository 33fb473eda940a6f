# ruff: noqa: E402  (imports follow the sys.path fix below)
"""The prefix registry of the ingest path (bios_kg.ingest.ids.registry): built from the bioregistry package (cold,
the baseline) against read back from its cache file under BIOS_HOME.

    python benchmarks/bioregistry_cache.py [--repeats 3]

Each measurement is a fresh Python process with its own BIOS_HOME (a temporary folder): it imports
bios_kg.ingest.ids, then times `registry()` and reads its memory (VmRSS, VmHWM) before and after. Cold: the folder
is empty, so the converter is built from the package and written to the cache file; cached: a second process over
the same folder reads that file. Both converters must hold the same prefix records. Per mode, the median of
--repeats runs. Results: --out (JSON) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
from importlib.metadata import version
from typing import Any

from bios_kg.graph.results import write_results

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "bioregistry_cache.json"
MODES = ("cold", "cached")
# One measurement, in a fresh process whose BIOS_HOME is argv[1].
PROBE = """
import hashlib, json, time
from bios_kg.graph.results import process_memory_mib
from bios_kg.ingest import ids
before = process_memory_mib()
started = time.perf_counter()
converter = ids.registry()
seconds = time.perf_counter() - started
after = process_memory_mib()
records = json.dumps(sorted(r.model_dump_json() for r in converter.records))
print(json.dumps({"seconds": seconds, "rss_before_mib": before["rss_mib"], "rss_after_mib": after["rss_mib"],
                  "peak_rss_mib": after["peak_rss_mib"], "records": len(converter.records),
                  "records_sha256": hashlib.sha256(records.encode()).hexdigest(),
                  "file": ids.registry_file().name}))
"""


def probe(home: Path) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-c", PROBE], env={**os.environ, "BIOS_HOME": str(home)},
                         capture_output=True, text=True, check=True)
    return json.loads(run.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def measure(repeats: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bioregistry-cache-") as home:
            for mode in MODES:  # the first process builds and writes the file, the second reads it
                runs[mode].append(probe(Path(home)))
    digests = {run["records_sha256"] for mode in MODES for run in runs[mode]}
    if len(digests) != 1:
        raise SystemExit("the cached converter's records differ from the built one's")
    summary = {mode: {key: round(statistics.median(run[key] for run in runs[mode]), 3)
                      for key in ("seconds", "rss_before_mib", "rss_after_mib", "peak_rss_mib")}
               for mode in MODES}
    return {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                        "load_average": os.getloadavg()},
            "bioregistry": version("bioregistry"), "curies": version("curies"), "repeats": repeats,
            "records": runs["cold"][0]["records"], "file": runs["cold"][0]["file"], "modes": summary, "runs": runs,
            "speedup": round(summary["cold"]["seconds"] / summary["cached"]["seconds"], 1)}


def markdown(result: dict[str, Any]) -> str:
    lines = [f"bioregistry {result['bioregistry']}, curies {result['curies']}: {result['records']} prefix records; "
             f"median of {result['repeats']} fresh processes per mode; load average at the end "
             f"{', '.join(f'{v:.2f}' for v in result['machine']['load_average'])} on {result['machine']['cpus']} CPUs.",
             "", "| registry() | seconds | RSS before MiB | RSS after MiB | RSS added MiB | peak RSS MiB |",
             "|---|---:|---:|---:|---:|---:|"]
    for mode, s in result["modes"].items():
        label = "cold: built from the package, file written" if mode == "cold" else f"cached: read {result['file']}"
        lines.append(f"| {label} | {s['seconds']} | {s['rss_before_mib']} | {s['rss_after_mib']} "
                     f"| {round(s['rss_after_mib'] - s['rss_before_mib'], 1)} | {s['peak_rss_mib']} |")
    lines += ["", f"Cached is {result['speedup']}x faster; both give the same records."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    result = measure(args.repeats)
    table = markdown(result)
    write_results(result, args.out, table)
    print(table)


if __name__ == "__main__":
    main()
