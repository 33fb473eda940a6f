"""Resources the API opens on first use and shares between requests (normalizer, extractor, indexes, models).

Each resource has its own lock, so a request for one never waits while another loads; an opener that finds its
resource not configured returns None at once (the route answers 503), and None is not kept, so a later request
tries again. `preload` opens every configured resource at start-up (`bios serve --preload`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from bios_kg.apps.heap import freeze_heap

Opener = Callable[[FastAPI], Any]
_OPENERS: dict[str, Opener] = {}
_LOCKS: dict[str, threading.Lock] = {}


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
