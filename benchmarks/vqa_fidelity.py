# ruff: noqa: E402  (imports follow the sys.path fix below)
"""RAMM as released (`bios vqa pretrain --published`, `bios vqa train --published`) against the project's default,
over several seeds.

    nice -n 10 python benchmarks/vqa_fidelity.py --work /work/.data/vqa-fidelity --seeds 0,1,2

One packaged-image VQA set (bios_kg.apps.vqa.build) and two pretrainings are shared: in-batch ITC (default) and
RAMM's ITC with momentum model and queues + ITM + MLM (published; --queue-size, RAMM's other sizes). Each seed
fine-tunes the default (V2 retrieval attention replacing the CLS state, CLOSED/OPEN heads with a type head, 2n hits
per index without the query's own image) from the ITC pretraining and the published variant (cls + LN(cls + attn),
one classifier, n + 1 hits with the top one dropped) from RAMM's; `--variants` adds published-finetune (the
published fine-tuning from the ITC pretraining, which separates the two). All with V2 and the same retrieval
count, evaluated on the test split. Prints and writes accuracy per seed and the mean (--out JSON and a Markdown
table beside it). Finished folders under --work are reused.
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
from bios_kg.apps.vqa.objectives import Objectives
from bios_kg.apps.vqa.train import TrainArgs, VQAModel, evaluate, pretrain, train
from bios_kg.graph.results import write_results

# variant -> (RAMM's pretraining, RAMM's fine-tuning)
VARIANTS = {"default": (False, False), "published": (True, True), "published-finetune": (False, True)}
FIGURES = ("overall", "closed", "open")


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(args.work)
    data = work / "data"
    if not (data / "train.json").is_file():
        build_dataset(data, images=args.images, size=64, seed=0)
    objectives = Objectives(queue_size=args.queue_size)
    pretrained: dict[bool, Any] = {}
    for published in sorted({VARIANTS[name][0] for name in args.variants}):
        folder = work / ("pre-published" if published else "pre")
        report = pretrain(data / "pretrain.json", folder, ModelConfig(published=published),
                          TrainArgs(epochs=args.pretrain_epochs), device="cpu", progress=False,
                          objectives=objectives if published else None)
        pretrained[published] = {"folder": folder, "seconds": report["seconds"], "last": report["log"][-1]}
        print("pretrain", "published" if published else "default", report["log"][-1], report["seconds"], "s",
              flush=True)
    tests = read_examples(data / "test.json", test=True)
    rows: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in args.variants}
    for seed in args.seeds:
        for name in args.variants:
            ramm_pretraining, published = VARIANTS[name]
            out = work / f"{name}-seed{seed}"
            started = time.perf_counter()
            train(data / "train.json", out, pretrained[ramm_pretraining]["folder"],
                  TrainArgs(epochs=args.epochs, seed=seed), fusion="v2",
                  retrieval_count=args.retrieval_count, device="cpu", progress=False, published=published)
            scores = evaluate(VQAModel(out), tests, progress=False)
            rows[name][seed] = {**{key: scores[key] for key in FIGURES},
                                "seconds": round(time.perf_counter() - started, 1)}
            print(name, seed, {key: rows[name][seed][key] for key in FIGURES}, flush=True)
    summary = {name: {key: round(statistics.mean(r[key] for r in runs.values()), 4) for key in FIGURES}
               for name, runs in rows.items()}
    return {"images": args.images, "epochs": args.epochs, "pretrain_epochs": args.pretrain_epochs,
            "objectives": objectives.as_dict(),
            "pretraining": {("published" if key else "default"): {"seconds": value["seconds"], "last": value["last"]}
                            for key, value in pretrained.items()},
            "retrieval_count": args.retrieval_count, "seeds": args.seeds, "test_questions": len(tests),
            "threads": torch.get_num_threads(), "runs": rows, "mean": summary}


def table(result: dict[str, Any]) -> str:
    sizes = result["objectives"]
    lines = [f"{result['images']} images, {result['test_questions']} test questions; pretraining "
             f"{result['pretrain_epochs']} epochs (default: in-batch ITC; published: RAMM's ITC + ITM + MLM, queue "
             f"{sizes['queue_size']}, momentum {sizes['momentum']}, alpha {sizes['alpha']}, MLM "
             f"{sizes['mlm_probability']}), fine-tuning {result['epochs']} epochs, V2 with "
             f"{result['retrieval_count']} retrieved pairs; seeds {', '.join(map(str, result['seeds']))}; CPU, "
             f"{result['threads']} thread(s). published-finetune: RAMM's fine-tuning from the ITC pretraining.", "",
             *(f"- pretraining {name}: {value['seconds']} s, last epoch {value['last']}"
               for name, value in result["pretraining"].items()), "",
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
    parser.add_argument("--variants", type=lambda text: text.split(","), default=["default", "published"],
                        help=f"Comma-separated, of {', '.join(VARIANTS)}.")
    parser.add_argument("--queue-size", type=int, default=64, help="RAMM's pretraining queue (RAMM: 65536; this "
                        "set has a few hundred pairs, so a queue below one epoch's pairs keeps a pair's stale "
                        "copies out of its own negatives).")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/vqa_fidelity.json"))
    args = parser.parse_args()
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variants {', '.join(unknown)} (known: {', '.join(VARIANTS)})")
    torch.set_num_threads(args.threads)
    result = run(args)
    text = table(result)
    print(text)
    write_results(result, args.out, text)


if __name__ == "__main__":
    main()
