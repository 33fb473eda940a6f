"""Training data of the CODER encoder (embed/coder/sampler.py), read from the graph."""

from __future__ import annotations

from bios_kg.graph.queries.common import asserted_type

# Rows: (concept id, [term text]) over the HAS_TERM edges whose term is in `languages` and whose edge was stated
# by one of `sources`.
TRAINING_TERMS = """
MATCH (c:Concept)-[h:HAS_TERM]->(t:Term)
WHERE ($languages IS NULL OR t.lang IN $languages)
  AND ($sources IS NULL OR any(s IN coalesce(h.sources, []) WHERE s IN $sources))
RETURN c.id AS concept, collect(t.text) AS texts
"""


# Rows: (head id, relationship type, [tail id]) over the concept–concept edges of a type in the relation
# vocabulary (so XREF and other structural edges are left out) stated by one of `sources`.
TRAINING_TRIPLES = """
MATCH (r:RelationType)
WITH collect(r.id) AS types
MATCH (h:Concept)-[e]->(t:Concept)
WHERE type(e) IN types AND h <> t
  AND ($sources IS NULL OR any(s IN coalesce(e.sources, []) WHERE s IN $sources))
RETURN h.id AS head, type(e) AS type, collect(t.id) AS tails
"""


# Rows: (concept id, semantic type id); a concept with several types gets the smallest id (CODER keeps one).
TRAINING_SEMANTIC_TYPES = f"""
MATCH (c:Concept)-[h:HAS_TYPE]->(s:SemanticType) WHERE {asserted_type("h")}
RETURN c.id AS concept, min(s.id) AS type
"""


# Rows: (concept, concept) joined by XREF (the same thing in two sources) or IS_A: never hard negatives.
TRAINING_LINKED_CONCEPTS = """
MATCH (a:Concept)-[:XREF|IS_A]->(b:Concept)
RETURN a.id AS a, b.id AS b
"""


# Rows: (concept id, definition): the explanation view of CoRTEx training (embed/coder/sampler.py).
TRAINING_DEFINITIONS = """
MATCH (c:Concept) WHERE c.definition IS NOT NULL
RETURN c.id AS concept, c.definition AS definition
"""
