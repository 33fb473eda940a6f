"""`bios suggest export|train|list|accept|reject`: KG embeddings with PyKEEN and curator review of the links they
suggest. Only `export` and `train` load torch."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bios_kg.graph import suggestions
from bios_kg.graph.cli_options import DeviceOption, JsonOption, comma_list, console, stdout
from bios_kg.graph.results import write_results
from bios_kg.graph.store import GraphStore

suggest_app = typer.Typer(help="Relation suggestions: a PyKEEN KG embedding model proposes missing links (SUGGESTED "
                               "edges) that curators accept or reject.", no_args_is_help=True)


SourcesOption = Annotated[str | None, typer.Option(help="Only edges stated by these sources: HPO,ICD10.")]
RelationsOption = Annotated[str | None, typer.Option(help="Only these relation types: is_a,may_treat.")]


@suggest_app.command("export")
def export_command(
    out: Annotated[Path, typer.Option(help="TSV file: head<TAB>relation<TAB>tail (CURIEs), with a header row.")],
    sources: SourcesOption = None,
    relations: RelationsOption = None,
    max_triples: Annotated[int | None, typer.Option(help="Keep a seeded sample of this many triples.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sample.")] = 72,
) -> None:
    """Export the graph's concept relations as triples keyed by CURIE."""
    from bios_kg.embed.kge.export import export_triples, write_tsv

    with GraphStore.connect() as store:
        triples = export_triples(store, sources=comma_list(sources), relations=comma_list(relations),
                                 max_triples=max_triples, seed=seed)
    console.print(f"{write_tsv(triples, out):,} triples written to {out}")


@suggest_app.command("train")
def train_command(
    out: Annotated[Path, typer.Option(help="Folder for PyKEEN's results, checkpoints/ and report.json; rerunning "
                                           "the same configuration on it resumes from the checkpoint.")],
    model: Annotated[str, typer.Option(help="A PyKEEN model name: TransE, DistMult, ComplEx, RotatE, …")] = "TransE",
    dim: Annotated[int, typer.Option(help="Embedding dimension.")] = 64,
    epochs: Annotated[int, typer.Option(help="Training epochs.")] = 5,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 0.01,
    batch_size: Annotated[int, typer.Option(help="Training triples per batch.")] = 1024,
    negatives: Annotated[int, typer.Option(help="Corrupted triples per positive.")] = 1,
    test_fraction: Annotated[float, typer.Option(help="Share of triples held out for evaluation.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Seed of the split, the sample and the initialisation.")] = 72,
    sources: SourcesOption = None,
    relations: RelationsOption = None,
    max_triples: Annotated[int | None, typer.Option(help="Train on a seeded sample of this many triples.")] = None,
    triples: Annotated[Path | None, typer.Option(exists=True, dir_okay=False,
                                                 help="Train on this TSV (from `bios suggest export`) instead of "
                                                      "exporting from the graph.")] = None,
    top_k: Annotated[int, typer.Option(help="SUGGESTED edges written per relation (0: none).")] = 100,
    no_vectors: Annotated[bool, typer.Option("--no-vectors", help="Do not write Concept.kge_embedding.")] = False,
    results: Annotated[Path | None, typer.Option(help="Also write the evaluation here (JSON) and as Markdown "
                                                      "beside it (.md), e.g. benchmarks/results/kge.json.")] = None,
    device: DeviceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Train a KG embedding model on the concept relations, evaluate it (MRR, hits@k on held-out triples), write
    the entity vectors onto the concepts and the best-scoring missing links as SUGGESTED edges."""
    from bios_kg.embed.kge.export import read_tsv
    from bios_kg.embed.kge.train import KgeConfig, markdown, train_kge

    config = KgeConfig(model=model, dim=dim, epochs=epochs, lr=lr, batch_size=batch_size, negatives=negatives,
                       test_fraction=test_fraction, seed=seed)
    with GraphStore.connect() as store:
        report = train_kge(store, out, config, sources=comma_list(sources), relations=comma_list(relations),
                           max_triples=max_triples, triples=read_tsv(triples) if triples else None, top_k=top_k,
                           write_vectors=not no_vectors, device=device, progress=not as_json)
    summary = report.as_dict()
    if results is not None:
        write_results(summary, results, markdown(summary))
    if as_json:
        print(json.dumps(summary))
        return
    metrics = report.metrics
    console.print(f"{report.model_id}{' (resumed)' if report.resumed else ''}: {report.triples:,} triples, "
                  f"{report.entities:,} entities; test MRR {metrics['mrr']:.4f}, hits@10 {metrics['hits_at_10']:.4f}; "
                  f"{report.vectors_written:,} concept vectors, {report.suggestions_written:,} suggestions")


@suggest_app.command("list")
def list_command(
    status: Annotated[str, typer.Option(help="open, accepted, rejected or all.")] = "open",
    model: Annotated[str | None, typer.Option(help="Only this model's suggestions.")] = None,
    relation: Annotated[str | None, typer.Option(help="Only this relation type, e.g. IS_A.")] = None,
    concept: Annotated[str | None, typer.Option(help="Only suggestions with this concept at either end.")] = None,
    limit: Annotated[int, typer.Option(help=f"Rows (1-{suggestions.MAX_LIST}).")] = 50,
    offset: Annotated[int, typer.Option(help="Rows to skip first.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Suggestions, best score first."""
    with GraphStore.connect() as store:
        rows = suggestions.list_suggestions(store, status=None if status == "all" else status, model=model,
                                            relation=relation, concept=concept, limit=limit, offset=offset)
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "head", "relation", "tail", "score", "status", "model")
    for row in rows:
        table.add_row(row["id"], f"{row['head']} {row['head_name'] or ''}", row["relation"],
                      f"{row['tail']} {row['tail_name'] or ''}", f"{row['score']:.4f}", row["status"], row["model"])
    stdout.print(table)


Ids = Annotated[list[str], typer.Argument(help="Suggestion ids (see `bios suggest list`).")]
Curator = Annotated[str | None, typer.Option(help="Who reviewed, recorded on the edges.")]


@suggest_app.command("accept")
def accept_command(ids: Ids, curator: Curator = None) -> None:
    """Turn suggestions into the typed relations they propose (provenance: the model and the curator)."""
    with GraphStore.connect() as store:
        review = suggestions.accept(store, ids, curator)
    console.print(f"accepted {len(review.changed)}; already accepted {len(review.unchanged)}")


@suggest_app.command("reject")
def reject_command(ids: Ids, curator: Curator = None) -> None:
    """Mark suggestions rejected: the model's next run does not propose them again."""
    with GraphStore.connect() as store:
        review = suggestions.reject(store, ids, curator)
    console.print(f"rejected {len(review.changed)}; already rejected {len(review.unchanged)}")
