"""Response bodies of the API, as pydantic models (they make the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class SemanticTypeOut(BaseModel):
    id: str
    name: str | None = None
    name_zh: str | None = None


class ConceptHitOut(BaseModel):
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
    query: str
    lang: str | None
    hits: list[ConceptHitOut]


class TermOut(BaseModel):
    text: str
    lang: str
    tty: str | None = None
    sources: list[str] | None = None


class LinkedConceptOut(BaseModel):
    id: str
    name: str | None = None
    sources: list[str] | None = None


class RelationGroupOut(BaseModel):
    direction: str = Field(description="out: this concept is the head; in: the tail.")
    type: str = Field(examples=["IS_A"])
    total: int
    concepts: list[LinkedConceptOut] = Field(description="Up to `relations_per_type` related concepts.")


class ConceptOut(BaseModel):
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
    status: str = Field(examples=["ok"])
    neo4j: str = Field(description="The Bolt URI the API reads.")
    database: str
    concepts: int
    terms: int
