"""KG embeddings (embed/kge/) and the relation suggestions they write, reviewed through graph/suggestions.py."""

from __future__ import annotations

from bios_kg.graph.queries.common import add_source
from bios_kg.graph.vocabulary import validate_relationship_type

# Rows (head id, relationship type, tail id) of the concept–concept edges of a type in the relation vocabulary
# (and in $relations), stated by one of $sources.
KGE_TRIPLES = """
MATCH (r:RelationType) WHERE $relations IS NULL OR r.id IN $relations
WITH collect(r.id) AS types
MATCH (h:Concept)-[e]->(t:Concept)
WHERE type(e) IN types AND h <> t
  AND ($sources IS NULL OR any(s IN coalesce(e.sources, []) WHERE s IN $sources))
RETURN h.id AS head, type(e) AS relation, t.id AS tail
"""


RELATION_TYPE_IDS = "MATCH (r:RelationType) RETURN r.id AS id ORDER BY id"


# One KG embedding model's vectors at a time: Concept.kge_embedding beside `kge_model` (implicit transaction).
CLEAR_OTHER_KGE_VECTORS = """
MATCH (c:Concept) WHERE c.kge_model IS NOT NULL AND c.kge_model <> $model
CALL (c) { REMOVE c.kge_embedding, c.kge_model } IN TRANSACTIONS OF 10000 ROWS
"""


# Rows {id, v}.
SET_KGE_VECTORS = """
UNWIND $rows AS r
MATCH (c:Concept {id: r.id})
CALL db.create.setNodeVectorProperty(c, 'kge_embedding', r.v)
SET c.kge_model = $model
"""


# A model's open suggestions, removed before it writes its new list (reviewed ones stay; implicit transaction).
CLEAR_OPEN_SUGGESTIONS = """
MATCH ()-[s:SUGGESTED]->() WHERE s.model = $model AND s.status = 'open'
CALL (s) { DELETE s } IN TRANSACTIONS OF 10000 ROWS
"""


# Rows {id, head, relation, tail, score, rank}: a SUGGESTED edge unless the relation holds already; a suggestion
# a curator reviewed keeps its status.
WRITE_SUGGESTIONS = """
UNWIND $rows AS r
MATCH (h:Concept {id: r.head})
MATCH (t:Concept {id: r.tail})
WHERE NOT EXISTS { MATCH (h)-[e]->(t) WHERE type(e) = r.relation }
MERGE (h)-[s:SUGGESTED {id: r.id}]->(t)
ON CREATE SET s.relation = r.relation, s.model = $model, s.status = 'open', s.created_at = datetime()
SET s.score = r.score, s.rank = r.rank
RETURN count(s) AS n
"""


_SUGGESTION = """s.id AS id, h.id AS head, coalesce(h.name, h.name_zh) AS head_name, s.relation AS relation,
       t.id AS tail, coalesce(t.name, t.name_zh) AS tail_name, s.score AS score, s.rank AS rank, s.model AS model,
       s.status AS status"""


# Best first; every filter optional.
LIST_SUGGESTIONS = f"""
MATCH (h:Concept)-[s:SUGGESTED]->(t:Concept)
WHERE ($status IS NULL OR s.status = $status) AND ($model IS NULL OR s.model = $model)
  AND ($relation IS NULL OR s.relation = $relation) AND ($concept IS NULL OR $concept IN [h.id, t.id])
RETURN {_SUGGESTION}
ORDER BY s.score DESC, s.id SKIP $offset LIMIT $limit
"""


GET_SUGGESTIONS = f"""
UNWIND $ids AS id
MATCH (h:Concept)-[s:SUGGESTED {{id: id}}]->(t:Concept)
RETURN {_SUGGESTION}
"""


def accept_suggestion(rel_type: str) -> str:
    """Suggestion $id becomes a `rel_type` edge whose provenance is the model ($source) and the curator."""
    rel_type = validate_relationship_type(rel_type)
    return f"""
MATCH (h:Concept)-[s:SUGGESTED {{id: $id}}]->(t:Concept)
MERGE (h)-[e:{rel_type}]->(t)
ON CREATE SET e.source = $source, e.suggestion = s.id, e.score = s.score, e.accepted_at = datetime(),
              e.accepted_by = $curator
SET {add_source("e")}, s.status = 'accepted', s.reviewed_at = datetime(), s.reviewed_by = $curator
"""


REJECT_SUGGESTION = """
MATCH ()-[s:SUGGESTED {id: $id}]->()
SET s.status = 'rejected', s.reviewed_at = datetime(), s.reviewed_by = $curator
"""
