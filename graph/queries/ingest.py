"""Loader writes: concepts, terms, types, relations, pending relations and alt ids, and Source nodes."""

from __future__ import annotations

from bios_kg.graph.queries.common import add_source
from bios_kg.graph.vocabulary import validate_relationship_type

MERGE_CONCEPTS = f"""
UNWIND $rows AS r
MERGE (c:Concept {{id: r.id}})
SET {add_source("c")}, c += r.props
"""


# Rows: {id, text, norm, lang}; one Term node per (lang, norm), first spelling kept.
MERGE_TERMS = f"""
UNWIND $rows AS r
MERGE (t:Term {{id: r.id}})
ON CREATE SET t.text = r.text, t.norm = r.norm, t.lang = r.lang
SET {add_source("t")}
"""


# Rows: {concept, term, tty, source_id, fallback_name}; a concept without an English preferred
# name takes its first English term as `name` until a preferred one arrives.
MERGE_HAS_TERM = f"""
UNWIND $rows AS r
MATCH (c:Concept {{id: r.concept}})
MATCH (t:Term {{id: r.term}})
MERGE (c)-[h:HAS_TERM]->(t)
ON CREATE SET h.tty = r.tty, h.source = $source, h.source_id = r.source_id
SET {add_source("h")}, c.name = coalesce(c.name, r.fallback_name)
"""


MERGE_SEMANTIC_TYPES = f"""
UNWIND $rows AS r
MERGE (s:SemanticType {{id: r.id}})
SET s.name = r.name, s.name_zh = coalesce(r.name_zh, s.name_zh), {add_source("s")}
"""


MERGE_HAS_TYPE = f"""
UNWIND $rows AS r
MATCH (c:Concept {{id: r.concept}})
MERGE (s:SemanticType {{id: r.type}})
ON CREATE SET s.name = r.type_name, s.sources = [$source]
MERGE (c)-[h:HAS_TYPE]->(s)
ON CREATE SET h.source = $source
SET {add_source("h")}
"""


MERGE_RELATION_TYPES = f"""
UNWIND $rows AS r
MERGE (t:RelationType {{id: r.id}})
SET t.name = r.name, t.name_zh = coalesce(r.name_zh, t.name_zh), t.inverse = r.inverse, {add_source("t")}
"""


MERGE_DEFINITIONS = f"""
UNWIND $rows AS r
MATCH (c:Concept {{id: r.concept}})
SET c.definitions = CASE WHEN r.text IN coalesce(c.definitions, []) THEN c.definitions
                         ELSE coalesce(c.definitions, []) + r.text END,
    c.definition = coalesce(c.definition, r.text), {add_source("c")}
"""


def add_to_concept_list(key: str) -> str:
    """Rows: {concept, ids}; adds the ids to the concept's list property `key` (alt_ids, xrefs)."""
    if key not in ("alt_ids", "xrefs"):
        raise ValueError(f"not a concept list property: {key!r}")
    return f"""
UNWIND $rows AS r
MATCH (c:Concept {{id: r.concept}})
SET c.{key} = coalesce(c.{key}, []) + [x IN r.ids WHERE NOT x IN coalesce(c.{key}, [])], {add_source("c")}
"""


# Every stated cross-reference whose target is a concept of the graph becomes an XREF edge.
LINK_XREFS = """
MATCH (c:Concept) WHERE c.xrefs IS NOT NULL
UNWIND c.xrefs AS target
MATCH (t:Concept {id: target})
WHERE NOT (c)-[:XREF]->(t)
CREATE (c)-[:XREF]->(t)
RETURN count(*) AS created
"""


# Rows: {i, head, tail}; returns the rows whose head or tail concept is not in the graph.
MISSING_RELATION_ENDS = """
UNWIND $rows AS r
OPTIONAL MATCH (h:Concept {id: r.head})
OPTIONAL MATCH (t:Concept {id: r.tail})
WITH r, h, t WHERE h IS NULL OR t IS NULL
RETURN r.i AS i, CASE WHEN h IS NULL THEN r.head ELSE r.tail END AS missing
"""


# Pending relations: a relation whose head or tail concept is not in the graph yet (a term of another
# ontology, loaded later or never) is kept as a (:PendingRelation) node, not as a stand-in concept, and
# becomes an edge when both concepts exist. Rows: {head, type, tail, rel_id, rid, props (JSON object)}.
MERGE_PENDING_RELATIONS = f"""
UNWIND $rows AS r
MERGE (p:PendingRelation {{id: r.head + ' ' + r.type + ' ' + r.tail}})
ON CREATE SET p.head = r.head, p.type = r.type, p.tail = r.tail, p.rel_id = r.rel_id, p.rid = r.rid,
              p.source = $source, p.props = r.props
SET {add_source("p")}
"""


# Pending relations whose two concepts are now in the graph, a page at a time (resolved ones are deleted).
RESOLVABLE_PENDING_RELATIONS = """
MATCH (p:PendingRelation)
WHERE EXISTS { MATCH (:Concept {id: p.head}) } AND EXISTS { MATCH (:Concept {id: p.tail}) }
RETURN p.id AS id, p.type AS type, p.head AS head, p.tail AS tail, p.rel_id AS rel_id, p.rid AS rid,
       p.props AS props, p.source AS source, p.sources AS sources
LIMIT $limit
"""


DELETE_PENDING_RELATIONS = "UNWIND $ids AS id MATCH (p:PendingRelation {id: id}) DELETE p"


# Rows: {concept, ids}: alt ids of a concept that is not in the graph, kept until it is.
MERGE_PENDING_ALT_IDS = f"""
UNWIND $rows AS r
WITH r WHERE NOT EXISTS {{ MATCH (:Concept {{id: r.concept}}) }}
UNWIND r.ids AS alt
MERGE (p:PendingAltId {{id: r.concept + ' ' + alt}})
ON CREATE SET p.concept = r.concept, p.alt_id = alt
SET {add_source("p")}
"""


RESOLVE_PENDING_ALT_IDS = """
MATCH (p:PendingAltId)
MATCH (c:Concept {id: p.concept})
SET c.alt_ids = coalesce(c.alt_ids, []) + [x IN [p.alt_id] WHERE NOT x IN coalesce(c.alt_ids, [])]
DELETE p
RETURN count(*) AS n
"""


COUNT_PENDING_RELATIONS = "MATCH (p:PendingRelation) WHERE $source IS NULL OR $source IN p.sources RETURN count(p) AS n"


def merge_relations(rel_type: str) -> str:
    """Rows: {head, tail, rel_id, rid}; one edge per (head, type, tail)."""
    rel_type = validate_relationship_type(rel_type)
    return f"""
UNWIND $rows AS r
MATCH (h:Concept {{id: r.head}})
MATCH (t:Concept {{id: r.tail}})
MERGE (h)-[e:{rel_type}]->(t)
ON CREATE SET e.source = $source, e.rel_id = r.rel_id, e.rid = r.rid
SET {add_source("e")}, e += r.props
"""


GET_SOURCE = "MATCH (s:Source {id: $id}) RETURN properties(s) AS source"


BEGIN_SOURCE = """
MERGE (s:Source {id: $id})
SET s += $props, s.status = 'loading', s.checkpoint = coalesce($checkpoint, 0)
"""


SET_CHECKPOINT = "MATCH (s:Source {id: $id}) SET s.checkpoint = $checkpoint"


FINISH_SOURCE = """
MATCH (s:Source {id: $id})
SET s += $counts, s.status = 'loaded', s.loaded_at = datetime(), s.checkpoint = null
"""


FAIL_SOURCE = "MATCH (s:Source {id: $id}) SET s.status = 'failed', s.error = $error"


LIST_SOURCES = "MATCH (s:Source) RETURN properties(s) AS source ORDER BY s.id"
