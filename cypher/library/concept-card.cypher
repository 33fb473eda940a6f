// name: concept-card
// description: Everything the graph holds about one concept: preferred names by language, terms grouped
//   by language, semantic types, definitions, cross-references (stated and joined), retired ids,
//   sources, and its relations counted by type and direction (the types of the relation vocabulary, counted
//   from the degree store with APOC core's apoc.node.degree, so a hub concept answers as fast as any other).
// param id (curie, required): the concept, e.g. HP:0001250 or ICD10:G40
// example: id=HP:0001250
MATCH (c:Concept {id: $id})
CALL (c) {
  MATCH (c)-[h:HAS_TERM]->(t:Term)
  WITH t.lang AS lang, t, h ORDER BY h.tty <> 'PT', t.text
  WITH lang, collect({text: t.text, tty: h.tty, sources: h.sources}) AS terms ORDER BY lang
  RETURN collect({lang: lang, terms: terms}) AS terms
}
CALL (c) {
  OPTIONAL MATCH (c)-[:HAS_TYPE]->(s:SemanticType)
  WITH s ORDER BY s.id
  RETURN collect({id: s.id, name: s.name}) AS types
}
CALL (c) {
  OPTIONAL MATCH (rt:RelationType)
  UNWIND [['out', apoc.node.degree.out(c, rt.id)], ['in', apoc.node.degree.in(c, rt.id)]] AS degree
  WITH rt.id AS type, degree[0] AS direction, degree[1] AS n WHERE n > 0
  ORDER BY direction DESC, type
  RETURN collect({type: type, direction: direction, n: n}) AS relations
}
RETURN c.id AS id, c.name AS name,
       [k IN keys(c) WHERE k = 'name' OR k STARTS WITH 'name_' |
        {lang: CASE k WHEN 'name' THEN 'en' ELSE substring(k, 5) END, name: c[k]}] AS names,
       coalesce(c.obsolete, false) AS obsolete, types, coalesce(c.definitions, []) AS definitions, terms,
       coalesce(c.xrefs, []) AS xrefs, COLLECT { MATCH (c)-[:XREF]-(x:Concept) RETURN DISTINCT x.id LIMIT 200 } AS joined,
       coalesce(c.alt_ids, []) AS alt_ids, c.sources AS sources, c.release AS release, relations
