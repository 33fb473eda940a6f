"""Curator review of relation suggestions over real HTTP, against a throw-away graph: listing, API keys on the
writes, accept and reject with their problems."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bios_kg.apps.api.app import create_app
from bios_kg.graph.queries.suggestions import WRITE_SUGGESTIONS
from bios_kg.graph.records import Concept, RelationType
from bios_kg.graph.settings import ApiSettings, Neo4jSettings
from bios_kg.graph.store import Batch, GraphStore
from tests.support.http import served

pytestmark = pytest.mark.integration
KEY = {"X-API-Key": "key-1"}
S1, S2 = "S" + "1" * 16, "S" + "2" * 16


@pytest.fixture()
def client(store: GraphStore, neo4j_settings: Neo4jSettings) -> Iterator[httpx.Client]:
    batch = Batch()
    for record in (RelationType("IS_A", "is_a"), Concept("X:1", name="one"), Concept("X:2", name="two"),
                   Concept("X:3", name="three")):
        batch.add(record)
    with store.transaction() as tx:
        GraphStore.write_nodes(tx, batch, "TEST")
    store.run(WRITE_SUGGESTIONS, model="transe@000000000000", rows=[
        {"id": S1, "head": "X:1", "relation": "IS_A", "tail": "X:2", "score": -1.0, "rank": 1},
        {"id": S2, "head": "X:3", "relation": "IS_A", "tail": "X:2", "score": -2.0, "rank": 2}])
    app = create_app(neo4j_settings, ApiSettings(api_keys=frozenset({"key-1"})))
    with served(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def test_list_accept_reject(client: httpx.Client, store: GraphStore) -> None:
    listed = client.get("/suggestions")
    assert listed.status_code == 200
    assert [(row["id"], row["head_name"], row["status"]) for row in listed.json()] == [(S1, "one", "open"),
                                                                                   (S2, "three", "open")]
    assert client.post(f"/suggestions/{S1}/accept").status_code == 401
    assert client.post(f"/suggestions/{S1}/accept", headers={"X-API-Key": "nope"}).status_code == 403
    accepted = client.post(f"/suggestions/{S1}/accept", headers=KEY, json={"curator": "me"})
    assert accepted.status_code == 200 and accepted.json() == {"changed": [S1], "unchanged": []}
    assert client.post(f"/suggestions/{S1}/accept", headers=KEY).json() == {"changed": [], "unchanged": [S1]}
    edge = store.run("MATCH (:Concept {id: 'X:1'})-[e:IS_A]->(:Concept {id: 'X:2'}) RETURN e.accepted_by AS by")
    assert edge == [{"by": "me"}]
    refused = client.post(f"/suggestions/{S1}/reject", headers=KEY)
    assert refused.status_code == 400 and "was accepted" in refused.json()["detail"]
    assert client.post(f"/suggestions/{S2}/reject", headers=KEY).json() == {"changed": [S2], "unchanged": []}
    assert client.get("/suggestions").json() == []
    assert [row["id"] for row in client.get("/suggestions", params={"status": "all"}).json()] == [S1, S2]
    missing = client.post(f"/suggestions/S{'0' * 16}/accept", headers=KEY)
    assert missing.status_code == 404 and missing.json()["detail"] == f"no suggestion with id S{'0' * 16}"
    assert client.post("/suggestions/bad-id/accept", headers=KEY).status_code == 422
