"""POST /extract's extractor in a worker process, so that large extractions do not slow the other endpoints.

Extraction (dictionary matching and rules, pure Python) holds the GIL: run in the API's threads, one large request
made every other request of the process wait (p99 up to 2.8x; benchmarks/results/api_load_hostile.md). Here it runs
in one child process (`python -m bios_kg.apps.api.extract_worker`, its own interpreter) at lower CPU priority
(os.nice(WORKER_NICE)), which takes only the CPU the API, Neo4j and other work leave. The child opens the extractor
the API would (bios_kg.apps.extract.pipeline.open_extractor: the configured LLM backend, else the offline dictionary
extractor, whose dictionary it reads from BIOS_HOME or builds) and extracts one request's notes at a time, checking
the request's deadline between notes.

- Admission: at most `slots` requests in flight (one at work, the others waiting their turn); beyond, ExtractorBusy
  (503 with Retry-After). Waiting counts against the request's deadline.
- Deadline: a request past its deadline while it waits, or between two of its notes, is 504 (RequestTimeoutError,
  bios_kg.apps.api.limits). A worker that has not answered GRACE_S after the deadline (one note that runs long) is
  killed, the request is 504, and the next request starts a new worker.
- Shutdown: once the server is stopping, a request in flight is 504 at once and `close` kills the worker.
- A worker that dies (killed from outside, out of memory) is ExtractorUnavailable (503) for its request; the next
  request starts a new one.

Linking stays in the API process: it uses the app's normalizer (encoder, k-NN index, graph), which a second process
would have to load again.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bios_kg.apps.api.limits import Deadline
    from bios_kg.apps.extract.records import Extraction
    from bios_kg.graph.settings import LlmSettings, Neo4jSettings

WORKER_NICE = 10  # the worker's CPU priority below the API's (Linux nice: 10 weighs ~1/10 of 0 under contention)
SLOTS = 4  # requests in flight: one at work, three waiting
RETRY_AFTER_S = 5
GRACE_S = 2.0  # past the deadline, how long a worker may take to answer before it is killed
POLL_S = 0.05  # how often a waiting request looks at its deadline and the server's stop
START_TIMEOUT_S = 600.0  # opening the extractor: building the dictionary of a large graph


class ExtractorBusy(Exception):
    """Every slot is taken: the client should come back after `retry_after_s` seconds."""

    def __init__(self, slots: int, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__(f"{slots} extraction requests are already in flight, the most the server takes at once; "
                         f"retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


class ExtractorUnavailable(Exception):
    """The worker could not open the extractor, or stopped while it worked."""


class ExtractionWorker:
    """The extractor in a child process (module docstring); `extract` from any number of threads."""

    def __init__(self, neo4j: Neo4jSettings, llm: LlmSettings, slots: int = SLOTS, nice: int = WORKER_NICE,
                 grace_s: float = GRACE_S, stop: threading.Event | None = None) -> None:
        self.neo4j, self.llm, self.slots, self.nice, self.grace_s = neo4j, llm, slots, nice, grace_s
        self.name = ""
        self._admitted = threading.BoundedSemaphore(slots)
        self._turn = threading.Lock()  # one request in the worker at a time
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self._closed = False
        self._start(stop or threading.Event())

    @property
    def pid(self) -> int | None:
        """The worker's process id while one runs."""
        return self._process.pid if self._process is not None and self._process.poll() is None else None

    def extract(self, texts: Sequence[str], deadline: Deadline) -> list[Extraction]:
        """One Extraction per text, in order; ExtractorBusy, ExtractorUnavailable or RequestTimeoutError."""
        if not self._admitted.acquire(blocking=False):
            raise ExtractorBusy(self.slots)
        try:
            while not self._turn.acquire(timeout=POLL_S):
                deadline.check("notes[0] (waiting for the extractor)")
            try:
                deadline.check("notes[0]")
                return self._run(texts, deadline)
            finally:
                self._turn.release()
        finally:
            self._admitted.release()

    def close(self) -> None:
        """Kill the worker (server shutdown): a request in flight ends with its deadline's shutdown error. Only the
        process is killed here; its connection belongs to the thread whose turn it is."""
        self._closed = True
        process = self._process
        if process is not None:
            process.kill()
            process.wait()

    def _run(self, texts: Sequence[str], deadline: Deadline) -> list[Extraction]:
        if self._process is None or self._process.poll() is not None:
            self._discard()
            self._start(deadline.stop)
        connection = self._connection
        assert connection is not None
        try:
            connection.send((list(texts), deadline.expires))
            while not connection.poll(POLL_S):
                if deadline.stop.is_set() or time.monotonic() > deadline.expires + self.grace_s:
                    self._discard()  # abandoned: a new worker starts with the next request
                    raise deadline.error("the rest of the notes")
            kind, value = connection.recv()
        except (EOFError, OSError):
            code = self._discard()
            if deadline.stop.is_set() or self._closed:
                raise deadline.error("the rest of the notes") from None
            raise ExtractorUnavailable(f"the extraction worker stopped (exit status {code}); the next request "
                                       "starts a new one") from None
        if kind == "late":
            raise deadline.error(f"notes[{value}]")
        if kind == "failed":
            raise _error(*value)
        return value  # type: ignore[no-any-return]

    def _start(self, stop: threading.Event) -> None:
        """Start a worker and wait until its extractor is open; ExtractorUnavailable when it cannot open it."""
        if self._closed:
            raise ExtractorUnavailable("the server is shutting down")
        ours, theirs = socket.socketpair()
        with theirs:
            self._process = subprocess.Popen([sys.executable, "-m", __name__, str(theirs.fileno())],
                                             pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        connection = self._connection = Connection(ours.detach())
        try:
            connection.send((self.neo4j, self.llm, self.nice))
            started = time.monotonic()
            while not connection.poll(POLL_S):
                if stop.is_set() or self._closed or time.monotonic() - started > START_TIMEOUT_S:
                    raise ExtractorUnavailable("the extraction worker did not open its extractor in time")
            kind, value = connection.recv()
        except (EOFError, OSError):
            kind, value = "failed", ("", "the worker stopped while it opened it (the server log has its error)", False)
        except ExtractorUnavailable:
            self._discard()
            raise
        if kind != "ready":
            self._discard()
            raise ExtractorUnavailable(f"the extractor cannot be opened: {value[1]}")
        self.name = value

    def _discard(self) -> int | None:
        """Close the connection and kill the worker, if one runs; its exit status."""
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if connection is not None:
            connection.close()
        if process is None:
            return None
        process.kill()
        return process.wait()


def _error(kind: str, message: str, expected: bool) -> Exception:
    """The API-side exception for an error the worker met: a BiosError (the app's 4xx) for the project's own errors,
    else a RuntimeError (500)."""
    from bios_kg.graph.errors import BiosError

    return BiosError(message) if expected else RuntimeError(f"{kind} in the extraction worker: {message}")


def _failure(error: Exception) -> tuple[str, str, bool]:
    from bios_kg.graph.errors import BiosError

    return type(error).__name__, str(error), isinstance(error, BiosError)


def serve(connection: Connection) -> None:
    """The worker: settings in, then (texts, expires) jobs until the API closes the connection."""
    neo4j, llm, nice = connection.recv()
    os.nice(nice)
    from bios_kg.apps.extract.pipeline import open_extractor
    from bios_kg.graph.store import GraphStore

    try:
        with GraphStore.connect(neo4j) as store:
            extractor = open_extractor(store, llm=llm)
    except Exception as error:  # noqa: BLE001 - reported to the API, which answers 503
        connection.send(("failed", _failure(error)))
        return
    connection.send(("ready", extractor.name))
    while True:
        try:
            texts, expires = connection.recv()
        except (EOFError, OSError):  # the API closed the connection or is gone
            return
        reply: tuple[str, Any]
        results: list[Extraction] = []
        try:
            for index, text in enumerate(texts):
                if index and time.monotonic() > expires:
                    reply = ("late", index)
                    break
                results += extractor.extract([text])
            else:
                reply = ("done", results)
        except Exception as error:  # noqa: BLE001 - the request fails, the worker goes on
            reply = ("failed", _failure(error))
        connection.send(reply)


if __name__ == "__main__":
    serve(Connection(int(sys.argv[1])))
