"""Gold term sets of loaded sources, read by the normalizer's and the clustering's evaluations."""

from __future__ import annotations

HPO_TERMS = """
MATCH (c:Concept)-[h:HAS_TERM]->(t:Term)
WHERE c.id STARTS WITH 'HP:' AND 'HPO' IN h.sources AND h.tty IN ['PT', 'SY'] AND t.lang = 'en'
  AND NOT coalesce(c.obsolete, false)
RETURN c.id AS concept, c.name AS name, h.tty AS tty, t.text AS text, t.norm AS norm
"""


ICD10_TERMS = """
MATCH (c:Concept)-[h:HAS_TERM]->(t:Term)
WHERE c.id STARTS WITH 'ICD10:' AND 'ICD10' IN h.sources AND h.tty = 'PT' AND t.lang IN ['en', 'zh']
RETURN c.id AS concept, t.lang AS lang, t.text AS text, t.norm AS norm
"""
