"""`bios suggest train`: a PyKEEN KG embedding model over the graph's concept relations, evaluated, written back.

1. The triples (embed/kge/export.py) are split by triple, seeded, into training and test sets (PyKEEN's split
   moves triples into training until every entity and relation occurs there).
2. PyKEEN's pipeline trains the model (sLCWA, `negatives` corrupted triples per positive) and evaluates it on the
   test triples with the rank-based evaluator, filtered: MRR and hits@k of the "both" side, realistic ranks.
   A checkpoint is written after each epoch under `out/checkpoints/`; a rerun of the same configuration on the
   same triples resumes from it (PyKEEN's own checkpoint support) and a finished run is not trained again.
3. The entity vectors go onto the concepts (`Concept.kge_embedding`, `kge_model`; one model's vectors at a time).
4. For each relation, every head of that relation is scored against every tail of that relation (its observed
   domain and range); the `top_k` best-scoring (head, tail) pairs that are not known triples become SUGGESTED
   edges `{id, relation, score, rank, model, status: open}`. Scores are the model's own (higher is more likely;
   TransE: minus a distance) and are comparable within one model only.

The model id is `<model>@<digest>`, the digest covering the configuration and the triples: the same run over the
same graph has the same id, so its suggestions replace its earlier open ones and reviewed ones keep their status.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pykeen.models import ERModel, Model, model_resolver
from pykeen.pipeline import pipeline
from pykeen.triples import TriplesFactory
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bios_kg.embed.encoders import resolve_device
from bios_kg.embed.kge.export import export_triples
from bios_kg.graph.cli_options import console
from bios_kg.graph.errors import ConfigError, GraphError, ParameterError
from bios_kg.graph.queries.embeddings import MERGE_PREDICTION_MODEL
from bios_kg.graph.queries.suggestions import (
    CLEAR_OPEN_SUGGESTIONS,
    CLEAR_OTHER_KGE_VECTORS,
    SET_KGE_VECTORS,
    WRITE_SUGGESTIONS,
)
from bios_kg.graph.store import GraphStore

WRITE_BATCH = 1000
SCORE_CHUNK = 1 << 24  # floats of the broadcast (heads x tails x dim) tensor per scoring call
METRICS = {"mrr": "inverse_harmonic_mean_rank", "hits_at_1": "hits_at_1", "hits_at_3": "hits_at_3",
           "hits_at_10": "hits_at_10", "mean_rank": "arithmetic_mean_rank"}


@dataclass(frozen=True)
class KgeConfig:
    model: str = "TransE"  # any PyKEEN model name
    dim: int = 64
    epochs: int = 5
    lr: float = 0.01
    batch_size: int = 1024
    negatives: int = 1  # corrupted triples per positive
    test_fraction: float = 0.1
    seed: int = 72

    def __post_init__(self) -> None:
        if model_resolver.normalize(self.model) not in model_resolver.lookup_dict:
            raise ParameterError("model", f"{self.model!r} is not a PyKEEN model "
                                          f"(e.g. {', '.join(sorted(model_resolver.lookup_dict)[:12])}, …)")
        for name in ("dim", "epochs", "batch_size", "negatives"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ParameterError(name, f"{value!r} is not a positive integer")
        if not self.lr > 0:
            raise ParameterError("lr", f"{self.lr} is not positive")
        if not 0 < self.test_fraction < 0.5:
            raise ParameterError("test_fraction", f"{self.test_fraction} is not between 0 and 0.5")


@dataclass
class KgeFit:
    """A trained model with its triples: `factory` holds every triple, `training` the ones it was trained on."""

    model_id: str
    config: KgeConfig
    factory: TriplesFactory
    training: TriplesFactory
    model: Model
    metrics: dict[str, float]
    losses: list[float]
    resumed: bool
    test_triples: int


@dataclass
class KgeReport:
    model_id: str
    config: dict[str, Any]
    filters: dict[str, Any]
    triples: int = 0
    entities: int = 0
    relations: int = 0
    train_triples: int = 0
    test_triples: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    final_loss: float | None = None
    resumed: bool = False
    vectors_written: int = 0
    suggestions_written: int = 0
    device: str = "cpu"
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": {k: round(v, 2) for k, v in self.seconds.items()}}


def model_id_for(config: KgeConfig, triples: np.ndarray) -> str:
    digest = hashlib.sha256(json.dumps(asdict(config), sort_keys=True).encode())
    digest.update("\n".join("\t".join(row) for row in triples.tolist()).encode())
    return f"{model_resolver.normalize(config.model)}@{digest.hexdigest()[:12]}"


def fit_kge(triples: np.ndarray, config: KgeConfig, out: Path, *, device: str = "auto",
            progress: bool = True) -> KgeFit:
    """Train and evaluate `config.model` on labelled triples [n, 3]; PyKEEN's results and checkpoint go to `out`."""
    model_id = model_id_for(config, triples)
    factory = TriplesFactory.from_labeled_triples(triples)
    try:
        training, testing = factory.split([1 - config.test_fraction, config.test_fraction],
                                          random_state=config.seed)
    except ValueError as error:
        raise GraphError(f"{len(triples)} triples are too few to hold out {config.test_fraction:.0%} ({error})") \
            from error
    checkpoints = out / "checkpoints"
    checkpoint = f"{model_id.split('@')[1]}.pt"
    resumed = (checkpoints / checkpoint).is_file()
    torch_device = resolve_device(device)
    logging.getLogger("pykeen").setLevel(logging.ERROR)  # its INFO/WARNING lines would bury the progress bars
    logging.getLogger("torch_max_mem").setLevel(logging.ERROR)
    result = pipeline(
        training=training, testing=testing, model=config.model, model_kwargs={"embedding_dim": config.dim},
        optimizer="Adam", optimizer_kwargs={"lr": config.lr},
        negative_sampler_kwargs={"num_negs_per_pos": config.negatives},
        # memory probing (sub-batch search) is for GPUs; on a CPU it only costs time
        training_loop_kwargs={"automatic_memory_optimization": torch_device.type == "cuda"},
        training_kwargs={"num_epochs": config.epochs, "batch_size": config.batch_size, "use_tqdm": progress,
                         "use_tqdm_batch": False, "checkpoint_directory": checkpoints,
                         "checkpoint_name": checkpoint, "checkpoint_frequency": 0,
                         "pin_memory": torch_device.type == "cuda"},
        evaluator="rankbased", evaluator_kwargs={"filtered": True},
        evaluation_kwargs={"batch_size": 256, "use_tqdm": progress},
        random_seed=config.seed, device=torch_device, use_tqdm=progress)
    result.save_to_directory(out / "pykeen", save_training=False)
    metrics = {key: float(result.metric_results.get_metric(f"both.realistic.{name}"))
               for key, name in METRICS.items()}
    return KgeFit(model_id, config, factory, training, result.model, metrics, [float(x) for x in result.losses],
                  resumed, testing.num_triples)


def entity_vectors(fit: KgeFit) -> tuple[list[str], np.ndarray]:
    """Entity labels and their vectors (complex ones as [real parts, imaginary parts] concatenated)."""
    if not isinstance(fit.model, ERModel):
        raise ConfigError(f"{fit.config.model}: the model has no entity representations to write")
    with torch.no_grad():
        vectors = fit.model.entity_representations[0](indices=None).detach().cpu()
    if vectors.is_complex():
        vectors = torch.cat([vectors.real, vectors.imag], dim=-1)
    labels = [fit.training.entity_id_to_label[i] for i in range(vectors.shape[0])]
    return labels, vectors.reshape(vectors.shape[0], -1).float().numpy()


def suggest_links(fit: KgeFit, top_k: int, progress: bool = True) -> list[dict[str, Any]]:
    """The `top_k` best-scoring unknown (head, tail) pairs of each relation; rows {id, head, relation, tail, score,
    rank}, best first within each relation."""
    if top_k < 1:
        raise ParameterError("top_k", f"{top_k} is not a positive integer")
    model, ids = fit.model, fit.factory.mapped_triples.numpy()
    entity_label, relation_label = fit.training.entity_id_to_label, fit.training.relation_id_to_label
    model.eval()
    rows: list[dict[str, Any]] = []
    with _progress(progress) as bar, torch.no_grad():
        task = bar.add_task("suggestions", total=len(relation_label))
        for relation in sorted(relation_label):
            known = ids[ids[:, 1] == relation]
            heads, tails = np.unique(known[:, 0]), np.unique(known[:, 2])
            column = np.full(fit.training.num_entities, -1)
            column[tails] = np.arange(len(tails))
            known_by_head: dict[int, list[int]] = {}
            for head, tail in known[:, [0, 2]].tolist():
                known_by_head.setdefault(head, []).append(int(column[tail]))
            step = max(1, SCORE_CHUNK // max(1, len(tails) * fit.config.dim))
            tail_tensor = torch.as_tensor(tails, device=model.device)
            best_scores, best_pairs = np.zeros(0, dtype=np.float32), np.zeros((0, 2), dtype=np.int64)
            for start in range(0, len(heads), step):
                batch = heads[start:start + step]
                hr = torch.as_tensor(np.stack([batch, np.full(len(batch), relation)], axis=1), device=model.device)
                scores = model.score_t(hr, tails=tail_tensor).float().cpu().numpy()
                for row, head in enumerate(batch.tolist()):
                    scores[row, known_by_head[head]] = -np.inf
                    if column[head] >= 0:
                        scores[row, column[head]] = -np.inf
                flat = scores.ravel()
                keep = min(top_k, int(np.isfinite(flat).sum()))
                if keep:
                    top = np.argpartition(-flat, keep - 1)[:keep]
                    pairs = np.stack([batch[top // len(tails)], tails[top % len(tails)]], axis=1)
                    best_scores = np.concatenate([best_scores, flat[top]])
                    best_pairs = np.concatenate([best_pairs, pairs])
                    order = np.lexsort((best_pairs[:, 1], best_pairs[:, 0], -best_scores))[:top_k]
                    best_scores, best_pairs = best_scores[order], best_pairs[order]
            name = relation_label[relation]
            for rank, (score, (head, tail)) in enumerate(zip(best_scores.tolist(), best_pairs.tolist(),
                                                             strict=True), start=1):
                head_id, tail_id = entity_label[head], entity_label[tail]
                rows.append({"id": suggestion_id(fit.model_id, head_id, name, tail_id), "head": head_id,
                             "relation": name, "tail": tail_id, "score": score, "rank": rank})
            bar.advance(task)
    return rows


def suggestion_id(model_id: str, head: str, relation: str, tail: str) -> str:
    """Stable per (model, head, relation, tail): `S` + 16 hex digits."""
    return "S" + hashlib.sha256(f"{model_id}\t{head}\t{relation}\t{tail}".encode()).hexdigest()[:16]


def train_kge(store: GraphStore, out: Path, config: KgeConfig | None = None, *, sources: list[str] | None = None,
              relations: list[str] | None = None, max_triples: int | None = None, triples: np.ndarray | None = None,
              top_k: int = 100, write_vectors: bool = True, device: str = "auto",
              progress: bool = True) -> KgeReport:
    """Export (unless `triples` are given), train and evaluate, write vectors and suggestions; see the module doc.

    `top_k`: suggestions per relation; with 0 and no `write_vectors` the graph is only read (an evaluation). The
    report also goes to `out/report.json`.
    """
    config = config or KgeConfig()
    if top_k < 0:
        raise ParameterError("top_k", f"{top_k} is negative")
    started = time.perf_counter()
    if triples is None:
        triples = export_triples(store, sources=sources, relations=relations, max_triples=max_triples,
                                 seed=config.seed)
    filters = {"sources": sources, "relations": relations, "max_triples": max_triples}
    seconds = {"export": time.perf_counter() - started}
    out.mkdir(parents=True, exist_ok=True)
    fit = fit_kge(triples, config, out, device=device, progress=progress)
    seconds["train"] = time.perf_counter() - started - sum(seconds.values())
    report = KgeReport(fit.model_id, asdict(config), filters, len(triples), fit.factory.num_entities,
                       fit.factory.num_relations, fit.training.num_triples, fit.test_triples, fit.metrics,
                       fit.losses[-1] if fit.losses else None, fit.resumed, device=str(fit.model.device))
    if write_vectors:
        report.vectors_written = write_entity_vectors(store, fit, progress)
        seconds["vectors"] = time.perf_counter() - started - sum(seconds.values())
    if top_k:
        report.suggestions_written = write_suggestions(store, fit.model_id, suggest_links(fit, top_k, progress))
        seconds["suggest"] = time.perf_counter() - started - sum(seconds.values())
    report.seconds = seconds
    if write_vectors or top_k:
        store.run(MERGE_PREDICTION_MODEL, id=fit.model_id, props={
            "task": "relation_suggestions", "model": config.model, "config": json.dumps(asdict(config)),
            "filters": json.dumps(filters), "triples": report.triples, "entities": report.entities,
            **{f"test_{key}": value for key, value in fit.metrics.items()}})
    (out / "report.json").write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")
    return report


def write_entity_vectors(store: GraphStore, fit: KgeFit, progress: bool = True) -> int:
    """Every entity's vector onto its concept (other models' KGE vectors removed first); returns how many."""
    labels, vectors = entity_vectors(fit)
    store.run_in_transactions(CLEAR_OTHER_KGE_VECTORS, model=fit.model_id)
    with _progress(progress) as bar:
        task = bar.add_task("concept KGE vectors", total=len(labels))
        for start in range(0, len(labels), WRITE_BATCH):
            rows = [{"id": label, "v": vector} for label, vector in
                    zip(labels[start:start + WRITE_BATCH], vectors[start:start + WRITE_BATCH].tolist(), strict=True)]
            store.run(SET_KGE_VECTORS, rows=rows, model=fit.model_id)
            bar.advance(task, len(rows))
    return len(labels)


def write_suggestions(store: GraphStore, model_id: str, rows: list[dict[str, Any]]) -> int:
    """Replace the model's open suggestions with `rows`; returns how many SUGGESTED edges hold them now."""
    store.run_in_transactions(CLEAR_OPEN_SUGGESTIONS, model=model_id)
    written = 0
    for start in range(0, len(rows), WRITE_BATCH):
        written += store.count(WRITE_SUGGESTIONS, rows=rows[start:start + WRITE_BATCH], model=model_id)
    return written


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, disable=not enabled)


def markdown(report: dict[str, Any]) -> str:
    """A training report's evaluation as a Markdown section."""
    config, filters, metrics = report["config"], report["filters"], report["metrics"]
    entities = report["entities"]
    harmonic = sum(1 / rank for rank in range(1, entities + 1))  # random ranks: E[1/rank] = H(n) / n
    lines = [f"### Relation suggestions: {report['model_id']}", "",
             f"{config['model']}, dim {config['dim']}, {config['epochs']} epochs, lr {config['lr']}, batch "
             f"{config['batch_size']}, {config['negatives']} negative(s) per positive, seed {config['seed']}, on "
             f"{report['device']}. Triples: sources {', '.join(filters['sources'] or ['all'])}, relations "
             f"{', '.join(filters['relations'] or ['all'])}"
             + (f", sampled to {filters['max_triples']:,}" if filters.get("max_triples") else "")
             + f": {report['triples']:,} triples, {report['entities']:,} entities, {report['relations']} relations; "
             f"split by triple: {report['train_triples']:,} train, {report['test_triples']:,} test. Filtered "
             "rank-based evaluation, both sides, realistic ranks. Training and evaluation "
             f"{report['seconds'].get('train', 0)} s.", "",
             "| ranking | MRR | hits@1 | hits@3 | hits@10 | mean rank |", "|---|---:|---:|---:|---:|---:|",
             f"| {config['model']} | {metrics['mrr']:.4f} | {metrics['hits_at_1']:.4f} | {metrics['hits_at_3']:.4f} | "
             f"{metrics['hits_at_10']:.4f} | {metrics['mean_rank']:.1f} |",
             f"| uniformly random (expected) | {harmonic / entities:.4f} | {1 / entities:.4f} | {3 / entities:.4f} | "
             f"{10 / entities:.4f} | {(entities + 1) / 2:.1f} |"]
    return "\n".join(lines) + "\n"
