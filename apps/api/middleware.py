"""Cross-cutting HTTP behaviour: a log line per request, a request body limit, CORS when configured, and
problem documents for the errors FastAPI itself raises (unknown route 404, 405, 413) and for crashes (500)."""

from __future__ import annotations

import json
import logging
import time
from http import HTTPStatus

from fastapi import FastAPI, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.api.problems import problem
from apps.api.security import API_KEY_HEADER
from apps.api.settings import ApiSettings

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
    """413 for a request body over `max_bytes`: from Content-Length up front, else counted as it is read."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._too_large(int(length))(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:  # FastAPI turns an HTTPException raised while reading into its response
                raise HTTPException(413, self._detail(received))
            return message

        await self.app(scope, counted, send)

    def _detail(self, size: int) -> str:
        return f"the request body ({size} bytes or more) is larger than {self.max_bytes} bytes"

    def _too_large(self, size: int) -> JSONResponse:
        return problem(413, "Request body too large", self._detail(size))


def install(app: FastAPI, settings: ApiSettings) -> None:
    """Middleware (outermost first: log, CORS, body limit) and the problem handlers for HTTP errors and crashes."""
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", API_KEY_HEADER], max_age=600)
    app.add_middleware(RequestLog)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if exc.status_code == 404 and detail == HTTPStatus.NOT_FOUND.phrase:
            detail = f"no endpoint at {request.url.path}; the API is described at /docs"
        elif exc.status_code == 405 and detail == HTTPStatus.METHOD_NOT_ALLOWED.phrase:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem(exc.status_code, HTTPStatus(exc.status_code).phrase, str(detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return problem(500, "Internal error", f"the server failed on {request.method} {request.url.path}; "
                                              "the API log has the details")
