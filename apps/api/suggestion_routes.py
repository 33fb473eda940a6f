"""GET /suggestions and POST /suggestions/{id}/accept|reject: curator review of relation suggestions
(graph/suggestions.py) over HTTP. Accepting and rejecting write to the graph, so they take an API key."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from bios_kg.apps.api.problems import problem_responses
from bios_kg.apps.api.security import KeyFirstRoute, require_api_key
from bios_kg.graph import suggestions
from bios_kg.graph.store import GraphStore

router = APIRouter(tags=["suggestions"], route_class=KeyFirstRoute)

SuggestionId = Annotated[str, Path(pattern=r"^S[0-9a-f]{16}$", description="A suggestion id.",
                                   examples=["S1a2b3c4d5e6f7a8b"])]


class SuggestionOut(BaseModel):
    id: str = Field(examples=["S1a2b3c4d5e6f7a8b"])
    head: str = Field(examples=["HP:0001250"])
    head_name: str | None = Field(examples=["Seizure"])
    relation: str = Field(examples=["IS_A"])
    tail: str = Field(examples=["HP:0012638"])
    tail_name: str | None = Field(examples=["Abnormal nervous system physiology"])
    score: float = Field(description="The model's score; higher is likelier, comparable within one model only.",
                         examples=[-1.93])
    rank: int | None = Field(description="Rank among the model's suggestions for the relation.", examples=[1])
    model: str = Field(examples=["transe@3f2a9c0d1e4b"])
    status: str = Field(examples=["open"])


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    curator: str | None = Field(None, max_length=200, description="Who reviewed; recorded on the edges.",
                                examples=["curator@example.org"])


class ReviewOut(BaseModel):
    changed: list[str] = Field(description="Suggestions this request accepted or rejected.",
                               examples=[["S1a2b3c4d5e6f7a8b"]])
    unchanged: list[str] = Field(description="Suggestions already in the asked state.", examples=[[]])


def _store(request: Request) -> GraphStore:
    return request.app.state.store  # type: ignore[no-any-return]


@router.get("/suggestions", response_model=list[SuggestionOut], responses=problem_responses(400))
def list_suggestions(
    request: Request,
    status: Annotated[Literal["open", "accepted", "rejected", "all"], Query()] = "open",
    model: Annotated[str | None, Query(max_length=200, description="Only this model's suggestions.")] = None,
    relation: Annotated[str | None, Query(max_length=64, examples=["IS_A"])] = None,
    concept: Annotated[str | None, Query(max_length=300, description="A concept at either end.")] = None,
    limit: Annotated[int, Query(ge=1, le=suggestions.MAX_LIST)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[SuggestionOut]:
    """Relation suggestions of KG embedding models, best score first."""
    rows = suggestions.list_suggestions(_store(request), status=None if status == "all" else status, model=model,
                                        relation=relation, concept=concept, limit=limit, offset=offset)
    return [SuggestionOut(**row) for row in rows]


@router.post("/suggestions/{suggestion_id}/accept", response_model=ReviewOut, dependencies=[Depends(require_api_key)],
             responses=problem_responses(401, 403, 404, 408))
def accept(request: Request, suggestion_id: SuggestionId,
           body: Annotated[ReviewIn | None, Body()] = None) -> ReviewOut:
    """Create the typed relation the suggestion proposes (source: the model); idempotent."""
    review = suggestions.accept(_store(request), [suggestion_id], body.curator if body else None)
    return ReviewOut(changed=review.changed, unchanged=review.unchanged)


@router.post("/suggestions/{suggestion_id}/reject", response_model=ReviewOut, dependencies=[Depends(require_api_key)],
             responses=problem_responses(400, 401, 403, 404, 408))
def reject(request: Request, suggestion_id: SuggestionId,
           body: Annotated[ReviewIn | None, Body()] = None) -> ReviewOut:
    """Mark the suggestion rejected (400 when it was accepted); idempotent."""
    review = suggestions.reject(_store(request), [suggestion_id], body.curator if body else None)
    return ReviewOut(changed=review.changed, unchanged=review.unchanged)
