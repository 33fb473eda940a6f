"""CODER training on the graph: `train_coder` (docs/algorithms/coder.md §4-§5), resumable from its checkpoints.

What `out/` holds:
- the final encoder in HF format (load_encoder(out)): Encoder.save's files, with the training record added to
  bios_encoder.json under "training" (base, settings, arguments, data counts, steps, loss summary);
- train_log.jsonl: one line per optimizer step (step, loss, ms, relation, sty, lr);
- checkpoints/step-N/: model/ (Encoder.save) and trainer.pt (loss heads, optimizer, scheduler, sampler state,
  torch RNG states, step, log), written as bios_kg.embed.checkpoints writes every trainer's.

A run on an `out/` that has a checkpoint resumes from the newest one, provided the arguments (except the
device and checkpoint interval) and the training data (fingerprint) are the same, and continues the same
batch sequence and RNG streams: on CPU the resumed run ends with the same weights as an uninterrupted one.

A step is one optimizer update over `grad_accum` batches of up to `batch_size` strings. The encoder keeps its
own pooling (and max length, padding, mask) in training; the loss sees the pooled vectors before L2
normalization (the MS loss normalizes itself, TransE works on the raw vectors as in CODER), and the saved model
keeps the base's normalization setting. These defaults are CODER-style, not CODER's: the losses, optimizer, clip
and batch building follow CODER's code, the rest is set for small graphs on CPUs.

`preset="coder"` (`bios embed train-coder --preset coder`) trains as CODER's released code does
(`pretrain/train.py`): the encoder contract of the CODER checkpoints (pooler output, input ids only with no
attention mask, padding to 32 tokens; bios_kg.embed.encoders.PRESETS["coder"]), CODER's sampling (triple items only,
negative tails by its rule: bios_kg.embed.coder.sampler), and steps counted in batches as CODER's `global_step`: `steps`
batches, an optimizer update every `grad_accum` of them, the linear schedule's warm-up in updates and its horizon
`steps`, so the learning rate ends near 0.88 of its peak after CODER's 1M batches. CODER_PRESET holds its
hyperparameters (warm-up 10k, accumulation 8, batch 256 strings, lr 2e-5, 1M steps, seed 72).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from transformers import get_linear_schedule_with_warmup

from bios_kg.embed.alignment import align_character_embeddings, translation_pairs
from bios_kg.embed.checkpoints import (
    check_resumable,
    latest_checkpoint,
    load_state,
    rng_state,
    set_rng_state,
    write_checkpoint,
)
from bios_kg.embed.coder.losses import CoderObjective, RelationLoss
from bios_kg.embed.coder.mining import mine_hard_negatives, mine_neighbours
from bios_kg.embed.coder.sampler import MAX_TERMS, CoderSampler, Sampling, TrainingData
from bios_kg.embed.encoders import DEFAULT_ENCODER, SETTINGS_FILE, Encoder, EncoderSettings, load_encoder
from bios_kg.graph.errors import ParameterError
from bios_kg.graph.store import GraphStore

WEIGHT_DECAY, ADAM_EPS, MAX_GRAD_NORM = 0.01, 1e-8, 1.0
NO_DECAY = ("bias", "LayerNorm.weight")  # as CODER's train.py
LOG_FILE = "train_log.jsonl"

StepCallback = Callable[[int, dict[str, float]], None]
Preset = Literal["coder"]
# CODER's pretrain/train.py defaults (with preset="coder", steps count batches)
CODER_PRESET: dict[str, Any] = {"steps": 1_000_000, "batch_size": 256, "grad_accum": 8, "lr": 2e-5, "warmup": 10_000,
                                "re_weight": 1.0, "sty_weight": 0.0, "relation_loss": "transe", "seed": 72,
                                "sampling": "coder"}


@dataclass(frozen=True)
class CoderConfig:
    """The training arguments that define a run (a checkpoint resumes only under the same ones)."""

    base: str = DEFAULT_ENCODER
    steps: int = 1000
    batch_size: int = 256
    lr: float = 2e-5
    warmup: int = 100
    grad_accum: int = 1
    re_weight: float = 1.0
    sty_weight: float = 0.0
    relation_loss: RelationLoss = "transe"
    languages: tuple[str, ...] | None = None
    sources: tuple[str, ...] | None = None
    add_tokens: bool = False
    seed: int = 72
    max_terms: int = MAX_TERMS
    sampling: Sampling = "coder"
    mine_every: int = 0  # steps between hard-negative minings (0: none); docs/algorithms/cortex.md §3.4
    hard_fraction: float = 0.5  # the partner chance it ramps up to
    preset: Preset | None = None  # "coder": CODER's encoder contract, sampling and step counting (module docstring)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "grad_accum", "max_terms"):
            if getattr(self, name) < 1:
                raise ParameterError(name, f"{getattr(self, name)} is not a positive integer")
        if self.batch_size < 3:
            raise ParameterError("batch_size", f"{self.batch_size} is too small: one triple item takes 3 strings")
        if self.warmup < 0:
            raise ParameterError("warmup", f"{self.warmup} is negative")
        if self.mine_every < 0:
            raise ParameterError("mine_every", f"{self.mine_every} is negative")
        if not 0.0 <= self.hard_fraction <= 1.0:
            raise ParameterError("hard_fraction", f"must be between 0 and 1, got {self.hard_fraction}")
        if not self.lr > 0:
            raise ParameterError("lr", f"{self.lr} is not positive")
        for name in ("re_weight", "sty_weight"):
            if getattr(self, name) < 0:
                raise ParameterError(name, f"{getattr(self, name)} is negative")
        if self.sampling not in get_args(Sampling):
            raise ParameterError("sampling", f"{self.sampling!r} is not one of {', '.join(get_args(Sampling))}")
        if self.preset is not None and self.preset not in get_args(Preset):
            raise ParameterError("preset", f"{self.preset!r} is not one of {', '.join(get_args(Preset))}")
        if self.sampling == "coderpp" and not self.mine_every:
            raise ParameterError("mine_every", "sampling 'coderpp' needs re-mined neighbours: give mine_every > 0 "
                                 "(CODER++: every 250k steps)")
        if self.preset == "coder" and (self.sampling != "coder" or self.mine_every):
            raise ParameterError("preset", "preset 'coder' samples CODER's triple items: it takes sampling 'coder' "
                                 "and no hard-negative mining")
        if self.relation_loss not in get_args(RelationLoss):
            raise ParameterError("relation_loss", f"{self.relation_loss!r} is not one of "
                                 f"{', '.join(get_args(RelationLoss))}")

    @property
    def batches_per_step(self) -> int:
        """Batches one unit of `steps` stands for: 1 (CODER counts batches) or grad_accum (updates)."""
        return 1 if self.preset == "coder" else self.grad_accum

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("languages", "sources"):
            data[key] = list(data[key]) if data[key] is not None else None
        if data["preset"] is None:  # runs from before presets existed resume under the same arguments
            del data["preset"]
        return data


@dataclass
class TrainReport:
    out: Path
    steps: int  # optimizer steps done, over all runs on this out/
    resumed_from: int  # the checkpoint step this run started from (0: a fresh run)
    log: list[dict[str, float]] = field(default_factory=list)  # per step: step, loss, ms, relation, sty, lr
    seconds: float = 0.0  # this run's training loop, checkpoints included
    strings: int = 0  # strings encoded by this run
    added_tokens: int = 0
    aligned_tokens: int = 0  # character rows initialised from their English translations (bios_kg.embed.alignment)
    data: dict[str, int] = field(default_factory=dict)
    model_id: str = ""

    @property
    def losses(self) -> list[float]:
        return [row["loss"] for row in self.log]

    @property
    def steps_per_second(self) -> float:
        done = self.steps - self.resumed_from
        return done / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"out": str(self.out), "steps": self.steps, "resumed_from": self.resumed_from,
                "seconds": round(self.seconds, 3), "steps_per_second": round(self.steps_per_second, 4),
                "strings_per_second": round(self.strings / self.seconds, 1) if self.seconds else 0.0,
                "added_tokens": self.added_tokens, "aligned_tokens": self.aligned_tokens, "data": self.data,
                "model_id": self.model_id,
                "loss": _loss_summary(self.log)}


def train_coder(store: GraphStore, out: Path, base: str = DEFAULT_ENCODER, steps: int = 1000, batch_size: int = 256,
                lr: float = 2e-5, warmup: int = 100, grad_accum: int = 1, re_weight: float = 1.0,
                sty_weight: float = 0.0, relation_loss: RelationLoss = "transe", device: str = "auto",
                checkpoint_every: int = 500, languages: Sequence[str] | None = None,
                sources: Sequence[str] | None = None, exclude_concepts: Collection[str] = (),
                add_tokens: bool = False, sampling: Sampling = "coder", mine_every: int = 0,
                hard_fraction: float = 0.5, seed: int = 72, progress: bool = True,
                on_step: StepCallback | None = None, preset: Preset | None = None) -> TrainReport:
    """Train a CODER encoder on the graph's terms and triples into `out` (module docstring); resumes.
    With sampling="cortex" and mine_every > 0 this is CoRTEx's training: term and explanation views, progressive
    hard negatives. With preset="coder" CODER's contract, sampling and step counting apply to the arguments given
    (CODER_PRESET has its values)."""
    config = CoderConfig(base=str(base), steps=steps, batch_size=batch_size, lr=lr, warmup=warmup,
                         grad_accum=grad_accum, re_weight=re_weight, sty_weight=sty_weight,
                         relation_loss=relation_loss, languages=tuple(languages) if languages else None,
                         sources=tuple(sources) if sources else None, add_tokens=add_tokens, seed=seed,
                         sampling=sampling, mine_every=mine_every, hard_fraction=hard_fraction, preset=preset)
    data = TrainingData.from_graph(store, config.languages, config.sources, exclude_concepts,
                                   explanations=sampling == "cortex")
    return train_on_data(data, Path(out), config, device=device, checkpoint_every=checkpoint_every,
                         progress=progress, on_step=on_step)


def train_on_data(data: TrainingData, out: Path, config: CoderConfig, device: str = "auto",
                  checkpoint_every: int = 500, progress: bool = True,
                  on_step: StepCallback | None = None) -> TrainReport:
    """The training loop of train_coder on data already in memory."""
    if checkpoint_every < 1:
        raise ParameterError("checkpoint_every", f"{checkpoint_every} is not a positive integer")
    out = Path(out)
    sampler = CoderSampler(data, config.batch_size, config.seed, config.max_terms, config.sampling,
                           coder_exact=config.preset == "coder")
    fingerprint = data.fingerprint()
    checkpoint = latest_checkpoint(out)
    state: dict[str, Any] = {}
    if checkpoint is not None:
        state = load_state(checkpoint)
        check_resumable(checkpoint, state, config.as_dict(), fingerprint)  # data: graph, filters, held-out
        encoder = load_encoder(checkpoint / "model", device=device)
        added, aligned, base_id = int(state["added_tokens"]), int(state["aligned_tokens"]), str(state["base_id"])
    else:
        encoder = load_encoder(config.base, preset=config.preset, device=device)  # "coder": needs a trained pooler
        base_id = encoder.model_id
        added = aligned = 0
        if config.add_tokens:
            added = encoder.add_tokens(data.texts)
            synonym_sets = (data.strings_of(concept) for concept in range(len(data.concept_ids)))
            aligned = align_character_embeddings(encoder, translation_pairs(synonym_sets))
        torch.manual_seed(config.seed)
    settings = encoder.settings
    objective = CoderObjective(encoder.dim, len(data.relation_ids), len(data.type_ids), config.re_weight,
                               config.sty_weight, config.relation_loss).to(encoder.device)
    optimizer = torch.optim.AdamW(_parameter_groups(encoder.model, objective), lr=config.lr, eps=ADAM_EPS)
    scheduler = get_linear_schedule_with_warmup(optimizer, config.warmup, config.steps)
    report = TrainReport(out, 0, 0, added_tokens=added, aligned_tokens=aligned, data=data.summary())
    if state:
        objective.load_state_dict(state["objective"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        sampler.load_state_dict(state["sampler"])
        set_rng_state(state["rng"])
        report.resumed_from = report.steps = int(state["step"])
        report.log = list(state["log"])

    def save_checkpoint() -> None:
        with training_contract(encoder, settings):
            write_checkpoint(out, report.steps, lambda folder: encoder.save(folder, name=out.resolve().name), {
                "objective": objective.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "sampler": sampler.state_dict(), "rng": rng_state(),
                "step": report.steps, "log": report.log, "config": config.as_dict(), "fingerprint": fingerprint,
                "added_tokens": added, "aligned_tokens": aligned, "base_id": base_id})

    started = time.perf_counter()
    columns = (TextColumn("[bold]train-coder[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn())
    with training_contract(encoder, replace(settings, normalize=False)), \
            Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("", total=config.steps, completed=report.steps)
        encoder.model.train()
        objective.train()
        unit = config.grad_accum // config.batches_per_step  # steps one update advances
        while report.steps + unit <= config.steps:
            mined = _mine(encoder, data, sampler, config, report.steps)
            values = {**_train_step(encoder, objective, sampler, config.grad_accum, report), **mined}
            torch.nn.utils.clip_grad_norm_([*encoder.model.parameters(), *objective.parameters()], MAX_GRAD_NORM)
            values["lr"] = scheduler.get_last_lr()[0]
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            report.steps += unit
            report.log.append({"step": report.steps, **values})
            bar.update(task, completed=report.steps, description=f"loss {values['loss']:.4f}")
            if report.steps // checkpoint_every > (report.steps - unit) // checkpoint_every \
                    or report.steps + unit > config.steps:
                save_checkpoint()
            if on_step is not None:
                on_step(report.steps, values)
    report.seconds = time.perf_counter() - started
    encoder.model.eval()
    _write_final(out, encoder, settings, config, data, report, {"base_id": base_id, "data_fingerprint": fingerprint})
    report.model_id = load_encoder(out, device="cpu").model_id
    return report


def _mine(encoder: Encoder, data: TrainingData, sampler: CoderSampler, config: CoderConfig, step: int
          ) -> dict[str, float]:
    """Every `mine_every` steps from step 0: new partners from the current weights; the chance that a partner
    joins the batch ramps linearly to `hard_fraction` over the first half of the run (progressive)."""
    if not config.mine_every or step % config.mine_every:
        return {}
    if config.sampling == "coderpp":  # CODER++: each string's neighbours, from step 0
        neighbours, similarity = mine_neighbours(encoder, data)
        sampler.set_neighbours(neighbours)
        return {"neighbour_similarity": similarity}
    mined = mine_hard_negatives(encoder, data)
    fraction = config.hard_fraction * min(1.0, (step + config.mine_every) / max(config.steps / 2, 1))
    sampler.set_partners(mined.partners, fraction)
    return {"hard_fraction": fraction, "partner_similarity": mined.similarity}


def _train_step(encoder: Encoder, objective: CoderObjective, sampler: CoderSampler, grad_accum: int,
                report: TrainReport) -> dict[str, float]:
    """Forward and backward over `grad_accum` batches; returns the parts of the loss averaged over them."""
    device = encoder.device
    totals: dict[str, float] = {}
    for _ in range(grad_accum):
        batch = next(sampler)
        vectors = encoder.embed_batch(batch.texts)
        parts = objective(vectors, torch.from_numpy(batch.concepts).to(device),
                          torch.from_numpy(batch.types).to(device), torch.from_numpy(batch.relations).to(device),
                          batch.pairs)
        (parts.total / grad_accum).backward()
        report.strings += len(batch.texts)
        for name, value in parts.values().items():
            totals[name] = totals.get(name, 0.0) + value / grad_accum
    return totals


def _parameter_groups(model: torch.nn.Module, objective: torch.nn.Module) -> list[dict[str, Any]]:
    named = [*model.named_parameters(), *objective.named_parameters()]
    decay = [p for name, p in named if not any(key in name for key in NO_DECAY)]
    no_decay = [p for name, p in named if any(key in name for key in NO_DECAY)]
    return [{"params": decay, "weight_decay": WEIGHT_DECAY}, {"params": no_decay, "weight_decay": 0.0}]


@contextmanager
def training_contract(encoder: Encoder, settings: EncoderSettings) -> Iterator[None]:
    """Run the block with `settings` on the encoder (training reads unnormalized vectors, saving the real ones)."""
    previous = encoder.settings
    encoder.settings = settings
    try:
        yield
    finally:
        encoder.settings = previous


def _loss_summary(log: list[dict[str, float]]) -> dict[str, float]:
    if not log:
        return {}
    losses = np.array([row["loss"] for row in log])
    tail = losses[-max(1, len(losses) // 10):]
    return {"first": float(losses[0]), "last": float(losses[-1]), "min": float(losses.min()),
            "mean_last_10pct": float(tail.mean())}


def _write_final(out: Path, encoder: Encoder, settings: EncoderSettings, config: CoderConfig, data: TrainingData,
                 report: TrainReport, ids: dict[str, str]) -> None:
    with training_contract(encoder, settings):
        encoder.save(out, name=out.resolve().name)
    meta_file = out / SETTINGS_FILE
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta.update({"base": config.base, "base_id": ids["base_id"], "training": {
        "method": config.preset or ("cortex" if config.sampling == "cortex" else "coder-style"),
        "args": config.as_dict(),
        "steps": report.steps, "data": data.summary(),
        "data_fingerprint": ids["data_fingerprint"], "relation_types": data.relation_ids,
        "semantic_types": data.type_ids, "added_tokens": report.added_tokens,
        "aligned_tokens": report.aligned_tokens, "loss": _loss_summary(report.log)}})
    meta_file.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    with (out / LOG_FILE).open("w", encoding="utf-8") as handle:
        for row in report.log:
            handle.write(json.dumps(row) + "\n")
