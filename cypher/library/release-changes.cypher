// name: release-changes
// description: What changed between two releases of clustered concepts. Concepts carry `release`; the
//   concepts of two releases are distinct nodes that name shared Term nodes, so each concept of `to` is
//   matched to the concepts of `from` that share a term with it: added (shares none), changed (one
//   match, different terms), merged (several matches), split (its match also feeds other concepts of
//   `to`), unchanged (same terms); concepts of `from` sharing no term with `to` are removed. Terms added
//   and removed are listed as lang:text.
// unbounded: reads every Concept of the two releases and the terms they share; the time grows with the graph
// timeout: 120
// param from (string, required): the earlier release, e.g. 2022v1
// param to (string, required): the later release, e.g. 2023v1
// param change (string, optional): only this kind: added, changed, merged, split, removed or unchanged
//   (unchanged concepts are listed only when asked for)
// example: from=2022v1 to=2023v1
CALL () {
  MATCH (b:Concept {release: $to})
  OPTIONAL MATCH (b)-[:HAS_TERM]->(:Term)<-[:HAS_TERM]-(a:Concept {release: $from})
  WITH b, a ORDER BY a.id
  WITH b, collect(DISTINCT a) AS olds
  WITH b, olds,
       COLLECT { MATCH (b)-[:HAS_TERM]->(t:Term) RETURN t.lang + ':' + t.text AS term ORDER BY term } AS new_terms,
       COLLECT { UNWIND olds AS a MATCH (a)-[:HAS_TERM]->(t:Term)
                 RETURN DISTINCT t.lang + ':' + t.text AS term ORDER BY term } AS old_terms,
       COLLECT { UNWIND olds AS a MATCH (a)-[:HAS_TERM]->(:Term)<-[:HAS_TERM]-(o:Concept {release: $to})
                 WHERE o <> b RETURN DISTINCT o.id } AS siblings
  WITH b, olds, new_terms, old_terms,
       CASE WHEN size(olds) = 0 THEN 'added'
            WHEN size(olds) > 1 THEN 'merged'
            WHEN size(siblings) > 0 THEN 'split'
            WHEN size(new_terms) = size(old_terms) AND all(x IN new_terms WHERE x IN old_terms) THEN 'unchanged'
            ELSE 'changed' END AS change
  RETURN change, [a IN olds | a.id] AS from_ids, [b.id] AS to_ids,
         [x IN new_terms WHERE NOT x IN old_terms] AS terms_added,
         [x IN old_terms WHERE NOT x IN new_terms] AS terms_removed
  UNION ALL
  MATCH (a:Concept {release: $from})
  WHERE NOT EXISTS { (a)-[:HAS_TERM]->(:Term)<-[:HAS_TERM]-(:Concept {release: $to}) }
  RETURN 'removed' AS change, [a.id] AS from_ids, [] AS to_ids, [] AS terms_added,
         COLLECT { MATCH (a)-[:HAS_TERM]->(t:Term) RETURN t.lang + ':' + t.text AS term ORDER BY term }
         AS terms_removed
}
WITH * WHERE coalesce($change, change) = change AND ($change IS NOT NULL OR change <> 'unchanged')
RETURN change, from_ids, to_ids, terms_added, terms_removed
ORDER BY change, to_ids, from_ids
