// name: orphans
// description: Live concepts of a source that states IS_A edges but that have no IS_A edge at all (no
//   parent and no child, so not a root either): hierarchy placement is missing. Sources without any
//   IS_A (annotation sources) are left out. With the number of other relations, to triage.
// unbounded: reads every Concept of the IS_A-stating sources and its IS_A edges; the time grows with the graph
// timeout: 120
// param source (string, optional): only this source, e.g. CMEKG
// example: source=CMEKG
MATCH (rt:RelationType {id: 'IS_A'})
UNWIND rt.sources AS hierarchical
WITH collect(hierarchical) AS hierarchical
MATCH (c:Concept)
WHERE ($source IS NULL OR $source IN c.sources) AND any(s IN c.sources WHERE s IN hierarchical)
  AND NOT coalesce(c.obsolete, false) AND NOT EXISTS { (c)-[:IS_A]-() }
RETURN c.id AS id, coalesce(c.name, c.name_zh) AS name, c.sources AS sources,
       COUNT { (c)-[r]-(:Concept) } AS other_relations
ORDER BY id
