"""Supervised fine-tuning of a causal LM on prompt → completion pairs (e.g. note → GENIE JSON), with the token
objective selectable between NLL, DEFT and the rest of the family in docs/algorithms/deft.md §2.4
(bios_kg.apps.llm.deft): `train_sft`.

Data: JSON lines, one pair per line, `{"prompt": "<text>", "completion": "<text>"}` (strings; the completion not
empty). With `template` (a model registry key such as `genie-en`) each prompt is first rendered with
models.render_prompt, so the raw note can be stored and the model's exact template is applied. A bad line is an
InputError naming the file and line.

Tokens: the prompt with the tokenizer's special tokens, then the completion and an EOS. The loss covers the
completion tokens and that EOS only (the prompt is context). A pair longer than `max_length` keeps its prompt and a
truncated completion; a prompt that leaves no room is an error.

Recipe (docs/algorithms/deft.md §4): AdamW β = (0.9, 0.95), weight decay 0.01, gradient clip 1.0, cosine schedule with
warmup ratio 0.1, an update skipped when the gradient norm is not finite; bf16 autocast on a GPU that has it
(`precision`) with the loss math in fp32. A step is one optimizer update over `grad_accum` micro-batches of
`batch_size` pairs, drawn in a seeded random order per epoch; `steps` defaults to one epoch.

What `out/` holds:
- the fine-tuned model and tokenizer in Hugging Face format, and sft.json (base, arguments, data summary and
  fingerprint, steps, loss and the paper's diagnostics: mean α and mean p);
- train_log.jsonl: one line per step (step, loss, alpha, p, tokens, lr, grad_norm, ms, skipped);
- checkpoints/step-N/ (model/ and trainer.pt with optimizer, scheduler, RNG states, step and log), the newest
  two kept, each written to a .tmp folder and renamed. A run on an `out/` with a checkpoint resumes from the
  newest one when the arguments and the data file are the same, and continues the same batch order: on CPU it
  ends with the same weights as an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, get_args

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import AutoModelForCausalLM, AutoTokenizer, get_cosine_schedule_with_warmup

from bios_kg.apps.llm.deft import parse_objective, token_loss
from bios_kg.embed.checkpoints import (
    check_resumable,
    latest_checkpoint,
    load_state,
    rng_state,
    set_rng_state,
    write_checkpoint,
)
from bios_kg.embed.encoders import resolve_device
from bios_kg.embed.llm.models import model_entry, render_prompt
from bios_kg.graph.errors import ConfigError, InputError, ParameterError
from bios_kg.ingest.jsonl import json_objects

BETAS, MAX_GRAD_NORM = (0.9, 0.95), 1.0
LOG_FILE, RECORD_FILE = "train_log.jsonl", "sft.json"
Precision = Literal["auto", "fp32", "bf16"]
StepCallback = Callable[[int, dict[str, float]], None]


@dataclass(frozen=True)
class Pair:
    prompt: str
    completion: str
    line: int


@dataclass(frozen=True)
class SFTConfig:
    """The arguments that define a run (a checkpoint resumes only under the same ones)."""

    base: str
    loss: str = "deft"
    steps: int = 0  # 0: one epoch
    batch_size: int = 8
    grad_accum: int = 1
    lr: float = 5e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 1024
    template: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        parse_objective(self.loss)
        for name in ("batch_size", "grad_accum", "max_length"):
            if getattr(self, name) < 1:
                raise ParameterError(name, f"{getattr(self, name)} is not a positive integer")
        if self.steps < 0:
            raise ParameterError("steps", f"{self.steps} is negative")
        if not self.lr > 0:
            raise ParameterError("lr", f"{self.lr} is not positive")
        if not 0 <= self.warmup_ratio < 1:
            raise ParameterError("warmup_ratio", f"{self.warmup_ratio} is not in [0, 1)")
        if self.weight_decay < 0:
            raise ParameterError("weight_decay", f"{self.weight_decay} is negative")
        if self.template is not None:
            model_entry(self.template)


@dataclass
class SFTReport:
    out: Path
    steps: int  # optimizer steps done, over all runs on this out/
    resumed_from: int  # the checkpoint step this run started from (0: a fresh run)
    log: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    data: dict[str, int] = field(default_factory=dict)

    @property
    def losses(self) -> list[float]:
        return [row["loss"] for row in self.log]

    def as_dict(self) -> dict[str, Any]:
        done = self.steps - self.resumed_from
        return {"out": str(self.out), "steps": self.steps, "resumed_from": self.resumed_from,
                "seconds": round(self.seconds, 3),
                "steps_per_second": round(done / self.seconds, 4) if self.seconds else 0.0,
                "data": self.data, "summary": _summary(self.log)}


def read_pairs(path: Path) -> list[Pair]:
    """The pairs of a JSON-lines file (module docstring); InputError naming the line of a bad one."""
    pairs = []
    for number, row in json_objects(path, '{"prompt": "…", "completion": "…"}'):
        for key in ("prompt", "completion"):
            if not isinstance(row.get(key), str):
                raise InputError(str(path), number, f"field {key!r} is missing or not a string")
        if not row["completion"]:
            raise InputError(str(path), number, "field 'completion' is empty")
        pairs.append(Pair(row["prompt"], row["completion"], number))
    if not pairs:
        raise InputError(str(path), None, "no prompt/completion pairs")
    return pairs


@dataclass(frozen=True)
class Example:
    ids: list[int]
    prompt_tokens: int  # positions before this one are context; the rest are trained
    truncated: bool


def encode(tokenizer: Any, pair: Pair, max_length: int, template: str | None, source: str) -> Example:
    """The token ids of one pair and where its completion starts (module docstring)."""
    prompt = render_prompt(template, pair.prompt) if template else pair.prompt
    prompt_ids = list(tokenizer(prompt, add_special_tokens=True)["input_ids"])
    if len(prompt_ids) >= max_length:
        raise InputError(source, pair.line, f"the prompt is {len(prompt_ids)} tokens, leaving no room for the "
                         f"completion within max_length {max_length}")
    completion_ids = [*tokenizer(pair.completion, add_special_tokens=False)["input_ids"], tokenizer.eos_token_id]
    room = max_length - len(prompt_ids)
    return Example(prompt_ids + completion_ids[:room], len(prompt_ids), len(completion_ids) > room)


def collate(examples: list[Example], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded input ids, attention mask, and the loss mask of the completion tokens."""
    width = max(len(example.ids) for example in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    attention = torch.zeros_like(ids)
    trained = torch.zeros_like(ids)
    for row, example in enumerate(examples):
        ids[row, :len(example.ids)] = torch.tensor(example.ids)
        attention[row, :len(example.ids)] = 1
        trained[row, example.prompt_tokens:len(example.ids)] = 1
    return {"input_ids": ids, "attention_mask": attention, "loss_mask": trained}


def train_sft(data: Path, base: str, out: Path, loss: str = "deft", steps: int = 0, batch_size: int = 8,
              grad_accum: int = 1, lr: float = 5e-5, warmup_ratio: float = 0.1, weight_decay: float = 0.01,
              max_length: int = 1024, template: str | None = None, seed: int = 0, device: str = "auto",
              precision: Precision = "auto", checkpoint_every: int = 100, progress: bool = True,
              on_step: StepCallback | None = None) -> SFTReport:
    """Fine-tune `base` on the pairs in `data` into `out` (module docstring); resumes from out's checkpoints."""
    if checkpoint_every < 1:
        raise ParameterError("checkpoint_every", f"{checkpoint_every} is not a positive integer")
    if precision not in get_args(Precision):
        raise ParameterError("precision", f"{precision!r} is not one of {', '.join(get_args(Precision))}")
    config = SFTConfig(base=str(base), loss=loss, steps=steps, batch_size=batch_size, grad_accum=grad_accum, lr=lr,
                       warmup_ratio=warmup_ratio, weight_decay=weight_decay, max_length=max_length,
                       template=template, seed=seed)
    pairs = read_pairs(Path(data))
    per_epoch = math.ceil(len(pairs) / batch_size)  # micro-batches
    if not config.steps:
        config = replace(config, steps=math.ceil(per_epoch / grad_accum))
    objective = parse_objective(config.loss)
    out = Path(out)
    fingerprint = hashlib.sha256(Path(data).read_bytes()).hexdigest()
    checkpoint = latest_checkpoint(out)
    state: dict[str, Any] = {}
    if checkpoint is not None:
        state = load_state(checkpoint)
        check_resumable(checkpoint, state, asdict(config), fingerprint, "the data file")
    source = str(checkpoint / "model") if checkpoint is not None else config.base
    torch_device = resolve_device(device)
    try:
        tokenizer: Any = AutoTokenizer.from_pretrained(source)
        model: Any = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{source}: cannot load a causal LM and tokenizer: {exc}") from exc
    if tokenizer.eos_token_id is None:
        raise ConfigError(f"{source}: the tokenizer has no EOS token to end completions with")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    examples = [encode(tokenizer, pair, config.max_length, config.template, str(data)) for pair in pairs]
    summary = {"pairs": len(examples), "tokens": sum(len(e.ids) for e in examples),
               "completion_tokens": sum(len(e.ids) - e.prompt_tokens for e in examples),
               "truncated": sum(e.truncated for e in examples)}
    model.to(torch_device).train()
    if not state:
        torch.manual_seed(config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=BETAS, weight_decay=config.weight_decay)
    scheduler = get_cosine_schedule_with_warmup(optimizer, int(config.steps * config.warmup_ratio), config.steps)
    report = SFTReport(out, 0, 0, data=summary)
    if state:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        report.resumed_from = report.steps = int(state["step"])
        report.log = list(state["log"])
    autocast = _autocast(precision, torch_device)

    def micro_batch(index: int) -> dict[str, torch.Tensor]:
        epoch, position = divmod(index, per_epoch)
        order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(config.seed + epoch))
        chosen = order[position * config.batch_size:(position + 1) * config.batch_size].tolist()
        return {key: value.to(torch_device) for key, value in collate([examples[i] for i in chosen], pad_id).items()}

    started = time.perf_counter()
    columns = (TextColumn("[bold]sft[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task(objective.name, total=config.steps, completed=report.steps)
        while report.steps < config.steps:
            tick = time.perf_counter()
            totals = {"loss": 0.0, "alpha": 0.0, "p": 0.0, "tokens": 0.0}
            for part in range(config.grad_accum):
                batch = micro_batch(report.steps * config.grad_accum + part)
                with autocast:
                    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
                result = token_loss(logits[:, :-1], batch["input_ids"][:, 1:], batch["loss_mask"][:, 1:], objective)
                (result.loss / config.grad_accum).backward()
                for key, value in (("loss", result.loss), ("alpha", result.alpha), ("p", result.p)):
                    totals[key] += value.item() / config.grad_accum
                totals["tokens"] += result.tokens.item()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), MAX_GRAD_NORM)
            skipped = not torch.isfinite(grad_norm)
            if not skipped:
                optimizer.step()
            lr_now = scheduler.get_last_lr()[0]
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            report.steps += 1
            row = {"step": report.steps, **totals, "lr": lr_now, "grad_norm": float(grad_norm),
                   "ms": round(1000 * (time.perf_counter() - tick), 1), "skipped": float(skipped)}
            report.log.append(row)
            bar.update(task, completed=report.steps,
                       description=f"{objective.name} loss {row['loss']:.4f} α {row['alpha']:.3f} p {row['p']:.3f}")
            if report.steps % checkpoint_every == 0 or report.steps == config.steps:
                write_checkpoint(out, report.steps, lambda folder: _save(folder, model, tokenizer), {
                    "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng_state(),
                    "step": report.steps, "log": report.log, "config": asdict(config), "fingerprint": fingerprint})
            if on_step is not None:
                on_step(report.steps, row)
    report.seconds = time.perf_counter() - started
    _write_final(out, model, tokenizer, config, report, fingerprint)
    return report


def _autocast(precision: Precision, device: torch.device) -> Any:
    """bf16 autocast on a GPU that supports it (auto) or when asked; nothing otherwise."""
    bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda" and torch.cuda.is_bf16_supported())
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16) if bf16 else nullcontext()


def _summary(log: list[dict[str, float]]) -> dict[str, float]:
    """First and last values, and means over the first and last tenth of the steps, of loss, α and p."""
    if not log:
        return {}
    tenth = max(1, len(log) // 10)
    summary: dict[str, float] = {}
    for key in ("loss", "alpha", "p"):
        values = [row[key] for row in log]
        summary.update({f"{key}_first": values[0], f"{key}_last": values[-1],
                        f"{key}_mean_first_10pct": sum(values[:tenth]) / tenth,
                        f"{key}_mean_last_10pct": sum(values[-tenth:]) / tenth})
    summary["skipped_steps"] = sum(row["skipped"] for row in log)
    return summary


def _save(folder: Path, model: Any, tokenizer: Any) -> None:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def _write_final(out: Path, model: Any, tokenizer: Any, config: SFTConfig, report: SFTReport,
                 fingerprint: str) -> None:
    _save(out, model, tokenizer)
    record = {"base": config.base, "objective": parse_objective(config.loss).name, "args": asdict(config),
              "steps": report.steps, "data": report.data, "data_fingerprint": fingerprint,
              "summary": _summary(report.log), "date": datetime.now(UTC).isoformat(timespec="seconds")}
    (out / RECORD_FILE).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with (out / LOG_FILE).open("w", encoding="utf-8") as handle:
        for row in report.log:
            handle.write(json.dumps(row) + "\n")
