"""Pretraining, VQA fine-tuning with retrieved pairs, evaluation and answering (docs/algorithms/ramm.md §4, §5, §7).

Pretraining: in-batch ITC by default; `published` runs RAMM's objectives (ITC with a momentum model and queues,
ITM with hard negatives, MLM with distillation: bios_kg.apps.vqa.objectives), which train the fusion layers too.

A model folder holds vqa.json (stage, config, answer vocabulary, arguments, loss log), model.pt (the state dict),
index/ (the retrieval index of the pretraining pairs), and after fine-tuning retriever.pt (the pretrained image
side of ITC, which embeds query images for retrieval) and concepts.json when trained with knowledge. During a run
checkpoint.pt holds the model (in RAMM's pretraining with its momentum model and queues), optimizer, schedule and
epoch after every epoch; running again on the same folder
resumes after the last finished epoch (with the same arguments), and a finished folder is not trained again.

Fine-tuning: soft-target cross-entropy on the head of the gold answer type (CLOSED or OPEN) plus a binary
cross-entropy on the question-type head; AdamW with per-module learning rates (image encoder, text encoder,
the rest), no weight decay on biases and LayerNorm, linear warm-up then linear decay. The model of the last epoch
is kept (no dev split is used, as for VQA-RAD). A prediction takes the head that the question-type head picks.
Accuracy: the prediction equals the gold answer, overall and by answer type (and by content type when the data
has one); with linked answers also concept accuracy (the same concept id counts).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from transformers import get_linear_schedule_with_warmup

from bios_kg.apps.vqa.data import (
    AnswerType,
    AnswerVocab,
    ImageCache,
    Pair,
    VQAExample,
    normalize_question,
    read_examples,
    read_pairs,
)
from bios_kg.apps.vqa.knowledge import CONCEPTS_FILE, Knowledge
from bios_kg.apps.vqa.model import RAMM, ModelConfig, Retriever, Saved, load_vision_weights, soft_cross_entropy
from bios_kg.apps.vqa.objectives import Objectives, Pretrainer
from bios_kg.apps.vqa.retrieval import Candidates, RetrievalIndex, build_index, choose, embed_images
from bios_kg.embed.encoders import resolve_device
from bios_kg.graph.errors import ConfigError, ParameterError

META_FILE, MODEL_FILE, RETRIEVER_FILE, CHECKPOINT_FILE, INDEX_DIR = (
    "vqa.json", "model.pt", "retriever.pt", "checkpoint.pt", "index")
HEADS = ("fusion.", "text_pooler.", "image_pooler.", "closed_head.", "open_head.", "type_head.",
         "classifier.")  # not pretrained
NO_DECAY = ("bias", "LayerNorm.weight", "norm", "temp")


@dataclass(frozen=True)
class TrainArgs:
    epochs: int = 5
    batch_size: int = 16
    lr: float = 1e-4  # fusion, heads, projections (spec: cross-modal and classifier 1e-4)
    vision_lr: float = 1e-4
    text_lr: float = 1e-5
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ParameterError(name, f"must be at least 1, got {getattr(self, name)}")
        if not 0 <= self.warmup_ratio < 1:
            raise ParameterError("warmup_ratio", f"must be in [0, 1), got {self.warmup_ratio}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def read_meta(folder: Path) -> dict[str, Any]:
    path = Path(folder) / META_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    except OSError:
        raise ConfigError(f"{folder} is not a VQA model folder (no {META_FILE}): run `bios vqa pretrain` "
                          "or `bios vqa train`") from None
    except ValueError as error:
        raise ConfigError(f"{path}: not JSON ({error})") from None


def _optimizer(module: Saved, model: RAMM, args: TrainArgs, total_steps: int) -> tuple[torch.optim.Optimizer, Any]:
    """AdamW over the trained parameters of `module` (the model or its Pretrainer), `model`'s image and text
    encoders at their own learning rates."""
    vision, text = {id(p) for p in model.vision.parameters()}, {id(p) for p in model.text.parameters()}
    groups: dict[tuple[float, float], list[torch.nn.Parameter]] = {}
    for name, parameter in module.named_parameters():
        if not parameter.requires_grad:
            continue
        lr = args.vision_lr if id(parameter) in vision else args.text_lr if id(parameter) in text else args.lr
        decay = 0.0 if any(key in name for key in NO_DECAY) else args.weight_decay
        groups.setdefault((lr, decay), []).append(parameter)
    optimizer = torch.optim.AdamW([{"params": params, "lr": lr, "weight_decay": decay}
                                   for (lr, decay), params in groups.items()])
    return optimizer, get_linear_schedule_with_warmup(optimizer, int(args.warmup_ratio * total_steps), total_steps)


class _Run:
    """Checkpointing of one training run in `out`: resume after the last finished epoch with the same arguments."""

    def __init__(self, out: Path, identity: dict[str, Any], resume: bool) -> None:
        self.out, self.identity, self.path = Path(out), identity, Path(out) / CHECKPOINT_FILE
        self.state: dict[str, Any] | None = None
        if self.path.is_file():
            if not resume:
                raise ConfigError(f"{self.path} exists: rerun with --resume to go on, or use a new --out")
            self.state = torch.load(self.path, map_location="cpu", weights_only=False)
            if self.state["identity"] != identity:
                changed = sorted(key for key in identity if self.state["identity"].get(key) != identity[key])
                raise ConfigError(f"{self.path}: cannot resume with different arguments ({', '.join(changed)}); "
                                  "use a new --out")

    def restore(self, model: Saved, optimizer: torch.optim.Optimizer, scheduler: Any) -> tuple[int, list[Any]]:
        if self.state is None:
            return 0, []
        model.load_saved(self.state["model"], str(self.path))
        optimizer.load_state_dict(self.state["optimizer"])
        scheduler.load_state_dict(self.state["scheduler"])
        return int(self.state["epoch"]), list(self.state["log"])

    def save(self, model: Saved, optimizer: torch.optim.Optimizer, scheduler: Any, epoch: int, log: list[Any]) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save({"identity": self.identity, "model": model.saved_state(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "epoch": epoch, "log": log}, tmp)
        tmp.replace(self.path)


def _progress(label: str, progress: bool) -> Progress:
    return Progress(TextColumn(f"[bold]{label}[/bold] {{task.description}}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=Console(stderr=True), disable=not progress)


def _finished(out: Path, stage: str) -> dict[str, Any] | None:
    """The report of a finished run of `stage` in `out`, if there is one."""
    if (out / META_FILE).is_file() and (out / MODEL_FILE).is_file() and not (out / CHECKPOINT_FILE).exists():
        meta = read_meta(out)
        if meta.get("stage") == stage:
            return dict(meta["report"])
    return None


def pretrain(pairs_file: Path, out: Path, config: ModelConfig, args: TrainArgs, image_dir: Path | None = None,
             vision_weights: Path | None = None, device: str = "auto", resume: bool = True,
             progress: bool = True, objectives: Objectives | None = None) -> dict[str, Any]:
    """Pretraining on PMCPM-style pairs (the ViT starting from `vision_weights` when given), then the retrieval
    index of those pairs; returns the report. In-batch ITC by default; with `config.published` RAMM's objectives
    (ITC with momentum model and queues, ITM, MLM; bios_kg.apps.vqa.objectives) sized by `objectives`, which
    also trains the fusion layers and poolers that fine-tuning starts from."""
    out = Path(out)
    done = _finished(out, "pretrain")
    if done is not None:
        return done
    if objectives is not None and not config.published:
        raise ParameterError("objectives", "queue, momentum, alpha and MLM sizes belong to RAMM's pretraining: "
                                           "pass --published")
    pairs = read_pairs(pairs_file, image_dir)
    if len(pairs) < 2:
        raise ConfigError(f"{pairs_file}: ITC needs at least 2 pairs, got {len(pairs)}")
    torch.manual_seed(args.seed)
    model = RAMM(config, device=str(resolve_device(device)), fused=config.published)
    trainer: Saved = model
    identity = {"stage": "pretrain", "pairs": str(pairs_file), "count": len(pairs), "config": config.as_dict(),
                "args": args.as_dict(), "vision_weights": str(vision_weights)}
    if config.published:
        objectives = objectives or Objectives()
        if args.batch_size > objectives.queue_size:
            raise ParameterError("queue_size", f"{objectives.queue_size} is smaller than the batch size "
                                               f"{args.batch_size}")
        identity["objectives"] = objectives.as_dict()
    loaded = load_vision_weights(model.vision, vision_weights) if vision_weights is not None else 0
    if objectives is not None:
        trainer = Pretrainer(model, objectives)  # after the ViT's weights: the momentum model copies them
    images = ImageCache(config.image_size)
    batches = -(-len(pairs) // args.batch_size)
    optimizer, scheduler = _optimizer(trainer, model, args, args.epochs * batches)
    run = _Run(out, identity, resume)
    first, log = run.restore(trainer, optimizer, scheduler)
    started, seen = time.perf_counter(), 0
    trainer.train()
    with _progress("pretrain", progress) as bar:
        task = bar.add_task("", total=args.epochs, completed=first)
        for epoch in range(first, args.epochs):
            order = np.random.default_rng(args.seed * 1000 + epoch).permutation(len(pairs))
            generator = torch.Generator().manual_seed(args.seed * 1000 + epoch)  # ITM negatives, MLM masks
            losses: dict[str, list[float]] = {}
            for step, start in enumerate(range(0, len(order) - 1, args.batch_size)):
                batch = [pairs[index] for index in order[start:start + args.batch_size]]
                if len(batch) < 2:
                    continue
                inputs = (images.stack([pair.image for pair in batch]).to(model.device),
                          [pair.caption for pair in batch], [pair.image_id for pair in batch])
                parts: dict[str, torch.Tensor]
                if isinstance(trainer, Pretrainer):
                    assert objectives is not None  # alpha warms up linearly over the first epoch, as RAMM's code
                    parts = trainer(*inputs, objectives.alpha * min(1.0, (epoch * batches + step) / batches),
                                    generator)._asdict()
                else:
                    parts = {"itc": model.itc_loss(*inputs)}
                loss = torch.stack(list(parts.values())).sum()
                _step(loss, trainer, optimizer, scheduler)
                for name, value in parts.items():
                    losses.setdefault(f"{name}_loss", []).append(value.item())
                seen += len(batch)
            log.append({"epoch": epoch + 1, **{name: float(np.mean(values)) for name, values in losses.items()}})
            run.save(trainer, optimizer, scheduler, epoch + 1, log)
            bar.update(task, advance=1, description=" ".join(f"{name.removesuffix('_loss')} {value:.3f}"
                                                             for name, value in log[-1].items() if name != "epoch"))
    seconds = time.perf_counter() - started
    model.eval()
    index = build_index(model, pairs, images)
    report = {"stage": "pretrain", "pairs": len(pairs), "epochs": args.epochs, "vision_tensors_loaded": loaded,
              **({"objectives": identity["objectives"]} if "objectives" in identity else {}), "log": log,
              "seconds": round(seconds, 1), "images_per_s": round(seen / seconds, 1) if seconds and seen else None}
    _save(out, model, {"stage": "pretrain", "config": config.as_dict(), "args": args.as_dict(),
                       "pairs_file": str(pairs_file), "report": report}, index)
    return report


def _step(loss: torch.Tensor, model: Saved, optimizer: torch.optim.Optimizer, scheduler: Any) -> None:
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], 5.0)
    optimizer.step()
    scheduler.step()


def _save(out: Path, model: RAMM, meta: dict[str, Any], index: RetrievalIndex | None,
          retriever: dict[str, torch.Tensor] | None = None) -> None:
    """The final files, the checkpoint removed last (its absence marks the run finished)."""
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.saved_state(), out / MODEL_FILE)
    if retriever is not None:
        torch.save(retriever, out / RETRIEVER_FILE)
    if index is not None:
        index.save(out / INDEX_DIR)
    (out / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / CHECKPOINT_FILE).unlink(missing_ok=True)


class Batcher:
    """VQA examples -> model inputs: query image and question, then the chosen retrieved pairs."""

    def __init__(self, config: ModelConfig, images: ImageCache, index: RetrievalIndex | None,
                 knowledge: Knowledge | None) -> None:
        self.n = config.retrieval_count
        self.images, self.index, self.knowledge = images, index, knowledge

    def text(self, text: str) -> str:
        return self.knowledge.enrich(text) if self.knowledge is not None else text

    def __call__(self, queries: torch.Tensor, questions: Sequence[str],
                 chosen: Sequence[list[int]]) -> tuple[torch.Tensor, list[str], torch.Tensor]:
        """queries [B, 3, S, S] -> images [B, 1+n, 3, S, S], B·(1+n) texts, pair mask [B, 1+n]."""
        batch, pairs = len(questions), 1 + self.n
        images = torch.zeros(batch, pairs, *queries.shape[1:])
        mask = torch.zeros(batch, pairs, dtype=torch.bool)
        texts = []
        for row, (question, rows) in enumerate(zip(questions, chosen, strict=True)):
            images[row, 0], mask[row, 0] = queries[row], True
            texts.append(self.text(question))
            for slot in range(1, pairs):
                if self.index is not None and slot - 1 < len(rows):
                    pair = self.index.pairs[rows[slot - 1]]
                    images[row, slot], mask[row, slot] = self.images(pair.image), True
                    texts.append(self.text(pair.caption))
                else:
                    texts.append("")
        return images, texts, mask


def _targets(vocab: AnswerVocab, examples: Sequence[VQAExample], device: torch.device) -> dict[str, torch.Tensor]:
    rows = {"CLOSED": [], "OPEN": []}  # type: dict[str, list[int]]
    labels = {"CLOSED": [], "OPEN": []}  # type: dict[str, list[int]]
    for row, example in enumerate(examples):
        label = vocab.index(example.answer_type, example.answer)
        if label >= 0:
            rows[example.answer_type].append(row)
            labels[example.answer_type].append(label)
    return {f"{kind}_{part}": torch.tensor(values[kind], dtype=torch.long, device=device)
            for kind in rows for part, values in (("rows", rows), ("labels", labels))}


def vqa_loss(output: Any, examples: Sequence[VQAExample], vocab: AnswerVocab) -> torch.Tensor:
    """Two heads: the question type's BCE plus each head's CE on its questions. One classifier (RAMM's code):
    soft CE over all answers, an answer missing from the vocabulary giving an all-zero target."""
    device = output.closed.device
    target = _targets(vocab, examples, device)
    if output.single:
        logits = torch.cat([output.closed, output.open], -1)
        gold = torch.zeros_like(logits)
        for kind, offset in (("CLOSED", 0), ("OPEN", output.closed.shape[-1])):
            gold[target[f"{kind}_rows"], target[f"{kind}_labels"] + offset] = 1.0
        return soft_cross_entropy(logits, gold)
    loss = F.binary_cross_entropy_with_logits(
        output.closed_type, torch.tensor([e.answer_type == "CLOSED" for e in examples], device=device).float())
    for kind, logits in (("CLOSED", output.closed), ("OPEN", output.open)):
        rows = target[f"{kind}_rows"]
        if len(rows):
            gold = F.one_hot(target[f"{kind}_labels"], logits.shape[-1]).float()
            loss = loss + soft_cross_entropy(logits[rows], gold) * len(rows) / len(examples)
    return loss


def train(train_file: Path, out: Path, pretrained: Path | None, args: TrainArgs, fusion: str | None = None,
          retrieval_count: int | None = None, knowledge: bool = False, image_dir: Path | None = None,
          config: ModelConfig | None = None, device: str = "auto", resume: bool = True,
          progress: bool = True, published: bool = False) -> dict[str, Any]:
    """Fine-tune for VQA from a pretrained folder (or from scratch with `config` and no retrieval); `published`:
    RAMM's released fusion, classifier and retrieval (bios_kg.apps.vqa.model)."""
    out = Path(out)
    done = _finished(out, "finetune")
    if done is not None:
        return done
    examples = read_examples(train_file, image_dir)
    if not examples:
        raise ConfigError(f"{train_file}: no English VQA examples")
    if pretrained is not None:
        meta = read_meta(pretrained)
        if meta.get("stage") != "pretrain":
            raise ConfigError(f"{pretrained} is not a pretrained model folder (stage {meta.get('stage')!r})")
        config = ModelConfig.from_dict(meta["config"])
    elif config is None:
        config = ModelConfig(retrieval_count=0)
    overrides: dict[str, Any] = {"knowledge": knowledge, "published": published}
    if fusion is not None:
        overrides["fusion"] = fusion
    if retrieval_count is not None:
        overrides["retrieval_count"] = retrieval_count
    config = replace(config, **overrides)
    if config.retrieval_count and pretrained is None:
        raise ConfigError("retrieval needs a pretrained folder (its index): pass --pretrained or --retrieval-count 0")
    facts = Knowledge.load(Path(train_file).parent / CONCEPTS_FILE) if knowledge else None
    vocab = AnswerVocab.from_examples(examples)
    if facts is not None:
        vocab.concepts = {a: c for a, c in facts.answers.items() if a in set(vocab.closed) | set(vocab.open)}
    torch.manual_seed(args.seed)
    model = RAMM(config, (len(vocab.closed), len(vocab.open)), device=str(resolve_device(device)))
    index, retriever = None, None
    if pretrained is not None:
        model.load_saved(torch.load(Path(pretrained) / MODEL_FILE, map_location="cpu", weights_only=True),
                         f"{pretrained}/{MODEL_FILE}", optional=HEADS)
        retriever = Retriever.state_of(model)
        if config.retrieval_count:
            index = RetrievalIndex.load(Path(pretrained) / INDEX_DIR)
    images = ImageCache(config.image_size)
    candidates = _candidates(config, retriever, index, examples, images, model.device)
    batcher = Batcher(config, images, index, facts)
    steps = args.epochs * -(-len(examples) // args.batch_size)
    optimizer, scheduler = _optimizer(model, model, args, steps)
    run = _Run(out, {"stage": "finetune", "train": str(train_file), "count": len(examples),
                     "pretrained": str(pretrained), "config": config.as_dict(), "args": args.as_dict()}, resume)
    first, log = run.restore(model, optimizer, scheduler)
    started, seen = time.perf_counter(), 0
    model.train()
    with _progress(f"train {config.fusion} n={config.retrieval_count}", progress) as bar:
        task = bar.add_task("", total=args.epochs, completed=first)
        for epoch in range(first, args.epochs):
            rng = np.random.default_rng(args.seed * 1000 + epoch)
            order = rng.permutation(len(examples))
            losses = []
            for start in range(0, len(order), args.batch_size):
                batch = [examples[index] for index in order[start:start + args.batch_size]]
                chosen = [choose(candidates.get(e.image_id, []), config.retrieval_count, rng) for e in batch]
                inputs = batcher(images.stack([e.image for e in batch]), [e.question for e in batch], chosen)
                output = model(inputs[0].to(model.device), inputs[1], inputs[2].to(model.device))
                loss = vqa_loss(output, batch, vocab)
                _step(loss, model, optimizer, scheduler)
                losses.append(loss.item())
                seen += len(batch)
            log.append({"epoch": epoch + 1, "loss": float(np.mean(losses))})
            run.save(model, optimizer, scheduler, epoch + 1, log)
            bar.update(task, advance=1, description=f"loss {log[-1]['loss']:.3f}")
    seconds = time.perf_counter() - started
    report = {"stage": "finetune", "examples": len(examples), "epochs": args.epochs, "log": log,
              "seconds": round(seconds, 1), "examples_per_s": round(seen / seconds, 1) if seconds and seen else None,
              "selection": "last epoch (no dev split)"}
    if facts is not None:
        out.mkdir(parents=True, exist_ok=True)
        facts.save(out / CONCEPTS_FILE)
    _save(out, model, {"stage": "finetune", "config": config.as_dict(), "args": args.as_dict(),
                       "vocab": vocab.as_dict(), "train_file": str(train_file), "pretrained": str(pretrained),
                       "report": report}, index, retriever)
    return report


def _candidates(config: ModelConfig, retriever_state: dict[str, torch.Tensor] | None, index: RetrievalIndex | None,
                examples: Sequence[VQAExample], images: ImageCache, device: torch.device) -> dict[str, Candidates]:
    """Retrieval candidates per image id, by the pretrained image encoder."""
    if index is None or retriever_state is None or not config.retrieval_count:
        return {}
    retriever = Retriever(config).to(device)
    retriever.load_state_dict(retriever_state)
    retriever.eval()
    by_image = {example.image_id: example.image for example in examples}
    ids = list(by_image)
    vectors = embed_images(retriever, device, [by_image[image_id] for image_id in ids], images)
    return dict(zip(ids, index.candidates(vectors, ids, *_depth(config)), strict=True))


def _depth(config: ModelConfig) -> tuple[int, bool]:
    """Hits kept per index and whether the top hit is dropped: RAMM's code keeps n and drops the top one (the
    query image itself when it was pretrained on); the default keeps 2n without the query's own image."""
    return (config.retrieval_count, True) if config.published else (2 * config.retrieval_count, False)


class VQAModel:
    """A fine-tuned model folder, loaded for evaluation and answering."""

    def __init__(self, folder: Path, device: str = "cpu") -> None:
        self.folder = Path(folder)
        meta = read_meta(self.folder)
        if meta.get("stage") != "finetune":
            raise ConfigError(f"{folder} is not a fine-tuned VQA model (stage {meta.get('stage')!r}): "
                              "run `bios vqa train`")
        self.config = ModelConfig.from_dict(meta["config"])
        self.vocab = AnswerVocab.from_dict(meta["vocab"])
        self.model = RAMM(self.config, (len(self.vocab.closed), len(self.vocab.open)),
                          device=str(resolve_device(device)))
        self.model.load_saved(torch.load(self.folder / MODEL_FILE, map_location="cpu", weights_only=True),
                              str(self.folder / MODEL_FILE))
        self.model.eval()
        self.images = ImageCache(self.config.image_size)
        self.index: RetrievalIndex | None = None
        self.retriever: Retriever | None = None
        if self.config.retrieval_count:
            self.index = RetrievalIndex.load(self.folder / INDEX_DIR)
            self.retriever = Retriever(self.config).to(self.model.device)
            self.retriever.load_state_dict(torch.load(self.folder / RETRIEVER_FILE, map_location="cpu",
                                                      weights_only=True))
            self.retriever.eval()
        knowledge = Knowledge.load(self.folder / CONCEPTS_FILE) if self.config.knowledge else None
        self.batcher = Batcher(self.config, self.images, self.index, knowledge)

    @torch.no_grad()
    def predict(self, queries: torch.Tensor, questions: Sequence[str],
                image_ids: Sequence[str]) -> list[dict[str, Any]]:
        """queries [B, 3, S, S] (normalized like data.load_image) -> one answer per question, with the
        retrieved captions."""
        device = self.model.device
        chosen: list[list[int]] = [[] for _ in questions]
        if self.index is not None and self.retriever is not None:
            vectors = self.retriever(queries.to(device)).cpu().numpy()
            found = self.index.candidates(vectors, image_ids, *_depth(self.config))
            chosen = [choose(candidates, self.config.retrieval_count, None) for candidates in found]
        images, texts, mask = self.batcher(queries, questions, chosen)
        output = self.model(images.to(device), texts, mask.to(device))
        closed_p = torch.sigmoid(output.closed_type)
        out = []
        for row, rows in enumerate(chosen):
            kind: AnswerType = "CLOSED" if closed_p[row] >= 0.5 else "OPEN"
            if output.single:  # the argmax over all answers decides the kind
                kind = "CLOSED" if output.closed.shape[-1] and (not output.open.shape[-1] or output.closed[row].max()
                                                                 >= output.open[row].max()) else "OPEN"
            if not self.vocab.answers(kind):
                kind = "OPEN" if kind == "CLOSED" else "CLOSED"
            logits = output.closed[row] if kind == "CLOSED" else output.open[row]
            probabilities = logits[: len(self.vocab.answers(kind))].softmax(-1)
            best = int(probabilities.argmax())
            answer = self.vocab.answers(kind)[best]
            out.append({"answer": answer, "answer_type": kind, "score": round(float(probabilities[best]), 4),
                        "concept_id": self.vocab.concepts.get(answer),
                        "retrieved": [self._pair(pair) for pair in rows]})
        return out

    def _pair(self, row: int) -> dict[str, Any]:
        assert self.index is not None
        pair: Pair = self.index.pairs[row]
        return {"image_id": pair.image_id, "caption": pair.caption}

    def ask(self, image: torch.Tensor, question: str) -> dict[str, Any]:
        """One image tensor [3, S, S] and one question (normalized here)."""
        return self.predict(image[None], [normalize_question(question, 50)], ["<query>"])[0]


def evaluate(model: VQAModel, examples: Sequence[VQAExample], batch_size: int = 32,
             progress: bool = True, on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Accuracy overall, by answer type and by content type; question-type accuracy; concept accuracy."""
    if not examples:
        raise ConfigError("no examples to evaluate")
    predictions = []
    with _progress("eval", progress) as bar:
        task = bar.add_task("", total=len(examples))
        for start in range(0, len(examples), batch_size):
            batch = list(examples[start:start + batch_size])
            answers = model.predict(model.images.stack([e.image for e in batch]), [e.question for e in batch],
                                    [e.image_id for e in batch])
            predictions += [{"qid": e.qid, "question": e.question, "gold": e.answer, "gold_type": e.answer_type,
                             "content_type": e.extra.get("content_type"), **answer}
                            for e, answer in zip(batch, answers, strict=True)]
            bar.advance(task, len(batch))
            if on_batch is not None:
                on_batch(len(batch))
    return {**accuracy(predictions, model.vocab.concepts), "predictions": predictions}


def question_prior(train_examples: Sequence[VQAExample], examples: Sequence[VQAExample]) -> dict[str, Any]:
    """The baseline that never looks at the image: the most frequent training answer of the same question (else
    the most frequent answer overall), scored like a model."""
    if not train_examples or not examples:
        raise ConfigError("the question prior needs training and test examples")
    by_question: dict[str, Counter[tuple[str, str]]] = {}
    for example in train_examples:
        by_question.setdefault(example.question, Counter())[(example.answer, example.answer_type)] += 1
    overall = Counter((e.answer, e.answer_type) for e in train_examples).most_common(1)[0][0]
    rows = []
    for example in examples:
        counts = by_question.get(example.question)
        answer, kind = counts.most_common(1)[0][0] if counts else overall
        rows.append({"answer": answer, "answer_type": kind, "gold": example.answer, "gold_type": example.answer_type,
                     "content_type": example.extra.get("content_type")})
    return accuracy(rows, {})


def accuracy(predictions: Sequence[dict[str, Any]], concepts: dict[str, str]) -> dict[str, Any]:
    def share(rows: Sequence[dict[str, Any]]) -> float | None:
        return round(sum(row["answer"] == row["gold"] for row in rows) / len(rows), 4) if rows else None

    result: dict[str, Any] = {"n": len(predictions), "overall": share(predictions)}
    for kind in ("CLOSED", "OPEN"):
        rows = [row for row in predictions if row["gold_type"] == kind]
        result[kind.lower()] = share(rows)
        result[f"n_{kind.lower()}"] = len(rows)
    result["question_type"] = round(sum(r["answer_type"] == r["gold_type"] for r in predictions) / len(predictions), 4)
    contents = sorted({str(row["content_type"]) for row in predictions if row.get("content_type")})
    result["by_content"] = {content: share([r for r in predictions if r.get("content_type") == content])
                            for content in contents}
    linked = [row for row in predictions if row["gold"] in concepts]
    if linked:
        result["concept"] = round(sum(concepts.get(row["answer"]) == concepts[row["gold"]] for row in linked)
                                  / len(linked), 4)
        result["n_concept"] = len(linked)
    return result

