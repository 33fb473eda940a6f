"""Schema and statistics: labels, relationship types, counts, index waits, the health check."""

from __future__ import annotations

from bios_kg.graph.queries.common import escape_name

LABELS = "CALL db.labels() YIELD label RETURN label ORDER BY label"


RELATIONSHIP_TYPES = "CALL db.relationshipTypes() YIELD relationshipType AS type RETURN type ORDER BY type"


def count_label(label: str) -> str:
    return f"MATCH (n:{escape_name(label)}) RETURN count(n) AS n"  # answered from the count store


def count_relationship_type(rel_type: str) -> str:
    return f"MATCH ()-[r:{escape_name(rel_type)}]->() RETURN count(r) AS n"


# Scans every node and edge: exact, and slow on very large graphs.
COUNT_BY_SOURCE = """
CALL () {
  MATCH (n) UNWIND coalesce(n.sources, []) AS source
  RETURN source, 'node:' + labels(n)[0] AS kind, count(*) AS n
  UNION ALL
  MATCH ()-[r]->() UNWIND coalesce(r.sources, []) AS source
  RETURN source, 'rel:' + type(r) AS kind, count(*) AS n
}
RETURN source, kind, sum(n) AS n ORDER BY source, kind
"""


PING = "RETURN 1 AS ok"


AWAIT_INDEXES = "CALL db.awaitIndexes($seconds)"

# Empties the database (tests, benchmarks, rebuilds); implicit transaction (CALL … IN TRANSACTIONS).
DELETE_EVERYTHING = "MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"

COUNT_NODES = "MATCH (n) RETURN count(n) AS n"
