"""`bios extract` (notes -> entities linked to concepts, optionally written to the graph), `bios extract distil`
(notes -> SFT pairs for a GENIE-style model) and `bios eval extract`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bios_kg.apps.extract.evaluate import DEFAULT_GOLD, DEFAULT_OUT, check_max_reports, evaluate, write_results
from bios_kg.apps.extract.genie import DEFAULT_MAX_CHARS, DEFAULT_MAX_TOKENS, DEFAULT_OVERLAP
from bios_kg.apps.extract.link import Linker
from bios_kg.apps.extract.pipeline import (
    DEFAULT_BATCH,
    OFFLINE,
    distil_sft_pairs,
    extract_file,
    open_extractor,
    read_notes,
)
from bios_kg.apps.extract.records import load_type_map
from bios_kg.apps.normalize.normalizer import open_normalizer
from bios_kg.graph.cli_options import console, progress_bar
from bios_kg.graph.errors import ParameterError
from bios_kg.graph.store import GraphStore

extract_app = typer.Typer(help="Structure clinical notes: entities, assertions and attributes, linked to concepts.",
                          invoke_without_command=True)

InputOption = Annotated[Path | None, typer.Option("--input", help='JSON lines {"id": ..., "text": ...}.')]
BackendOption = Annotated[str | None, typer.Option(
    help=f"{OFFLINE} (dictionary + rules) or an LLM backend serving GENIE (openai, transformers); default: the "
    f"configured LLM (BIOS_LLM_BACKEND / BIOS_LLM_BASE_URL), else {OFFLINE}.")]
TypeMapOption = Annotated[Path | None, typer.Option(
    "--type-map", help="JSON object: GENIE type -> list of graph semantic type ids or names; replaces the "
    "built-in map.")]
MaxCharsOption = Annotated[int, typer.Option(help="GENIE: characters per note chunk.")]
OverlapOption = Annotated[int, typer.Option(help="GENIE: characters shared by neighbouring chunks.")]


@extract_app.callback()
def extract_command(
    ctx: typer.Context,
    input_file: InputOption = None,
    output: Annotated[Path | None, typer.Option(help="JSON lines {id, entities}; an existing file is resumed "
                                                     "(its notes are skipped).")] = None,
    backend: BackendOption = None,
    write: Annotated[bool, typer.Option("--write", help="Also store (:Note)-[:MENTIONS]->(:Concept) in the graph, "
                                                        "replacing each note's earlier mentions.")] = False,
    link: Annotated[bool, typer.Option(help="Link phrases and body locations to concepts.")] = True,
    vector: Annotated[bool, typer.Option(help="Link with the normalizer's vector stage too (the model whose term "
                                              "vectors the graph holds); default exact + full text.")] = False,
    type_map: TypeMapOption = None,
    batch_size: Annotated[int, typer.Option(help="Notes per extraction and linking batch.")] = DEFAULT_BATCH,
    max_chars: MaxCharsOption = DEFAULT_MAX_CHARS,
    overlap: OverlapOption = DEFAULT_OVERLAP,
    max_tokens: Annotated[int, typer.Option(help="GENIE: tokens generated per chunk at most.")] = DEFAULT_MAX_TOKENS,
) -> None:
    """Extract entities from every note of --input into --output (GENIE's 8 keys, offsets, concept ids)."""
    if ctx.invoked_subcommand is not None:
        return
    if input_file is None or output is None:
        raise ParameterError("input", "give --input NOTES.jsonl and --output OUT.jsonl (or a subcommand: distil)")
    if batch_size < 1:
        raise ParameterError("batch_size", f"must be at least 1, got {batch_size}")
    if write and not link:
        raise ParameterError("write", "mentions are links to concepts: --write needs linking (drop --no-link)")
    types = load_type_map(type_map) if type_map else None
    with GraphStore.connect() as store:
        with console.status("opening the extractor"):
            extractor = open_extractor(store, backend, type_map=types, max_chars=max_chars, overlap=overlap,
                                       max_tokens=max_tokens)
            linker = Linker(open_normalizer(store, vector=vector), types) if link else None
        console.print(f"extractor {extractor.name}")
        with progress_bar("extract") as bar:
            task = bar.add_task("notes", total=None)
            counts = extract_file(input_file, output, extractor, linker, store if write else None, batch_size,
                                  progress=lambda done, total: bar.update(task, completed=done, total=total))
    console.print(", ".join(f"{value:,} {name}" for name, value in counts.items()) + f" -> {output}")


@extract_app.command("distil")
def distil_command(
    input_file: InputOption = None,
    output: Annotated[Path | None, typer.Option(help="JSON lines {id, prompt, completion} for `bios llm sft`.")]
    = None,
    backend: Annotated[str, typer.Option(help="The teacher: offline, or an LLM backend serving GENIE.")] = OFFLINE,
    type_map: TypeMapOption = None,
    max_chars: MaxCharsOption = DEFAULT_MAX_CHARS,
    overlap: OverlapOption = DEFAULT_OVERLAP,
) -> None:
    """SFT pairs (GENIE-rendered note chunk -> GENIE JSON list) from a teacher extractor, for DEFT fine-tuning."""
    if input_file is None or output is None:
        raise ParameterError("input", "give --input NOTES.jsonl and --output PAIRS.jsonl")
    notes = read_notes(input_file)
    types = load_type_map(type_map) if type_map else None
    written = 0
    with GraphStore.connect() as store:
        extractor = open_extractor(store, backend, type_map=types)
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8") as sink, progress_bar("distil") as bar:
            for note in bar.track(notes, description="notes"):
                for pair in distil_sft_pairs([note], extractor, max_chars, overlap):
                    sink.write(json.dumps(pair, ensure_ascii=False) + "\n")
                    written += 1
    console.print(f"{written:,} pairs from {len(notes):,} notes -> {output}")


def eval_extract_command(
    gold: Annotated[Path, typer.Option(help="Gold set (JSON lines; see benchmarks/gold/extract_guidelines.md).")]
    = DEFAULT_GOLD,
    backend: Annotated[str | None, typer.Option(
        help=f"{OFFLINE} or an LLM backend serving GENIE; default: the configured LLM, else {OFFLINE}.")] = None,
    mesh: Annotated[bool, typer.Option("--mesh", help="Also: positive findings vs MeSH indexing over the reports.")]
    = False,
    max_reports: Annotated[int | None, typer.Option(help="With --mesh: only the first N reports.")] = None,
    vector: Annotated[bool, typer.Option(help="With --mesh: link with the normalizer's vector stage too.")] = False,
    out: Annotated[Path, typer.Option(help="Results JSON; a markdown table is written beside it.")] = DEFAULT_OUT,
) -> None:
    """Entity P/R/F1 (exact, overlap, with and without type) and assertion accuracy on the hand-annotated IU
    X-ray gold set; with --mesh, agreement of the present findings with each report's MeSH indexing."""
    check_max_reports(max_reports)
    with GraphStore.connect() as store, progress_bar("MeSH agreement", disable=not mesh) as bar:
        task = bar.add_task("reports", total=None)
        result = evaluate(store, backend, gold, mesh=mesh, max_reports=max_reports, vector=vector,
                          progress=lambda done, total: bar.update(task, completed=done, total=total))
    json_path, table_path = write_results(result, out)
    print(table_path.read_text(encoding="utf-8"))
    console.print(f"wrote {json_path} and {table_path}")
