"""The FastAPI application: concepts, search, sources and health over the graph.

Errors are JSON problem documents (RFC 9457: type, title, status, detail, and the offending
parameter when there is one): a bad parameter is 400 or 422, an unknown concept 404, an unreachable
database 503. bios_kg.apps.api.middleware adds the request log, the body limit, CORS (off unless
BIOS_CORS_ORIGINS is set) and problems for unknown routes, wrong methods and crashes; write endpoints
take `Depends(bios_kg.apps.api.security.require_api_key)`. The settings are read once, by create_app, and kept
in `app.state.settings`; routes take them with `Depends(get_settings)` and never read the environment.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from neo4j.exceptions import ServiceUnavailable
from starlette.concurrency import run_in_threadpool

from bios_kg.apps.api.extract_routes import router as extract_router
from bios_kg.apps.api.limits import stopping
from bios_kg.apps.api.middleware import install
from bios_kg.apps.api.models import (
    CURIE_PATTERN,
    LANG_PATTERN,
    NON_BLANK,
    ConceptHitOut,
    ConceptOut,
    HealthOut,
    SearchOut,
    SourceOut,
)
from bios_kg.apps.api.normalize_routes import router as normalize_router
from bios_kg.apps.api.problems import PROBLEM, problem, problem_responses
from bios_kg.apps.api.query_routes import router as query_router
from bios_kg.apps.api.resources import close as close_resources
from bios_kg.apps.api.resources import get_store
from bios_kg.apps.api.resources import preload as preload_resources
from bios_kg.apps.api.retrieve_routes import router as retrieve_router
from bios_kg.apps.api.security import KeyFirstRoute
from bios_kg.apps.api.suggestion_routes import router as suggestion_router
from bios_kg.apps.api.vqa_routes import router as vqa_router
from bios_kg.apps.api.web_routes import router as web_router
from bios_kg.apps.heap import long_lived_heap
from bios_kg.apps.normalize.normalizer import open_normalizer
from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.errors import BiosError, NotFoundError, ParameterError, QueryTimeoutError
from bios_kg.graph.library import Library
from bios_kg.graph.lookup import MAX_LIMIT, MAX_OFFSET, MAX_QUERY_LENGTH, concept_card, lookup_page
from bios_kg.graph.queries.schema import PING, count_label
from bios_kg.graph.settings import ApiSettings, BiosSettings, Neo4jSettings, load_settings
from bios_kg.graph.store import GraphStore

MAX_SOURCES_PAGE = 100
log = logging.getLogger(__name__)


def create_app(settings: BiosSettings | Neo4jSettings | None = None, api_settings: ApiSettings | None = None,
               model: str | None = None, vector: bool = True, runtime: str = "auto", preload: bool = False) -> FastAPI:
    """The API configured by `settings` (default: `load_settings()`, read now); a Neo4jSettings or `api_settings`
    replaces that group of the environment's settings. The normalizer serves `model` (default: the model whose
    vectors the graph holds, if any) unless `vector` is off (exact + full text only); `runtime` is its encoder's
    engine. `preload` opens every configured resource (extractor, retrieval index, VQA model) at start-up rather
    than on first use."""
    config = settings if isinstance(settings, BiosSettings) else load_settings()
    if isinstance(settings, Neo4jSettings):
        config = config.model_copy(update={"neo4j": settings})
    if api_settings is not None:
        config = config.model_copy(update={"api": api_settings})
    graph_settings = config.connection

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.store = GraphStore.connect(graph_settings, timeout_s=config.api.query_timeout_s)
        app.state.normalizer = open_normalizer(app.state.store, model=model, vector=vector,
                                               runtime=runtime)
        if preload:
            log.info("preloaded: %s", ", ".join(await run_in_threadpool(preload_resources, app)))
        try:
            with long_lived_heap():
                yield
        finally:
            stopping(app).set()  # work still in flight stops at its next deadline check
            close_resources(app)
            app.state.store.close()

    app = FastAPI(title="BIOS-KG API", version="0.1.0", lifespan=lifespan,
                  description="Concepts, terms and relations of the BIOS-KG graph (Neo4j).",
                  responses=problem_responses(422, 500, 503, 504))
    app.router.route_class = KeyFirstRoute  # write routes check the API key before reading the body
    app.state.settings = config
    app.state.library = Library()
    install(app, config.api)
    store = get_store

    @app.exception_handler(ParameterError)
    async def bad_parameter(_: Request, exc: ParameterError) -> JSONResponse:
        return problem(400, "Bad parameter", str(exc), parameter=exc.name)

    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return problem(404, "Not found", str(exc))

    @app.exception_handler(QueryTimeoutError)
    async def timed_out(_: Request, exc: QueryTimeoutError) -> JSONResponse:
        return problem(504, "Timed out", str(exc))

    @app.exception_handler(BiosError)
    async def bios_error(_: Request, exc: BiosError) -> JSONResponse:
        return problem(400, "Bad request", str(exc))

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(_: Request, exc: ServiceUnavailable) -> JSONResponse:
        return problem(503, "Graph unavailable", f"Neo4j at {graph_settings.uri} does not answer: {exc}")

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        name = str(first.get("loc", ["", "request"])[-1])
        return problem(422, "Invalid parameter", f"{name}: {first.get('msg', 'invalid')}", parameter=name,
                       errors=[{"parameter": str(e["loc"][-1]), "message": e["msg"]} for e in errors])

    @app.get("/health", response_model=HealthOut, tags=["service"])
    def health(request: Request) -> HealthOut:
        """The graph answers: its Bolt URI, database, and how many concepts and terms it holds."""
        graph = store(request)
        graph.run(PING)
        count = {label: graph.count(count_label(label)) for label in ("Concept", "Term")}
        return HealthOut(status="ok", neo4j=graph_settings.uri, database=graph_settings.database,
                         concepts=count["Concept"], terms=count["Term"])

    @app.get("/sources", response_model=list[SourceOut], tags=["graph"])
    def sources(
        request: Request,
        response: Response,
        limit: Annotated[int, Query(ge=1, le=MAX_SOURCES_PAGE, description="Sources per page.")] = MAX_SOURCES_PAGE,
        offset: Annotated[int, Query(ge=0, le=10_000, description="Sources to skip.")] = 0,
    ) -> list[SourceOut]:
        """The loaded sources, in id order, with their version, licence and record counts; the X-Total-Count header
        says how many there are in all."""
        nodes = store(request).sources()
        response.headers["X-Total-Count"] = str(len(nodes))
        return [SourceOut.from_node(node) for node in nodes[offset:offset + limit]]

    @app.get("/search", response_model=SearchOut, tags=["graph"], responses=problem_responses(400))
    def search(
        request: Request,
        q: Annotated[str, Query(min_length=1, max_length=MAX_QUERY_LENGTH, pattern=NON_BLANK,
                                description="Term in any language.", examples=["seizure", "癫痫"])],
        lang: Annotated[str | None, Query(pattern=LANG_PATTERN, description="Only terms of this ISO 639 language "
                                          "(an unknown code is 400).", examples=["zh"])] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Hits per page.")] = 10,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Hits to skip (pages reach the "
                                                                       f"{MAX_OFFSET + MAX_LIMIT}th hit).")] = 0,
    ) -> SearchOut:
        """Concepts by term: exact normalized match, then full text; one page of the ranked hits."""
        hits, has_more = lookup_page(store(request), q, lang=lang, limit=limit, offset=offset)
        return SearchOut(query=q, lang=lang, offset=offset, limit=limit, has_more=has_more,
                         hits=[ConceptHitOut(**hit.as_dict()) for hit in hits])

    @app.get("/concepts/{concept_id:path}", response_model=ConceptOut, tags=["graph"],
             responses=problem_responses(400, 404))
    def concept(
        request: Request,
        concept_id: Annotated[str, Path(max_length=300, pattern=CURIE_PATTERN, description="A CURIE (it may "
                                        "contain /).", examples=["HP:0001250"])],
        relations_per_type: Annotated[int, Query(ge=0, le=500)] = 50,
    ) -> ConceptOut:
        """Names by language, terms, semantic types, cross-references, definitions and relations."""
        try:
            curie = normalize_curie(concept_id)
        except ValueError as exc:
            raise ParameterError("concept_id", str(exc)) from None
        card = concept_card(store(request), curie, relations_per_type=relations_per_type)
        if card is None:
            raise NotFoundError(f"no concept {curie} in the graph")
        return ConceptOut(**card)

    document_unparseable_bodies(app)
    app.include_router(normalize_router)
    app.include_router(extract_router)
    app.include_router(query_router)
    app.include_router(retrieve_router)
    app.include_router(suggestion_router)
    app.include_router(web_router)
    app.include_router(vqa_router)
    return app


def document_unparseable_bodies(app: FastAPI) -> None:
    """Every operation that takes a body may answer 400 (a problem document) when the body cannot be parsed
    (not JSON, broken multipart): FastAPI answers so before any route runs, and the OpenAPI document says so."""
    generate = app.openapi
    unparseable = {"description": "Bad Request (problem document): the body cannot be parsed, or a parameter's "
                                  "value is not one the server knows.",
                   "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/ProblemOut"}}}}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            for operations in generate()["paths"].values():
                for operation in operations.values():
                    if "requestBody" in operation:
                        operation["responses"].setdefault("400", unparseable)
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]
