// name: semantic-types
// description: Semantic types with the number of concepts of each, overall and per source.
// unbounded: reads every HAS_TYPE edge; the time grows with the graph
// timeout: 120
// param source (string, optional): only concepts of this source, e.g. ICD10
// example: source=ICD10
MATCH (s:SemanticType)<-[:HAS_TYPE]-(c:Concept)
WHERE $source IS NULL OR $source IN c.sources
UNWIND c.sources AS source
WITH s, source, count(c) AS n WHERE $source IS NULL OR source = $source
WITH s, sum(n) AS concepts, collect({source: source, concepts: n}) AS by_source
RETURN s.id AS id, s.name AS name, s.name_zh AS name_zh, concepts, by_source
ORDER BY concepts DESC, id
