# ruff: noqa: E402  (imports follow the sys.path fix below)
"""VQA device check: one ITC pretraining epoch and one fine-tuning epoch with retrieval, in images per second.

    python benchmarks/vqa_gpu_check.py                      # cuda when there is one
    python benchmarks/vqa_gpu_check.py --device cpu --images 40 --epochs 1

The data is the packaged-image VQA set (bios_kg.apps.vqa.build), rendered into a temporary folder unless --data names a
`bios vqa build-dataset` folder. The model is the CPU default unless the size options say otherwise (e.g.
--image-size 224 --patch-size 16 --vision-dim 384 --vision-layers 6 --hidden 768 on a GPU). Pretraining counts
images (one per caption pair); fine-tuning counts questions, each with its retrieved pairs' images too. Results:
--out (JSON) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import platform
import tempfile
import time
from typing import Any

import torch

from bios_kg.apps.vqa.build import build_dataset
from bios_kg.apps.vqa.model import ModelConfig
from bios_kg.apps.vqa.train import TrainArgs, pretrain, train
from bios_kg.embed.encoders import resolve_device
from bios_kg.graph.results import write_results


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    data = args.data
    if data is None:
        data = work / "data"
        build_dataset(data, images=args.images, size=max(args.image_size, 64), seed=0)
    device = str(resolve_device(args.device))
    config = ModelConfig(image_size=args.image_size, patch_size=args.patch_size, vision_dim=args.vision_dim,
                         vision_layers=args.vision_layers, hidden=args.hidden, retrieval_count=args.retrieval_count)
    train_args = TrainArgs(epochs=args.epochs, batch_size=args.batch_size)
    started = time.perf_counter()
    pre = pretrain(data / "pretrain.json", work / "pre", config, train_args, device=device, progress=False)
    fine = train(data / "train.json", work / "vqa", work / "pre", train_args, device=device, progress=False)
    return {"device": device, "gpu": torch.cuda.get_device_name() if device.startswith("cuda") else None,
            "host": platform.node(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "config": config.as_dict(), "epochs": args.epochs, "batch_size": args.batch_size,
            "pretrain": {"pairs": pre["pairs"], "seconds": pre["seconds"], "images_per_s": pre["images_per_s"]},
            "finetune": {"questions": fine["examples"], "seconds": fine["seconds"],
                         "questions_per_s": fine["examples_per_s"],
                         "images_per_s": round(fine["examples_per_s"] * (1 + args.retrieval_count), 1)},
            "wall_s": round(time.perf_counter() - started, 1)}


def table(result: dict[str, Any]) -> str:
    return "\n".join([
        f"# VQA device check ({result['device']}{', ' + result['gpu'] if result['gpu'] else ''}, "
        f"torch {result['torch']}, {result['threads']} CPU threads)", "",
        "| stage | items | seconds | images/s |", "|---|---|---|---|",
        f"| ITC pretraining ({result['epochs']} epoch) | {result['pretrain']['pairs']} pairs | "
        f"{result['pretrain']['seconds']} | {result['pretrain']['images_per_s']} |",
        f"| fine-tuning, {result['config']['retrieval_count']} retrieved pairs ({result['epochs']} epoch) | "
        f"{result['finetune']['questions']} questions | {result['finetune']['seconds']} | "
        f"{result['finetune']['images_per_s']} |", ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda ...")
    parser.add_argument("--data", type=Path, help="a `bios vqa build-dataset` folder (default: render one)")
    parser.add_argument("--images", type=int, default=160, help="images to render without --data")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--patch-size", type=int, default=8)
    parser.add_argument("--vision-dim", type=int, default=128)
    parser.add_argument("--vision-layers", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--retrieval-count", type=int, default=2)
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/vqa_gpu_check.json"))
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory(prefix="bios-vqa-check-") as work:
        result = measure(args, Path(work))
    text = table(result)
    write_results(result, args.out, text)
    print(text)


if __name__ == "__main__":
    main()
