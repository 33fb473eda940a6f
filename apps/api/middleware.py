"""Cross-cutting HTTP behaviour: a log line per request, a request body limit and read timeout, CORS when
configured, and problem documents for the errors FastAPI itself raises (unknown route 404, 405 with every method
the path allows, 408, 413) and for crashes (500)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from http import HTTPStatus

from fastapi import FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bios_kg.apps.api.problems import problem
from bios_kg.apps.api.security import API_KEY_HEADER
from bios_kg.graph.settings import ApiSettings

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
access_log = logging.getLogger("bios.api.access")
log = logging.getLogger(__name__)


def log_requests_to_stderr() -> None:
    """Write the request log to stderr (the `bios serve` process; embedders configure logging themselves)."""
    if not access_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        access_log.addHandler(handler)
    access_log.setLevel(logging.INFO)
    access_log.propagate = False


class RequestLog:
    """One JSON line per request on the `bios.api.access` logger: method, path, status, ms (no query string:
    it may carry patient text)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status, logged = time.perf_counter(), 500, False

        def write_line() -> None:
            nonlocal logged
            logged = True
            access_log.info(json.dumps({"method": scope["method"], "path": scope["path"], "status": status,
                                        "ms": round((time.perf_counter() - started) * 1000, 1)}))

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                write_line()  # before the last byte goes out: a client never sees a response before its line
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            if not logged:
                write_line()


class BodyLimit:
    """413 for a request body over `max_bytes`: from Content-Length up front, else counted as it is read; 408 when
    the rest of the body does not arrive within `timeout_s` (a client that sends less than its Content-Length)."""

    def __init__(self, app: ASGIApp, max_bytes: int, timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._too_large(int(length))(scope, receive, send)
            return
        received, body_done = 0, False

        async def counted() -> Message:
            nonlocal received, body_done
            if body_done:  # later reads wait for the client to disconnect: no time limit
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.timeout_s)
            except TimeoutError:
                raise HTTPException(408, f"the request body did not arrive within {self.timeout_s:g} s "
                                         f"({received} bytes received)") from None
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            received += len(message.get("body", b""))
            if received > self.max_bytes:  # FastAPI turns an HTTPException raised while reading into its response
                raise HTTPException(413, self._detail(received))
            return message

        await self.app(scope, counted, send)

    def _detail(self, size: int) -> str:
        return f"the request body ({size} bytes or more) is larger than {self.max_bytes} bytes"

    def _too_large(self, size: int) -> JSONResponse:
        return problem(413, "Request body too large", self._detail(size))


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on the request's path (Starlette names only the first route's)."""
    base = {"type": "http", "path": request.scope["path"], "root_path": request.scope.get("root_path", "")}
    return [method for method in METHODS
            if any(route.matches({**base, "method": method})[0] == Match.FULL for route in request.app.router.routes)]


def install(app: FastAPI, settings: ApiSettings) -> None:
    """Middleware (outermost first: log, CORS, body limit) and the problem handlers for HTTP errors and crashes."""
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, timeout_s=settings.body_timeout_s)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", API_KEY_HEADER], max_age=600)
    app.add_middleware(RequestLog)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if exc.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
            detail = f"no endpoint at {request.url.path}; the API is described at /docs"
        headers = exc.headers
        if exc.status_code == 405 and detail == HTTPStatus.METHOD_NOT_ALLOWED.phrase:
            allowed = allowed_methods(request)
            detail = f"{request.method} is not allowed on {request.url.path}; allowed: {', '.join(allowed)}"
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        return problem(exc.status_code, HTTPStatus(exc.status_code).phrase, str(detail), headers=headers)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(500, "Internal error", f"the server failed on {request.method} {request.url.path}; "
                                              "the API log has the details")
