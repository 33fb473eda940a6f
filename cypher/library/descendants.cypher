// name: descendants
// description: The IS_A descendants of a concept, nearest first, with the fewest IS_A steps to each.
// unbounded: reads the whole IS_A sub-hierarchy below the concept (below a hub, most of the graph)
// timeout: 120
// param id (curie, required): the concept, e.g. HP:0001250
// param max_depth (int, default 30, 1..30): the most IS_A steps to descend
// example: id=HP:0001250 max_depth=2
MATCH (c:Concept {id: $id})<-[:IS_A*1..30]-(d:Concept)
WITH DISTINCT c, d WHERE d <> c
MATCH p = shortestPath((c)<-[:IS_A*1..30]-(d))
WITH d, length(p) AS depth WHERE depth <= $max_depth
RETURN d.id AS id, coalesce(d.name, d.name_zh) AS name, depth, d.sources AS sources
ORDER BY depth, id
