# ruff: noqa: E402  (imports follow the sys.path fix below)
"""The BIOS baseline's ratio cut as published (the authors' v2 code) against the corrected default, on the HPO gold
set of `bios eval cluster` (same sampling), one encoder.

    NEO4J_URI=bolt://127.0.0.1:7688 python benchmarks/cluster_ratio_cut.py --max-concepts 2000

Prints and writes pairwise P/R/F1 and cluster counts (--out JSON and a Markdown table beside it).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import time
from dataclasses import replace
from typing import Any

import numpy as np

from bios_kg.embed.cluster.baseline import baseline_cluster
from bios_kg.embed.cluster.config import BaselineConfig
from bios_kg.embed.cluster.evaluate import gold_set, pairwise_scores
from bios_kg.embed.encoders import load_encoder
from bios_kg.graph.queries.evaluation import HPO_TERMS
from bios_kg.graph.results import write_results
from bios_kg.graph.store import GraphStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--max-concepts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cluster_ratio_cut.json"))
    args = parser.parse_args()
    with GraphStore.connect() as store:
        gold = gold_set("hpo", "HPO English preferred names + EXACT synonyms", store.run(HPO_TERMS),
                        args.max_concepts, args.seed)
    encoder = load_encoder(args.model, device="cpu", runtime="auto")
    vectors = encoder.encode(gold.texts)
    lengths = np.array([len(norm) for norm in gold.norms])
    rows: dict[str, Any] = {}
    for name, config in (("corrected (default)", BaselineConfig()),
                         ("published (--published-ratio-cut)", replace(BaselineConfig(), published=True))):
        started = time.perf_counter()
        result = baseline_cluster(vectors, lengths, config)
        rows[name] = {**pairwise_scores(result.labels, gold.concepts), "clusters": result.clusters,
                      "pre_clusters_cut": result.stats["pre_clusters_cut"],
                      "seconds": round(time.perf_counter() - started, 2)}
    report = {"model": encoder.model_id, "seed": args.seed, "max_concepts": args.max_concepts,
              "terms": len(gold.texts), "methods": rows}
    lines = [f"HPO gold set, seed {args.seed}, {args.max_concepts} concepts, {len(gold.texts)} terms, "
             f"{encoder.model_id}.", "", "| ratio cut | precision | recall | F1 | clusters | pre-clusters cut |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | {r['precision']:.3f} | {r['recall']:.3f} | {r['f1']:.3f} | {r['clusters']:,} | "
              f"{r['pre_clusters_cut']:,} |" for name, r in rows.items()]
    table = "\n".join(lines) + "\n"
    print(table)
    write_results(report, args.out, table)


if __name__ == "__main__":
    main()
