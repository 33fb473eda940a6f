"""Response bodies of the API, as pydantic models (they make the OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# Patterns the server enforces, written the same in the OpenAPI schema. Python's str.strip() (the server's blank
# test) also strips the separators \x1c-\x1f, which a JSON schema's `\s` does not cover: they are named here.
NON_BLANK = r"[^\s\x1c-\x1f]"  # at least one character that is not white space
CURIE_PATTERN = r"^[A-Za-z][A-Za-z0-9_.-]*:[^\s\x1c-\x1f]+$"  # PREFIX:local, no white space
LANG_PATTERN = r"^[a-z]{2,3}$"  # an ISO 639 code as the graph stores it (unknown codes are 400)


def _json_integer(value: Any) -> Any:
    """A JSON number without a fraction (5.0 is the integer 5 in JSON Schema); anything else is left to fail."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# An integer of a request body in a strict model: 5 and 5.0, never "5" or true.
JsonInt = Annotated[int, BeforeValidator(_json_integer)]


def example(value: dict[str, Any]) -> ConfigDict:
    """A model's example object in the OpenAPI schema."""
    return ConfigDict(json_schema_extra={"examples": [value]})


_TYPE = {"id": "UMLS_STY:T033", "name": "Finding", "name_zh": "发现"}
_HIT = {"id": "HP:0001250", "name": "Seizure", "matched": "Seizure", "matched_lang": "en", "tty": "PT",
        "method": "exact", "score": 1.0, "names": {"en": "Seizure"}, "types": [_TYPE], "sources": ["HPO"],
        "obsolete": False}
_LINKED = {"id": "HP:0012638", "name": "Abnormal nervous system physiology", "sources": ["HPO"]}


class SemanticTypeOut(BaseModel):
    model_config = example(_TYPE)

    id: str
    name: str | None = None
    name_zh: str | None = None


class ConceptHitOut(BaseModel):
    model_config = example(_HIT)

    id: str = Field(examples=["HP:0001250"])
    name: str | None = Field(examples=["Seizure"])
    matched: str = Field(description="The term that matched the query.", examples=["Seizure"])
    matched_lang: str | None = Field(examples=["en"])
    tty: str | None = Field(description="Term type of the matched term (PT preferred, SY synonym, …).")
    method: str = Field(description="exact (normalized text) or fulltext.", examples=["exact"])
    score: float = Field(description="1.0 for exact matches; full-text scores scaled to (0, 1].")
    names: dict[str, str] = Field(description="Preferred name by language.", examples=[{"en": "Epilepsy"}])
    types: list[SemanticTypeOut]
    sources: list[str]
    obsolete: bool = False


class SearchOut(BaseModel):
    model_config = example({"query": "seizure", "lang": "en", "offset": 0, "limit": 10, "has_more": True,
                            "hits": [_HIT]})

    query: str
    lang: str | None
    offset: int = Field(description="Hits skipped before this page.")
    limit: int = Field(description="The page size asked for.")
    has_more: bool = Field(description="True when more hits follow this page.")
    hits: list[ConceptHitOut]


class TermOut(BaseModel):
    model_config = example({"text": "Epileptic seizure", "lang": "en", "tty": "SY", "sources": ["HPO"]})

    text: str
    lang: str
    tty: str | None = None
    sources: list[str] | None = None


class LinkedConceptOut(BaseModel):
    model_config = example(_LINKED)

    id: str
    name: str | None = None
    sources: list[str] | None = None


class RelationGroupOut(BaseModel):
    model_config = example({"direction": "out", "type": "IS_A", "total": 1, "concepts": [_LINKED]})

    direction: str = Field(description="out: this concept is the head; in: the tail.")
    type: str = Field(examples=["IS_A"])
    total: int
    concepts: list[LinkedConceptOut] = Field(description="Up to `relations_per_type` related concepts.")


class ConceptOut(BaseModel):
    model_config = example({
        "id": "HP:0001250", "names": {"en": "Seizure"},
        "terms": [{"text": "Seizure", "lang": "en", "tty": "PT", "sources": ["HPO"]}], "types": [_TYPE],
        "definitions": ["A seizure is an intermittent abnormality of nervous system physiology ..."],
        "xrefs": ["UMLS:C0036572"], "joined": [], "alt_ids": ["HP:0001275"],
        "relations": [{"direction": "out", "type": "IS_A", "total": 1, "concepts": [_LINKED]}],
        "sources": ["HPO"], "obsolete": False, "redirected_from": None})

    id: str
    names: dict[str, str]
    terms: list[TermOut]
    types: list[SemanticTypeOut]
    definitions: list[str]
    xrefs: list[str] = Field(description="Cross-references the sources state, as CURIEs.")
    joined: list[LinkedConceptOut] = Field(description="Concepts of the graph joined by those cross-references.")
    alt_ids: list[str]
    relations: list[RelationGroupOut]
    sources: list[str]
    obsolete: bool
    redirected_from: str | None = Field(None, description="The retired id asked for, when it was an alt id.")


class SourceOut(BaseModel):
    model_config = example({"id": "HPO", "name": "Human Phenotype Ontology", "version": "2025-01-16",
                            "licence": "HPO licence: free use with attribution", "url": "https://hpo.jax.org",
                            "status": "loaded", "loaded_at": "2026-01-16T10:36:58.82Z",
                            "counts": {"Concept": 23222, "TermRecord": 42542}})

    id: str
    name: str | None = None
    version: str | None = None
    licence: str | None = None
    url: str | None = None
    status: str | None = None
    loaded_at: str | None = None
    counts: dict[str, int] = Field(default_factory=dict)

    @classmethod
    def from_node(cls, node: dict[str, Any]) -> SourceOut:
        counts = {key.removeprefix("count_"): value for key, value in node.items() if key.startswith("count_")}
        loaded = node.get("loaded_at")
        return cls(id=node["id"], name=node.get("name"), version=node.get("version"), licence=node.get("licence"),
                   url=node.get("url"), status=node.get("status"), loaded_at=str(loaded) if loaded else None,
                   counts=counts)


class HealthOut(BaseModel):
    model_config = example({"status": "ok", "neo4j": "bolt://127.0.0.1:7687", "database": "neo4j",
                            "concepts": 159834, "terms": 290593})

    status: str = Field(examples=["ok"])
    neo4j: str = Field(description="The Bolt URI the API reads.")
    database: str
    concepts: int
    terms: int
