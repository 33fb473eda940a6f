# ruff: noqa: E402  (imports follow the sys.path fix below)
"""How the offline extractor's time grows with note length: one note of 1k, 2k, 4k, 8k and 16k characters.

    python benchmarks/extract_scaling.py --uri bolt://127.0.0.1:7688

Each note is the Indiana University chest X-ray reports (FINDINGS + IMPRESSION, from the installed torchxrayvision
package) joined until it reaches the length, so entity density is that of real reports. The extractor runs on each
note --repeats times (best time kept), without linking; the baseline is the 2k note, and `ratio` is each note's
time over the 2k note's (linear growth: 8 for 16k). Results: --out (JSON) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import platform
import time
from typing import Any

from bios_kg.apps.extract.evaluate import REPORT_FIELDS
from bios_kg.apps.extract.offline import DictionaryConfig, OfflineExtractor, load_dictionary
from bios_kg.graph.results import write_results
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.readers.iu_xray import read_reports

DEFAULT_URI = "bolt://127.0.0.1:7687"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "extract_scaling.json"
LENGTHS = (1000, 2000, 4000, 8000, 16000)
BASELINE = 2000


def long_note(chars: int) -> str:
    """Reports joined by blank lines, cut to `chars` characters."""
    parts: list[str] = []
    total = 0
    for report in read_reports():
        text = "\n\n".join(report.field(name) for name in REPORT_FIELDS if report.field(name))
        if text:
            parts.append(text)
            total += len(text) + 2
        if total >= chars:
            break
    return "\n\n".join(parts)[:chars]


def measure(args: argparse.Namespace) -> dict[str, Any]:
    settings = Neo4jSettings(uri=args.uri, username=None, password=None, database="neo4j")
    with GraphStore.connect(settings) as store:
        extractor = OfflineExtractor(load_dictionary(store, DictionaryConfig()))
    rows = []
    for chars in args.lengths:
        note = long_note(chars)
        best, entities = float("inf"), 0
        for _ in range(args.repeats):
            started = time.perf_counter()
            entities = len(extractor.entities(note))
            best = min(best, time.perf_counter() - started)
        rows.append({"characters": len(note), "entities": entities, "seconds": round(best, 4)})
    base = next(row["seconds"] for row in rows if row["characters"] == BASELINE)
    for row in rows:
        row["ratio"] = round(row["seconds"] / base, 2)
    return {"machine": {"python": platform.python_version(), "cpus": os.cpu_count()}, "graph": args.uri,
            "label": args.label, "repeats": args.repeats, "baseline_characters": BASELINE, "notes": rows}


def markdown(result: dict[str, Any]) -> str:
    lines = [f"Offline extractor time by note length ({result['label']}; best of {result['repeats']}; graph "
             f"{result['graph']}; {result['machine']['cpus']} CPUs). ratio: time over the {BASELINE:,}-character "
             "note's (linear: 8 at 16k).", "", "| characters | entities | seconds | ratio |", "|---:|---:|---:|---:|"]
    lines += [f"| {r['characters']:,} | {r['entities']:,} | {r['seconds']} | {r['ratio']} |" for r in result["notes"]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default=DEFAULT_URI, help="A graph with the sample loaded.")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS), help="Note lengths (characters).")
    parser.add_argument("--repeats", type=int, default=3, help="Runs per note (the best is kept).")
    parser.add_argument("--label", default="current code", help="Names the run in the table (e.g. before/after).")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if BASELINE not in args.lengths or args.repeats < 1:
        parser.error(f"--lengths must include the {BASELINE}-character baseline; --repeats at least 1")
    result = measure(args)
    json_path, table_path = write_results(result, args.out, markdown(result))
    print(markdown(result))
    print(f"wrote {json_path} and {table_path}")


if __name__ == "__main__":
    main()
