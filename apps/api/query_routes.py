"""GET /queries and POST /queries/{name}: the curated query library (bios_kg.graph.library) over HTTP.

Only the library's queries run, with parameters checked against their declared types (422 naming the parameter),
after EXPLAIN has shown they only read (else 403), in read transactions stopped after ApiSettings.query_timeout_s
(504). The router reads `app.state.library` and `app.state.store`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request
from pydantic import BaseModel, ConfigDict, Field

from bios_kg.apps.api.models import JsonInt
from bios_kg.apps.api.problems import problem, problem_responses
from bios_kg.graph.errors import NotFoundError, ParameterError, ReadOnlyError
from bios_kg.graph.library import DEFAULT_LIMIT, MAX_ITEMS, MAX_LIMIT, MAX_OFFSET, Library, LibraryQuery

router = APIRouter(tags=["queries"])
_EXAMPLES = {query.name: {"summary": query.description.split(":")[0].split(".")[0],
                          "value": {"params": query.example_values(), "limit": 20}} for query in Library()}

QueryName = Annotated[str, Path(max_length=100, pattern=r"^[a-z][a-z0-9-]*$", description="A library query.",
                                examples=["ancestors"])]


class ParamOut(BaseModel):
    name: str = Field(examples=["max_depth"])
    type: str = Field(description="string, int, float, bool, lang, curie, list[string] or list[curie].",
                      examples=["int"])
    required: bool = Field(examples=[False])
    default: Any = Field(None, examples=[30])
    min: float | None = Field(None, description="Least value (numbers), length (strings) or items (lists).",
                              examples=[1])
    max: float | None = Field(None, description="Greatest value, length or number of items.", examples=[30])
    description: str = Field(examples=["the most IS_A steps to climb"])


class QueryOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "ancestors", "description": "The IS_A ancestors of a concept, nearest first.",
        "params": [{"name": "id", "type": "curie", "required": True, "default": None, "min": None, "max": None,
                    "description": "the concept, e.g. HP:0001250"}], "example": {"id": "HP:0001250"}}]})

    name: str
    description: str
    params: list[ParamOut]
    example: dict[str, Any] = Field(description="Parameters that give a real result on the sample graph.")

    @classmethod
    def of(cls, query: LibraryQuery) -> QueryOut:
        return cls(name=query.name, description=query.description,
                   params=[ParamOut(**param.as_dict()) for param in query.params], example=query.example_values())


class QueryDetailOut(QueryOut):
    cypher: str = Field(description="The statement.", examples=["MATCH (c:Concept {id: $id}) RETURN c.name AS name"])


class QueryRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"params": {"id": "HP:0001250", "max_depth": 2}, "offset": 0, "limit": 20}]})

    params: dict[str, Any] = Field(default_factory=dict, max_length=MAX_ITEMS,
                                   description="The query's parameters by name (see GET /queries).")
    offset: JsonInt = Field(0, ge=0, le=MAX_OFFSET, description="Rows to skip.")
    limit: JsonInt = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Rows to return, at most {MAX_LIMIT}.")


class QueryPageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "query": "ancestors", "params": {"id": "HP:0001250", "max_depth": 2}, "columns": ["id", "name", "depth"],
        "rows": [{"id": "HP:0012638", "name": "Abnormal nervous system physiology", "depth": 1}],
        "offset": 0, "limit": 20, "has_more": False, "next_offset": None}]})

    query: str
    params: dict[str, Any] = Field(description="The parameters as run, defaults filled in.")
    columns: list[str]
    rows: list[dict[str, Any]]
    offset: int
    limit: int
    has_more: bool = Field(description="True when rows follow this page.")
    next_offset: int | None = Field(description="The offset of the next page, when there is one.")


def library(request: Request) -> Library:
    return request.app.state.library  # type: ignore[no-any-return]


def library_query(request: Request, name: str) -> LibraryQuery:
    """The library's query `name`; a 404 that does not print where the library lives on disk."""
    try:
        return library(request).get(name)
    except NotFoundError:
        raise NotFoundError(f"no query {name!r} in the library; GET /queries lists them") from None


@router.get("/queries", response_model=list[QueryOut])
def list_queries(request: Request) -> list[QueryOut]:
    """Every query of the library (a few dozen, so unpaged), with its typed parameters and a working example."""
    return [QueryOut.of(query) for query in library(request)]


@router.get("/queries/{name}", response_model=QueryDetailOut, responses=problem_responses(404))
def show_query(request: Request, name: QueryName) -> QueryDetailOut:
    """One query of the library, with its Cypher."""
    query = library_query(request, name)
    return QueryDetailOut(**QueryOut.of(query).model_dump(), cypher=query.cypher)


@router.post("/queries/{name}", response_model=QueryPageOut, responses=problem_responses(403, 404, 408, 504))
def run_query(request: Request, name: QueryName,
              body: Annotated[QueryRunIn, Body(openapi_examples=_EXAMPLES)]) -> Any:
    """Run a library query (read-only, in a read transaction) and return one page of its rows; `{}` runs it with
    its defaults. POST carries the typed parameters; it does not change the graph, so it needs no API key."""
    library_query(request, name)
    try:
        page = library(request).run(request.app.state.store, name, body.params, offset=body.offset,
                                    limit=body.limit, timeout_s=request.app.state.settings.api.query_timeout_s)
    except ParameterError as exc:
        return problem(422, "Invalid parameter", str(exc), parameter=exc.name)
    except ReadOnlyError as exc:
        return problem(403, "Not a read-only query", str(exc))
    next_offset = page.offset + len(page.rows) if page.has_more else None
    return QueryPageOut(**page.as_dict(), next_offset=next_offset)
