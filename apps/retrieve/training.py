"""DR.EHR training: chunk <-> entity bi-encoder, two stages, resumable.

Data (JSONL {"idx", "text", "entities"}, an optional "pos" overriding "entities", as DR.EHR's files), written to
`out/` and reused when present:
- stage 1, `train_entities_syn.jsonl`: the entities an extractor finds in each chunk (phrase and linked concept;
  DR.EHR matches BIOS terms with a trie instead), then the abbreviation step (abbreviations.py: mined by the
  configured LLM with DR.EHR's instruction, else by rules; filtered as DR.EHR's clean_abbr; full names added,
  the mined pairs kept in "abbr"), then knowledge injection from the graph (knowledge.KnowledgeGraph.inject:
  2 synonyms, 2 parents and 2 related concepts with 2 terms each, seed 0); chunks without an entity are dropped;
- stage 2, `stage2_entities.jsonl`: one LLM call per (chunk, entity type) for diagnosis, procedure and
  prescription with DR.EHR's instruction (`PROMPT`, verbatim, sent as the user message), temperature 0.1, 512
  tokens; an answer cut by the token limit or an error is retried, and a type that fails 3 times gives an empty
  list, as DR.EHR's generate_all does; the answer is parsed as its bulleted list (`parse_entity_list`), the types'
  lists joined without repeats; a chunk without any entity is not written. With no LLM configured, graph-driven
  templates instead (this project's, not DR.EHR's): the preferred names of the concepts the extractor found and
  did not find negated, and of their first IS_A parent.
Both files are appended chunk by chunk, so an interrupted preparation resumes after the last complete line.

Loss (`loss="batch"`): per batch of B chunks with n positives each (the entity list repeated ceil(n / len)
times, n sampled without replacement in order), s = cosine between chunks and the B·n entities; the hard-mining
masks of bios_kg.embed.coder.losses.mine_multi_similarity (ε 0.1; the same rule as DR.EHR's), then
L = ((1/α)·log(1 + Σ_P exp(−α(M⁺·s − λ))) + (1/β)·log(1 + Σ_N exp(β(M⁻·s − λ)))) / B over the whole batch,
masked similarities multiplied (not dropped) as the released code does; α 2, β 50, λ 0.5. `loss="anchor"` is
the per-anchor Multi-Similarity loss (bios_kg.embed.coder.losses.multi_similarity_loss), the deviation behind a flag.
Training, DR.EHR-small's settings: AdamW lr 1e-4, weight decay 0 (the Hugging Face Trainer's default, which
DR.EHR's scripts keep), gradient norm clipped at 1.0, linear warm-up over 10 % then decay, chunks 160 tokens,
entities 16, batch 32, seed 42; stage 1 128 positives and 3 epochs, stage 2 16 and 1 (`stage_config`). Pooling:
the base encoder's contract by default, `pooling="cls"` for DR.EHR's (`last_hidden_state[:, 0]`; bge-base, DR.EHR-
small's base, declares CLS itself). Checkpoints in `out/checkpoints/step-N/` (the newest two kept); a rerun with
the same arguments resumes; the final model is saved in HF format with bios_encoder.json
(bios_kg.embed.encoders.Encoder.save) and train_log.jsonl.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from transformers import get_linear_schedule_with_warmup

from bios_kg.apps.retrieve.abbreviations import Miner, keep_pairs
from bios_kg.apps.retrieve.chunking import Chunk
from bios_kg.apps.retrieve.knowledge import Budget, KnowledgeGraph
from bios_kg.embed.checkpoints import (
    check_resumable,
    latest_checkpoint,
    load_state,
    rng_state,
    set_rng_state,
    write_checkpoint,
)
from bios_kg.embed.coder.losses import (
    ALPHA,
    BASE,
    BETA,
    EPSILON,
    cosine_matrix,
    mine_multi_similarity,
    multi_similarity_loss,
)
from bios_kg.embed.coder.trainer import LOG_FILE, SETTINGS_FILE, training_contract
from bios_kg.embed.encoders import load_encoder
from bios_kg.graph.errors import InputError, ParameterError

if TYPE_CHECKING:
    from bios_kg.embed.llm import LLMBackend

LossKind = Literal["batch", "anchor"]
STAGE1_FILE, STAGE2_FILE = "train_entities_syn.jsonl", "stage2_entities.jsonl"
ENTITY_TYPES = ("diagnosis", "procedure", "prescription")
LLM_TEMPERATURE, LLM_MAX_TOKENS, LLM_RETRIES = 0.1, 512, 3
PROMPT = """{note}

Briefly summarize the {entity_type} explicitly mentioned or that can be implicitly inferred from the medical record above. Only output the entity names (in their standardized terms) in a list. Do not output the reasons.

Output format:
- Entity 1
- Entity 2
..."""  # noqa: E501 - DR.EHR's instruction, verbatim
_BULLET = re.compile(r"^[-*\u2022\u25cf]+\s*(.+)$")
_NUMBERED = re.compile(r"^\d+[.)]\s*(.+)$")
_PARENS = re.compile(r"\(.*?\)")
Pooling = Literal["base", "cls", "mean"]
NEGATED = frozenset({"negated", "absent", "negative"})

# (phrase, linked concept id or None, assertion status) per entity, per chunk
EntityFinder = Callable[[Sequence[str]], list[list[tuple[str, str | None, str]]]]


@dataclass(frozen=True)
class Example:
    idx: str
    text: str
    entities: list[str]
    abbr: dict[str, str] = field(default_factory=dict)  # stage 1: the mined (abbreviation, full name) pairs


@dataclass(frozen=True)
class TrainConfig:
    base: str = "minilm"
    epochs: int = 1
    batch_size: int = 32
    num_pos: int = 16
    lr: float = 1e-4
    warmup_ratio: float = 0.1
    max_length: int = 160
    max_entity_length: int = 16
    loss: LossKind = "batch"
    seed: int = 42
    weight_decay: float = 0.0
    pooling: Pooling = "base"

    def __post_init__(self) -> None:
        for name in ("epochs", "num_pos", "max_length", "max_entity_length"):
            if getattr(self, name) < 1:
                raise ParameterError(name, f"{getattr(self, name)} is not a positive integer")
        if self.batch_size < 2:
            raise ParameterError("batch_size", f"{self.batch_size}: in-batch negatives need at least 2 chunks")
        if not self.lr > 0:
            raise ParameterError("lr", f"{self.lr} is not positive")
        if not 0 <= self.warmup_ratio < 1:
            raise ParameterError("warmup_ratio", f"{self.warmup_ratio} is not in [0, 1)")
        if self.loss not in get_args(LossKind):
            raise ParameterError("loss", f"{self.loss!r} is not one of {', '.join(get_args(LossKind))}")
        if not self.weight_decay >= 0:
            raise ParameterError("weight_decay", f"{self.weight_decay} is negative")
        if self.pooling not in get_args(Pooling):
            raise ParameterError("pooling", f"{self.pooling!r} is not one of {', '.join(get_args(Pooling))}")


STAGE_DEFAULTS = {1: {"num_pos": 128, "epochs": 3}, 2: {"num_pos": 16, "epochs": 1}}  # DR.EHR-small, Table III


def stage_config(stage: int, **overrides: Any) -> TrainConfig:
    """DR.EHR-small's settings for `stage` (module docstring), with the `overrides` that are not None."""
    if stage not in STAGE_DEFAULTS:
        raise ParameterError("stage", f"{stage} is not 1 or 2")
    given = {name: value for name, value in overrides.items() if value is not None}
    return TrainConfig(**{**STAGE_DEFAULTS[stage], **given})


@dataclass
class TrainReport:
    out: Path
    steps: int
    resumed_from: int
    examples: int
    seconds: float = 0.0
    log: list[dict[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        losses = [row["loss"] for row in self.log]
        return {"out": str(self.out), "steps": self.steps, "resumed_from": self.resumed_from,
                "examples": self.examples, "seconds": round(self.seconds, 2),
                "loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None}


# --- data ----------------------------------------------------------------------------------------------------
def _done_ids(path: Path) -> set[str]:
    """The idx of every complete line of an earlier run's file (a torn last line is dropped)."""
    if not path.is_file():
        return set()
    kept, done = [], set()
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        try:
            row = json.loads(line)
        except ValueError:
            break
        if not line.endswith("\n"):
            break
        kept.append(line)
        done.add(row["idx"])
    path.write_text("".join(kept), encoding="utf-8")
    return done


def read_examples(path: Path) -> list[Example]:
    examples = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            try:
                row = json.loads(line)
                entities = row.get("pos") or row["entities"]
                examples.append(Example(str(row["idx"]), str(row["text"]), [str(e) for e in entities]))
            except (ValueError, KeyError, TypeError) as error:
                raise InputError(str(path), number, f'expected {{"idx", "text", "entities"}} ({error})') from None
    return examples


def _append(path: Path, examples: Sequence[Example]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        for example in examples:
            row = {key: value for key, value in asdict(example).items() if key != "abbr" or value}
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def prepare_stage1(chunks: Sequence[Chunk], find: EntityFinder, knowledge: KnowledgeGraph, out: Path,
                   budget: Budget | None = None, seed: int = 0, batch: int = 64, progress: bool = True,
                   miner: Miner | None = None) -> Path:
    """Stage-1 examples (module docstring) into out/train_entities_syn.jsonl; resumes. `miner`: the abbreviation
    miner (abbreviations.llm_miner or rule_miner); None skips the abbreviation step."""
    budget = budget or Budget(children=0)
    Path(out).mkdir(parents=True, exist_ok=True)
    path = Path(out) / STAGE1_FILE
    done = _done_ids(path)
    todo = [chunk for chunk in chunks if chunk.id not in done]
    rng = random.Random(seed)
    with _bar("stage 1", not progress, len(chunks), len(chunks) - len(todo)) as (bar, task):
        for start in range(0, len(todo), batch):
            part = todo[start:start + batch]
            found = find([chunk.text for chunk in part])
            mined = miner([chunk.text for chunk in part]) if miner is not None else [{} for _ in part]
            rows = []
            for chunk, entities, abbr in zip(part, found, mined, strict=True):
                pairs = [(phrase, concept) for phrase, concept, _ in entities]
                if not pairs:
                    continue  # as DR.EHR: the abbreviation step only extends chunks the dictionary matched
                known = {phrase for phrase, _ in pairs}
                full_names = keep_pairs(chunk.text, abbr, lambda term: knowledge.concept_of_term(term) is not None)
                pairs += [(full, knowledge.concept_of_term(full)) for full in full_names if full not in known]
                rows.append(Example(chunk.id, chunk.text, knowledge.inject(pairs, budget, rng), abbr))
            _append(path, rows)
            bar.advance(task, len(part))
    return path


def parse_entity_list(text: str) -> list[str]:
    """DR.EHR's stage-2 parser: lines starting with bullets (-, *, •, ●, repeated) or numbers (1. or 1)); each
    item without its (…) parts, stripped, then without trailing . , ; : (a space before them stays, as in
    DR.EHR's); items starting with NA dropped; repeats kept (the types' lists are joined without repeats)."""
    items: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        match = _BULLET.match(line) or _NUMBERED.match(line)
        if not match:
            continue
        item = _PARENS.sub("", match.group(1)).strip().rstrip(".,;:")
        if item and not item.upper().startswith("NA"):
            items.append(item)
    return items


def prepare_stage2(chunks: Sequence[Chunk], out: Path, backend: LLMBackend | None = None,
                   find: EntityFinder | None = None, knowledge: KnowledgeGraph | None = None, batch: int = 16,
                   progress: bool = True) -> Path:
    """Stage-2 examples (module docstring) into out/stage2_entities.jsonl, from `backend` or graph templates."""
    if backend is None and (find is None or knowledge is None):
        raise ParameterError("backend", "stage 2 needs an LLM backend, or an extractor and the graph for templates")
    Path(out).mkdir(parents=True, exist_ok=True)
    path = Path(out) / STAGE2_FILE
    done = _done_ids(path)
    todo = [chunk for chunk in chunks if chunk.id not in done]
    with _bar("stage 2", not progress, len(chunks), len(chunks) - len(todo)) as (bar, task):
        for start in range(0, len(todo), batch):
            part = todo[start:start + batch]
            lists = _llm_entities(backend, part) if backend is not None else _template_entities(
                part, find, knowledge)  # type: ignore[arg-type]
            _append(path, [Example(c.id, c.text, items) for c, items in zip(part, lists, strict=True) if items])
            bar.advance(task, len(part))
    return path


def _llm_entities(backend: LLMBackend, chunks: Sequence[Chunk]) -> list[list[str]]:
    from bios_kg.embed.llm import LLMError

    prompts = [PROMPT.format(note=c.text, entity_type=t) for c in chunks for t in ENTITY_TYPES]
    answers: list[str | None] = [None] * len(prompts)
    for _ in range(LLM_RETRIES):
        pending = [i for i, answer in enumerate(answers) if answer is None]
        if not pending:
            break
        try:
            generations = backend.generate([prompts[i] for i in pending], max_tokens=LLM_MAX_TOKENS,
                                           temperature=LLM_TEMPERATURE)
        except LLMError:
            continue  # every pending (chunk, type) used one of its tries
        for i, generation in zip(pending, generations, strict=True):
            if generation.finish_reason == "stop":
                answers[i] = generation.text
    per_type = len(ENTITY_TYPES)  # a type still unanswered after its tries counts as an empty list
    return [[item for item in dict.fromkeys(entity for answer in answers[i * per_type:(i + 1) * per_type]
                                            for entity in parse_entity_list(answer or "")) if item]
            for i in range(len(chunks))]


def _template_entities(chunks: Sequence[Chunk], find: EntityFinder, knowledge: KnowledgeGraph) -> list[list[str]]:
    found = find([c.text for c in chunks])
    concepts = [[cid for _, cid, status in entities if cid and status.lower() not in NEGATED] for entities in found]
    hoods = knowledge.neighbourhoods(sorted({cid for ids in concepts for cid in ids}))
    parents = [hood.parents[0] for hood in hoods.values() if hood.parents]
    names = knowledge.terms(sorted(set(hoods) | set(parents)))
    lists = []
    for ids in concepts:
        items = [names[cid][0] for cid in ids if names[cid]]
        items += [names[p][0] for cid in ids for p in hoods[cid].parents[:1] if names[p]]
        lists.append(list(dict.fromkeys(items)))
    return lists


# --- loss ----------------------------------------------------------------------------------------------------
def drehr_loss(chunks: torch.Tensor, entities: torch.Tensor, owners: torch.Tensor, alpha: float = ALPHA,
               beta: float = BETA, base: float = BASE, epsilon: float = EPSILON) -> torch.Tensor:
    """The batch-wide masked multi-similarity loss (module docstring); `owners[r]` is the chunk of entity r."""
    anchors = torch.arange(len(chunks), device=chunks.device)
    similarity = cosine_matrix(chunks, entities)
    pairs = mine_multi_similarity(similarity, anchors, owners, same_set=False, epsilon=epsilon)
    positive = owners[None, :] == anchors[:, None]
    pos = (-alpha * (similarity * pairs.positive - base))[positive]
    neg = (beta * (similarity * pairs.negative - base))[~positive]
    zero = similarity.new_zeros(1)
    return (torch.logsumexp(torch.cat([pos, zero]), 0) / alpha
            + torch.logsumexp(torch.cat([neg, zero]), 0) / beta) / len(chunks)


def sample_positives(entities: Sequence[str], n: int, rng: random.Random) -> list[str]:
    """n entities: the list repeated ceil(n / len) times, n of them sampled without replacement, order kept."""
    repeated = list(entities) * math.ceil(n / len(entities))
    return [repeated[i] for i in sorted(rng.sample(range(len(repeated)), n))]


# --- training ------------------------------------------------------------------------------------------------
def train_retriever(examples: Sequence[Example], out: Path, config: TrainConfig, device: str = "auto",
                    checkpoint_every: int = 100, progress: bool = True) -> TrainReport:
    """Train (or resume) a DR.EHR bi-encoder on `examples` into `out` (module docstring)."""
    examples = [e for e in examples if e.entities]
    if len(examples) < config.batch_size:
        raise ParameterError("batch_size", f"{config.batch_size} exceeds the {len(examples)} training examples")
    if checkpoint_every < 1:
        raise ParameterError("checkpoint_every", f"{checkpoint_every} is not a positive integer")
    out = Path(out)
    fingerprint = [len(examples), examples[0].idx, examples[-1].idx]
    per_epoch = math.ceil(len(examples) / config.batch_size)
    total = per_epoch * config.epochs
    checkpoint = latest_checkpoint(out)
    state: dict[str, Any] = {}
    if checkpoint is not None:
        state = load_state(checkpoint)
        check_resumable(checkpoint, state, asdict(config), fingerprint, "the training examples")
        encoder = load_encoder(checkpoint / "model", device=device)
    else:
        encoder = load_encoder(config.base, device=device)
        if config.pooling != "base":
            encoder.settings = replace(encoder.settings, pooling=config.pooling)
        torch.manual_seed(config.seed)
    settings = encoder.settings
    optimizer = torch.optim.AdamW(encoder.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total), total)
    report = TrainReport(out, 0, 0, len(examples))
    if state:
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        set_rng_state(state["rng"])
        report.steps = report.resumed_from = int(state["step"])
        report.log = list(state["log"])
    started = time.perf_counter()
    encoder.model.train()
    with _bar("train-retriever", not progress, total, report.steps) as (bar, task):
        for step, batch in _batches(examples, config, per_epoch, total, report.steps):
            rng = random.Random(config.seed * 1_000_003 + step)
            positives = [sample_positives(e.entities, config.num_pos, rng) for e in batch]
            with training_contract(encoder, replace(settings, max_length=config.max_length, normalize=False)):
                chunk_vectors = encoder.embed_batch([e.text for e in batch])
            with training_contract(encoder, replace(settings, max_length=config.max_entity_length, normalize=False)):
                entity_vectors = encoder.embed_batch([p for pos in positives for p in pos])
            owners = torch.arange(len(batch), device=encoder.device).repeat_interleave(config.num_pos)
            if config.loss == "batch":
                loss = drehr_loss(chunk_vectors, entity_vectors, owners)
            else:
                loss = multi_similarity_loss(chunk_vectors, torch.arange(len(batch), device=encoder.device),
                                             entity_vectors, owners)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(encoder.model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            report.steps = step + 1
            value = float(loss.detach())
            report.log.append({"step": report.steps, "loss": value, "lr": scheduler.get_last_lr()[0]})
            bar.update(task, completed=report.steps, description=f"loss {value:.4f}")
            if report.steps % checkpoint_every == 0 or report.steps == total:
                with training_contract(encoder, settings):
                    write_checkpoint(out, report.steps, lambda folder: encoder.save(folder, name=out.resolve().name), {
                        "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                        "rng": rng_state(), "step": report.steps, "log": report.log, "config": asdict(config),
                        "fingerprint": fingerprint})
    report.seconds = time.perf_counter() - started
    encoder.model.eval()
    with training_contract(encoder, settings):
        encoder.save(out, name=out.resolve().name)
    meta = json.loads((out / SETTINGS_FILE).read_text(encoding="utf-8"))
    meta["training"] = {"method": "drehr", "args": asdict(config), "examples": len(examples), "steps": report.steps}
    (out / SETTINGS_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    (out / LOG_FILE).write_text("".join(json.dumps(row) + "\n" for row in report.log), encoding="utf-8")
    return report


def _batches(examples: Sequence[Example], config: TrainConfig, per_epoch: int, total: int,
             start: int) -> Iterator[tuple[int, list[Example]]]:
    """(step, batch) from `start` on: each epoch a seeded shuffle, the last batch of an epoch possibly short."""
    for step in range(start, total):
        epoch, offset = divmod(step, per_epoch)
        order = list(range(len(examples)))
        random.Random(config.seed + epoch).shuffle(order)
        picked = order[offset * config.batch_size:(offset + 1) * config.batch_size]
        if len(picked) < 2:  # a lone chunk has no in-batch negative
            continue
        yield step, [examples[i] for i in picked]


class _bar:
    """A rich progress bar with one task: `with _bar(label, disabled, total, done) as (bar, task)`."""

    def __init__(self, label: str, disabled: bool, total: int, done: int) -> None:
        self.progress = Progress(TextColumn(f"[bold]{label}[/bold] {{task.description}}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), disable=disabled)
        self.total, self.done = total, done

    def __enter__(self) -> tuple[Progress, Any]:
        self.progress.__enter__()
        return self.progress, self.progress.add_task("", total=self.total, completed=self.done)

    def __exit__(self, *args: object) -> None:
        self.progress.__exit__(*args)  # type: ignore[arg-type]


def extractor_finder(extractor: Any, linker: Any = None) -> EntityFinder:
    """A bios_kg.apps.extract extractor (`extract(texts) -> [Extraction]`, entities with phrase, concept_id and
    assertion_status), its entities linked to concepts by a bios_kg.apps.extract linker when given, as the EntityFinder
    the data preparation takes."""

    def find(texts: Sequence[str]) -> list[list[tuple[str, str | None, str]]]:
        extractions = extractor.extract(list(texts))
        if linker is not None:
            linker.link([entity for extraction in extractions for entity in extraction.entities])
        return [[(e.phrase, e.concept_id, e.assertion_status or "present") for e in extraction.entities]
                for extraction in extractions]

    return find
