# ruff: noqa: E402  (imports follow the sys.path fix below)
"""SFT with NLL against DEFT on a model trained from scratch: loss, the gate α and p, speed, memory, and greedy
extraction F1 on held-out notes.

    python benchmarks/llm_sft.py                                    # CPU-sized defaults
    python benchmarks/llm_sft.py --device cuda --hidden 256 --layers 4 --steps 400 --batch-size 32

Task (synthetic, labelled exactly by construction, so no annotation is involved): a note of 1-3 chest X-ray
sentences built from findings × assertion (present / absent / possible) × modifier × side, and its GENIE-style JSON
(docs/algorithms/genie.md §3: the 8 keys, "null" / "not applicable" markers). Prompts go through the GENIE English
template. The model (bios_kg.apps.llm.scratch: byte-level BPE trained on the training notes, randomly initialised
Llama) starts from the same weights for each objective; each run is `train_sft` with the recipe of
docs/algorithms/deft.md §4 at the given lr.
Evaluation: greedy decoding on --eval held-out notes; a generation counts per (phrase, assertion_status,
body_location, modifier) entity — micro P/R/F1 — and as exact when its parsed list equals the target; and the
completion tokens of 100 training pairs that the model still gives p < 0.5 (what an objective leaves unlearnt).
Results: --out (JSON) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import platform
import random
import tempfile
import time
from typing import Any

import torch

from bios_kg.apps.llm.scratch import build_scratch_lm
from bios_kg.apps.llm.sft import train_sft
from bios_kg.embed.llm.local import TransformersBackend
from bios_kg.embed.llm.models import render_prompt
from bios_kg.graph.results import write_results

FINDINGS = ["pleural effusion", "pneumothorax", "consolidation", "atelectasis", "cardiomegaly", "pulmonary edema",
            "nodule", "opacity", "scarring", "hyperinflation"]
SIDES = ["left", "right", "bilateral"]
MODIFIERS = ["mild", "moderate", "small", "large"]
KEYS = ("phrase", "assertion_status", "body_location", "modifier")


def synthetic_note(rng: random.Random) -> tuple[str, str]:
    """One note and its GENIE-style JSON target."""
    sentences, entities = [], []
    for finding in rng.sample(FINDINGS, rng.randint(1, 3)):
        assertion = rng.choice(["present", "absent", "possible"])
        side = rng.choice([*SIDES, None]) if assertion != "absent" else None
        modifier = rng.choice([*MODIFIERS, None]) if assertion == "present" else None
        words = " ".join(w for w in (modifier, side, finding) if w)
        sentence = {"present": f"There is {words}.", "absent": f"No {finding}.",
                    "possible": f"Possible {words}."}[assertion]
        sentences.append(sentence)
        entities.append({"phrase": finding, "semantic_type": "Sign, Symptom, or Finding",
                         "assertion_status": assertion, "body_location": side or "null",
                         "modifier": modifier or "null", "value": "not applicable", "unit": "not applicable",
                         "purpose": "not applicable"})
    return " ".join(sentences), json.dumps(entities)


def entity_set(text: str) -> set[tuple[str, ...]] | None:
    try:
        rows = json.loads(text)
    except json.JSONDecodeError:
        return None
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        return None
    return {tuple(str(row.get(key)) for key in KEYS) for row in rows}


def stuck_tokens(backend: TransformersBackend, pairs: list[tuple[str, str]]) -> list[list[Any]]:
    """The completion tokens the model gets wrong most often (p < 0.5) on training pairs: [token, count, mean p]."""
    counts: dict[str, list[float]] = {}
    tokenizer = backend.tokenizer
    for note, target in pairs:
        prompt = tokenizer(render_prompt("genie-en", note))["input_ids"]
        completion = [*tokenizer(target, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
        ids = torch.tensor([prompt + completion], device=backend.device)
        with torch.inference_mode():
            logp = backend.lm(input_ids=ids).logits[0, :-1].float().log_softmax(-1)
        p = logp.gather(-1, ids[0, 1:, None]).squeeze(-1)[len(prompt) - 1:].exp().tolist()
        for token, value in zip(completion, p, strict=True):
            if value < 0.5:
                counts.setdefault(tokenizer.convert_ids_to_tokens(token), []).append(value)
    worst = sorted(counts.items(), key=lambda item: -len(item[1]))[:5]
    return [[token, len(values), round(sum(values) / len(values), 4)] for token, values in worst]


def evaluate(model: Path, notes: list[tuple[str, str]], train: list[tuple[str, str]], device: str) -> dict[str, Any]:
    backend = TransformersBackend(str(model), device=device, batch_size=64)
    generations = backend.generate([render_prompt("genie-en", note) for note, _ in notes], max_tokens=256)
    tp = fp = fn = exact = parsed = 0
    for generation, (_, target) in zip(generations, notes, strict=True):
        gold = entity_set(target) or set()
        got = entity_set(generation.text.strip())
        parsed += got is not None
        got = got or set()
        tp, fp, fn = tp + len(got & gold), fp + len(got - gold), fn + len(gold - got)
        exact += got == gold
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"entity_precision": round(precision, 4), "entity_recall": round(recall, 4), "entity_f1": round(f1, 4),
            "exact": round(exact / len(notes), 4), "parsed_json": round(parsed / len(notes), 4),
            "example": generations[0].text[:300], "stuck_tokens": stuck_tokens(backend, train[:100])}


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    train = [synthetic_note(rng) for _ in range(args.pairs)]
    held_out = [synthetic_note(rng) for _ in range(args.eval)]
    work = Path(tempfile.mkdtemp(prefix="bios-llm-sft-"))
    data = work / "pairs.jsonl"
    data.write_text("".join(json.dumps({"prompt": note, "completion": target}) + "\n" for note, target in train),
                    encoding="utf-8")
    base = build_scratch_lm(work / "base", [render_prompt("genie-en", n) + t for n, t in train],
                            vocab_size=args.vocab, hidden=args.hidden, layers=args.layers, heads=args.heads,
                            max_positions=512, seed=args.seed)
    params = sum(p.numel() for p in TransformersBackend(str(base), device="cpu").lm.parameters())
    runs = {}
    for loss in args.losses:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        started = time.perf_counter()
        report = train_sft(data, str(base), work / loss, loss=loss, steps=args.steps, batch_size=args.batch_size,
                           lr=args.lr, template="genie-en", seed=args.seed, device=args.device,
                           precision=args.precision, progress=False, checkpoint_every=args.steps)
        seconds = time.perf_counter() - started
        tokens = sum(row["tokens"] for row in report.log)
        runs[loss] = {**report.as_dict()["summary"], "train_seconds": round(seconds, 2),
                      "steps_per_second": round(args.steps / seconds, 2),
                      "trained_tokens_per_second": round(tokens / seconds, 1),
                      "peak_cuda_mib": round(torch.cuda.max_memory_allocated() / 2**20, 1)
                      if torch.cuda.is_available() else None,
                      **evaluate(work / loss, held_out, train, args.device)}
    return {"task": "synthetic chest X-ray notes -> GENIE JSON", "pairs": args.pairs, "eval": args.eval,
            "model": {"hidden": args.hidden, "layers": args.layers, "heads": args.heads, "vocab": args.vocab,
                      "parameters": params},
            "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "precision": args.precision,
            "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else
            f"cpu ({platform.machine()})",
            "torch": torch.__version__, "runs": runs}


def table(result: dict[str, Any]) -> str:
    model = result["model"]
    lines = [f"# SFT: NLL vs DEFT ({result['task']})", "",
             f"Model from scratch: Llama hidden {model['hidden']}, {model['layers']} layers, {model['parameters']:,} "
             f"parameters; {result['pairs']} training pairs, {result['steps']} steps × batch {result['batch_size']}, "
             f"lr {result['lr']}, precision {result['precision']}; {result['eval']} held-out notes, greedy; "
             f"device {result['device']}.", "",
             "| loss | loss first → last | mean α first → last 10% | mean p first → last 10% | entity F1 | exact | "
             "steps/s | trained tok/s | peak CUDA MiB |", "|---|---|---|---|---|---|---|---|---|"]
    for name, run in result["runs"].items():
        lines.append(f"| {name} | {run['loss_first']:.3f} → {run['loss_last']:.3f} | "
                     f"{run['alpha_mean_first_10pct']:.3f} → {run['alpha_mean_last_10pct']:.3f} | "
                     f"{run['p_mean_first_10pct']:.3f} → {run['p_mean_last_10pct']:.3f} | {run['entity_f1']:.3f} | "
                     f"{run['exact']:.3f} | {run['steps_per_second']} | {run['trained_tokens_per_second']} | "
                     f"{run['peak_cuda_mib']} |")
    lines.append("\nCompletion tokens with p < 0.5 on 100 training pairs (token, count, mean p):")
    lines += [f"- {name}: {run['stuck_tokens']}" for name, run in result["runs"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--eval", type=int, default=200)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=600)
    parser.add_argument("--losses", nargs="+", default=["nll", "deft"])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/llm_sft.json"))
    args = parser.parse_args(argv)
    if args.device == "cpu":
        torch.set_num_threads(1)
    result = run(args)
    text = table(result)
    print(text)
    write_results(result, args.out, text)


if __name__ == "__main__":
    main()
