"""`bios sample load`: the sample graph, then the default encoder's term and concept vectors in it.

Loading is bios_kg.ingest.sample.load_sample; the vectors step is bios_kg.embed.job.embed_terms with the default encoder
(bios_kg.embed.encoders.DEFAULT_ENCODER, the shipped trained one) over the English and Chinese terms, the languages
it was trained on (the other ICD-10 languages, 82k longer names, would add ~70% to the encoding time for vectors the
encoder was not trained to give), so that normalization, the browser's search and the extractor's linking use the
vector stage with no further command. Both steps resume: a rerun skips the sources
already loaded and embeds only the terms without a vector. `--no-vectors` stops after the load (the test suite's
fixture loads that way: vectors for 291k terms take minutes on a CPU).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bios_kg.graph.cli_options import JsonOption, comma_list, console
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.cli import print_report
from bios_kg.ingest.loader import LoadReport
from bios_kg.ingest.sample import DEFAULT_SAMPLE, load_sample

if TYPE_CHECKING:
    from bios_kg.embed.job import EmbedReport

VECTOR_LANGUAGES = ("en", "zh")


def load_sample_graph(store: GraphStore, sources: list[str] | None = None, *, force: bool = False,
                      vectors: bool = True, model: str | None = None, languages: Sequence[str] = VECTOR_LANGUAGES,
                      progress: bool = True) -> tuple[list[LoadReport], EmbedReport | None]:
    """Load the sample sources, then (with `vectors`) embed the terms in `languages` and every concept with `model`
    (default: the default encoder)."""
    reports = load_sample(store, sources or list(DEFAULT_SAMPLE), force=force, progress=progress)
    if not vectors:
        return reports, None
    from bios_kg.embed.encoders import DEFAULT_ENCODER
    from bios_kg.embed.job import embed_terms

    return reports, embed_terms(store, model or DEFAULT_ENCODER, languages=languages, progress=progress)


def sample_load_command(
    sources: Annotated[str, typer.Option(help="Comma-separated sample sources, loaded in dependency order.")] =
    ",".join(DEFAULT_SAMPLE),
    force: Annotated[bool, typer.Option(help="Reload even if the same files were loaded already.")] = False,
    no_vectors: Annotated[bool, typer.Option("--no-vectors", help="Load only; no term and concept vectors.")]
    = False,
    model: Annotated[str | None, typer.Option(help="Encoder of the vectors (default: the default encoder).")]
    = None,
    languages: Annotated[str, typer.Option(help="Languages of the terms embedded (comma-separated).")]
    = ",".join(VECTOR_LANGUAGES),
    as_json: JsonOption = False,
) -> None:
    """Load HPO, the HPO annotations, ICD-10 (English, Chinese and 9 more languages) and CMeKG, then embed their
    English and Chinese terms and every concept with the default encoder."""
    names = [value.strip() for value in sources.split(",") if value.strip()]
    with GraphStore.connect() as store:
        reports, embedded = load_sample_graph(store, names, force=force, vectors=not no_vectors, model=model,
                                              languages=comma_list(languages) or VECTOR_LANGUAGES,
                                              progress=not as_json)
    for report in reports:
        print_report(report, as_json)
    if embedded is None:
        return
    if as_json:
        print(json.dumps(embedded.as_dict()))
        return
    summary: dict[str, Any] = embedded.as_dict()
    console.print(f"{embedded.model_id}: {embedded.terms_embedded:,} terms embedded "
                  f"({embedded.terms_per_second:,.0f}/s), {embedded.concepts_embedded:,} concept vectors, "
                  f"faiss {summary['index'].get('kind', '-')} index")
