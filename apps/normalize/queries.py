"""Statements of the normalizer (normalizer.py), its evaluations and the default encoder."""

from __future__ import annotations

# Concept filters shared by every stage: any of the concept's sources, any of its semantic types
# (by id, English name or Chinese name); $sources and $types arrive upper- and lower-cased.
_FILTERS = """($sources IS NULL OR any(s IN coalesce(c.sources, []) WHERE toUpper(s) IN $sources))
    AND ($types IS NULL OR EXISTS { MATCH (c)-[:HAS_TYPE]->(st:SemanticType)
      WHERE toLower(st.id) IN $types OR toLower(st.name) IN $types OR st.name_zh IN $types })"""


# Rows {i, norm, query}: exact and full-text term hits joined to the concepts they name, one list per
# query (far fewer records for the driver to decode than one per hit).
LEXICAL_HITS = f"""
UNWIND $rows AS r
CALL (r) {{
  MATCH (t:Term {{norm: r.norm}}) WHERE $lang IS NULL OR t.lang = $lang
  MATCH (c:Concept)-[h:HAS_TERM]->(t) WHERE {_FILTERS}
  RETURN 'exact' AS method, c.id AS id, t.text AS term, t.norm AS norm, t.lang AS lang, h.tty AS tty,
         1.0 AS score
  LIMIT $limit
  UNION ALL
  CALL db.index.fulltext.queryNodes('term_text', r.query, {{limit: $candidates}}) YIELD node AS t, score
  WHERE ($lang IS NULL OR t.lang = $lang) AND t.norm <> r.norm
  MATCH (c:Concept)-[h:HAS_TERM]->(t) WHERE {_FILTERS}
  RETURN 'fulltext' AS method, c.id AS id, t.text AS term, t.norm AS norm, t.lang AS lang, h.tty AS tty, score
  ORDER BY score DESC LIMIT $limit
}}
RETURN r.i AS i, collect([method, id, term, norm, lang, tty, score]) AS hits
"""


# Rows {i, terms, scores}: k-NN term hits joined to the concepts they name, one list per query.
VECTOR_HITS = f"""
UNWIND $rows AS r
CALL (r) {{
  UNWIND range(0, size(r.terms) - 1) AS j
  MATCH (t:Term {{id: r.terms[j]}}) WHERE $lang IS NULL OR t.lang = $lang
  MATCH (c:Concept)-[h:HAS_TERM]->(t) WHERE {_FILTERS}
  RETURN collect(['vector', c.id, t.text, t.norm, t.lang, h.tty, r.scores[j]]) AS hits
}}
RETURN r.i AS i, hits
"""


# Names by language and semantic types of the concepts found, as one record (CONCEPT_SUMMARIES of
# bios_kg.graph.queries.lookup returns one per concept; a batch has thousands).
CANDIDATE_SUMMARIES = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})
RETURN collect([c.id, [k IN keys(c) WHERE k = 'name' OR k STARTS WITH 'name_' | [k, c[k]]],
                COLLECT { MATCH (c)-[:HAS_TYPE]->(s:SemanticType)
                          RETURN {id: s.id, name: s.name} ORDER BY s.id }]) AS concepts
"""


# Rows {i, query}: the English terms among the first $candidates Lucene hits, best first.
FULLTEXT_TERMS = """
UNWIND $rows AS r
CALL (r) {
  CALL db.index.fulltext.queryNodes('term_text', r.query, {limit: $candidates}) YIELD node AS t, score
  WHERE t.lang = 'en'
  RETURN collect([t.norm, score]) AS hits
}
RETURN r.i AS i, hits
"""


# Rows (concept, [text]): the default encoder's training strings, every source, the given languages and term types.
DEFAULT_ENCODER_TERMS = """
MATCH (c:Concept)-[h:HAS_TERM]->(t:Term)
WHERE t.lang IN $languages AND h.tty IN $ttys
RETURN c.id AS concept, collect(DISTINCT t.text) AS texts
"""


# Rows (cui, concept): the UMLS CUIs the concepts of one id prefix cross-reference.
UMLS_XREF_CONCEPTS = """
MATCH (c:Concept) WHERE c.id STARTS WITH $prefix
UNWIND coalesce(c.xrefs, []) AS xref
WITH c, xref WHERE xref STARTS WITH 'UMLS:'
RETURN substring(xref, 5) AS cui, c.id AS concept
"""


# Rows (concept, name, tty, lang, text, norm): terms of one source's concepts (CURIE prefix), for the
# evaluations of lay names and aliases.
SOURCE_TERMS = """
MATCH (c:Concept)-[h:HAS_TERM]->(t:Term)
WHERE c.id STARTS WITH $prefix AND $source IN h.sources AND t.lang IN $languages
  AND NOT coalesce(c.obsolete, false)
RETURN c.id AS concept, c.name AS name, h.tty AS tty, t.lang AS lang, t.text AS text, t.norm AS norm
"""
