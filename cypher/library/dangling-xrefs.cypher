// name: dangling-xrefs
// description: Stated cross-references into a vocabulary the graph holds (some concept id has that prefix)
//   whose target is neither a concept of the graph nor an id one retired: a typo, a retired code, or a code the source lacks.
// unbounded: reads every Concept's id, alt ids and stated cross-references; the time grows with the graph
// timeout: 120
// param prefix (string, optional): only external ids with this prefix, e.g. ICD10
// example: prefix=ICD10
CALL () {
  MATCH (c:Concept) RETURN collect(DISTINCT split(c.id, ':')[0]) AS loaded
}
CALL () {
  MATCH (c:Concept) WHERE c.alt_ids IS NOT NULL UNWIND c.alt_ids AS alt_id RETURN collect(alt_id) AS retired
}
MATCH (c:Concept) WHERE c.xrefs IS NOT NULL
UNWIND c.xrefs AS xref
WITH c, xref, split(xref, ':')[0] AS prefix, loaded, retired
WHERE prefix IN loaded AND ($prefix IS NULL OR prefix = $prefix) AND NOT xref IN retired
  AND NOT EXISTS { MATCH (:Concept {id: xref}) }
RETURN xref, c.id AS id, coalesce(c.name, c.name_zh) AS name, c.sources AS sources
ORDER BY xref, id
