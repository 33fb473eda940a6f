"""Statements of EHR retrieval knowledge injection (knowledge.py, report_benchmark.py)."""

from __future__ import annotations

# A concept's terms in $lang, preferred first, then shorter first.
CONCEPT_TERMS = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})
RETURN c.id AS id, COLLECT { MATCH (c)-[h:HAS_TERM]->(t:Term) WHERE t.lang = $lang
                             RETURN t.text ORDER BY CASE h.tty WHEN 'PT' THEN 0 ELSE 1 END, size(t.text), t.norm
                             LIMIT $limit } AS terms
"""


# Per concept, the first $limit (id order) of: the concepts joined to it by XREF (they name the same thing), its
# IS_A parents and children, and the concepts of any other relation (type and direction ignored, as DR.EHR's
# relations.json); only concepts with a term in $lang.
_NAMED = "EXISTS {{ MATCH ({v})-[:HAS_TERM]->(x:Term) WHERE x.lang = $lang }}"


CONCEPT_NEIGHBOURS = f"""
UNWIND $ids AS id
MATCH (c:Concept {{id: id}})
RETURN c.id AS id,
  COLLECT {{ MATCH (c)-[:XREF]-(o:Concept) WHERE o <> c AND {_NAMED.format(v="o")}
            RETURN DISTINCT o.id AS o ORDER BY o LIMIT $limit }} AS same,
  COLLECT {{ MATCH (c)-[:IS_A]->(o:Concept) WHERE o <> c AND {_NAMED.format(v="o")}
            RETURN DISTINCT o.id AS o ORDER BY o LIMIT $limit }} AS parents,
  COLLECT {{ MATCH (c)<-[:IS_A]-(o:Concept) WHERE o <> c AND {_NAMED.format(v="o")}
            RETURN DISTINCT o.id AS o ORDER BY o LIMIT $limit }} AS children,
  COLLECT {{ MATCH (c)-[r]-(o:Concept) WHERE o <> c AND NOT type(r) IN ['IS_A', 'XREF', 'SUGGESTED']
              AND {_NAMED.format(v="o")}
            RETURN DISTINCT o.id AS o ORDER BY o LIMIT $limit }} AS related
"""


# The concepts that $ids are IS_A descendants of (up to 4 IS_A edges), for building benchmark judgments.
CONCEPT_ANCESTORS = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})
RETURN c.id AS id, COLLECT { MATCH (c)-[:IS_A*1..4]->(a:Concept) WHERE a <> c RETURN DISTINCT a.id } AS ancestors
"""
