"""POST /retrieve: note chunks for queries from a retrieval index (bios_kg.apps.retrieve), bm25 / dense / hybrid / kg.

The router reads `app.state.retrieval_index` (a bios_kg.apps.retrieve.engine.RetrievalIndex); when the app has not set
one, the first request opens the folder of the app's settings (`api.retrieve_index`, BIOS_RETRIEVE_INDEX) and keeps
it (503 when neither is there).
kg expands queries from the app's graph (`app.state.store`). Errors are the app's problem documents: 413 for more
than MAX_BATCH queries, 422 for a malformed request or an index without dense vectors for a dense method, 504 past
the request's deadline (checked between units of UNIT queries).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bios_kg.apps.api.limits import Deadline
from bios_kg.apps.api.models import NON_BLANK, JsonInt, example
from bios_kg.apps.api.problems import problem, problem_responses
from bios_kg.apps.api.resources import resource, shared

MAX_BATCH = 100  # queries per POST /retrieve
MAX_K = 100
MAX_QUERY_CHARS = 1000
UNIT = 25  # queries searched between two deadline checks

router = APIRouter(tags=["retrieve"])

QueryText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUERY_CHARS, pattern=NON_BLANK)]
_HIT = {"id": "CXR1_0", "score": 0.0328, "text": "The cardiac silhouette and mediastinum size are within normal …"}


class RetrieveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"queries": ["enlarged heart"], "method": "kg", "k": 5}]})

    queries: list[QueryText] = Field(min_length=1, description=f"Entity or free-text queries, at most {MAX_BATCH}.")
    method: Literal["bm25", "dense", "hybrid", "kg"] = Field(
        "hybrid", description="bm25, dense, hybrid (reciprocal rank fusion) or kg (hybrid + graph expansion).")
    k: JsonInt = Field(10, ge=1, le=MAX_K, description="Chunks per query.")


class HitOut(BaseModel):
    model_config = example(_HIT)

    id: str = Field(description="Chunk id, <note id>_<i>.")
    score: float = Field(description="The method's score (BM25, cosine, or fused reciprocal rank).")
    text: str


class ExpansionOut(BaseModel):
    model_config = example({"text": "enlarged heart", "kind": "synonym", "concept": "HP:0001640", "weight": 1.0})

    text: str
    kind: str = Field(description="synonym, child, parent or related.")
    concept: str
    weight: float


class RetrieveOut(BaseModel):
    model_config = example({"query": "cardiomegaly", "hits": [_HIT], "expansions": []})

    query: str
    hits: list[HitOut] = Field(description="Best first.")
    expansions: list[ExpansionOut] = Field(description="Graph expansions used (kg only).")


class RetrieveBatchOut(BaseModel):
    model_config = example({"method": "hybrid", "results": [{"query": "cardiomegaly", "hits": [_HIT],
                                                             "expansions": []}]})

    method: str
    results: list[RetrieveOut] = Field(description="One per query, in order.")


@resource("retrieval_index")
def _open_index(app: FastAPI) -> Any:
    """The index of the app's settings (BIOS_RETRIEVE_INDEX); None (at once) when none is set."""
    folder = app.state.settings.api.retrieve_index
    if folder is None:
        return None
    from bios_kg.apps.retrieve.engine import RetrievalIndex

    return RetrievalIndex(folder)


def get_index(request: Request) -> Any:
    """The served retrieval index, opened once; None when none is configured."""
    return shared(request.app, "retrieval_index")


@router.post("/retrieve", response_model=RetrieveBatchOut, responses=problem_responses(408, 413, 503, 504))
def retrieve(request: Request, body: RetrieveIn) -> Any:
    """The top k chunks of the served index for up to MAX_BATCH (100) queries."""
    if len(body.queries) > MAX_BATCH:
        return problem(413, "Too many queries", f"at most {MAX_BATCH} queries per request, got {len(body.queries)}",
                       parameter="queries")
    index = get_index(request)
    if index is None:
        return problem(503, "No retrieval index", "the server has no retrieval index: set BIOS_RETRIEVE_INDEX to a "
                                                  "folder made by `bios retrieve index`")
    if body.method not in index.methods:
        return problem(422, "Invalid parameter", f"method: {body.method} needs dense vectors, which this index "
                                                 "lacks (built with --no-dense)", parameter="method")
    from bios_kg.apps.retrieve.knowledge import Budget, KnowledgeGraph, Weights

    knowledge = KnowledgeGraph(request.app.state.store) if body.method == "kg" else None
    deadline = Deadline.of(request)
    expansions: list[list[Any]] = []
    results: list[Any] = []
    for start in range(0, len(body.queries), UNIT):
        deadline.check(f"queries[{start}]")
        queries = body.queries[start:start + UNIT]
        expansions += knowledge.expand(queries, Budget(), Weights()) if knowledge else [[] for _ in queries]
        results += index.search(queries, body.method, k=body.k, knowledge=knowledge)
    return RetrieveBatchOut(method=body.method, results=[
        RetrieveOut(query=q, hits=[HitOut(**hit.__dict__) for hit in hits],
                    expansions=[ExpansionOut(**e.__dict__) for e in extra])
        for q, hits, extra in zip(body.queries, results, expansions, strict=True)])
