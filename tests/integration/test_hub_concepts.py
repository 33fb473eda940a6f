"""A hub concept (more edges of one type than the reads take) on a small real graph: totals come from the degree
store, the neighbours shown are a bounded sample, and structural edges (terms, types, notes) are no relations."""

from __future__ import annotations

import pytest

from bios_kg.graph.explore import neighbourhood
from bios_kg.graph.lookup import concept_card
from bios_kg.graph.queries.explore import RELATION_WINDOW
from bios_kg.graph.store import GraphStore

pytestmark = pytest.mark.integration

CHILDREN = RELATION_WINDOW + 500


@pytest.fixture()
def hub(store: GraphStore) -> GraphStore:
    store.run("""
        CREATE (h:Concept {id: 'T:HUB', name: 'hub', sources: ['T']})
        CREATE (p:Concept {id: 'T:PARENT', name: 'parent', sources: ['T']})
        CREATE (h)-[:IS_A]->(p), (h)-[:XREF]->(p)
        CREATE (h)-[:HAS_TERM]->(:Term {id: 'en:hub', text: 'hub', norm: 'hub', lang: 'en'})
        CREATE (:Note {id: 'n1'})-[:MENTIONS]->(h)
        WITH h UNWIND range(1, $n) AS i
        CREATE (h)-[:MAY_CAUSE]->(:Concept {id: 'T:C' + right('0000' + toString(i), 5), sources: ['T']})
        """, n=CHILDREN)
    return store


def test_a_hub_concept_shows_totals_and_a_bounded_sample(hub: GraphStore) -> None:
    found = neighbourhood(hub, "T:HUB", limit=10)
    counts = {(r.type, r.direction): (r.total, r.shown) for r in found.relations}
    assert len(found.nodes) == 11 and found.nodes[0].id == "T:HUB"
    assert counts == {("MAY_CAUSE", "out"): (CHILDREN, 9), ("IS_A", "out"): (1, 1), ("XREF", "out"): (1, 1)}

    card = concept_card(hub, "T:HUB", relations_per_type=5)
    assert card is not None
    groups = {(g["type"], g["direction"]): g for g in card["relations"]}
    assert set(groups) == {("MAY_CAUSE", "out"), ("IS_A", "out")}  # XREF is listed apart, as joined
    caused = groups[("MAY_CAUSE", "out")]
    assert caused["total"] == CHILDREN and len(caused["concepts"]) == 5
    ids = [c["id"] for c in caused["concepts"]]
    assert ids == sorted(ids)  # in id order within the sample
    assert card["joined"] == [{"id": "T:PARENT", "name": "parent"}]

    # A concept with fewer edges than the window shows exactly its first neighbours by id.
    assert [n.id for n in neighbourhood(hub, "T:PARENT", limit=1).nodes] == ["T:PARENT", "T:HUB"]


def test_edges_among_neighbours_are_found_from_the_side_that_is_no_hub(hub: GraphStore) -> None:
    # The hub has more outgoing edges than DENSE_DEGREE: its edge to T:PARENT is found from T:PARENT's side.
    hub.run("MATCH (a:Concept {id: 'T:C00001'}), (b:Concept {id: 'T:PARENT'}) CREATE (a)-[:IS_A]->(b)")
    found = neighbourhood(hub, "T:C00001", limit=10)
    # T:C00001's neighbours are the hub and T:PARENT: the hub -> T:PARENT edge is drawn among them.
    assert {(e.source, e.type, e.target) for e in found.edges} >= {
        ("T:HUB", "IS_A", "T:PARENT"), ("T:HUB", "MAY_CAUSE", "T:C00001"), ("T:C00001", "IS_A", "T:PARENT")}
