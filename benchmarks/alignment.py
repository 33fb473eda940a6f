# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Chinese rows initialised from English translations, before any training: ICD-10 zh -> en accuracy.

    python benchmarks/alignment.py                                  # the graph at bolt://127.0.0.1:7687

The ICD-10 Chinese -> English benchmark of `bios eval normalize` (same seed, split and queries), for base
MiniLM and for MiniLM after `Encoder.add_tokens` + `bios_kg.embed.alignment.align_character_embeddings` on the
Chinese–English name pairs of the training concepts (HPO + ICD-10, en + zh, held-out concepts excluded, as
`bios embed train-coder --add-tokens` does). No gradient step: the gain is the initialisation's alone.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import time
from typing import Any

from bios_kg.apps.normalize.evaluate import (
    DEFAULT_SEED,
    held_out_concepts,
    icd10_benchmark,
    rank_encoder,
    ranking_metrics,
)
from bios_kg.embed.alignment import align_character_embeddings, translation_pairs
from bios_kg.embed.coder.sampler import TrainingData
from bios_kg.embed.encoders import load_encoder
from bios_kg.graph.results import write_results
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore

HERE = Path(__file__).resolve().parent


def measure(args: argparse.Namespace) -> dict[str, Any]:
    settings = Neo4jSettings(uri=args.uri, username=None, password=None, database="neo4j")
    with GraphStore.connect(settings) as store:
        benchmark = icd10_benchmark(store, args.seed, args.queries)
        data = TrainingData.from_graph(store, ["en", "zh"], ["HPO", "ICD10"], held_out_concepts(store, args.seed))
    pairs = translation_pairs(data.strings_of(c) for c in range(len(data.concept_ids)))
    texts, gold = [q.text for q in benchmark.test], [q.gold for q in benchmark.test]
    encoder = load_encoder(args.model, device="cpu")
    runs = {}
    for name in ("base", "aligned"):
        started = time.perf_counter()
        if name == "aligned":
            added = encoder.add_tokens(data.texts)
            aligned = align_character_embeddings(encoder, pairs)
        ranking = rank_encoder(encoder, texts, benchmark.dictionary)
        runs[name] = {**ranking_metrics([[c for c, _ in found] for found in ranking], gold),
                      "seconds": round(time.perf_counter() - started, 1)}
    return {"model": args.model, "seed": args.seed, "pairs": len(pairs), "added_tokens": added,
            "aligned_tokens": aligned, "dictionary": len(benchmark.dictionary), "runs": runs}


def markdown(result: dict[str, Any]) -> str:
    lines = [f"ICD-10 Chinese -> English names, {result['runs']['base']['queries']} held-out queries (seed "
             f"{result['seed']}), {result['dictionary']:,} English names; {result['pairs']:,} Chinese–English name "
             f"pairs aligned {result['aligned_tokens']:,} characters ({result['added_tokens']:,} new tokens).", "",
             "| encoder | Acc@1 | Acc@5 | MRR | seconds |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {result['model']} {name} | {r['acc@1']:.3f} | {r['acc@5']:.3f} | {r['mrr']:.3f} | {r['seconds']} |"
              for name, r in result["runs"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default="bolt://127.0.0.1:7687", help="A graph with the sample loaded.")
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "alignment.json")
    args = parser.parse_args(argv)
    result = measure(args)
    table = markdown(result)
    write_results(result, args.out, table)
    print(table)


if __name__ == "__main__":
    main()
