// name: untyped-concepts
// description: Live concepts without a semantic type: the normalizer's type filters cannot reach them.
// unbounded: reads every Concept (of the source); the time grows with the graph
// timeout: 120
// param source (string, optional): only concepts of this source, e.g. CMEKG
// example: source=HPO
MATCH (c:Concept)
WHERE ($source IS NULL OR $source IN c.sources) AND NOT coalesce(c.obsolete, false)
  AND NOT EXISTS { (c)-[:HAS_TYPE]->() }
RETURN c.id AS id, coalesce(c.name, c.name_zh) AS name, c.sources AS sources
ORDER BY id
