"""`bios serve`: the HTTP API and the concept browser over the graph."""

from __future__ import annotations

from typing import Annotated

import typer

from bios_kg.embed import RUNTIME_HELP


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
    from bios_kg.graph.settings import load_settings

    log_requests_to_stderr()
    settings = load_settings()
    app = create_app(settings, model=model, vector=not no_vector, runtime=runtime, preload=preload)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False,
                timeout_graceful_shutdown=int(settings.api.shutdown_timeout_s))
