// name: concept-card
// description: Everything the graph holds about one concept: preferred names by language, terms grouped
//   by language, semantic types, definitions, cross-references (stated and joined), retired ids,
//   sources, and its relations counted by type and direction.
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
  OPTIONAL MATCH (c)-[r]-(o:Concept) WHERE type(r) <> 'XREF'
  WITH type(r) AS type, CASE WHEN startNode(r) = c THEN 'out' ELSE 'in' END AS direction, count(o) AS n
  WHERE type IS NOT NULL
  ORDER BY direction DESC, type
  RETURN collect({type: type, direction: direction, n: n}) AS relations
}
RETURN c.id AS id, c.name AS name,
       [k IN keys(c) WHERE k = 'name' OR k STARTS WITH 'name_' |
        {lang: CASE k WHEN 'name' THEN 'en' ELSE substring(k, 5) END, name: c[k]}] AS names,
       coalesce(c.obsolete, false) AS obsolete, types, coalesce(c.definitions, []) AS definitions, terms,
       coalesce(c.xrefs, []) AS xrefs, COLLECT { MATCH (c)-[:XREF]-(x:Concept) RETURN DISTINCT x.id } AS joined,
       coalesce(c.alt_ids, []) AS alt_ids, c.sources AS sources, c.release AS release, relations
