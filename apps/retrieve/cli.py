"""`bios retrieve index|search|train|build-benchmark` and `bios eval retrieve` (bios_kg.apps.retrieve)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, cast

import typer

from bios_kg.graph.cli_options import DeviceOption, JsonOption, console
from bios_kg.graph.errors import ParameterError

retrieve_app = typer.Typer(help="EHR retrieval: chunk indexes, BM25 / dense / hybrid / knowledge-injected search, "
                                "DR.EHR training and the report benchmark.", no_args_is_help=True)



@retrieve_app.command("index")
def index_command(
    corpus: Annotated[Path, typer.Option(help='JSONL of {"_id", "text"} (CliniQ / BEIR corpus.jsonl).')],
    out: Annotated[Path, typer.Option(help="Index folder to write (a rerun resumes the dense encoding).")],
    encoder: Annotated[str, typer.Option(help="Dense encoder: a registered name or a model folder.")] = "minilm",
    no_dense: Annotated[bool, typer.Option("--no-dense", help="BM25 only.")] = False,
    chunk: Annotated[bool, typer.Option(help="Rows are whole notes: split them into <_id>_<i> chunks.")] = False,
    chunk_words: Annotated[int, typer.Option(help="Words per chunk with --chunk.")] = 100,
    overlap: Annotated[int, typer.Option(help="Words shared by consecutive chunks with --chunk.")] = 10,
    max_length: Annotated[int, typer.Option(help="Encoder tokens per chunk.")] = 256,
    batch_size: Annotated[int, typer.Option(help="Chunks per encoder batch.")] = 64,
    device: DeviceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Index a chunk collection for BM25 and dense search."""
    from bios_kg.apps.retrieve.chunking import chunk_notes, read_corpus
    from bios_kg.apps.retrieve.engine import build_index

    chunks = read_corpus(corpus)
    if chunk:
        chunks = list(chunk_notes(((c.id, c.text) for c in chunks), chunk_words, overlap))
    meta = build_index(chunks, out, encoder=None if no_dense else encoder, max_length=max_length,
                       batch_size=batch_size, device=device, progress=not as_json)
    if as_json:
        print(json.dumps(meta))
        return
    dense = meta["dense"]
    console.print(f"{meta['documents']:,} chunks indexed in {out} (BM25{' + ' + dense['model_id'] if dense else ''};"
                  f" {', '.join(f'{k} {v:.1f} s' for k, v in meta['seconds'].items())})")


@retrieve_app.command("search")
def search_command(
    index: Annotated[Path, typer.Option(help="An index folder (bios retrieve index).")],
    query: Annotated[list[str] | None, typer.Argument(help="One or more queries, e.g. 'enlarged heart'.")] = None,
    queries: Annotated[Path | None, typer.Option(help='JSONL of {"_id", "text"} queries (BEIR / CliniQ queries '
                                                      'file); their ids name them in --run-out.')] = None,
    method: Annotated[str, typer.Option(help="bm25, dense, hybrid or kg (hybrid + graph expansion).")] = "hybrid",
    k: Annotated[int, typer.Option("--k", help="Chunks per query.")] = 10,
    run_out: Annotated[Path | None, typer.Option(help="Write the hits as a run file (query ids: the --queries "
                                                      "ids, else 1, 2, ... in argument order).")] = None,
    run_format: Annotated[str, typer.Option(help="Format of --run-out: json ({qid: {doc: score}}) or trec.")] = "json",
    device: DeviceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Search an index; kg reads the graph (NEO4J_URI) for query expansion."""
    from bios_kg.apps.retrieve.datasets import read_queries
    from bios_kg.apps.retrieve.engine import Method, RetrievalIndex
    from bios_kg.apps.retrieve.knowledge import Budget, KnowledgeGraph, Weights
    from bios_kg.apps.retrieve.runs import RUN_FORMATS, RunFormat, write_run
    from bios_kg.graph.store import GraphStore

    if run_format not in RUN_FORMATS:
        raise ParameterError("run_format", f"{run_format!r} is not one of {', '.join(RUN_FORMATS)}")
    if bool(query) == (queries is not None):
        raise ParameterError("query", "give one or more queries, or --queries FILE (not both)")
    named = read_queries(queries) if queries is not None else {str(i): text for i, text in enumerate(query or [], 1)}
    ids, texts = list(named), list(named.values())
    engine = RetrievalIndex(index, device=device)
    expansions: list[list[Any]] = [[] for _ in texts]
    if method == "kg":
        with GraphStore.connect() as store:
            knowledge = KnowledgeGraph(store)
            expansions = knowledge.expand(texts, Budget(), Weights())
            results = engine.search(texts, cast(Method, method), k=k, knowledge=knowledge)
    else:
        results = engine.search(texts, cast(Method, method), k=k)
    if run_out is not None:
        write_run({qid: [(hit.id, hit.score) for hit in hits] for qid, hits in zip(ids, results, strict=True)},
                  run_out, cast(RunFormat, run_format), tag=f"bios-{method}")
    if as_json:
        for qid, text, hits, extra in zip(ids, texts, results, expansions, strict=True):
            print(json.dumps({"id": qid, "query": text, "expansions": [e.__dict__ for e in extra],
                              "hits": [h.__dict__ for h in hits]}, ensure_ascii=False))
        return
    for text, hits, extra in zip(texts, results, expansions, strict=True):
        console.print(f"[bold]{text}[/bold]" + (f"  (+ {', '.join(f'{e.kind}: {e.text}' for e in extra)})"
                                                if extra else ""))
        for rank, hit in enumerate(hits, 1):
            print(f"{rank:>3}  {hit.score:.4f}  {hit.id}  {hit.text[:100]}")


@retrieve_app.command("build-benchmark")
def build_benchmark_command(
    out: Annotated[Path, typer.Option(help="Folder for corpus.jsonl, queries_*.jsonl, qrels_*.tsv, build.json.")],
    min_reports: Annotated[int, typer.Option(help="Skip MeSH headings of fewer reports.")] = 3,
    synonyms: Annotated[int, typer.Option(help="Graph synonyms per heading as extra queries.")] = 3,
    parents: Annotated[int, typer.Option(help="IS_A parents per heading as extra queries.")] = 2,
    max_share: Annotated[float, typer.Option(help="Skip queries whose gold exceeds this share of reports.")] = 0.25,
    as_json: JsonOption = False,
) -> None:
    """Build the IU chest X-ray report benchmark (CliniQ format) from the reports' MeSH indexing and the graph."""
    from bios_kg.apps.retrieve.report_benchmark import build_report_benchmark
    from bios_kg.graph.store import GraphStore

    with GraphStore.connect() as store:
        summary = build_report_benchmark(store, out, min_reports=min_reports, synonyms=synonyms, parents=parents,
                                         max_share=max_share)
    if as_json:
        print(json.dumps(summary))
        return
    console.print(f"{summary['chunks']:,} chunks of {summary['reports']:,} reports; queries "
                  f"{summary['queries']}; judgments {summary['judgments']}; written to {out}")


@retrieve_app.command("train")
def train_command(
    corpus: Annotated[Path, typer.Option(help='Chunks to train on: JSONL of {"_id", "text"}.')],
    out: Annotated[Path, typer.Option(help="Folder for the data files, checkpoints and the model (HF format); "
                                           "rerunning on it resumes.")],
    stage: Annotated[int, typer.Option(help="1: extracted entities + graph knowledge; 2: LLM (BIOS_LLM_*) or "
                                            "graph-template entities, from --base (the stage-1 model).")] = 1,
    base: Annotated[str, typer.Option(help="Starting encoder: a registered name or a model folder.")] = "minilm",
    epochs: Annotated[int | None, typer.Option(help="Passes over the examples (DR.EHR: 3 stage 1, 1 stage 2).")] = None,
    batch_size: Annotated[int, typer.Option(help="Chunks per batch (DR.EHR: 32).")] = 32,
    num_pos: Annotated[int | None, typer.Option(help="Positive entities per chunk (DR.EHR: 128 stage 1, 16 stage "
                                                     "2).")] = None,
    lr: Annotated[float, typer.Option(help="Peak learning rate.")] = 1e-4,
    weight_decay: Annotated[float, typer.Option(help="AdamW weight decay (DR.EHR: 0).")] = 0.0,
    pooling: Annotated[str, typer.Option(help="base (the base encoder's contract), cls (DR.EHR's) or mean.")] = "base",
    abbreviations: Annotated[bool, typer.Option(help="Stage 1: mine abbreviations (the configured LLM, else rules) "
                                                     "and add their full names.")] = True,
    loss: Annotated[str, typer.Option(help="batch (DR.EHR's batch-wide loss) or anchor (per-anchor MS).")] = "batch",
    max_chunks: Annotated[int | None, typer.Option(help="Use only the first N chunks.")] = None,
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 100,
    seed: Annotated[int, typer.Option(help="Training seed (data preparation uses 0, as DR.EHR).")] = 42,
    device: DeviceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Train a DR.EHR chunk <-> entity bi-encoder (stage 1 or 2)."""
    from bios_kg.apps.retrieve.abbreviations import llm_miner, rule_miner
    from bios_kg.apps.retrieve.chunking import read_corpus
    from bios_kg.apps.retrieve.knowledge import KnowledgeGraph
    from bios_kg.apps.retrieve.training import (
        extractor_finder,
        prepare_stage1,
        prepare_stage2,
        read_examples,
        stage_config,
        train_retriever,
    )
    from bios_kg.embed.llm import configured_backend
    from bios_kg.graph.store import GraphStore

    config = stage_config(stage, base=base, epochs=epochs, batch_size=batch_size, num_pos=num_pos, lr=lr,
                          weight_decay=weight_decay, pooling=pooling, loss=loss, seed=seed)
    chunks = read_corpus(corpus)[:max_chunks]
    out.mkdir(parents=True, exist_ok=True)
    backend = configured_backend()
    if backend is None and (stage == 2 or abbreviations):
        console.print("no LLM configured (BIOS_LLM_BACKEND / BIOS_LLM_BASE_URL): "
                      + ("graph templates for stage 2" if stage == 2 else "abbreviations mined by rules"))
    with GraphStore.connect() as store:
        knowledge = KnowledgeGraph(store)
        find = extractor_finder(*_offline_extractor(store))
        if stage == 1:
            miner = None if not abbreviations else llm_miner(backend) if backend is not None else rule_miner(knowledge)
            data = prepare_stage1(chunks, find, knowledge, out, progress=not as_json, miner=miner)
        else:
            data = prepare_stage2(chunks, out, backend, find, knowledge, progress=not as_json)
    report = train_retriever(read_examples(data), out, config, device=device, checkpoint_every=checkpoint_every,
                             progress=not as_json)
    if as_json:
        print(json.dumps(report.as_dict()))
        return
    summary = report.as_dict()
    console.print(f"stage {stage}: {summary['examples']:,} examples, {summary['steps']} steps "
                  f"({summary['resumed_from']} resumed), loss {summary['loss_first']} -> {summary['loss_last']}; "
                  f"model in {out}")


def _offline_extractor(store: Any) -> tuple[Any, Any]:
    """The extraction issue's offline extractor (graph terms + ConText assertion, English) and its linker."""
    from bios_kg.apps.extract import OfflineExtractor
    from bios_kg.apps.extract.link import Linker
    from bios_kg.apps.normalize.normalizer import Normalizer

    return OfflineExtractor.open(store, languages=("en",)), Linker(Normalizer(store))


def eval_retrieve_command(
    benchmark: Annotated[str, typer.Option(help="cliniq, pmc-patients (with --data) or a folder in CliniQ's "
                                                "format (bios retrieve build-benchmark).")],
    method: Annotated[str, typer.Option(help="bm25, dense, hybrid or kg (ignored with --run).")] = "hybrid",
    run: Annotated[Path | None, typer.Option(help="Score this run instead of running a method: TREC lines, "
                                                  "{qid: {doc: score}} or {qid: [doc, ...]} JSON.")] = None,
    data: Annotated[Path | None, typer.Option(help="The release folder of cliniq / pmc-patients.")] = None,
    task: Annotated[str, typer.Option(help="pmc-patients task: PAR or PPR.")] = "PPR",
    split: Annotated[str, typer.Option(help="pmc-patients split: train, dev or test.")] = "test",
    encoder: Annotated[str, typer.Option(help="Dense encoder: a registered name or a model folder.")] = "minilm",
    index: Annotated[Path | None, typer.Option(help="Index folder (default under $BIOS_HOME/retrieve).")] = None,
    depth: Annotated[int, typer.Option(help="Ranking depth (Recall@k up to it); 0 ranks the whole collection, as "
                                            "CliniQ's script does.")] = 1000,
    run_out: Annotated[Path | None, typer.Option(help="Also write the method's run to this file.")] = None,
    run_format: Annotated[str, typer.Option(help="Format of --run-out: json ({qid: {doc: score}}) or trec.")] = "json",
    out: Annotated[Path | None, typer.Option(help="Write the results as JSON (and a markdown table beside).")] = None,
    device: DeviceOption = "auto",
    as_json: JsonOption = False,
) -> None:
    """Score a retrieval method, or a run made by any system, with the benchmark's official figures: CliniQ's
    multi- and single-patient settings by query and match type, or PMC-Patients' MRR, NDCG@10, P@10, R@1k."""
    from bios_kg.apps.retrieve.engine import METHODS, Method
    from bios_kg.apps.retrieve.evaluate import evaluate_retrieval, evaluate_run_file, load_benchmark
    from bios_kg.apps.retrieve.runs import RUN_FORMATS, RunFormat
    from bios_kg.graph.results import write_results
    from bios_kg.graph.store import GraphStore

    if run_format not in RUN_FORMATS:
        raise ParameterError("run_format", f"{run_format!r} is not one of {', '.join(RUN_FORMATS)}")
    if run is None and method not in METHODS:
        raise ParameterError("method", f"{method!r} is not one of {', '.join(METHODS)}")
    bench = load_benchmark(benchmark, data, task, split)
    for warning in bench.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if run is not None:
        result = evaluate_run_file(bench, run)
    elif method == "kg":
        with GraphStore.connect() as store:
            result = evaluate_retrieval(bench, "kg", encoder, store, index, depth=depth, device=device,
                                        progress=not as_json, run_out=run_out, run_format=cast(RunFormat, run_format))
    else:
        result = evaluate_retrieval(bench, cast(Method, method), encoder, None, index, depth=depth, device=device,
                                    progress=not as_json, run_out=run_out, run_format=cast(RunFormat, run_format))
    if result.get("unranked_note_chunks"):
        console.print(f"[yellow]warning:[/yellow] {result['unranked_note_chunks']} chunks of judged notes are not in "
                      "the ranking: placed after it for the single-patient setting (--depth 0 ranks them all)")
    table = results_table(result)
    if out is not None:
        write_results(result, out, table)
    if as_json:
        print(json.dumps(result))
        return
    print(table)


def results_table(result: dict[str, Any]) -> str:
    """Markdown: one table per setting, one row per slice (overall, query types, match types)."""
    title = f"{result['benchmark']} · {result['method'] or result.get('run')}"
    title += f" · {result['encoder']}" if result.get("encoder") else ""
    if "single_patient" not in result:  # PMC-Patients
        return title + "\n\n" + _table([("overall", result["overall"])], ["mrr", "ndcg@10", "p@10", "recall@1000"])
    multi = [("overall", result["overall"])] + [(f"query type {k}", v) for k, v in result["by_query_type"].items()]
    multi += [(f"match type {k} (not CliniQ's)", v) for k, v in result["multi_by_match_type"].items()]
    single = result["single_patient"]
    inner = [("overall", single["overall"])] + [(f"query type {k}", v) for k, v in single["by_query_type"].items()]
    inner += [(f"match type {k}", v) for k, v in result["by_match_type"].items()]
    return (f"{title}\n\nMulti-patient\n\n"
            + _table(multi, ["ndcg@10", "ndcg_cliniq@10", "mrr", "map", "p@10", "recall@100", "recall@1000"])
            + "\nSingle-patient (per query-note pair)\n\n" + _table(inner, ["mrr", "ndcg", "map"], "pairs"))


def _table(slices: list[tuple[str, dict[str, Any]]], names: list[str], count: str = "queries") -> str:
    lines = [f"| slice | {count} | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
    for name, values in slices:
        lines.append(f"| {name} | {values.get(count, 0)} | " + " | ".join(str(values.get(m, "-")) for m in names)
                     + " |")
    return "\n".join(lines) + "\n"
