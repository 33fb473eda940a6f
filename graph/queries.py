"""Every Cypher statement the code runs (curated queries for people live in cypher/).

Values always travel as parameters (`$rows`); the only text spliced into a statement is a
relationship type that graph.vocabulary has validated.
"""

from __future__ import annotations

from graph.vocabulary import validate_relationship_type

# A node or edge lists every source that stated it.
_ADD_SOURCE = (
    "CASE WHEN $source IN coalesce({v}.sources, []) THEN {v}.sources ELSE coalesce({v}.sources, []) + $source END"
)


def add_source(var: str) -> str:
    return f"{var}.sources = {_ADD_SOURCE.format(v=var)}"


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

# Rows: {i, head, tail}; returns the rows whose head or tail concept is not in the graph.
MISSING_RELATION_ENDS = """
UNWIND $rows AS r
OPTIONAL MATCH (h:Concept {id: r.head})
OPTIONAL MATCH (t:Concept {id: r.tail})
WITH r, h, t WHERE h IS NULL OR t IS NULL
RETURN r.i AS i, CASE WHEN h IS NULL THEN r.head ELSE r.tail END AS missing
"""


def merge_relations(rel_type: str) -> str:
    """Rows: {head, tail, rel_id, rid}; one edge per (head, type, tail)."""
    rel_type = validate_relationship_type(rel_type)
    return f"""
UNWIND $rows AS r
MATCH (h:Concept {{id: r.head}})
MATCH (t:Concept {{id: r.tail}})
MERGE (h)-[e:{rel_type}]->(t)
ON CREATE SET e.source = $source, e.rel_id = r.rel_id, e.rid = r.rid
SET {add_source("e")}
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

LABELS = "CALL db.labels() YIELD label RETURN label ORDER BY label"
RELATIONSHIP_TYPES = "CALL db.relationshipTypes() YIELD relationshipType AS type RETURN type ORDER BY type"


def escape_name(name: str) -> str:
    """A label or type read from the database itself, quoted for Cypher."""
    return "`" + name.replace("`", "``") + "`"


def count_label(label: str) -> str:
    return f"MATCH (n:{escape_name(label)}) RETURN count(n) AS n"  # answered from the count store


def count_relationship_type(rel_type: str) -> str:
    return f"MATCH ()-[r:{escape_name(rel_type)}]->() RETURN count(r) AS n"


# Scans every node and edge: exact, and slow on very large graphs.
COUNT_BY_SOURCE = """
CALL () {
  MATCH (n) UNWIND coalesce(n.sources, []) AS source
  RETURN source, 'node:' + labels(n)[0] AS kind, count(*) AS n
  UNION ALL
  MATCH ()-[r]->() UNWIND coalesce(r.sources, []) AS source
  RETURN source, 'rel:' + type(r) AS kind, count(*) AS n
}
RETURN source, kind, sum(n) AS n ORDER BY source, kind
"""

LIST_SOURCES = "MATCH (s:Source) RETURN properties(s) AS source ORDER BY s.id"
