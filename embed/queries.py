"""Statements of the semantic-type classifier (embed/semantic_types.py)."""

from __future__ import annotations

from bios_kg.graph.queries.common import add_source, asserted_type

# A predicted HAS_TYPE edge carries the predicting model's id as `model` and `source`, and a `score`. An edge is
# asserted when anything but a model stated it (a loader that merges onto a predicted edge adds its source).
_OF_SOURCES = "($sources IS NULL OR any(x IN coalesce(c.sources, []) WHERE x IN $sources))"


# Rows (concept id, [type id], [source]) of the concepts with an asserted type, in id order.
TYPED_CONCEPTS = f"""
MATCH (c:Concept)-[h:HAS_TYPE]->(s:SemanticType)
WHERE {asserted_type("h")} AND {_OF_SOURCES}
RETURN c.id AS id, collect(DISTINCT s.id) AS types, coalesce(c.sources, []) AS sources ORDER BY id
"""


SEMANTIC_TYPE_NAMES = "UNWIND $ids AS id MATCH (s:SemanticType {id: id}) RETURN s.id AS id, s.name AS name"


_UNTYPED = f"""{_OF_SOURCES}
  AND NOT EXISTS {{ MATCH (c)-[h:HAS_TYPE]->(:SemanticType) WHERE {asserted_type("h")} }}"""


COUNT_UNTYPED_CONCEPTS = f"MATCH (c:Concept) WHERE {_UNTYPED} RETURN count(c) AS n"


# Keyset page of the concepts without an asserted type (those only a model typed included).
UNTYPED_CONCEPTS = f"""
MATCH (c:Concept) WHERE c.id > $after AND {_UNTYPED}
RETURN c.id AS id ORDER BY c.id LIMIT $limit
"""


# The texts of each concept's terms (every language), or its preferred name when it has no term.
CONCEPT_TEXTS = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})
RETURN c.id AS id, [(c)-[:HAS_TERM]->(t:Term) | t.text] AS texts, coalesce(c.name, c.name_zh) AS name
"""


CONCEPT_VECTORS = """
UNWIND $ids AS id
MATCH (c:Concept {id: id}) WHERE c.embedding_model = $model
RETURN c.id AS id, c.embedding AS v
"""


# Removes the types that $source (a model) alone predicted for the concepts $ids, before it writes new ones.
CLEAR_PREDICTED_TYPES = """
UNWIND $ids AS id
MATCH (:Concept {id: id})-[h:HAS_TYPE {model: $source}]->(:SemanticType)
WHERE h.sources = [$source]
DELETE h
"""


# Rows {concept, type, score}: one edge per (concept, type, model).
WRITE_PREDICTED_TYPES = f"""
UNWIND $rows AS r
MATCH (c:Concept {{id: r.concept}})
MATCH (s:SemanticType {{id: r.type}})
MERGE (c)-[h:HAS_TYPE {{model: $source}}]->(s)
ON CREATE SET h.source = $source
SET {add_source("h")}, h.score = r.score
"""
