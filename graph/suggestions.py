"""Curator review of relation suggestions: `(:Concept)-[:SUGGESTED {id, relation, score, model, status}]->(:Concept)`.

A KG embedding model (embed/kge/) writes suggestions with status `open`. Accepting one creates the typed relation
it proposes, with the model as its source and the curator beside it, and marks the suggestion `accepted`;
rejecting marks it `rejected`, so that the model's next run does not propose it again. Both are idempotent: a
suggestion already in the asked state is left as it is. A rejected suggestion may still be accepted; an accepted
one is not rejected (the relation exists: delete that edge by hand to undo).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

from bios_kg.graph.errors import GraphError, NotFoundError, ParameterError
from bios_kg.graph.queries.suggestions import GET_SUGGESTIONS, LIST_SUGGESTIONS, REJECT_SUGGESTION, accept_suggestion
from bios_kg.graph.store import GraphStore

Status = Literal["open", "accepted", "rejected"]
MAX_LIST = 1000


@dataclass(frozen=True)
class Review:
    """What a review did: the suggestions it changed and those already in the asked state."""

    changed: list[str]
    unchanged: list[str]


def list_suggestions(store: GraphStore, *, status: str | None = "open", model: str | None = None,
                     relation: str | None = None, concept: str | None = None, limit: int = 50,
                     offset: int = 0) -> list[dict[str, Any]]:
    """Suggestions best score first; `status` None lists every status."""
    if status is not None and status not in get_args(Status):
        raise ParameterError("status", f"{status!r} is not one of {', '.join(get_args(Status))}")
    if not 1 <= limit <= MAX_LIST:
        raise ParameterError("limit", f"{limit} is not between 1 and {MAX_LIST}")
    if offset < 0:
        raise ParameterError("offset", f"{offset} is negative")
    return store.run(LIST_SUGGESTIONS, status=status, model=model,
                     relation=relation.upper() if relation else None, concept=concept, limit=limit, offset=offset)


def get_suggestions(store: GraphStore, ids: list[str]) -> list[dict[str, Any]]:
    """The suggestions `ids` in the order given; NotFoundError names every id the graph does not hold."""
    if not ids:
        raise ParameterError("ids", "no suggestion id given")
    found = {row["id"]: row for row in store.run(GET_SUGGESTIONS, ids=ids)}
    missing = [suggestion_id for suggestion_id in ids if suggestion_id not in found]
    if missing:
        raise NotFoundError(f"no suggestion with id {', '.join(missing)}")
    return [found[suggestion_id] for suggestion_id in dict.fromkeys(ids)]


def accept(store: GraphStore, ids: list[str], curator: str | None = None) -> Review:
    """Turn each suggestion into its typed relation (source: the model; `accepted_by`: the curator)."""
    suggestions = get_suggestions(store, ids)
    changed, unchanged = [], []
    with store.transaction() as tx:
        for row in suggestions:
            if row["status"] == "accepted":
                unchanged.append(row["id"])
                continue
            tx.run(accept_suggestion(row["relation"]), id=row["id"], source=row["model"],
                   curator=curator).consume()
            changed.append(row["id"])
    return Review(changed, unchanged)


def reject(store: GraphStore, ids: list[str], curator: str | None = None) -> Review:
    """Mark each suggestion rejected; refused (nothing changed) when one of them was accepted."""
    suggestions = get_suggestions(store, ids)
    accepted = [row["id"] for row in suggestions if row["status"] == "accepted"]
    if accepted:
        raise GraphError(f"suggestion {', '.join(accepted)} was accepted: its relation is in the graph; delete that "
                         "edge to undo the acceptance")
    changed = [row["id"] for row in suggestions if row["status"] != "rejected"]
    with store.transaction() as tx:
        for suggestion_id in changed:
            tx.run(REJECT_SUGGESTION, id=suggestion_id, curator=curator).consume()
    return Review(changed, [row["id"] for row in suggestions if row["status"] == "rejected"])
