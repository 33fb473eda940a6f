"""`bios normalize` (terms -> concepts, one by one or a file in batches), `bios eval normalize`, `bios eval held-out`
and `bios embed train-default` (the default encoder, trained on the sample graph)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bios_kg.apps.heap import long_lived_heap
from bios_kg.apps.normalize.default_encoder import DEFAULT_BATCH, DEFAULT_STEPS, build_default_encoder
from bios_kg.apps.normalize.evaluate import (
    DEFAULT_MAX_QUERIES,
    DEFAULT_OUT,
    DEFAULT_SEED,
    build_benchmarks,
    check_max_queries,
    evaluate,
    held_out_concepts,
    write_results,
)
from bios_kg.apps.normalize.external import GRAPH_CALIBRATION, realworld_files, unseen_benchmarks
from bios_kg.apps.normalize.normalizer import (
    DEFAULT_THRESHOLD,
    MAX_K,
    MAX_NORMALIZE_LENGTH,
    Normalizer,
    NormalizeResult,
    open_normalizer,
    query_problem,
)
from bios_kg.embed import RUNTIME_HELP
from bios_kg.graph.cli_options import DeviceOption, JsonOption, console, progress_bar, stdout
from bios_kg.graph.errors import InputError, ParameterError
from bios_kg.graph.settings import load_settings
from bios_kg.graph.store import GraphStore

ModelOption = Annotated[str | None, typer.Option(
    "--model", help="Encoder: a registry name (minilm) or a model folder; its term vectors must be in the graph. "
    "Default: the model whose vectors the graph holds, else exact + full text only.")]


def normalize_command(
    terms: Annotated[list[str] | None, typer.Argument(help="Terms to normalize, e.g. 'heart attack' 癫痫.")] = None,
    input_file: Annotated[Path | None, typer.Option("--input", help="A file of queries, one per line.")] = None,
    output: Annotated[Path | None, typer.Option(help="JSON lines out (with --input; default: stdout).")] = None,
    k: Annotated[int, typer.Option("--k", help=f"Candidates per query (1-{MAX_K}).")] = 10,
    lang: Annotated[str | None, typer.Option(help="Only matches on terms of this ISO 639-1 language.")] = None,
    semantic_type: Annotated[list[str] | None, typer.Option(
        help="Only concepts of this semantic type (id or name; repeatable).")] = None,
    source: Annotated[list[str] | None, typer.Option(help="Only concepts from this source (repeatable).")] = None,
    model: ModelOption = None,
    no_vector: Annotated[bool, typer.Option("--no-vector", help="Exact + full text only.")] = False,
    runtime: Annotated[str, typer.Option(help=f"Query encoder engine: {RUNTIME_HELP}")] = "auto",
    threshold: Annotated[float, typer.Option(help="Abstain below this calibrated score.")] = DEFAULT_THRESHOLD,
    batch_size: Annotated[int, typer.Option(help="Queries per batch (and per resume step) with --input.")] = 1000,
    resume: Annotated[bool, typer.Option(help="With --output: keep its complete lines, go on after them.")] = False,
    on_error: Annotated[str, typer.Option(help="item: a bad query (blank, longer than "
                                               f"{MAX_NORMALIZE_LENGTH:,} characters, invalid UTF-8) gets a result "
                                               "with an error and the others are normalized; stop: refuse the "
                                               "input at the first bad query.")] = "item",
    as_json: JsonOption = False,
) -> None:
    """Normalize terms: exact match, full text, then vector k-NN; top-k concepts with a calibrated score."""
    if bool(terms) == (input_file is not None):
        raise ParameterError("terms", "give terms, or --input FILE, not both")
    if batch_size < 1:
        raise ParameterError("batch_size", f"must be at least 1, got {batch_size}")
    if on_error not in ("item", "stop"):
        raise ParameterError("on_error", f"must be item or stop, got {on_error!r}")
    options: dict[str, Any] = {"k": k, "lang": lang, "semantic_types": semantic_type, "sources": source,
                               "on_error": on_error}
    with GraphStore.connect() as store:
        normalizer = open_normalizer(store, model=model, vector=not no_vector, threshold=threshold, runtime=runtime)
        if "vector" not in normalizer.methods:
            console.print("no term vectors in use: exact + full text only")
        if input_file is not None:
            normalize_file(normalizer, input_file, output, batch_size=batch_size, resume=resume, **options)
            return
        results = normalizer.normalize_batch(terms or [], **options)
    if as_json:
        for result in results:
            print(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    for result in results:
        _print_result(result)
    if all(result.abstained for result in results):
        raise typer.Exit(1)


def read_queries(path: Path, on_error: str = "stop") -> list[tuple[str, str | None]]:
    """The lines of `path` as (query, problem): problem names why the line cannot be normalized (blank, too
    long, invalid UTF-8), else None. With on_error="stop", InputError naming the first bad line instead."""
    if not path.is_file():
        raise InputError(str(path), None, "no such file")
    lines: list[tuple[str, str | None]] = []
    for number, raw in enumerate(path.read_bytes().splitlines(), 1):
        try:
            text = raw.decode("utf-8")
            problem = query_problem(text)
        except UnicodeDecodeError as error:
            text, problem = raw.decode("utf-8", errors="replace"), f"invalid UTF-8 at byte {error.start}"
        if problem is not None and on_error == "stop":
            raise InputError(str(path), number, problem)
        lines.append((text, f"{path}:{number}: {problem}" if problem else None))
    return lines


def _complete_lines(path: Path) -> list[str]:
    """The lines of an earlier run's output up to the first torn one (no newline, or not JSON)."""
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        try:
            json.loads(line)
        except ValueError:
            break
        if not line.endswith("\n"):
            break
        kept.append(line)
    return kept


def normalize_file(normalizer: Normalizer, input_file: Path, output: Path | None, batch_size: int = 1000,
                   resume: bool = False, **options: Any) -> int:
    """Normalize every line of `input_file` into one JSON line each (output or stdout); returns how many.
    With resume, the complete lines already in `output` are kept and their queries skipped."""
    queries = read_queries(input_file, options.get("on_error", "stop"))
    done = 0
    if resume and output is not None and output.exists():
        kept = _complete_lines(output)
        if len(kept) > len(queries):
            raise ParameterError("resume", f"{output} has {len(kept)} results but {input_file} only {len(queries)} "
                                 "queries: not an output of this input")
        output.write_text("".join(kept), encoding="utf-8")  # without a torn last line
        done = len(kept)
    sink = output.open("a" if done else "w", encoding="utf-8") if output is not None else None
    try:
        with progress_bar("normalize", disable=output is None) as bar, long_lived_heap():
            task = bar.add_task("queries", total=len(queries), completed=done)
            for start in range(done, len(queries), batch_size):
                chunk = queries[start:start + batch_size]
                good = iter(normalizer.normalize_batch([text for text, problem in chunk if problem is None],
                                                       **options))
                results = [NormalizeResult(query=text, candidates=[], abstained=True, methods=[], error=problem)
                           if problem else next(good) for text, problem in chunk]
                lines = "".join(json.dumps(result.as_dict(), ensure_ascii=False) + "\n" for result in results)
                if sink is None:
                    print(lines, end="")
                else:
                    sink.write(lines)
                    sink.flush()
                bar.advance(task, len(chunk))
    finally:
        if sink is not None:
            sink.close()
    return len(queries)


def _print_result(result: NormalizeResult) -> None:
    if result.error:
        console.print(f"{result.query!r}: error: {result.error}")
        return
    if result.abstained:
        console.print(f"{result.query!r}: no candidate above the threshold (abstained)")
        return
    table = Table("concept", "name", "score", "method", "matched", "types", title=result.query, title_justify="left")
    for candidate in result.candidates:
        table.add_row(candidate.concept_id, candidate.name or "", f"{candidate.score:.3f}", candidate.method,
                      candidate.matched_term, ", ".join(t["name"] or t["id"] for t in candidate.semantic_types))
    stdout.print(table)


def eval_normalize_command(
    model: Annotated[list[str] | None, typer.Option(
        "--model", help="Encoder to evaluate: registry name or model folder (repeatable; default: minilm).")] = None,
    no_encoder: Annotated[bool, typer.Option("--no-encoder", help="Exact, full text and TF-IDF only.")] = False,
    out: Annotated[Path, typer.Option(help="Results JSON; a markdown table is written beside it.")] = DEFAULT_OUT,
    max_queries: Annotated[int, typer.Option(help="Test (and calibration) queries per benchmark, sampled.")]
    = DEFAULT_MAX_QUERIES,
    seed: Annotated[int, typer.Option(help="Seed of the concept split and the sampling.")] = DEFAULT_SEED,
    calibrate: Annotated[bool, typer.Option(
        help="Fit the full-text and encoder score calibrations on the calibration queries and store them.")] = False,
    device: DeviceOption = "auto",
    runtime: Annotated[str, typer.Option(help=f"Query encoder engine: {RUNTIME_HELP} The dictionary's vectors are "
                                              "always exact, as the graph's are.")] = "auto",
    unseen: Annotated[bool, typer.Option(help="Also the vocabularies never trained on: HPO lay names, CMeKG "
                                              "aliases, Traditional Chinese, ICD-10-CM titles, Disease Ontology, "
                                              "NCI drug names (bios_kg.apps.normalize.unseen, .external).")] = False,
    do_file: Annotated[Path | None, typer.Option(help="Disease Ontology OBO file (with --unseen; default: "
                                                      "obo/doid-DO_cancer_slim.obo in BIOS_REALWORLD).")] = None,
    nci_dir: Annotated[Path | None, typer.Option(help="UMLS RRF folder of drug names (with --unseen; default: "
                                                      "umls-nci-sample in BIOS_REALWORLD).")] = None,
) -> None:
    """HPO synonym -> concept and ICD-10 Chinese -> English (and, with --unseen, vocabularies never trained on):
    Acc@1, Acc@5 and MRR per method, coverage and answered accuracy at the abstention threshold."""
    models = [] if no_encoder else (model or ["minilm"])
    check_max_queries(max_queries)  # before connecting: bad input fails without a database
    settings = load_settings()
    if unseen and (do_file is None or nci_dir is None):
        default_do, default_nci = realworld_files(settings.data)
        do_file, nci_dir = do_file or default_do, nci_dir or default_nci
    with GraphStore.connect(settings.connection) as store, console.status("evaluating") as status:
        status.update("building the benchmarks")
        benchmarks = build_benchmarks(store, seed, max_queries)
        if unseen and do_file and nci_dir:  # both set above
            benchmarks += unseen_benchmarks(store, do_file, nci_dir, seed, max_queries)
        result = evaluate(store, models=models, seed=seed, max_queries=max_queries, calibrate=calibrate,
                          device=device, runtime=runtime, progress=lambda message: status.update(message),
                          benchmarks=benchmarks, calibrate_on=GRAPH_CALIBRATION)
    if calibrate and "bios-default" in result["encoders"]:  # ship the default encoder's calibration with it
        from bios_kg.embed.default_model import record_calibration

        model_id = result["encoders"]["bios-default"]
        fitted = result["calibration"][model_id]
        record_calibration(model_id, {key: fitted[key] for key in ("a", "b", "cross") if key in fitted},
                           examples=fitted["examples"],
                           benchmarks=result["calibrated_on"], seed=seed)
    json_path, table_path = write_results(result, out)
    print(table_path.read_text())
    console.print(f"wrote {json_path} and {table_path}")


def held_out_command(
    out: Annotated[Path, typer.Option(help="File to write: one concept id per line.")],
    seed: Annotated[int, typer.Option(help="Seed of the concept split (as for bios eval normalize).")] = DEFAULT_SEED,
) -> None:
    """The concepts training must leave out for `bios eval normalize` to hold (its held-out split, with the
    concepts joined to them by XREF): pass the file to the trainer as its excluded concepts."""
    with GraphStore.connect() as store:
        concepts = sorted(held_out_concepts(store, seed))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(f"{concept}\n" for concept in concepts), encoding="utf-8")
    console.print(f"wrote {len(concepts):,} concept ids to {out}")


def train_default_command(
    out: Annotated[Path, typer.Option(help="Training folder (checkpoints; a rerun resumes).")]
    = Path("models/bios-default"),
    steps: Annotated[int, typer.Option(help="Optimizer steps.")] = DEFAULT_STEPS,
    batch_size: Annotated[int, typer.Option(help="Strings per batch.")] = DEFAULT_BATCH,
    seed: Annotated[int, typer.Option(help="Seed of the held-out splits, sampling and initialisation.")]
    = DEFAULT_SEED,
    device: Annotated[str, typer.Option(help="cpu (reproducible), cuda, auto.")] = "cpu",
) -> None:
    """Train the default encoder on the sample graph (every source, English + Chinese, evaluation concepts and lay
    names left out), then pack it into the file the repository ships."""
    with GraphStore.connect() as store:
        report = build_default_encoder(store, out, steps=steps, batch_size=batch_size, seed=seed, device=device)
    training, manifest = report["training"], report["manifest"]
    console.print(f"{training['model_id']}: {training['steps']} steps, {training['steps_per_second']:.3f} steps/s, "
                  f"{report['traditional_tokens']:,} Traditional Chinese tokens; packed into {manifest['file']} "
                  f"({manifest['bytes'] / 2**20:.1f} MiB, sha256 {manifest['sha256'][:12]})")
