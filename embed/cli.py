"""`bios embed …` (train encoders on the graph, embed its terms) and `bios types …` (a semantic-type classifier
over concept vectors, bios_kg.embed.semantic_types)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from bios_kg.embed import DEFAULT_ENCODER, EMBED_BATCH_SIZE
from bios_kg.graph.cli_options import JsonOption, comma_list, console
from bios_kg.graph.curie import read_concept_ids
from bios_kg.graph.results import write_results
from bios_kg.graph.store import GraphStore

if TYPE_CHECKING:
    from bios_kg.embed.coder.losses import RelationLoss
    from bios_kg.embed.coder.sampler import Sampling
    from bios_kg.embed.coder.trainer import Preset

embed_app = typer.Typer(help="Term embeddings: encoder training and vectors for the graph's terms.",
                        no_args_is_help=True)
types_app = typer.Typer(help="Semantic types predicted from concept vectors for concepts without one.",
                        no_args_is_help=True)


@embed_app.command("train-coder")
def train_coder_command(
    out: Annotated[Path, typer.Option(help="Folder for the trained model, train_log.jsonl and checkpoints/; "
                                           "rerunning on it resumes from the newest checkpoint.")],
    base: Annotated[str, typer.Option(help="Starting encoder: a registered name or a model folder.")] = "minilm",
    preset: Annotated[str | None, typer.Option(help="coder: CODER's released settings (pooler output, input ids "
                                                    "only, padding to 32; triple items with CODER's negative "
                                                    "tails; steps count batches; warm-up 10k, accumulation 8, 1M "
                                                    "steps); options given explicitly override its numbers.")
                      ] = None,
    steps: Annotated[int | None, typer.Option(help="Optimizer steps (--preset coder: batches). Default: 1000.")
                     ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Strings per batch (CODER: 256). Default: 256.")] = None,
    grad_accum: Annotated[int | None, typer.Option(help="Batches per optimizer step (CODER: 8). Default: 1.")
                          ] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate (AdamW). Default: 2e-5.")] = None,
    warmup: Annotated[int | None, typer.Option(help="Linear warm-up in optimizer steps, then linear decay to 0 at "
                                                    "--steps (CODER: 10000). Default: 100.")] = None,
    re_weight: Annotated[float | None, typer.Option(help="Weight of the relation loss. Default: 1.0.")] = None,
    sty_weight: Annotated[float | None, typer.Option(help="Weight of the semantic-type loss. Default: 0.0.")
                          ] = None,
    relation_loss: Annotated[str, typer.Option(help="transe (CODER's code) or cosine (cos(h + r, t), MS).")] = "transe",
    languages: Annotated[str | None, typer.Option(help="Term languages, e.g. en,zh (default: all).")] = None,
    sources: Annotated[str | None, typer.Option(help="Sources whose terms and relations to use: HPO,ICD10.")] = None,
    exclude_concepts: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="File of held-out concept ids, one per line: never trained on.")] = None,
    add_tokens: Annotated[bool, typer.Option(help="Add the training strings' unknown characters (e.g. Chinese) "
                                                  "to the vocabulary first and initialise every ideograph from its "
                                                  "English translations in the graph (embed/alignment.py).")] = False,
    sampling: Annotated[str, typer.Option(help="coder: CODER's triple items + the synonym sets of concepts in no "
                                               "triple (--preset coder: triple items only); synonyms: "
                                               "every synonym set, no triples (SapBERT); cortex: synonym sets "
                                               "with each concept's definition as its explanation view "
                                               "(CoRTEx); coderpp: one group per string, its 30 nearest strings "
                                               "(re-mined every --mine-every steps) and 30 synonyms (CODER++)."
                                          )] = "coder",
    mine_every: Annotated[int, typer.Option(help="Re-mine hard negatives (faiss, current weights) every N steps "
                                                 "from step 0; 0: none.")] = 0,
    hard_fraction: Annotated[float, typer.Option(help="Chance, reached by mid-run, that a concept's hard "
                                                      "negative joins its batch.")] = 0.5,
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu, cuda, cuda:1, …")] = "auto",
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of sampling and initialisation.")] = 72,
    as_json: JsonOption = False,
) -> None:
    """Train a CODER-style encoder on the graph's synonyms and concept–relation–concept triples (--preset coder:
    CODER's own settings)."""
    from bios_kg.embed.coder.trainer import CODER_PRESET, train_coder  # torch loads only for this command

    given = {"steps": steps, "batch_size": batch_size, "grad_accum": grad_accum, "lr": lr, "warmup": warmup,
             "re_weight": re_weight, "sty_weight": sty_weight}
    defaults = CODER_PRESET if preset else {"steps": 1000, "batch_size": 256, "grad_accum": 1, "lr": 2e-5,
                                            "warmup": 100, "re_weight": 1.0, "sty_weight": 0.0}
    numbers: dict[str, Any] = {name: defaults[name] if value is None else value for name, value in given.items()}

    held_out = read_concept_ids(exclude_concepts) if exclude_concepts is not None else set()
    with GraphStore.connect() as store:
        report = train_coder(
            store, out, base=base, **numbers, relation_loss=cast("RelationLoss", relation_loss),
            device=device, checkpoint_every=checkpoint_every,
            languages=comma_list(languages), sources=comma_list(sources),
            exclude_concepts=held_out, add_tokens=add_tokens, sampling=cast("Sampling", sampling),
            mine_every=mine_every, hard_fraction=hard_fraction, seed=seed,
            progress=not as_json, preset=cast("Preset | None", preset))  # CoderConfig checks the name
    summary = report.as_dict()
    if as_json:
        print(json.dumps(summary))
        return
    loss = summary["loss"]
    console.print(f"{report.model_id}: {report.steps} steps ({report.resumed_from} resumed), "
                  f"{summary['steps_per_second']:.2f} steps/s, loss {loss.get('first', 0):.4f} -> "
                  f"{loss.get('mean_last_10pct', 0):.4f}; saved to {out}")


@embed_app.command("terms")
def embed_terms_command(
    model: Annotated[str, typer.Option("--model", help="Encoder: a registered name (bios-default, minilm) or a model "
                                                       "folder.")] = DEFAULT_ENCODER,
    batch_size: Annotated[int, typer.Option(help="Terms per encoder batch.")] = EMBED_BATCH_SIZE,
    languages: Annotated[str | None, typer.Option(help="Embed only terms in these languages (comma-separated, e.g. "
                                                       "en,zh); default: those of the model's last run, else all.")]
    = None,
    replace: Annotated[bool, typer.Option("--replace", help="Remove another model's vectors and indexes first "
                                          "(switching models).")] = False,
    no_concepts: Annotated[bool, typer.Option("--no-concepts", help="Skip concept vectors.")] = False,
    device: Annotated[str, typer.Option(help="auto (CUDA when present), cpu, cuda, cuda:1 …")] = "auto",
    runtime: Annotated[str, typer.Option(help="Inference engine: auto (ONNX Runtime on CPU when installed), "
                                              "torch, onnx.")] = "auto",
    engine: Annotated[str, typer.Option(help="local, or ray: encode on Ray workers (the distributed extra; "
                                             "RAY_ADDRESS names a cluster, else a local one starts).")] = "local",
    workers: Annotated[int, typer.Option(help="Encoder actors with --engine ray.")] = 1,
    as_json: JsonOption = False,
) -> None:
    """Embed every Term (and Concept) of the graph, keep the vector indexes current, write the faiss file.

    A rerun embeds only terms without a vector of the model (new ones, or those an interrupted run left).
    """
    from bios_kg.embed.job import embed_terms  # torch loads only for this command

    with GraphStore.connect() as store:
        report = embed_terms(store, model, batch_size=batch_size, replace=replace, concepts=not no_concepts,
                             progress=not as_json, device=device, runtime=runtime, engine=engine, workers=workers,
                             languages=comma_list(languages))
    if as_json:
        print(json.dumps(report.as_dict()))
        return
    if report.replaced:
        console.print(f"removed the vectors of {', '.join(report.replaced)}")
    console.print(f"{report.model_id} ({report.dim}-d): {report.terms_embedded:,} terms embedded "
                  f"({report.terms_per_second:,.0f}/s), {report.terms_total:,} in the graph; "
                  f"{report.concepts_embedded:,} concept vectors; "
                  f"faiss {report.index.get('kind', '-')} index in {report.index.get('path', '-')}")


@types_app.command("train")
def types_train_command(
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
    as_json: JsonOption = False,
) -> None:
    """Train on the typed concepts (split by concept), evaluate on the held-out ones, save the model."""
    from bios_kg.embed.semantic_types import Classifier, markdown, train_semantic_types

    with GraphStore.connect() as store:
        report = train_semantic_types(store, out, features=features, classifier=cast(Classifier, classifier),
                                      test_fraction=test_fraction, max_concepts=max_concepts,
                                      sources=comma_list(sources), seed=seed, device=device, progress=not as_json)
    if results is not None:
        write_results(report, results, markdown(report))
    if as_json:
        print(json.dumps(report, ensure_ascii=False))
        return
    metrics = report["metrics"]
    console.print(f"{report['id']}: {report['train']:,} train / {report['test']:,} test concepts; accuracy "
                  f"{metrics['accuracy']:.3f}, macro-F1 {metrics['macro_f1']:.3f}; saved to {out}")


@types_app.command("predict")
def types_predict_command(
    model: Annotated[Path, typer.Option(exists=True, file_okay=False, help="A folder from `bios types train`.")],
    min_score: Annotated[float, typer.Option(help="Write a type only at or above this probability.")] = 0.5,
    top_k: Annotated[int, typer.Option(help="Types per concept at most.")] = 1,
    sources: Annotated[str | None, typer.Option(help="Only concepts of these sources: CMEKG.")] = None,
    batch_size: Annotated[int, typer.Option(help="Concepts per page and per write transaction.")] = 2000,
    device: Annotated[str, typer.Option(help="Encoder device: auto, cpu, cuda, …")] = "auto",
    as_json: JsonOption = False,
) -> None:
    """Type every concept without an asserted type: HAS_TYPE {source: model id, score}; reruns replace them."""
    from bios_kg.embed.semantic_types import predict_semantic_types

    with GraphStore.connect() as store:
        report = predict_semantic_types(store, model, min_score=min_score, top_k=top_k, sources=comma_list(sources),
                                        batch_size=batch_size, device=device, progress=not as_json)
    if as_json:
        print(json.dumps(report.__dict__, ensure_ascii=False))
        return
    console.print(f"{report.model_id}: {report.concepts:,} untyped concepts scored ({report.without_vector:,} without "
                  f"a vector), {report.edges:,} HAS_TYPE edges written")
