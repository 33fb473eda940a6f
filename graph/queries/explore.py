"""The concept browser page and concept relations, bounded on hub concepts (graph/explore.py, graph/store.py)."""

from __future__ import annotations

from bios_kg.graph.queries.common import escape_name

# Concept–concept edges a person explores: every relationship between two concepts but curator suggestions.
_EXPLORED = "type({r}) <> 'SUGGESTED'"


# Hub concepts have hundreds of thousands of edges: reads of one concept's relations never expand them all. The
# total of each relation type and direction comes from the degree store (COUNT with a typed pattern). A concept
# with at most RELATION_WINDOW edges of those types is read whole (relation_groups_query: the first $limit neighbours
# of each group in id order); of a bigger one, each type and direction is read apart (typed_neighbours: the first
# $limit in id order among its first RELATION_WINDOW edges in storage order). One statement per type keeps every
# plan small: a single UNION over all types takes Neo4j tens of seconds to plan.
RELATION_WINDOW = 1000


def concept_relation_type_counts(rel_types: list[str]) -> str:
    """Per type of `rel_types`: [edges, edges from a Concept, edges to a Concept], from the count store."""
    counts = ", ".join(f"[COUNT {{ ()-[:{t}]->() }}, COUNT {{ (:Concept)-[:{t}]->() }}, "
                       f"COUNT {{ ()-[:{t}]->(:Concept) }}]" for t in map(escape_name, rel_types))
    return f"RETURN [{counts}] AS counts"


def concept_degrees(rel_types: list[str]) -> str:
    """Concept $id's [outgoing, incoming] edges of each of `rel_types` (read from the database, quoted here)."""
    degrees = ", ".join(f"[COUNT {{ (c)-[:{t}]->() }}, COUNT {{ (c)<-[:{t}]-() }}]"
                        for t in map(escape_name, rel_types))
    return f"MATCH (c:Concept {{id: $id}}) RETURN [{degrees}] AS degrees"


# What each neighbour is returned as: for the browser page (node sources) and the card (edge sources).
NEIGHBOUR_ITEM = "{id: o.id, name: coalesce(o.name, o.name_zh), sources: coalesce(o.sources, [])}"


RELATED_ITEM = "{id: o.id, name: coalesce(o.name, o.name_zh), sources: r.sources}"


def relation_groups_query(item: str) -> str:
    """Rows {direction, type, concepts} of concept $id over the relation types $types, `item` maps of o and r."""
    return f"""MATCH (c:Concept {{id: $id}})-[r]-(o:Concept) WHERE o <> c AND type(r) IN $types
WITH type(r) AS type, CASE WHEN startNode(r) = c THEN 'out' ELSE 'in' END AS direction, r, o ORDER BY o.id
RETURN direction, type, collect({item})[..$limit] AS concepts"""


def typed_neighbours(rel_type: str, direction: str, item: str) -> str:
    """Rows {item}: up to $limit neighbours of concept $id over one relation type (read from the database, quoted
    here) and direction, in id order among the first $window edges."""
    edge = f"-[r:{escape_name(rel_type)}]->" if direction == "out" else f"<-[r:{escape_name(rel_type)}]-"
    return f"""MATCH (c:Concept {{id: $id}}){edge}(o:Concept) WHERE o <> c
WITH r, o LIMIT $window
WITH r, o ORDER BY o.id LIMIT $limit
RETURN {item} AS item"""


# Edges among $ids (the centre's neighbours; the centre's own edges come from relation_groups). A concept with
# more than $dense outgoing edges (a hub) is not expanded: its edges to the others are found from their side,
# and an edge from such a hub to another hub (more than $dense incoming edges) is left out.
EDGES_AMONG = f"""
UNWIND $ids AS id
MATCH (a:Concept {{id: id}})
CALL (a) {{
  WITH a WHERE COUNT {{ (a)-->() }} <= $dense
  MATCH (a)-[r]->(b:Concept) WHERE b.id IN $ids
  RETURN r, b
  UNION
  WITH a WHERE COUNT {{ (a)-->() }} > $dense
  UNWIND $ids AS other
  MATCH (b:Concept {{id: other}}) WHERE COUNT {{ (b)<--() }} <= $dense
  MATCH (a)-[r]->(b)
  RETURN r, b
}}
WITH a, r, b WHERE a <> b AND {_EXPLORED.format(r="r")}
RETURN a.id AS source, type(r) AS type, b.id AS target
ORDER BY source, type, target
LIMIT $limit
"""


def shortest_path_query(max_length: int) -> str:
    """One shortest undirected path of at most `max_length` concept–concept edges from $from to $to (two distinct
    concepts). Neo4j takes no parameter for a path's length bound, so the validated integer is spliced in."""
    if not isinstance(max_length, int) or not 1 <= max_length <= 16:
        raise ValueError(f"path length bound out of range: {max_length!r}")
    return f"""
MATCH (a:Concept {{id: $from}}), (b:Concept {{id: $to}})
MATCH p = shortestPath((a)-[*..{max_length}]-(b))
WHERE all(n IN nodes(p) WHERE n:Concept) AND all(r IN relationships(p) WHERE {_EXPLORED.format(r="r")})
RETURN [n IN nodes(p) | {{id: n.id, name: coalesce(n.name, n.name_zh), sources: coalesce(n.sources, [])}}] AS nodes,
       [r IN relationships(p) | {{source: startNode(r).id, type: type(r), target: endNode(r).id}}] AS edges
"""
