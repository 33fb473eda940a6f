# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Offline extractor benchmark: notes/s and memory over the Indiana University chest X-ray reports.

    python benchmarks/extract.py                       # the graph at bolt://127.0.0.1:7687, every report
    python benchmarks/extract.py --max-notes 500 --baseline-notes 10

A note is a report's FINDINGS and IMPRESSION joined by a blank line (reports with neither are left out), read
from the installed torchxrayvision package. Measured in one process, in this order:
- dictionary: building the offline extractor's Aho-Corasick dictionary from the graph's terms (seconds, keys,
  and the process's resident memory before and after);
- offline: OfflineExtractor.extract over every note in batches of --batch-size, no linking (notes/s);
- offline + linking: the same with the entities linked through the normalizer (exact + full text);
- baseline: a naive scan over the first --baseline-notes notes, one `str.find` per dictionary key per note on the
  case-folded text (no word boundaries, no rules), the approach the automaton replaces (notes/s).
Memory is the process's RSS and peak RSS (VmHWM, Linux /proc) after each stage. Results: --out (JSON) and a
Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import os
import platform
import time
from collections.abc import Callable, Sequence
from typing import Any

from bios_kg.apps.extract.evaluate import REPORT_FIELDS
from bios_kg.apps.extract.link import Linker
from bios_kg.apps.extract.offline import DictionaryConfig, OfflineExtractor, build_dictionary
from bios_kg.apps.normalize.normalizer import open_normalizer
from bios_kg.graph.results import process_memory_mib, write_results
from bios_kg.graph.runtime import NEO4J_VERSION
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.readers.iu_xray import read_reports

DEFAULT_URI = "bolt://127.0.0.1:7687"
DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "extract.json"


def report_notes(max_notes: int | None) -> list[str]:
    notes = []
    for report in read_reports():
        text = "\n\n".join(report.field(name) for name in REPORT_FIELDS if report.field(name))
        if text:
            notes.append(text)
        if max_notes is not None and len(notes) == max_notes:
            break
    return notes


def timed_run(notes: Sequence[str], run: Callable[[Sequence[str]], int], batch_size: int) -> dict[str, Any]:
    """Run over `notes` in batches; `run` returns the entities it found in a batch."""
    started = time.perf_counter()
    entities = sum(run(notes[start:start + batch_size]) for start in range(0, len(notes), batch_size))
    seconds = time.perf_counter() - started
    return {"notes": len(notes), "entities": entities, "seconds": round(seconds, 2),
            "notes_per_s": round(len(notes) / seconds, 1), "characters_per_s": round(sum(map(len, notes)) / seconds),
            **process_memory_mib()}


def naive_scan(keys: Sequence[str]) -> Callable[[Sequence[str]], int]:
    def run(texts: Sequence[str]) -> int:
        found = 0
        for text in texts:
            folded = text.casefold()
            found += sum(folded.find(key) >= 0 for key in keys)
        return found

    return run


def measure(args: argparse.Namespace) -> dict[str, Any]:
    notes = report_notes(args.max_notes)
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "neo4j": NEO4J_VERSION, "cpus": os.cpu_count()},
        "graph": args.uri, "notes": len(notes), "characters": sum(map(len, notes)), "batch_size": args.batch_size,
        "memory_before": process_memory_mib()}
    settings = Neo4jSettings(uri=args.uri, username=None, password=None, database="neo4j")
    with GraphStore.connect(settings) as store:
        started = time.perf_counter()
        dictionary = build_dictionary(store, DictionaryConfig())
        result["dictionary"] = {"seconds": round(time.perf_counter() - started, 2), "keys": len(dictionary.automaton),
                                "counts": dictionary.counts, **process_memory_mib()}
        extractor = OfflineExtractor(dictionary)
        result["offline"] = timed_run(
            notes, lambda batch: sum(len(x.entities) for x in extractor.extract(batch)), args.batch_size)
        linker = Linker(open_normalizer(store, vector=False))

        def extract_and_link(batch: Sequence[str]) -> int:
            entities = [entity for x in extractor.extract(batch) for entity in x.entities]
            linker.link(entities)
            return sum(entity.concept_id is not None for entity in entities)  # linked entities

        result["offline_linked"] = timed_run(notes, extract_and_link, args.batch_size)
        keys = list(map(str, dictionary.automaton.keys()))
        result["baseline_naive_find"] = timed_run(notes[:args.baseline_notes], naive_scan(keys), args.batch_size)
    return result


def markdown(result: dict[str, Any]) -> str:
    d = result["dictionary"]
    lines = [f"IU X-ray reports (FINDINGS + IMPRESSION): {result['notes']:,} notes, {result['characters']:,} "
             f"characters; graph {result['graph']}; {result['machine']['cpus']} CPUs.", "",
             f"Dictionary build: {d['seconds']} s, {d['keys']:,} keys; RSS {result['memory_before']['rss_mib']} -> "
             f"{d['rss_mib']} MiB.", "",
             "| run | notes | entities | seconds | notes/s | RSS MiB | peak RSS MiB |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    labels = {"offline": "offline extractor, no linking", "offline_linked": "offline + linking (entities linked)",
              "baseline_naive_find": "baseline: str.find per dictionary key (keys found)"}
    for name, label in labels.items():
        r = result[name]
        lines.append(f"| {label} | {r['notes']:,} | {r['entities']:,} | {r['seconds']} | {r['notes_per_s']:,} "
                     f"| {r['rss_mib']} | {r['peak_rss_mib']} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default=DEFAULT_URI, help="A graph with the sample loaded.")
    parser.add_argument("--max-notes", type=int, default=None, help="Only the first N notes (default: all).")
    parser.add_argument("--baseline-notes", type=int, default=20, help="Notes the naive baseline scans.")
    parser.add_argument("--batch-size", type=int, default=32, help="Notes per extract call.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if args.max_notes is not None and args.max_notes < 1:
        parser.error("--max-notes must be at least 1")
    if args.baseline_notes < 1 or args.batch_size < 1:
        parser.error("--baseline-notes and --batch-size must be at least 1")
    result = measure(args)
    json_path, table_path = write_results(result, args.out, markdown(result))
    print(markdown(result))
    print(f"wrote {json_path} and {table_path}")


if __name__ == "__main__":
    main()
