"""Bounded work per request: a deadline that long computations check between steps, and work budgets.

A route that computes takes `Deadline.of(request)` and calls `check` between units of work (a note, a batch); past
ApiSettings.request_timeout_s, or once the server is shutting down, `check` raises RequestTimeoutError (a 504
problem document), so a worker thread never stays busy long after its client was answered. Budgets (characters
per request, queries x k) are checked before any work starts and refused with 413.
"""

from __future__ import annotations

import threading
import time

from fastapi import FastAPI, Request

from bios_kg.graph.errors import QueryTimeoutError


class RequestTimeoutError(QueryTimeoutError):
    """A request's work ran past its deadline, or the server is shutting down."""


def stopping(app: FastAPI) -> threading.Event:
    """Set when the server shuts down: deadlines expire at once."""
    event: threading.Event | None = getattr(app.state, "stopping", None)
    if event is None:
        event = app.state.stopping = threading.Event()
    return event


class Deadline:
    """`expires` is on time.monotonic's clock (CLOCK_MONOTONIC), which the extraction worker process shares."""

    def __init__(self, seconds: float, stop: threading.Event) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.stop = stop

    @classmethod
    def of(cls, request: Request) -> Deadline:
        """The deadline of a request that starts now (ApiSettings.request_timeout_s)."""
        return cls(request.app.state.settings.api.request_timeout_s, stopping(request.app))

    def check(self, doing: str) -> None:
        """Raise RequestTimeoutError when the deadline has passed or the server is stopping; `doing` names the
        step that was about to start."""
        if self.stop.is_set() or time.monotonic() > self.expires:
            raise self.error(doing)

    def error(self, doing: str) -> RequestTimeoutError:
        """The error of work stopped before `doing`: the server is shutting down, else the deadline has passed."""
        if self.stop.is_set():
            return RequestTimeoutError(f"the server is shutting down; stopped before {doing}")
        return RequestTimeoutError(f"the request took longer than its {self.seconds:g} s limit "
                                   f"(BIOS_REQUEST_TIMEOUT_S); stopped before {doing}")
