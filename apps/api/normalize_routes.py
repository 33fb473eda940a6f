"""GET and POST /normalize: terms -> ranked concepts with calibrated scores (bios_kg.apps.normalize).

The router reads `app.state.store` (the app's GraphStore) and `app.state.normalizer`; when the app has not set
a normalizer, the first request opens one over the store (the model whose term vectors the graph holds, else
exact + full text only) and keeps it. Errors are the app's problem documents: 400 for a bad parameter value,
422 for a malformed request, 413 for more than MAX_BATCH queries or MAX_WORK candidates in one POST, 504 for a POST
past its deadline (checked between units of UNIT queries) or a graph statement past its timeout. In a POST, a bad
query (not a string, blank, longer than MAX_NORMALIZE_LENGTH characters) is not an error of the request: its result
carries `error` and the other queries are normalized.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from bios_kg.apps.api.limits import Deadline
from bios_kg.apps.api.models import LANG_PATTERN, NON_BLANK, JsonInt, example
from bios_kg.apps.api.problems import problem, problem_responses
from bios_kg.apps.api.resources import resource, shared
from bios_kg.apps.normalize.normalizer import (
    CHUNK,
    CHUNKS_IN_FLIGHT,
    MAX_K,
    MAX_NORMALIZE_LENGTH,
    Normalizer,
    NormalizeResult,
    open_normalizer,
)
from bios_kg.graph.lookup import MAX_QUERY_LENGTH

MAX_BATCH = 1000  # queries per POST /normalize
MAX_FILTERS = 50  # semantic types or sources a request may filter on
MAX_WORK = 20_000  # queries x k per POST: the work budget of one request (413 beyond)
UNIT = CHUNK * CHUNKS_IN_FLIGHT  # queries normalized between two deadline checks: what the normalizer runs at once

router = APIRouter(tags=["normalize"])

QueryText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_QUERY_LENGTH, pattern=NON_BLANK)]


_CANDIDATE = {"concept_id": "HP:0001250", "name": "Seizure", "score": 1.0, "matched_term": "Seizure",
              "method": "exact", "semantic_types": [{"id": "UMLS_STY:T033", "name": "Finding"}]}
_RESULT = {"query": "seizure", "candidates": [_CANDIDATE], "abstained": False, "methods": ["exact", "fulltext"],
           "truncated": False, "error": None}


class SemanticTypeRef(BaseModel):
    model_config = example({"id": "UMLS_STY:T033", "name": "Finding"})

    id: str = Field(examples=["UMLS_STY:T033"])
    name: str | None = Field(examples=["Finding"])


class CandidateOut(BaseModel):
    model_config = example(_CANDIDATE)

    concept_id: str = Field(examples=["HP:0001250"])
    name: str | None = Field(description="Preferred name in the requested language, else in the matched term's.",
                             examples=["Seizure"])
    score: float = Field(ge=0, le=1, description="Calibrated: an estimate of the probability that this is the "
                                                 "right concept (1.0 for an exact normalized match).", examples=[1.0])
    matched_term: str = Field(description="The term of the graph that matched.", examples=["Seizure"])
    method: str = Field(description="exact, fulltext or vector: the stage that found the matched term.",
                        examples=["exact"])
    semantic_types: list[SemanticTypeRef]


class NormalizeOut(BaseModel):
    model_config = example(_RESULT)

    query: str = Field(examples=["seizure"])
    candidates: list[CandidateOut] = Field(description="Best first; empty when the normalizer abstained.")
    abstained: bool = Field(description="True when no candidate reached the score threshold.")
    methods: list[str] = Field(description="The stages that ran (vector only when term vectors are in use).",
                               examples=[["exact", "fulltext", "vector"]])
    truncated: bool = Field(False, description="True when the encoder read only the query's first tokens (its "
                                               "max_length); the lexical stages read it whole.")
    error: str | None = Field(None, description="Why this query of a batch was not normalized (then candidates "
                                                "is empty); null otherwise.", examples=[None])

    @classmethod
    def of(cls, result: NormalizeResult) -> NormalizeOut:
        return cls.model_validate(result.as_dict())


class NormalizeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={
        "examples": [{"queries": ["heart attack", "癫痫"], "k": 5}]})

    queries: list[Any] = Field(min_length=1,
                               description=f"Terms in any language, at most {MAX_BATCH}, each at most "
                                           f"{MAX_NORMALIZE_LENGTH} characters. A bad item (not a string, blank, "
                                           "too long) gets a result with `error`; the others are normalized.")
    k: JsonInt = Field(10, ge=1, le=MAX_K, description="Candidates per query.")
    lang: str | None = Field(None, pattern=LANG_PATTERN, description="Only matches on terms of this ISO 639 "
                             "language.", examples=["en"])
    semantic_types: list[QueryText] | None = Field(None, max_length=MAX_FILTERS, examples=[["Finding"]],
                                                   description="Only concepts of these semantic types (ids or names).")
    sources: list[QueryText] | None = Field(None, max_length=MAX_FILTERS, examples=[["HPO"]],
                                            description="Only concepts from these sources.")


class NormalizeBatchOut(BaseModel):
    model_config = example({"results": [_RESULT]})

    results: list[NormalizeOut] = Field(description="One per query, in order.")


_BATCH_JSON = TypeAdapter(dict[str, list[NormalizeResult]])


@resource("normalizer")
def _open_normalizer(app: FastAPI) -> Normalizer:
    return open_normalizer(app.state.store)


def get_normalizer(request: Request) -> Normalizer:
    return shared(request.app, "normalizer")  # type: ignore[no-any-return]


@router.get("/normalize", response_model=NormalizeOut, responses=problem_responses(400))
def normalize_one(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=MAX_NORMALIZE_LENGTH, pattern=NON_BLANK,
                            description="Term in any language.", examples=["heart attack", "癫痫"])],
    k: Annotated[int, Query(ge=1, le=MAX_K, description="Candidates to return.")] = 10,
    lang: Annotated[str | None, Query(pattern=LANG_PATTERN, description="Only matches on terms of this ISO 639 "
                                      "language.", examples=["en"])] = None,
    semantic_type: Annotated[list[QueryText] | None, Query(max_length=MAX_FILTERS, examples=["Finding"],
                                                           description="Only concepts of this semantic type (id or "
                                                                       "name; repeatable).")] = None,
    source: Annotated[list[QueryText] | None, Query(max_length=MAX_FILTERS, examples=["HPO"],
                                                    description="Only concepts from this source (repeatable).")] = None,
) -> NormalizeOut:
    """The concepts a term most likely names: exact normalized match, full text, then vector k-NN; scores are
    calibrated, and the result abstains (no candidates) when none reaches the threshold."""
    result = get_normalizer(request).normalize(q, k=k, lang=lang, semantic_types=semantic_type, sources=source)
    return NormalizeOut.of(result)


@router.post("/normalize", response_model=NormalizeBatchOut,
             responses=problem_responses(400, 408, 413, 504))
def normalize_many(request: Request, body: NormalizeIn) -> Any:
    """Normalize up to MAX_BATCH (1000) terms in one call: one result per query, in order."""
    if len(body.queries) > MAX_BATCH:
        return problem(413, "Too many queries", f"at most {MAX_BATCH} queries per request, got {len(body.queries)}",
                       parameter="queries")
    if len(body.queries) * body.k > MAX_WORK:
        return problem(413, "Request too large", f"{len(body.queries)} queries x k={body.k} is more than "
                       f"{MAX_WORK} candidates per request: lower k or send fewer queries", parameter="queries")
    normalizer, deadline = get_normalizer(request), Deadline.of(request)
    results = []
    for start in range(0, len(body.queries), UNIT):
        deadline.check(f"queries[{start}]")
        results += normalizer.normalize_batch(body.queries[start:start + UNIT], k=body.k, lang=body.lang,
                                              semantic_types=body.semantic_types, sources=body.sources,
                                              on_error="item")
    # NormalizeBatchOut's JSON written straight from the results: building and re-validating the response model
    # for 1,000 results took longer than normalizing them
    return Response(_BATCH_JSON.dump_json({"results": results}), media_type="application/json")

