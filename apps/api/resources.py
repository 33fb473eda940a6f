"""Resources the API opens on first use and shares between requests (normalizer, extractor, indexes, models)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request

from apps.heap import freeze_heap

T = TypeVar("T")
_opening = threading.Lock()


def shared(request: Request, name: str, open_resource: Callable[[], T]) -> T:
    """`app.state.<name>`, opened by `open_resource` on the first request that needs it (once, whatever the
    concurrency); a None result is not kept, so a later request tries again."""
    state = request.app.state
    value: Any = getattr(state, name, None)
    if value is None:
        with _opening:
            value = getattr(state, name, None)
            if value is None:
                value = open_resource()
                setattr(state, name, value)
                freeze_heap()  # the resource lives as long as the app: keep it out of garbage collections
    return value  # type: ignore[no-any-return]
