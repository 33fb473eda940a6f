"""Resources the API opens on first use and shares between requests (normalizer, extractor, indexes, models).

Each resource has its own lock, so a request for one never waits while another loads; an opener that finds its
resource not configured returns None at once (the route answers 503), and None is not kept, so a later request
tries again. `preload` opens every configured resource at start-up (`bios serve --preload`), `close` releases those
that hold something outside the process (the extraction worker) at shutdown. `get_settings` and
`get_store` are the dependencies that give a route the app's settings and graph.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request

from bios_kg.apps.heap import freeze_heap
from bios_kg.graph.settings import BiosSettings
from bios_kg.graph.store import GraphStore

Opener = Callable[[FastAPI], Any]
_OPENERS: dict[str, Opener] = {}
_LOCKS: dict[str, threading.Lock] = {}


def get_settings(request: Request) -> BiosSettings:
    """The settings the app was created with (`Depends(get_settings)`)."""
    return request.app.state.settings  # type: ignore[no-any-return]


def get_store(request: Request) -> GraphStore:
    """The app's graph (`Depends(get_store)`), open from start-up to shutdown."""
    return request.app.state.store  # type: ignore[no-any-return]


def resource(name: str) -> Callable[[Opener], Opener]:
    """Register `opener(app)` as the way to open the resource kept as `app.state.<name>`."""
    def register(opener: Opener) -> Opener:
        _OPENERS[name] = opener
        _LOCKS[name] = threading.Lock()
        return opener

    return register


def shared(app: FastAPI, name: str) -> Any:
    """`app.state.<name>`, opened by its registered opener on first use (once, whatever the concurrency); None
    when the resource is not configured."""
    value = getattr(app.state, name, None)
    if value is None:
        with _LOCKS[name]:
            value = getattr(app.state, name, None)
            if value is None:
                value = _OPENERS[name](app)
                if value is not None:
                    setattr(app.state, name, value)
                    freeze_heap()  # the resource lives as long as the app: keep it out of garbage collections
    return value


def preload(app: FastAPI) -> list[str]:
    """Open every registered resource that is configured; the names of those now open."""
    return [name for name in _OPENERS if shared(app, name) is not None]


def close(app: FastAPI) -> None:
    """Call `close()` on every open resource that has one (the extraction worker: its process is killed)."""
    for name in _OPENERS:
        closer = getattr(getattr(app.state, name, None), "close", None)
        if callable(closer):
            closer()
