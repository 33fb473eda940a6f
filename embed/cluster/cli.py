"""`bios cluster`, `bios explain`, `bios release diff` and `bios eval cluster`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bios_kg.embed import DEFAULT_ENCODER
from bios_kg.embed.cluster.config import (
    CHANGES,
    DEFAULT_EVAL_OUT,
    DEFAULT_MAX_CONCEPTS,
    DEFAULT_SEED,
    BaselineConfig,
    BirchConfig,
    check_method,
)
from bios_kg.embed.cluster.explanations import ExplanationCache, explain_terms
from bios_kg.embed.cluster.oracle import DEFAULT_ORACLE, ORACLES
from bios_kg.embed.llm import get_backend
from bios_kg.graph.cli_options import DeviceOption, JsonOption, comma_list, console, stdout
from bios_kg.graph.curie import read_concept_ids
from bios_kg.graph.errors import ParameterError
from bios_kg.graph.store import GraphStore

release_app = typer.Typer(help="Releases of clustered concepts.", no_args_is_help=True)

ModelOption = Annotated[str, typer.Option("--model", help="Encoder: a registered name (bios-default, the trained "
                                                          "default; minilm) or a model folder (e.g. a "
                                                          "CODER/CoRTEx-trained one).")]
CacheOption = Annotated[Path | None, typer.Option(help="Explanation cache (JSON lines; default "
                                                        "$BIOS_HOME/explanations/explanations.jsonl).")]


EncoderPresetOption = Annotated[str | None, typer.Option(
    help="Embedding settings for the encoder instead of its own: cortex (CoRTEx's INSTRUCTOR instruction, max "
         "length 96), coder, coderpp, sentence-transformers.")]


def cluster_command(
    input_file: Annotated[Path | None, typer.Option("--input", help="Terms, one per line, optionally "
                                                                    "term<TAB>lang.")] = None,
    output: Annotated[Path | None, typer.Option(help="Clusters out: term<TAB>cluster per line (tsv) or terms "
                                                     "joined by | per cluster (bios).")] = None,
    source: Annotated[str | None, typer.Option(help="Cluster the graph's terms of this source (e.g. HPO).")] = None,
    lang: Annotated[str | None, typer.Option(help="With --source: only terms of these languages (en,zh).")] = None,
    write: Annotated[bool, typer.Option("--write", help="With --source: write the clusters to the graph as "
                                                        "the concepts of a release, with a ClusterRun.")] = False,
    release: Annotated[str | None, typer.Option(help="With --write: the release name (default: the run id).")
                       ] = None,
    run_id: Annotated[str | None, typer.Option(help="Run id (default: a hash of the terms, method, model and "
                                                    "settings, so an identical rerun rewrites the same run).")
                      ] = None,
    method: Annotated[str, typer.Option(help="baseline (BIOS union-find + ratio cut) or birch (CoRTEx).")
                      ] = "birch",
    model: ModelOption = DEFAULT_ENCODER,
    oracle: Annotated[str, typer.Option(help=f"BIRCH's judge for the ambiguous band: {', '.join(ORACLES)}.")
                      ] = DEFAULT_ORACLE,
    llm: Annotated[str | None, typer.Option(help="LLM backend for --oracle llm and for explanations.")] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Give the oracle the terms' explanations (graph "
                                                            "definitions, else --llm), cached.")] = False,
    explanations: CacheOption = None,
    upper: Annotated[float, typer.Option(help="BIRCH: join at or above this cosine.")] = BirchConfig.upper,
    lower: Annotated[float, typer.Option(help="BIRCH: open a new cluster at or below.")] = BirchConfig.lower,
    link: Annotated[float, typer.Option(help="Baseline: link pairs above this cosine.")] = BaselineConfig.link,
    k: Annotated[int, typer.Option("--k", help="Baseline: neighbours per term.")] = BaselineConfig.k,
    max_cluster: Annotated[int, typer.Option(help="Baseline: ratio-cut clusters of this many terms or more.")
                           ] = BaselineConfig.max_cluster,
    published: Annotated[bool, typer.Option("--published-ratio-cut", help="Baseline: the authors' v2 ratio cut "
                                            "as published (affinity, stop-rule means, part sizes).")] = False,
    term_knn: Annotated[int, typer.Option(help="BIRCH: candidate clusters from each term's k nearest terms "
                                               "(CoRTEx: 30); 0: from the nearest sub-clusters.")
                        ] = BirchConfig.term_knn,
    encoder_preset: EncoderPresetOption = None,
    fmt: Annotated[str, typer.Option("--format", help="tsv or bios.")] = "tsv",
    device: DeviceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Cluster terms into concepts: a file (--input, --output) or a source's terms in the graph (--source)."""
    if (input_file is None) == (source is None):
        raise ParameterError("input", "give --input FILE or --source NAME, not both")
    if input_file is not None and (output is None or write):
        raise ParameterError("output", "--input needs --output FILE (and --write works with --source only)")
    if source is not None and output is None and not write:
        raise ParameterError("write", "with --source give --write, --output FILE or both")
    check_method(method)
    from bios_kg.embed.cluster.job import cluster_file, cluster_source  # numpy, faiss and torch load only here

    options: dict[str, Any] = {
        "model": model, "method": method, "oracle": oracle, "llm": llm, "run_id": run_id, "device": device,
        "encoder_preset": encoder_preset,
        "baseline": BaselineConfig(k=k, link=link, max_cluster=max_cluster, published=published),
        "birch": BirchConfig(upper=upper, lower=lower, term_knn=term_knn),
        "explanations": ExplanationCache(explanations) if explain or oracle == "llm" else None}
    if input_file is not None and output is not None:
        if options["explanations"] is not None:
            with GraphStore.connect() as store:
                report = cluster_file(input_file, output, fmt, store=store, progress=not as_json, **options)
        else:
            report = cluster_file(input_file, output, fmt, progress=not as_json, **options)
    else:
        with GraphStore.connect() as store:
            report = cluster_source(store, str(source), comma_list(lang), write=write, release=release, output=output,
                                    fmt=fmt, progress=not as_json, **options)
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    calls = f", {report.stats['oracle_calls']:,} oracle calls ({report.oracle})" if report.method == "birch" else ""
    console.print(f"{report.run_id}: {report.terms:,} terms -> {report.clusters:,} clusters (largest "
                  f"{report.largest}) by {report.method} on {report.model_id}{calls}; "
                  + ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in report.seconds.items()))
    if report.output:
        console.print(f"clusters in {report.output}")
    if report.written:
        console.print(f"release {report.written['release']}: {report.written['concepts']:,} concepts written")
    if report.review:
        console.print(f"review queue: {report.review}")


def explain_command(
    source: Annotated[str, typer.Option(help="Explain the graph's terms of this source (e.g. HPO).")],
    lang: Annotated[str | None, typer.Option(help="Only terms of these languages (en,zh).")] = None,
    llm: Annotated[str | None, typer.Option(help="LLM backend for terms without a graph definition.")] = None,
    explanations: CacheOption = None,
    as_json: JsonOption = False,
) -> None:
    """Cache an explanation for every term of a source: its concept's definition, else the LLM's (--llm)."""
    from bios_kg.embed.cluster.job import source_terms

    cache = ExplanationCache(explanations)
    backend = get_backend(llm) if llm else None
    with GraphStore.connect() as store:
        items = source_terms(store, source, comma_list(lang))
        counts = explain_terms([(item.lang, item.norm, item.text) for item in items], cache, store, backend)
    if as_json:
        print(json.dumps(counts))
        return
    console.print(f"{counts['terms']:,} terms: {counts['cached_before']:,} already cached, {counts['from_graph']:,} "
                  f"from graph definitions, {counts['from_llm']:,} from the LLM, {counts['unexplained']:,} without; "
                  f"cache {counts['cache']}")


@release_app.command("diff")
def release_diff_command(
    old: Annotated[str, typer.Argument(help="The earlier release.")],
    new: Annotated[str, typer.Argument(help="The later release.")],
    change: Annotated[str | None, typer.Option(help=f"Only this kind: {', '.join(CHANGES)}.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to list (the counts cover all).")] = 50,
    as_json: JsonOption = False,
) -> None:
    """What changed between two releases of clustered concepts: merged, split, added, removed, changed."""
    from bios_kg.embed.cluster.job import release_diff

    with GraphStore.connect() as store:
        diff = release_diff(store, old, new, change)
    if as_json:
        print(json.dumps(diff, ensure_ascii=False))
        return
    stdout.print(f"{old} -> {new}: " + ", ".join(f"{n:,} {kind}" for kind, n in diff["counts"].items()))
    table = Table("change", "from", "to", "terms added", "terms removed")
    for row in diff["changes"][:limit]:
        table.add_row(row["change"], " ".join(row["from_ids"]), " ".join(row["to_ids"]),
                      "; ".join(row["terms_added"]), "; ".join(row["terms_removed"]))
    if diff["changes"]:
        stdout.print(table)


def eval_cluster_command(
    model: Annotated[list[str] | None, typer.Option(
        "--model", help="Encoder (repeatable): minilm, or a CODER/CoRTEx-trained model folder.")] = None,
    max_concepts: Annotated[int, typer.Option(help="Concepts sampled per gold set.")] = DEFAULT_MAX_CONCEPTS,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = DEFAULT_SEED,
    upper: Annotated[float, typer.Option(help="BIRCH: join at or above.")] = BirchConfig.upper,
    lower: Annotated[float, typer.Option(help="BIRCH: new cluster at or below.")] = BirchConfig.lower,
    link: Annotated[float, typer.Option(help="Baseline: link above.")] = BaselineConfig.link,
    published: Annotated[bool, typer.Option("--published-ratio-cut", help="Baseline: the authors' ratio cut as "
                                            "published (then the corrected one runs beside it).")] = False,
    term_knn: Annotated[int, typer.Option(help="BIRCH: candidates from each term's k nearest terms (CoRTEx: 30).")
                        ] = BirchConfig.term_knn,
    encoder_preset: EncoderPresetOption = None,
    out: Annotated[Path, typer.Option(help="Results JSON (a .md table is written beside it).")] = DEFAULT_EVAL_OUT,
    device: DeviceOption = "auto",
    concepts: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Sample gold concepts only from these ids (one per line), e.g. the "
                                          "held-out split trained encoders never saw (bios eval held-out).")] = None,
) -> None:
    """Pairwise P/R/F1 of baseline and BIRCH (+ threshold or rule oracle) clusters against HPO and ICD-10
    synonym groups, with oracle call counts."""
    from bios_kg.embed.cluster.evaluate import evaluate_clustering, write_results

    with GraphStore.connect() as store:
        result = evaluate_clustering(store, model or ["minilm"], seed=seed, max_concepts=max_concepts,
                                     baseline=BaselineConfig(link=link, published=published),
                                     birch=BirchConfig(upper=upper, lower=lower, term_knn=term_knn),
                                     device=device, progress=lambda line: console.print(line),
                                     among=read_concept_ids(concepts) if concepts else None,
                                     encoder_preset=encoder_preset)
    json_path, table_path = write_results(result, out)
    console.print(f"results in {json_path} and {table_path}")
    print(table_path.read_text())
