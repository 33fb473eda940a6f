"""`bios lookup` and `bios serve`: the first ways into the graph for people and programs."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bios_kg.embed import RUNTIME_HELP
from bios_kg.graph.lookup import lookup
from bios_kg.graph.store import GraphStore

console = Console(soft_wrap=True)


def lookup_command(
    term: Annotated[str, typer.Argument(help="A term in any language, e.g. seizure or 癫痫.")],
    lang: Annotated[str | None, typer.Option(help="Only terms of this ISO 639-1 language.")] = None,
    limit: Annotated[int, typer.Option(help="Concepts to show (1-100).")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
) -> None:
    """Find concepts by term: exact normalized match first, then full text."""
    with GraphStore.connect() as store:
        hits = lookup(store, term, lang=lang, limit=limit)
    if as_json:
        print(json.dumps([hit.as_dict() for hit in hits], ensure_ascii=False))
        return
    if not hits:
        console.print(f"no concept found for {term!r}")
        raise typer.Exit(1)
    table = Table("concept", "name", "matched", "types", "sources", "method")
    for hit in hits:
        names = " / ".join(dict.fromkeys(n for n in (hit.name, hit.names.get("zh")) if n))
        table.add_row(hit.id, names, f"{hit.matched} ({hit.matched_lang}, {hit.tty})",
                      ", ".join(t["name"] for t in hit.types), ", ".join(hit.sources), f"{hit.method} {hit.score:.2f}")
    console.print(table)


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    model: Annotated[str | None, typer.Option(help="Normalizer encoder (registry name or model folder) whose term "
                                              "vectors the graph holds; default: the graph's model, if any.")] = None,
    no_vector: Annotated[bool, typer.Option("--no-vector", help="Normalize with exact + full text only.")] = False,
    runtime: Annotated[str, typer.Option(help=f"Query encoder engine: {RUNTIME_HELP}")] = "auto",
    preload: Annotated[bool, typer.Option("--preload", help="Open the extractor, retrieval index and VQA model "
                                          "(those configured) at start-up, not on first use.")] = False,
) -> None:
    """Start the HTTP API (OpenAPI docs at /docs) over the graph at NEO4J_URI; one JSON log line per request.
    On shutdown, requests in flight get BIOS_SHUTDOWN_TIMEOUT_S seconds, and their work stops at its next check."""
    import uvicorn

    from bios_kg.apps.api.app import create_app
    from bios_kg.apps.api.middleware import log_requests_to_stderr

    log_requests_to_stderr()
    app = create_app(model=model, vector=not no_vector, runtime=runtime, preload=preload)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False,
                timeout_graceful_shutdown=int(app.state.api_settings.shutdown_timeout_s))
