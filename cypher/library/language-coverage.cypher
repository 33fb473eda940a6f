// name: language-coverage
// description: Per source, how many of its live concepts have at least one term in a language, and the
//   share (0-1).
// unbounded: reads every Concept and its HAS_TERM edges; the time grows with the graph
// timeout: 120
// param lang (lang, default zh): the language
// example: lang=zh
MATCH (c:Concept) WHERE NOT coalesce(c.obsolete, false)
WITH c, EXISTS { (c)-[:HAS_TERM]->(t:Term) WHERE t.lang = $lang } AS covered
UNWIND c.sources AS source
WITH source, count(c) AS concepts, count(CASE WHEN covered THEN 1 END) AS with_lang
RETURN source, concepts, with_lang, concepts - with_lang AS without_lang,
       round(toFloat(with_lang) / concepts, 4) AS coverage
ORDER BY source
