// name: hierarchy-roots
// description: The tops of the IS_A hierarchies: concepts with IS_A children but no IS_A parent, with
//   their number of direct children. A source expected to have one root (HPO: HP:0000001) should list one.
// unbounded: reads every Concept (of the source) and its IS_A edges; the time grows with the graph
// timeout: 120
// param source (string, optional): only concepts of this source, e.g. HPO
// example: source=HPO
MATCH (c:Concept)
WHERE ($source IS NULL OR $source IN c.sources)
  AND NOT EXISTS { (c)-[:IS_A]->(:Concept) } AND EXISTS { (:Concept)-[:IS_A]->(c) }
RETURN c.id AS id, coalesce(c.name, c.name_zh) AS name, c.sources AS sources,
       COUNT { (:Concept)-[:IS_A]->(c) } AS children
ORDER BY children DESC, id
