// name: ancestors
// description: The IS_A ancestors of a concept, nearest first, with the fewest IS_A steps to each (the
//   concept itself is left out when an IS_A cycle leads back to it).
// param id (curie, required): the concept, e.g. HP:0001250
// param max_depth (int, default 30, 1..30): the most IS_A steps to climb
// example: id=HP:0001250
MATCH (c:Concept {id: $id})-[:IS_A*1..30]->(a:Concept)
WITH DISTINCT c, a WHERE a <> c
MATCH p = shortestPath((c)-[:IS_A*1..30]->(a))
WITH a, length(p) AS depth WHERE depth <= $max_depth
RETURN a.id AS id, coalesce(a.name, a.name_zh) AS name, depth, a.sources AS sources
ORDER BY depth, id
