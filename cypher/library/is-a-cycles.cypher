// name: is-a-cycles
// description: Cycles of IS_A edges (up to 8 edges long), each listed once, from its smallest concept id:
//   a hierarchy must be acyclic, so each is a curation error (often two synonyms each the parent of
//   the other).
// unbounded: reads every Concept with IS_A edges both ways, and IS_A paths up to 8 long from each; the time grows with the graph
// timeout: 120
// param source (string, optional): only cycles starting at concepts of this source, e.g. CMEKG
// example: source=CMEKG
MATCH (c:Concept)
WHERE ($source IS NULL OR $source IN c.sources)
  AND EXISTS { (c)-[:IS_A]->(:Concept) } AND EXISTS { (:Concept)-[:IS_A]->(c) }
MATCH p = (c)-[:IS_A*1..8]->(c)
WHERE all(n IN nodes(p)[1..-1] WHERE n.id > c.id)
RETURN [n IN nodes(p) | n.id] AS cycle, [n IN nodes(p) | coalesce(n.name, n.name_zh)] AS names,
       length(p) AS length
ORDER BY length, cycle
