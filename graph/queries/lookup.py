"""Term lookup and concept cards (read-only), shared by the API, the CLI and the apps."""

from __future__ import annotations

# A concept's preferred names by property: `name` (English) and `name_<lang>`.
_NAMES = "[k IN keys({v}) WHERE k = 'name' OR k STARTS WITH 'name_' | [k, {v}[k]]]"


LOOKUP_EXACT = """
MATCH (t:Term {norm: $norm}) WHERE $lang IS NULL OR t.lang = $lang
MATCH (c:Concept)-[h:HAS_TERM]->(t)
RETURN c.id AS id, t.text AS term, t.lang AS lang, h.tty AS tty, 1.0 AS score
LIMIT $limit
"""


LOOKUP_FULLTEXT = """
CALL db.index.fulltext.queryNodes('term_text', $query, {limit: $candidates}) YIELD node AS t, score
WHERE $lang IS NULL OR t.lang = $lang
MATCH (c:Concept)-[h:HAS_TERM]->(t)
RETURN c.id AS id, t.text AS term, t.lang AS lang, h.tty AS tty, score
ORDER BY score DESC
LIMIT $limit
"""


CONCEPT_SUMMARIES = f"""
UNWIND $ids AS id
MATCH (c:Concept {{id: id}})
OPTIONAL MATCH (c)-[:HAS_TYPE]->(s:SemanticType)
RETURN c.id AS id, {_NAMES.format(v="c")} AS names, coalesce(c.sources, []) AS sources,
       coalesce(c.obsolete, false) AS obsolete,
       [x IN collect(s) WHERE x IS NOT NULL | {{id: x.id, name: x.name, name_zh: x.name_zh}}] AS types
"""


# A retired id (OBO alt_id, replaced_by) resolves to the concept that holds it.
RESOLVE_ALT_ID = "MATCH (c:Concept) WHERE $id IN c.alt_ids RETURN c.id AS id ORDER BY c.id LIMIT 1"


CONCEPT_CARD = f"""
MATCH (c:Concept {{id: $id}})
CALL (c) {{
  MATCH (c)-[h:HAS_TERM]->(t:Term)
  RETURN collect({{text: t.text, lang: t.lang, tty: h.tty, sources: h.sources}}) AS terms
}}
CALL (c) {{
  OPTIONAL MATCH (c)-[:HAS_TYPE]->(s:SemanticType)
  RETURN [x IN collect(s) WHERE x IS NOT NULL | {{id: x.id, name: x.name, name_zh: x.name_zh}}] AS types
}}
CALL (c) {{
  OPTIONAL MATCH (c)-[:XREF]-(x:Concept)
  WITH DISTINCT x LIMIT $max_joined
  RETURN [y IN collect(x) WHERE y IS NOT NULL | {{id: y.id, name: y.name}}] AS joined
}}
RETURN c.id AS id, {_NAMES.format(v="c")} AS names, terms, types, joined,
       coalesce(c.xrefs, []) AS xrefs, coalesce(c.alt_ids, []) AS alt_ids,
       coalesce(c.definitions, []) AS definitions, coalesce(c.sources, []) AS sources,
       coalesce(c.obsolete, false) AS obsolete
"""


XREF_NEIGHBOURS = "UNWIND $ids AS id MATCH (:Concept {id: id})-[:XREF]-(o:Concept) RETURN DISTINCT o.id AS id"
