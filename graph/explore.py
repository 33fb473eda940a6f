"""Reads behind the concept browser page: a concept's neighbourhood as nodes and edges, and the shortest path
between two concepts. Both follow every concept–concept relationship (cross-references included) but curator
suggestions, and accept retired ids as lookup does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from bios_kg.graph.errors import NotFoundError, ParameterError
from bios_kg.graph.lookup import names_by_language, preferred_name, resolve_concept_id
from bios_kg.graph.queries.explore import EDGES_AMONG, NEIGHBOUR_ITEM, shortest_path_query
from bios_kg.graph.queries.lookup import CONCEPT_SUMMARIES
from bios_kg.graph.store import GraphStore

MAX_NEIGHBOURS = 200
MAX_PATH_LENGTH = 8
PATH_TIMEOUT_S = 10.0  # a path search through hub concepts can touch most of a large graph: the server stops it
EDGES_PER_NEIGHBOUR = 4  # bound on the edges drawn among neighbours: this many per neighbour
DENSE_DEGREE = 1000  # a neighbour with more outgoing edges is not expanded when finding edges among neighbours
_NOT_EXPLORED = frozenset({"SUGGESTED"})  # curator suggestions are not drawn


@dataclass(frozen=True)
class GraphNode:
    id: str
    name: str | None
    sources: list[str]


@dataclass(frozen=True)
class GraphEdge:
    source: str
    type: str
    target: str


@dataclass
class RelationCount:
    type: str
    direction: str  # out: the centre is the head; in: the tail
    total: int
    shown: int = 0


@dataclass
class Neighbourhood:
    id: str
    nodes: list[GraphNode]  # the centre first
    edges: list[GraphEdge]
    relations: list[RelationCount]
    redirected_from: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ConceptPath:
    source: str
    target: str
    max_length: int
    nodes: list[GraphNode] = field(default_factory=list)  # in path order; empty when there is none
    edges: list[GraphEdge] = field(default_factory=list)  # nodes[i] — edges[i] — nodes[i + 1], in stored direction

    @property
    def found(self) -> bool:
        return bool(self.nodes)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "found": self.found, "length": len(self.edges) if self.found else None}


def _resolve(store: GraphStore, name: str, concept_id: str) -> str:
    resolved = resolve_concept_id(store, concept_id)
    if resolved is None:
        raise NotFoundError(f"no concept {concept_id} in the graph ({name})")
    return resolved


def _concept_node(store: GraphStore, concept_id: str) -> GraphNode:
    row = store.run(CONCEPT_SUMMARIES, ids=[concept_id])[0]
    return GraphNode(concept_id, preferred_name(names_by_language(row["names"]), None), row["sources"])


def neighbourhood(store: GraphStore, concept_id: str, limit: int = 40) -> Neighbourhood:
    """The concept and up to `limit` neighbours, taken in turn from each relation type and direction so that every
    kind of relation shows; the edges from the centre to them and (at most EDGES_PER_NEIGHBOUR per neighbour) the
    edges among them. Raises NotFoundError for an unknown id, ParameterError for `limit` out of range."""
    if not 1 <= limit <= MAX_NEIGHBOURS:
        raise ParameterError("limit", f"must be between 1 and {MAX_NEIGHBOURS}, got {limit}")
    centre = _resolve(store, "concept_id", concept_id)
    nodes = {centre: _concept_node(store, centre)}
    groups = store.relation_groups(centre, _NOT_EXPLORED, NEIGHBOUR_ITEM, limit)
    counts = [RelationCount(group.type, group.direction, group.total) for group in groups]
    edges: list[GraphEdge] = []
    for rank in range(limit):
        for group, count in zip(groups, counts, strict=True):
            if rank >= len(group.concepts):
                continue
            other = group.concepts[rank]
            if other["id"] not in nodes:
                if len(nodes) > limit:
                    continue
                nodes[other["id"]] = GraphNode(other["id"], other["name"], other["sources"])
            ends = (centre, other["id"]) if group.direction == "out" else (other["id"], centre)
            edges.append(GraphEdge(ends[0], group.type, ends[1]))
            count.shown += 1
    neighbours = [node_id for node_id in nodes if node_id != centre]
    among = store.run(EDGES_AMONG, ids=neighbours, limit=EDGES_PER_NEIGHBOUR * len(neighbours),
                      dense=DENSE_DEGREE)
    edges += [GraphEdge(**row) for row in among]
    return Neighbourhood(id=centre, nodes=list(nodes.values()), edges=edges, relations=counts,
                         redirected_from=concept_id if centre != concept_id else None)


def shortest_path(store: GraphStore, source: str, target: str, max_length: int = 6) -> ConceptPath:
    """A shortest path (ignoring edge direction) of at most `max_length` edges between two concepts; without nodes
    when there is none that short. Raises NotFoundError for an unknown id, ParameterError for a bad bound,
    QueryTimeoutError when the search runs past PATH_TIMEOUT_S."""
    if not 1 <= max_length <= MAX_PATH_LENGTH:
        raise ParameterError("max_length", f"must be between 1 and {MAX_PATH_LENGTH}, got {max_length}")
    start, end = _resolve(store, "from", source), _resolve(store, "to", target)
    path = ConceptPath(source=start, target=end, max_length=max_length)
    if start == end:
        path.nodes = [_concept_node(store, start)]
        return path
    rows = store.read(shortest_path_query(max_length), PATH_TIMEOUT_S, **{"from": start, "to": end})
    if rows:
        path.nodes = [GraphNode(**node) for node in rows[0]["nodes"]]
        path.edges = [GraphEdge(**edge) for edge in rows[0]["edges"]]
    return path
