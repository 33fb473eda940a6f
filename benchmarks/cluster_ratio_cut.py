# ruff: noqa: E402  (imports follow the sys.path fix below)
"""The BIOS baseline's ratio cut as published (the authors' v2 code) against the corrected default, on the gold sets
of `bios eval cluster` (HPO English; ICD-10 English + Chinese; same sampling), over several sampling seeds and
encoders.

    NEO4J_URI=bolt://127.0.0.1:7688 python benchmarks/cluster_ratio_cut.py --max-concepts 2000 --seeds 0,1,2 \
        --model minilm --model bios-default

Prints and writes pairwise P/R/F1 and cluster counts per gold set, encoder and seed, and the mean F1 of each ratio
cut (--out JSON and a Markdown table beside it).
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
from bios_kg.embed.cluster.evaluate import gold_sets, pairwise_scores
from bios_kg.embed.encoders import load_encoder
from bios_kg.graph.results import write_results
from bios_kg.graph.store import GraphStore

CUTS = (("corrected (default)", BaselineConfig()),
        ("published (--published-ratio-cut)", replace(BaselineConfig(), published=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="Encoder (repeatable; default minilm).")
    parser.add_argument("--max-concepts", type=int, default=2000)
    parser.add_argument("--seeds", default="0", help="Comma-separated sampling seeds.")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cluster_ratio_cut.json"))
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    with GraphStore.connect() as store:
        sets = {seed: gold_sets(store, args.max_concepts, seed) for seed in seeds}
    runs: list[dict[str, Any]] = []
    for model in args.model or ["minilm"]:
        encoder = load_encoder(model, device="cpu", runtime="auto")
        for seed, golds in sets.items():
            for gold in golds:
                vectors = encoder.encode(gold.texts)
                lengths = np.array([len(norm) for norm in gold.norms])
                for cut, config in CUTS:
                    started = time.perf_counter()
                    result = baseline_cluster(vectors, lengths, config)
                    runs.append({"model": encoder.model_id, "gold": gold.name, "seed": seed, "cut": cut,
                                 "terms": len(gold.texts), **pairwise_scores(result.labels, gold.concepts),
                                 "clusters": result.clusters, "pre_clusters_cut": result.stats["pre_clusters_cut"],
                                 "seconds": round(time.perf_counter() - started, 2)})
                    print(runs[-1], flush=True)
    means = {}
    for key in sorted({(run["model"], run["gold"], run["cut"]) for run in runs}):
        f1 = [run["f1"] for run in runs if (run["model"], run["gold"], run["cut"]) == key]
        means[" / ".join(key)] = {"mean_f1": round(float(np.mean(f1)), 4), "sd_f1": round(float(np.std(f1)), 4),
                                  "seeds": len(f1)}
    report = {"max_concepts": args.max_concepts, "seeds": seeds, "runs": runs, "mean_f1": means}
    lines = [f"{args.max_concepts} concepts a gold set, sampling seeds {args.seeds}.", "",
             "| encoder | gold set | seed | ratio cut | precision | recall | F1 | clusters | pre-clusters cut |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['model']} | {r['gold']} | {r['seed']} | {r['cut']} | {r['precision']:.3f} | {r['recall']:.3f} | "
              f"{r['f1']:.3f} | {r['clusters']:,} | {r['pre_clusters_cut']:,} |" for r in runs]
    lines += ["", "| encoder / gold set / ratio cut | mean F1 | sd | seeds |", "|---|---:|---:|---:|"]
    lines += [f"| {key} | {m['mean_f1']:.3f} | {m['sd_f1']:.3f} | {m['seeds']} |" for key, m in means.items()]
    table = "\n".join(lines) + "\n"
    print(table)
    write_results(report, args.out, table)


if __name__ == "__main__":
    main()
