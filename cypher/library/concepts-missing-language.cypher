// name: concepts-missing-language
// description: Live (not obsolete) concepts without any term in a language — the translation backlog —
//   with the languages they do have.
// unbounded: reads every Concept (of the source) and its HAS_TERM edges; the time grows with the graph
// timeout: 120
// param lang (lang, default zh): the language the concepts lack
// param source (string, optional): only concepts from this source, e.g. HPO
// example: lang=zh source=HPO
MATCH (c:Concept)
WHERE ($source IS NULL OR $source IN c.sources) AND NOT coalesce(c.obsolete, false)
  AND NOT EXISTS { (c)-[:HAS_TERM]->(t:Term) WHERE t.lang = $lang }
RETURN c.id AS id, c.name AS name, c.sources AS sources,
       COLLECT { MATCH (c)-[:HAS_TERM]->(t:Term) RETURN DISTINCT t.lang AS lang ORDER BY lang } AS languages
ORDER BY id
