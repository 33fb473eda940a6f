"""An ASGI app served over real loopback HTTP for the length of a block (tests and benchmarks)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from bios_kg.graph.runtime import free_port


@contextmanager
def served(app: FastAPI, start_timeout: float = 30) -> Iterator[str]:
    """`app` served by uvicorn in a thread on a free loopback port, for as long as the block runs; yields its URL.
    RuntimeError when it has not started within `start_timeout` seconds."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="bios-test-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
