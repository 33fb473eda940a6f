// name: xref-conflicts
// description: One external id cross-referenced by several concepts of the same source (from the stated
//   `xrefs` lists): a mapping that is not one-to-one, to check for duplicates or over-broad mappings.
//   Most shared first, with the first 20 concepts of each.
// unbounded: reads every Concept's stated cross-references; the time grows with the graph
// timeout: 120
// param source (string, optional): only concepts of this source, e.g. CMEKG
// param prefix (string, optional): only external ids with this prefix, e.g. ICD10 or UMLS
// param min_concepts (int, default 2, 2..100000): the least number of concepts sharing the id
// example: source=HPO prefix=UMLS
MATCH (c:Concept) WHERE c.xrefs IS NOT NULL AND ($source IS NULL OR $source IN c.sources)
UNWIND c.xrefs AS xref
WITH c, xref WHERE $prefix IS NULL OR xref STARTS WITH $prefix + ':'
UNWIND c.sources AS source
WITH source, xref, c WHERE $source IS NULL OR source = $source
WITH source, xref, c ORDER BY c.id
WITH source, xref, count(c) AS concept_count, collect({id: c.id, name: coalesce(c.name, c.name_zh)}) AS concepts
WHERE concept_count >= $min_concepts
RETURN xref, source, concept_count, concepts[..20] AS concepts,
       EXISTS { MATCH (:Concept {id: xref}) } AS in_graph
ORDER BY concept_count DESC, xref, source
