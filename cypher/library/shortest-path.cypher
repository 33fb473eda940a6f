// name: shortest-path
// description: One shortest path (at most 10 edges, either direction) between two concepts through
//   concepts only, as its nodes and steps. By default every relation but curator SUGGESTED edges is
//   followed, XREF joins between vocabularies included; `types` limits it to some relation types.
// param from (curie, required): the first concept, e.g. HP:0001250
// param to (curie, required): the second concept, e.g. ICD10:G40
// param types (list[string], optional, 1..50): relation types to follow, e.g. IS_A,XREF
// example: from=HP:0001250 to=ICD10:G40
MATCH (a:Concept {id: $from}), (b:Concept {id: $to})
MATCH p = shortestPath((a)-[*..10]-(b))
WHERE all(n IN nodes(p) WHERE n:Concept)
  AND all(r IN relationships(p) WHERE CASE WHEN $types IS NULL THEN type(r) <> 'SUGGESTED'
                                           ELSE type(r) IN $types END)
RETURN length(p) AS length,
       [n IN nodes(p) | {id: n.id, name: coalesce(n.name, n.name_zh)}] AS nodes,
       [r IN relationships(p) | {from: startNode(r).id, type: type(r), to: endNode(r).id}] AS steps
