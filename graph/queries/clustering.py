"""Term clustering runs (embed/cluster/): the terms to cluster, released concepts and review items."""

from __future__ import annotations

# A source's terms to cluster: every Term a HAS_TERM edge stated by $source names, in id order.
CLUSTER_SOURCE_TERMS = """
MATCH (:Concept)-[h:HAS_TERM]->(t:Term)
WHERE $source IN coalesce(h.sources, []) AND ($langs IS NULL OR t.lang IN $langs)
RETURN DISTINCT t.id AS id, t.text AS text, t.lang AS lang, t.norm AS norm
ORDER BY id
"""


# Rows {lang, norm}: the definition of a concept named by that term (the smallest concept id having one).
TERM_DEFINITIONS = """
UNWIND $rows AS r
MATCH (t:Term {lang: r.lang, norm: r.norm})<-[:HAS_TERM]-(c:Concept)
WHERE c.definition IS NOT NULL
WITH r, c ORDER BY c.id
WITH r, collect(c)[0] AS c
RETURN r.lang AS lang, r.norm AS norm, c.id AS concept, c.definition AS definition,
       coalesce(c.sources, []) AS sources
"""


MERGE_CLUSTER_RUN = """
MERGE (r:ClusterRun {id: $id})
SET r += $props, r.status = 'writing', r.write = $token
"""


FINISH_CLUSTER_RUN = "MATCH (r:ClusterRun {id: $id}) SET r += $props, r.status = 'written'"


# Another run whose concepts are in release $release.
RELEASE_OWNER = """
MATCH (c:Concept {release: $release}) WHERE c.cluster_run <> $run
RETURN c.cluster_run AS run LIMIT 1
"""


# Rows {id, names, terms: [{id, tty}]}: one concept of the run's release per cluster, its terms by HAS_TERM.
MERGE_CLUSTER_CONCEPTS = """
UNWIND $rows AS r
MERGE (c:Concept {id: r.id})
SET c += r.names, c.release = $release, c.cluster_run = $run, c.sources = [$run], c.size = size(r.terms),
    c.write = $token
WITH c, r
UNWIND r.terms AS term
MATCH (t:Term {id: term.id})
MERGE (c)-[h:HAS_TERM]->(t)
SET h.tty = term.tty, h.source = $run, h.sources = [$run]
"""


# Rows {id, term, candidate, props}: the oracle's questions for curators, about two Term nodes.
MERGE_REVIEW_ITEMS = """
MATCH (run:ClusterRun {id: $run})
UNWIND $rows AS r
MERGE (q:ReviewItem {id: r.id})
SET q += r.props, q.run = $run, q.status = coalesce(q.status, 'pending'), q.write = $token
MERGE (run)-[:QUEUED]->(q)
WITH q, r
MATCH (a:Term {id: r.term}), (b:Term {id: r.candidate})
MERGE (q)-[:ABOUT {role: 'term'}]->(a)
MERGE (q)-[:ABOUT {role: 'candidate'}]->(b)
"""


# What an earlier write of the same run left and this one did not write (implicit transaction).
DELETE_STALE_CLUSTER_CONCEPTS = """
MATCH (c:Concept {cluster_run: $run}) WHERE c.write <> $token
CALL (c) { DETACH DELETE c } IN TRANSACTIONS OF 10000 ROWS
"""


DELETE_STALE_REVIEW_ITEMS = """
MATCH (q:ReviewItem {run: $run}) WHERE q.write <> $token
CALL (q) { DETACH DELETE q } IN TRANSACTIONS OF 10000 ROWS
"""
