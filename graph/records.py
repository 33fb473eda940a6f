"""Canonical records: what every reader produces and the store writes.

Plain frozen dataclasses: millions of them stream through a load, and each reader validates its
own fields with errors that name file and line (see ingest/readers).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Concept:
    """A concept with whatever concept-level facts the source states (ids are CURIEs)."""

    id: str
    name: str | None = None
    names: tuple[tuple[str, str], ...] = ()  # (lang, preferred name) pairs beyond `name`
    alt_ids: tuple[str, ...] = ()  # ids the source retired into this one (OBO alt_id, replaced_by)
    obsolete: bool = False  # kept for old data that still cites it (an inactive ICD code)


@dataclass(frozen=True, slots=True)
class TermRecord:
    """One concept–term pair as a source states it; the Term node is keyed by (lang, normalized text)."""

    concept_id: str
    text: str
    lang: str
    tty: str = "SY"
    source_id: str | None = None  # the source's id for this pair (BIOS SID, UMLS AUI)
    preferred: bool = False  # the concept's preferred name in this language


@dataclass(frozen=True, slots=True)
class SemanticType:
    id: str
    name: str
    name_zh: str | None = None


@dataclass(frozen=True, slots=True)
class TypeAssignment:
    concept_id: str
    type_id: str


@dataclass(frozen=True, slots=True)
class RelationType:
    """An entry of the relation vocabulary: `id` is the Neo4j relationship type (IS_A)."""

    id: str
    name: str
    name_zh: str | None = None
    inverse: str | None = None


@dataclass(frozen=True, slots=True)
class Relation:
    """A directed, typed concept–concept relation in canonical direction."""

    head: str
    type: str
    tail: str
    rel_id: str | None = None  # the source's relation id (BIOS RELID, UMLS RELA)
    rid: str | None = None  # the source's id of this row (BIOS RID, UMLS RUI)
    props: tuple[tuple[str, str | int | float], ...] = ()  # qualifiers the source states (HPOA frequency)


@dataclass(frozen=True, slots=True)
class Xref:
    """A cross-reference the source states: `target` is a CURIE in another terminology (UMLS:C0036572).

    Stored on the concept (`xrefs`) and joined as an XREF edge to any concept loaded under that id,
    whichever of the two sources is loaded first.
    """

    concept_id: str
    target: str


@dataclass(frozen=True, slots=True)
class AltId:
    """An id the source retired into a concept (an OBO alt_id, or the id of an obsolete term replaced by it).

    Added to the concept's `alt_ids` without creating the concept: when the concept is not in the graph
    yet (the replacement of an obsolete term lives in another file), it is kept pending until it is.
    """

    concept_id: str
    alt_id: str


@dataclass(frozen=True, slots=True)
class Definition:
    concept_id: str
    text: str
    lang: str = "en"


Record = Concept | TermRecord | SemanticType | TypeAssignment | RelationType | Relation | Definition | Xref | AltId


@dataclass(slots=True)
class Source:
    """Provenance of one load, stored as a (:Source) node (KGX-style knowledge-source fields)."""

    id: str
    name: str
    version: str
    licence: str
    url: str | None = None
    format: str | None = None
    knowledge_level: str = "knowledge_assertion"
    agent_type: str = "manual_agent"
    checksums: dict[str, str] = field(default_factory=dict)  # file name -> sha256
