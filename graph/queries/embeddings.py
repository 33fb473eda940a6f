"""Term and concept vectors, their vector indexes, and the model nodes describing what wrote them."""

from __future__ import annotations

from bios_kg.graph.queries.common import sources_state

# One model's vectors live in the graph at a time: Term/Concept.embedding (float32, written with
# db.create.setNodeVectorProperty) beside `embedding_model` (the model id), described by an EmbeddingModel node.
TERM_VECTOR_INDEX = "term_embedding"


CONCEPT_VECTOR_INDEX = "concept_embedding"


VECTOR_INDEXES = {TERM_VECTOR_INDEX: ("Term", "t"), CONCEPT_VECTOR_INDEX: ("Concept", "c")}


def vector_index_name(name: str) -> str:
    if name not in VECTOR_INDEXES:
        raise ValueError(f"not a vector index of the graph: {name!r}")
    return name


def create_vector_index_query(name: str) -> str:
    """Cosine vector index `name` over its label's `embedding`; parameter $dim."""
    label, var = VECTOR_INDEXES[vector_index_name(name)]
    return (f"CREATE VECTOR INDEX {name} IF NOT EXISTS FOR ({var}:{label}) ON {var}.embedding "
            "OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}}")


def drop_index(name: str) -> str:
    return f"DROP INDEX {vector_index_name(name)} IF EXISTS"


VECTOR_INDEX_INFO = """
SHOW VECTOR INDEXES YIELD name, state, labelsOrTypes, properties, options
WHERE name = $name
RETURN name, state, labelsOrTypes[0] AS label, properties[0] AS property,
       options.indexConfig.`vector.dimensions` AS dim, options.indexConfig.`vector.similarity_function` AS similarity
"""


MERGE_EMBEDDING_MODEL = """
MERGE (m:EmbeddingModel {id: $id})
ON CREATE SET m.created_at = datetime()
SET m += $props, m.updated_at = datetime()
"""


SET_EMBEDDING_MODEL_COUNTS = "MATCH (m:EmbeddingModel {id: $id}) SET m += $counts, m.updated_at = datetime()"


EMBEDDING_MODELS = "MATCH (m:EmbeddingModel) RETURN properties(m) AS model ORDER BY m.id"


# Models other than $model whose vectors are in the graph, from the nodes and from the vectors themselves.
OTHER_EMBEDDING_MODELS = """
CALL () {
  MATCH (m:EmbeddingModel) WHERE m.id <> $model RETURN m.id AS id
  UNION
  MATCH (t:Term) WHERE t.embedding_model <> $model RETURN DISTINCT t.embedding_model AS id
  UNION
  MATCH (c:Concept) WHERE c.embedding_model <> $model RETURN DISTINCT c.embedding_model AS id
}
RETURN id ORDER BY id
"""


# Run in an implicit transaction (CALL … IN TRANSACTIONS).
CLEAR_OTHER_TERM_VECTORS = """
MATCH (t:Term) WHERE t.embedding_model <> $model
CALL (t) { REMOVE t.embedding, t.embedding_model } IN TRANSACTIONS OF 10000 ROWS
"""


CLEAR_OTHER_CONCEPT_VECTORS = """
MATCH (c:Concept) WHERE c.embedding_model <> $model
CALL (c) { REMOVE c.embedding, c.embedding_model, c.embedding_terms } IN TRANSACTIONS OF 10000 ROWS
"""


DELETE_OTHER_EMBEDDING_MODELS = "MATCH (m:EmbeddingModel) WHERE m.id <> $model DELETE m"


# Terms without this model's vector, in the languages the job embeds ($languages null: every language).
_LACKS_VECTOR = ("(t.embedding_model IS NULL OR t.embedding_model <> $model) "
                 "AND ($languages IS NULL OR t.lang IN $languages)")


COUNT_TERMS_TO_EMBED = f"MATCH (t:Term) WHERE {_LACKS_VECTOR} RETURN count(t) AS n"


# Keyset page (term id order, answered from the unique index) of terms without this model's vector.
TERMS_TO_EMBED = f"""
MATCH (t:Term) WHERE t.id > $after AND {_LACKS_VECTOR}
RETURN t.id AS id, t.text AS text
ORDER BY t.id LIMIT $limit
"""


# The terms whose vectors (kept in the model's vector file, embed/vector_store.py) are written.
MARK_TERMS_EMBEDDED = """
UNWIND $ids AS id
MATCH (t:Term {id: id})
SET t.embedding_model = $model
"""


# Terms marked embedded whose vector is not in the vector file (or is a float list left in Neo4j by an older version).
UNMARK_TERMS_EMBEDDED = """
UNWIND $ids AS id
MATCH (t:Term {id: id})
REMOVE t.embedding_model, t.embedding
"""


EMBEDDED_TERM_IDS = "MATCH (t:Term) WHERE t.embedding_model = $model RETURN t.id AS id ORDER BY t.id"


# Concepts whose vector is missing, of another model, or made from another number of embedded terms (a
# term was embedded or a HAS_TERM edge added since), with their embedded terms; keyset page by concept id.
CONCEPTS_TO_EMBED = """
MATCH (c:Concept) WHERE c.id > $after
WITH c, COUNT { (c)-[:HAS_TERM]->(t:Term) WHERE t.embedding_model = $model } AS n
WHERE n > 0 AND (c.embedding_model IS NULL OR c.embedding_model <> $model OR c.embedding_terms IS NULL
                 OR c.embedding_terms <> n)
WITH c ORDER BY c.id LIMIT $limit
MATCH (c)-[:HAS_TERM]->(t:Term) WHERE t.embedding_model = $model
RETURN c.id AS id, collect(t.id) AS terms
ORDER BY id
"""


# Rows: {id, v, n}.
SET_CONCEPT_VECTORS = """
UNWIND $rows AS r
MATCH (c:Concept {id: r.id})
CALL db.create.setNodeVectorProperty(c, 'embedding', r.v)
SET c.embedding_model = $model, c.embedding_terms = r.n
"""


# The graph state a faiss file is built from: which database, which embedded terms, which source loads.
EMBEDDING_FINGERPRINT = """
CALL db.info() YIELD id AS database
CALL () {
  MATCH (t:Term) WHERE t.embedding_model = $model
  RETURN count(t) AS terms, min(t.id) AS min_id, max(t.id) AS max_id
}
""" + sources_state() + """
RETURN database, terms, min_id, max_id, sources
"""


# Nearest nodes of one vector index for each of $vectors, restricted to $model's vectors. Neo4j reports
# cosine as (1 + cos) / 2; this returns the cosine.
VECTOR_SEARCH = """
UNWIND range(0, size($vectors) - 1) AS i
CALL (i) {
  CALL db.index.vector.queryNodes($index, $k, $vectors[i]) YIELD node, score
  WHERE node.embedding_model = $model
  WITH node, score ORDER BY score DESC
  RETURN collect([node.id, 2 * score - 1]) AS hits
}
RETURN i, hits ORDER BY i
"""


# A trained model that writes into the graph (semantic types, relation suggestions): its settings and metrics.
MERGE_PREDICTION_MODEL = """
MERGE (m:PredictionModel {id: $id})
ON CREATE SET m.created_at = datetime()
SET m += $props, m.updated_at = datetime()
"""
