// name: xref-type-mismatches
// description: XREF joins between two concepts that share no semantic type (both typed): the
//   cross-reference may link the wrong kind of thing (a drug to a disease, a finding to a site).
// unbounded: reads every XREF edge and the semantic types of its two ends; the time grows with the graph
// timeout: 120
// param source (string, optional): only joins from concepts of this source, e.g. CMEKG
// example: source=HPO
MATCH (a:Concept)-[:XREF]->(b:Concept)
WHERE ($source IS NULL OR $source IN a.sources)
  AND EXISTS { (a)-[:HAS_TYPE]->() } AND EXISTS { (b)-[:HAS_TYPE]->() }
  AND NOT EXISTS { (a)-[:HAS_TYPE]->(:SemanticType)<-[:HAS_TYPE]-(b) }
RETURN a.id AS id, coalesce(a.name, a.name_zh) AS name,
       COLLECT { MATCH (a)-[:HAS_TYPE]->(s) RETURN s.name ORDER BY s.name } AS types,
       b.id AS xref, coalesce(b.name, b.name_zh) AS xref_name,
       COLLECT { MATCH (b)-[:HAS_TYPE]->(s) RETURN s.name ORDER BY s.name } AS xref_types
ORDER BY id, xref
