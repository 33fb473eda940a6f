// name: sources
// description: Every loaded source with its version, licence, load status and time, and the record
//   counts of its load.
MATCH (s:Source)
RETURN s.id AS id, s.name AS name, s.version AS version, s.licence AS licence, s.url AS url,
       s.status AS status, toString(s.loaded_at) AS loaded_at,
       [k IN keys(s) WHERE k STARTS WITH 'count_' | {record: substring(k, 6), n: s[k]}] AS counts
ORDER BY id
