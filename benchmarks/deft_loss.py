# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Cost of the token objectives at LLM vocabulary size: forward + backward time and peak memory of
bios_kg.apps.llm.deft.token_loss (nll, deft, cayley) against the repository's DEFT form (softmax(z).pow(2).sum), and
how far
the two DEFT forms agree.

    python benchmarks/deft_loss.py --device cuda                    # 8192 tokens × 152,064 (Qwen2.5 vocabulary)
    python benchmarks/deft_loss.py --tokens 256 --vocab 32000       # CPU-sized

Logits are random bf16 (scale 4) with 90% of the tokens in the loss mask; every figure is the median of --repeat
timed runs after one warm-up. Results: --out (JSON) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import torch

from bios_kg.apps.llm.deft import token_loss
from bios_kg.graph.results import write_results


def softmax_deft(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """luludus/DEFT's form: a second fp32 [N, V] probability tensor for Σπ²."""
    logp = torch.log_softmax(logits.float(), -1).gather(-1, labels[:, None]).squeeze(-1)
    alpha = torch.softmax(logits.float(), -1).pow(2).sum(-1).detach()
    tok = -(torch.exp(alpha * logp) - 1) / (alpha + 1e-6)
    return (tok * mask).sum() / mask.sum()


def measure(fn: Callable[[torch.Tensor], torch.Tensor], logits: torch.Tensor, repeat: int) -> dict[str, float]:
    cuda = logits.device.type == "cuda"
    times = []
    for run in range(repeat + 1):
        z = logits.detach().clone().requires_grad_(True)
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        started = time.perf_counter()
        loss = fn(z)
        loss.backward()
        if cuda:
            torch.cuda.synchronize()
        if run:
            times.append(time.perf_counter() - started)
    peak = (torch.cuda.max_memory_allocated() - base) / 2**20 if cuda else float("nan")
    return {"ms": round(1000 * statistics.median(times), 2), "peak_extra_mib": round(peak, 1), "loss": loss.item()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    device = torch.device(args.device)
    generator = torch.Generator(device=device).manual_seed(0)
    logits = (torch.randn(args.tokens, args.vocab, generator=generator, device=device) * 4).to(torch.bfloat16)
    labels = torch.randint(0, args.vocab, (args.tokens,), generator=generator, device=device)
    mask = (torch.rand(args.tokens, generator=generator, device=device) < 0.9).long()

    def objective(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
        return lambda z: token_loss(z, labels, mask, name).loss

    rows = {name: measure(objective(name), logits, args.repeat) for name in ("nll", "deft", "cayley")}
    rows["deft (softmax form)"] = measure(lambda z: softmax_deft(z, labels, mask), logits, args.repeat)
    difference = abs(rows["deft"]["loss"] - rows["deft (softmax form)"]["loss"]) / abs(rows["deft"]["loss"])
    return {"tokens": args.tokens, "vocab": args.vocab, "dtype": "bfloat16", "repeat": args.repeat,
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
            "torch": torch.__version__, "objectives": rows, "deft_forms_relative_difference": difference}


def table(result: dict[str, Any]) -> str:
    lines = [f"# Token objective cost: {result['tokens']} tokens × {result['vocab']:,} vocabulary, bf16 logits, "
             f"{result['device']}", "", "| objective | forward + backward ms | peak extra MiB | loss |",
             "|---|---|---|---|"]
    for name, row in result["objectives"].items():
        lines.append(f"| {name} | {row['ms']} | {row['peak_extra_mib']} | {row['loss']:.6f} |")
    lines.append(f"\nDEFT logsumexp form vs softmax form: relative difference "
                 f"{result['deft_forms_relative_difference']:.2e}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=8192)
    parser.add_argument("--vocab", type=int, default=152064)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/deft_loss.json"))
    args = parser.parse_args(argv)
    result = run(args)
    text = table(result)
    print(text)
    write_results(result, args.out, text)


if __name__ == "__main__":
    main()
