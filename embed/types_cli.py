"""`bios types train|predict`: a semantic-type classifier over concept vectors (embed/semantic_types.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.console import Console

from bios_kg.graph.results import write_results
from bios_kg.graph.store import GraphStore

types_app = typer.Typer(help="Semantic types predicted from concept vectors for concepts without one.",
                        no_args_is_help=True)
console = Console(stderr=True, soft_wrap=True)


def _names(text: str | None) -> list[str] | None:
    return [item.strip() for item in text.split(",") if item.strip()] if text else None


@types_app.command("train")
def train_command(
    out: Annotated[Path, typer.Option(help="Folder for the model (model.npz, model.json with its evaluation).")],
    features: Annotated[str, typer.Option(help="graph (Concept.embedding), an encoder name or model folder, or "
                                               "auto (the graph's vectors when present, else minilm).")] = "auto",
    classifier: Annotated[str, typer.Option(help="logreg or mlp.")] = "logreg",
    test_fraction: Annotated[float, typer.Option(help="Share of typed concepts held out for evaluation.")] = 0.2,
    max_concepts: Annotated[int | None, typer.Option(help="Use a seeded sample of this many typed concepts.")] = None,
    sources: Annotated[str | None, typer.Option(help="Only concepts of these sources: HPO,ICD10.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the split and the sample.")] = 72,
    results: Annotated[Path | None, typer.Option(help="Also write the evaluation here (JSON) and as Markdown beside "
                                                      "it, e.g. benchmarks/results/semantic_types.json.")] = None,
    device: Annotated[str, typer.Option(help="Encoder device: auto, cpu, cuda, …")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON (and no progress bar).")] = False,
) -> None:
    """Train on the typed concepts (split by concept), evaluate on the held-out ones, save the model."""
    from bios_kg.embed.semantic_types import Classifier, markdown, train_semantic_types

    with GraphStore.connect() as store:
        report = train_semantic_types(store, out, features=features, classifier=cast(Classifier, classifier),
                                      test_fraction=test_fraction, max_concepts=max_concepts,
                                      sources=_names(sources), seed=seed, device=device, progress=not as_json)
    if results is not None:
        write_results(report, results, markdown(report))
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    metrics = report["metrics"]
    console.print(f"{report['id']}: {report['train']:,} train / {report['test']:,} test concepts; accuracy "
                  f"{metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}; saved to {out}")


@types_app.command("predict")
def predict_command(
    model: Annotated[Path, typer.Option(exists=True, file_okay=False, help="A folder from `bios types train`.")],
    min_score: Annotated[float, typer.Option(help="Write a type only at or above this probability.")] = 0.5,
    top_k: Annotated[int, typer.Option(help="Types per concept at most.")] = 1,
    sources: Annotated[str | None, typer.Option(help="Only concepts of these sources: CMEKG.")] = None,
    batch_size: Annotated[int, typer.Option(help="Concepts per page and per write transaction.")] = 2000,
    device: Annotated[str, typer.Option(help="Encoder device: auto, cpu, cuda, …")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON (and no progress bar).")] = False,
) -> None:
    """Type every concept without an asserted type: HAS_TYPE {source: model id, score}; reruns replace them."""
    from bios_kg.embed.semantic_types import predict_semantic_types

    with GraphStore.connect() as store:
        report = predict_semantic_types(store, model, min_score=min_score, top_k=top_k, sources=_names(sources),
                                        batch_size=batch_size, device=device, progress=not as_json)
    if as_json:
        print(json.dumps(report.__dict__, ensure_ascii=False))
        return
    console.print(f"{report.model_id}: {report.concepts:,} untyped concepts scored ({report.without_vector:,} without "
                  f"a vector), {report.edges:,} HAS_TYPE edges written")
