// name: relation-counts
// description: Concept–concept relations counted by the source that states them and their type (an edge
//   stated by several sources counts for each; derived XREF joins show as source "(derived)").
// unbounded: reads every concept–concept edge; the time grows with the graph
// timeout: 120
// param source (string, optional): only this source, e.g. HPOA
// param type (string, optional): only this relation type, e.g. IS_A
// example: source=HPO
MATCH (:Concept)-[r]->(:Concept) WHERE $type IS NULL OR type(r) = $type
UNWIND coalesce(r.sources, ['(derived)']) AS source
WITH source, type(r) AS type, count(*) AS relations WHERE $source IS NULL OR source = $source
RETURN source, type, relations
ORDER BY source, relations DESC, type
