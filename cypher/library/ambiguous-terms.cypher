// name: ambiguous-terms
// description: Terms that name several concepts (one Term node per distinct string and language, so
//   shared nodes are the ambiguity), most shared first, with the first 20 concepts of each.
// unbounded: reads every Term of the language and its HAS_TERM edges; the time grows with the graph
// timeout: 120
// param lang (lang, optional): only terms of this language
// param source (string, optional): count only concepts from this source (ambiguity within it), e.g. ICD10
// param min_concepts (int, default 2, 2..100000): the least number of concepts a term names
// example: lang=en min_concepts=10
MATCH (t:Term) WHERE $lang IS NULL OR t.lang = $lang
WITH t, COUNT { (t)<-[:HAS_TERM]-(c:Concept) WHERE $source IS NULL OR $source IN c.sources } AS n
WHERE n >= $min_concepts
CALL (t) {
  MATCH (t)<-[:HAS_TERM]-(c:Concept) WHERE $source IS NULL OR $source IN c.sources
  WITH c ORDER BY c.id LIMIT 20
  RETURN collect({id: c.id, name: coalesce(c.name, c.name_zh)}) AS concepts
}
RETURN t.text AS text, t.lang AS lang, n AS concept_count, concepts
ORDER BY concept_count DESC, lang, text
