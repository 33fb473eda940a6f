// name: term-statistics
// description: Terms per concept, per source: concepts, HAS_TERM edges, mean, median, 90th percentile and
//   largest number of terms of a concept, concepts with a single term or none.
// unbounded: reads every Concept and its HAS_TERM degree; the time grows with the graph
// timeout: 120
// param source (string, optional): only this source, e.g. ICD10
// example: source=ICD10
MATCH (c:Concept)
UNWIND c.sources AS source
WITH source, c WHERE $source IS NULL OR source = $source
WITH source, c, COUNT { (c)-[:HAS_TERM]->() } AS terms
WITH source, count(c) AS concepts, sum(terms) AS has_term, avg(terms) AS mean, percentileDisc(terms, 0.5) AS median,
     percentileDisc(terms, 0.9) AS p90, max(terms) AS most, count(CASE WHEN terms = 1 THEN 1 END) AS single_term,
     count(CASE WHEN terms = 0 THEN 1 END) AS no_term
RETURN source, concepts, has_term, round(mean, 2) AS mean, median, p90, most, single_term, no_term
ORDER BY source
