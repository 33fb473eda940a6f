"""SKOS export (graph/skos.py): one page of concepts at a time with what the export writes about each."""

from __future__ import annotations

SKOS_SOURCES = """
MATCH (s:Source) WHERE $source IS NULL OR s.id = $source
RETURN s.id AS id, s.name AS name, s.version AS version, s.licence AS licence, s.url AS url
ORDER BY s.id
"""


SKOS_COUNT_CONCEPTS = "MATCH (c:Concept) WHERE $source IS NULL OR $source IN c.sources RETURN count(c) AS n"


# One page of concepts after `$after` in id order, with what the export writes about each. With a
# source, only the terms, types and relations that source stated; names, definitions and lists are
# concept-level and come whole.
SKOS_CONCEPT_PAGE = """
MATCH (c:Concept) WHERE c.id > $after AND ($source IS NULL OR $source IN c.sources)
WITH c ORDER BY c.id LIMIT $limit
CALL (c) {
  MATCH (c)-[h:HAS_TERM]->(t:Term) WHERE $source IS NULL OR $source IN h.sources
  RETURN collect({text: t.text, norm: t.norm, lang: t.lang, tty: h.tty}) AS terms
}
CALL (c) {
  MATCH (c)-[h:HAS_TYPE]->(s:SemanticType) WHERE $source IS NULL OR $source IN h.sources
  RETURN collect(s.id) AS types
}
CALL (c) {
  MATCH (c)-[r]->(o:Concept)
  WHERE NOT type(r) IN ['XREF', 'SUGGESTED'] AND ($source IS NULL OR $source IN r.sources)
  RETURN collect({type: type(r), tail: o.id}) AS relations
}
CALL (c) {
  MATCH (c)-[:XREF]->(o:Concept)
  RETURN collect(o.id) AS joined
}
RETURN c.id AS id, [k IN keys(c) WHERE k = 'name' OR k STARTS WITH 'name_' | [k, c[k]]] AS names,
       coalesce(c.definitions, []) AS definitions, coalesce(c.xrefs, []) + joined AS xrefs,
       coalesce(c.alt_ids, []) AS alt_ids, coalesce(c.obsolete, false) AS obsolete,
       coalesce(c.sources, []) AS sources, terms, types, relations
ORDER BY id
"""


SKOS_SEMANTIC_TYPES = """
UNWIND $ids AS id
MATCH (s:SemanticType {id: id})
RETURN s.id AS id, s.name AS name, s.name_zh AS name_zh ORDER BY id
"""


SKOS_RELATION_TYPES = """
UNWIND $ids AS id
MATCH (t:RelationType {id: id})
RETURN t.id AS id, t.name AS name, t.name_zh AS name_zh, t.inverse AS inverse ORDER BY id
"""
