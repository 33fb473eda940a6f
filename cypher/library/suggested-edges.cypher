// name: suggested-edges
// description: Relations a model suggested (SUGGESTED edges) still awaiting review (no status, or
//   status 'pending'), best score first, saying whether the graph already states that relation.
// unbounded: reads every SUGGESTED edge (as many as the models wrote); the time grows with the graph
// timeout: 120
// param relation (string, optional): only suggestions of this relation, e.g. MAY_TREAT
// param model (string, optional): only suggestions of this model
// param min_score (float, default 0, 0..1): the least score
// example: min_score=0.5
MATCH (h:Concept)-[s:SUGGESTED]->(t:Concept)
WHERE coalesce(s.status, 'pending') = 'pending' AND coalesce(s.score, 0.0) >= $min_score
  AND ($relation IS NULL OR s.relation = $relation) AND ($model IS NULL OR s.model = $model)
RETURN h.id AS head, coalesce(h.name, h.name_zh) AS head_name, s.relation AS relation, t.id AS tail,
       coalesce(t.name, t.name_zh) AS tail_name, s.score AS score, s.model AS model,
       EXISTS { (h)-[r]->(t) WHERE type(r) = s.relation } AS already_stated
ORDER BY score DESC, head, relation, tail
