# ruff: noqa: E402  (imports follow the sys.path fix below)
"""RAMM as released (`bios vqa train --published`) against the project's default, over several seeds.

    nice -n 10 python benchmarks/vqa_fidelity.py --work /work/.data/vqa-fidelity --seeds 0,1,2

One packaged-image VQA set (bios_kg.apps.vqa.build) and one ITC pretraining are shared; each seed fine-tunes the default
(V2 retrieval attention replacing the CLS state, CLOSED/OPEN heads with a type head, 2n hits per index without the
query's own image) and the published variant (cls + LN(cls + attn), one classifier, n + 1 hits with the top one
dropped), both with V2 and the same retrieval count, and evaluates them on the test split. Prints and writes
accuracy per seed and the mean (--out JSON and a Markdown table beside it).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import statistics
import time
from typing import Any

import torch

from bios_kg.apps.vqa.build import build_dataset
from bios_kg.apps.vqa.data import read_examples
from bios_kg.apps.vqa.model import ModelConfig
from bios_kg.apps.vqa.train import TrainArgs, VQAModel, evaluate, pretrain, train
from bios_kg.graph.results import write_results

VARIANTS = {"default": False, "published": True}
FIGURES = ("overall", "closed", "open")


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work)
    data = work / "data"
    if not (data / "train.json").is_file():
        build_dataset(data, images=args.images, size=64, seed=0)
    pre = work / "pre"
    pretrain(data / "pretrain.json", pre, ModelConfig(), TrainArgs(epochs=args.pretrain_epochs), device="cpu",
             progress=False)
    tests = read_examples(data / "test.json", test=True)
    rows: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in VARIANTS}
    for seed in args.seeds:
        for name, published in VARIANTS.items():
            out = work / f"{name}-seed{seed}"
            started = time.perf_counter()
            train(data / "train.json", out, pre, TrainArgs(epochs=args.epochs, seed=seed), fusion="v2",
                  retrieval_count=args.retrieval_count, device="cpu", progress=False, published=published)
            scores = evaluate(VQAModel(out), tests, progress=False)
            rows[name][seed] = {**{key: scores[key] for key in FIGURES},
                                "seconds": round(time.perf_counter() - started, 1)}
            print(name, seed, {key: rows[name][seed][key] for key in FIGURES}, flush=True)
    summary = {name: {key: round(statistics.mean(r[key] for r in runs.values()), 4) for key in FIGURES}
               for name, runs in rows.items()}
    return {"images": args.images, "epochs": args.epochs, "pretrain_epochs": args.pretrain_epochs,
            "retrieval_count": args.retrieval_count, "seeds": args.seeds, "test_questions": len(tests),
            "threads": torch.get_num_threads(), "runs": rows, "mean": summary}


def table(result: dict[str, Any]) -> str:
    lines = [f"{result['images']} images, {result['test_questions']} test questions; ITC {result['pretrain_epochs']} "
             f"epochs, fine-tuning {result['epochs']} epochs, V2 with {result['retrieval_count']} retrieved pairs; "
             f"seeds {', '.join(map(str, result['seeds']))}; CPU, {result['threads']} thread(s).", "",
             "| variant | seed | overall | closed | open | seconds |", "|---|---:|---:|---:|---:|---:|"]
    for name, runs in result["runs"].items():
        for seed, r in runs.items():
            lines.append(f"| {name} | {seed} | {r['overall']:.3f} | {r['closed']:.3f} | {r['open']:.3f} | "
                         f"{r['seconds']} |")
        mean = result["mean"][name]
        lines.append(f"| {name} | mean | {mean['overall']:.3f} | {mean['closed']:.3f} | {mean['open']:.3f} | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="Scratch folder (data, models).")
    parser.add_argument("--images", type=int, default=80)
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--retrieval-count", type=int, default=2)
    parser.add_argument("--seeds", type=lambda text: [int(x) for x in text.split(",")], default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/vqa_fidelity.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    result = run(args)
    text = table(result)
    print(text)
    write_results(result, args.out, text)


if __name__ == "__main__":
    main()
