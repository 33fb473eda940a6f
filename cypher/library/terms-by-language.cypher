// name: terms-by-language
// description: The terms of one concept, one row each, by language then preferred first, with the term
//   type, the sources that state it, and how many other concepts share the term (ambiguity).
// param id (curie, required): the concept, e.g. ICD10:G40
// param lang (lang, optional): only terms of this ISO 639-1 language, e.g. zh
// example: id=ICD10:G40
MATCH (c:Concept {id: $id})-[h:HAS_TERM]->(t:Term)
WHERE $lang IS NULL OR t.lang = $lang
RETURN t.lang AS lang, t.text AS text, h.tty AS tty, h.sources AS sources,
       COUNT { (t)<-[:HAS_TERM]-(o:Concept) WHERE o <> c } AS shared_with
ORDER BY lang, tty <> 'PT', text
