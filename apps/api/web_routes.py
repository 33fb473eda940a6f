"""The concept browser page (apps/web) and the reads it needs: a concept's neighbourhood and paths between concepts.

The page is static HTML, CSS and ES modules from apps/web/static; cytoscape.js comes from apps/web/node_modules
(`npm ci --prefix apps/web`), served from here so that the page works offline. Without it the page answers 503
with the command to run, and the API logs the same at startup. Errors of the JSON endpoints are the app's problem
documents: 400 for a malformed id, 404 for an unknown concept, 422 for a parameter out of range.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from bios_kg.apps.api.models import CURIE_PATTERN, example
from bios_kg.apps.api.problems import problem, problem_responses
from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.errors import ParameterError
from bios_kg.graph.explore import MAX_NEIGHBOURS, MAX_PATH_LENGTH, neighbourhood, shortest_path
from bios_kg.graph.store import GraphStore
from bios_kg.resources import WEB_DIR

STATIC = WEB_DIR / "static"
CYTOSCAPE = WEB_DIR / "node_modules" / "cytoscape" / "dist" / "cytoscape.esm.min.mjs"
INSTALL_HINT = "cytoscape.js is not installed: run `npm ci --prefix apps/web` in the repository, then reload"
# The page's files by URL name (nothing else under apps/web is served).
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
STATIC_FILES = {path.name: STATIC_TYPES[path.suffix] for path in STATIC.iterdir() if path.suffix in STATIC_TYPES}

log = logging.getLogger(__name__)


@asynccontextmanager
async def _check_cytoscape(_: FastAPI) -> AsyncIterator[None]:
    if not CYTOSCAPE.is_file():
        log.warning("concept browser page unavailable: %s", INSTALL_HINT)
    yield


router = APIRouter(lifespan=_check_cytoscape)

ConceptId = Annotated[str, Path(max_length=300, pattern=CURIE_PATTERN, description="A CURIE (it may contain /).",
                                examples=["HP:0001250", "CMEKG:癫痫病"])]
_PROBLEMS = problem_responses(400, 404, 504)


class GraphNodeOut(BaseModel):
    id: str = Field(examples=["HP:0012638"])
    name: str | None = Field(description="Preferred name: English, else Chinese.",
                             examples=["Abnormal nervous system physiology"])
    sources: list[str] = Field(examples=[["HPO"]])


class GraphEdgeOut(BaseModel):
    source: str = Field(description="Head concept id.", examples=["HP:0001250"])
    type: str = Field(description="Relationship type.", examples=["IS_A"])
    target: str = Field(description="Tail concept id.", examples=["HP:0012638"])


class RelationCountOut(BaseModel):
    type: str = Field(examples=["HAS_PHENOTYPE"])
    direction: str = Field(description="out: the concept is the head; in: the tail.", examples=["in"])
    total: int = Field(description="Edges of this type and direction in the graph.", examples=[4213])
    shown: int = Field(description="Of them, drawn in this neighbourhood.", examples=[20])


_SEIZURE = {"id": "HP:0001250", "name": "Seizure", "sources": ["HPO"]}
_PARENT = {"id": "HP:0012638", "name": "Abnormal nervous system physiology", "sources": ["HPO"]}
_IS_A = {"source": "HP:0001250", "type": "IS_A", "target": "HP:0012638"}


class NeighbourhoodOut(BaseModel):
    model_config = example({"id": "HP:0001250", "nodes": [_SEIZURE, _PARENT], "edges": [_IS_A],
                            "relations": [{"type": "IS_A", "direction": "out", "total": 1, "shown": 1}],
                            "redirected_from": None})

    id: str = Field(examples=["HP:0001250"])
    nodes: list[GraphNodeOut] = Field(description="The concept first, then its neighbours.")
    edges: list[GraphEdgeOut] = Field(description="From the concept to its neighbours, then among the neighbours.")
    relations: list[RelationCountOut]
    redirected_from: str | None = Field(None, description="The retired id asked for, when it was an alt id.")


class PathOut(BaseModel):
    model_config = example({"source": "HP:0001250", "target": "HP:0012638", "max_length": 6, "found": True,
                            "length": 1, "nodes": [_SEIZURE, _PARENT], "edges": [_IS_A]})

    source: str = Field(description="The `from` concept (a retired id resolved).", examples=["HP:0001250"])
    target: str = Field(description="The `to` concept.", examples=["CMEKG:癫痫病"])
    max_length: int = Field(examples=[6])
    found: bool = Field(description="False when no path has at most `max_length` edges.")
    length: int | None = Field(description="Edges on the path; null when none was found.", examples=[6])
    nodes: list[GraphNodeOut] = Field(description="In path order, `from` first.")
    edges: list[GraphEdgeOut] = Field(description="edges[i] joins nodes[i] and nodes[i+1], in its stored direction.")


def _store(request: Request) -> GraphStore:
    return request.app.state.store  # type: ignore[no-any-return]


def _curie(name: str, text: str) -> str:
    try:
        return normalize_curie(text)
    except ValueError as exc:
        raise ParameterError(name, str(exc)) from None


@router.get("/neighbourhood/{concept_id:path}", response_model=NeighbourhoodOut, tags=["browser"],
            responses=_PROBLEMS)
def concept_neighbourhood(
    request: Request,
    concept_id: ConceptId,
    limit: Annotated[int, Query(ge=1, le=MAX_NEIGHBOURS, description="Neighbours to return, taken in turn from "
                                                                     "each relation type and direction.")] = 40,
) -> NeighbourhoodOut:
    """A concept and its neighbours over concept–concept relations (cross-references included) as nodes and
    edges, with the total of each relation type and direction."""
    found = neighbourhood(_store(request), _curie("concept_id", concept_id), limit=limit)
    return NeighbourhoodOut.model_validate(found.as_dict())


@router.get("/paths", response_model=PathOut, tags=["browser"], responses=_PROBLEMS)
def concept_path(
    request: Request,
    source: Annotated[str, Query(alias="from", max_length=300, pattern=CURIE_PATTERN,
                                 description="Concept id where the path starts.",
                                 examples=["HP:0001250"])],
    target: Annotated[str, Query(alias="to", max_length=300, pattern=CURIE_PATTERN,
                                 description="Concept id where it ends.",
                                 examples=["CMEKG:癫痫病"])],
    max_length: Annotated[int, Query(ge=1, le=MAX_PATH_LENGTH, description="Most edges on the path.")] = 6,
) -> PathOut:
    """A shortest path between two concepts over concept–concept relations, in either direction."""
    path = shortest_path(_store(request), _curie("from", source), _curie("to", target), max_length=max_length)
    return PathOut.model_validate(path.as_dict())


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/browse")


@router.get("/browse", include_in_schema=False)
def page() -> Response:
    """The concept browser page; 503 with the install command when cytoscape.js is missing."""
    if not CYTOSCAPE.is_file():
        return HTMLResponse(f"<!doctype html><title>BIOS-KG concept browser</title><h1>Not installed</h1>"
                            f"<p>{INSTALL_HINT.replace('`', '')}.</p>", status_code=503)
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/browse/static/{name}", include_in_schema=False)
def static_file(name: str) -> Response:
    if name not in STATIC_FILES:
        return problem(404, "Not found", f"no file {name} in the page's static files")
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name])


@router.get("/browse/vendor/cytoscape.mjs", include_in_schema=False)
def cytoscape() -> Response:
    if not CYTOSCAPE.is_file():
        return problem(503, "Not installed", INSTALL_HINT)
    return FileResponse(CYTOSCAPE, media_type="text/javascript")
