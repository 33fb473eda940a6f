"""POST /retrieve over real HTTP: a small index served by the API over the sample graph (kg expands from it)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from bios_kg.apps.api.app import create_app
from bios_kg.apps.api.retrieve_routes import MAX_BATCH
from bios_kg.apps.retrieve.chunking import Chunk
from bios_kg.apps.retrieve.engine import RetrievalIndex, build_index
from bios_kg.graph.settings import ApiSettings, Neo4jSettings
from tests.support.http import served

pytestmark = pytest.mark.integration

CHUNKS = [Chunk("CXR1_0", "There is cardiomegaly."), Chunk("CXR2_0", "The heart is enlarged, increased heart size."),
          Chunk("CXR3_0", "Small right pleural effusion."), Chunk("CXR4_0", "No acute disease.")]


@pytest.fixture(scope="module")
def urls(sample_settings: Neo4jSettings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Three APIs: with a BM25 + dense index (set on the app), with a BM25-only index (named by the settings, opened
    on the first request), and with none (BIOS_RETRIEVE_INDEX unset)."""
    folder = tmp_path_factory.mktemp("retrieve")
    build_index(CHUNKS, folder / "full", encoder="minilm", device="cpu", progress=False)
    build_index(CHUNKS, folder / "lexical", encoder=None, progress=False)
    full, bare = create_app(sample_settings, ApiSettings()), create_app(sample_settings, ApiSettings())
    full.state.retrieval_index = RetrievalIndex(folder / "full", device="cpu")
    lexical = create_app(sample_settings, ApiSettings(retrieve_index=folder / "lexical"))
    with served(full) as full_url, served(lexical) as lexical_url, served(bare) as bare_url:
        yield {"full": full_url, "lexical": lexical_url, "bare": bare_url}


@pytest.fixture()
def client(urls: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=urls["full"], timeout=60) as http:
        yield http


def test_methods_rank_chunks_and_kg_reports_its_expansions(client: httpx.Client) -> None:
    bm25 = client.post("/retrieve", json={"queries": ["cardiomegaly", "pleural effusion"], "method": "bm25", "k": 4})
    assert bm25.status_code == 200
    results = bm25.json()["results"]
    assert [hit["id"] for hit in results[0]["hits"]] == ["CXR1_0"]
    assert results[1]["hits"][0]["id"] == "CXR3_0" and results[1]["expansions"] == []
    kg = client.post("/retrieve", json={"queries": ["cardiomegaly"], "method": "kg", "k": 2}).json()["results"][0]
    assert {e["kind"] for e in kg["expansions"]} >= {"synonym"}
    assert any(e["text"].lower() == "increased heart size" for e in kg["expansions"])  # HPO synonym
    assert {hit["id"] for hit in kg["hits"]} == {"CXR1_0", "CXR2_0"}
    hybrid = client.post("/retrieve", json={"queries": ["heart enlargement"]}).json()
    assert hybrid["method"] == "hybrid" and len(hybrid["results"][0]["hits"]) == 4


def test_limits_are_problems(client: httpx.Client, urls: dict[str, str]) -> None:
    too_many = client.post("/retrieve", json={"queries": ["x"] * (MAX_BATCH + 1)})
    assert too_many.status_code == 413 and too_many.json()["parameter"] == "queries"
    bodies: list[dict[str, object]] = [{"queries": []}, {"queries": ["x"], "k": 0}, {"queries": ["x"], "method": "m"},
                                       {"queries": ["  "]}, {"queries": ["x"], "extra": 1}]
    for body in bodies:
        response = client.post("/retrieve", json=body)
        assert response.status_code == 422, body
        assert response.headers["content-type"].startswith("application/problem+json")
    lexical = httpx.post(f"{urls['lexical']}/retrieve", json={"queries": ["x"], "method": "dense"}, timeout=60)
    assert lexical.status_code == 422 and lexical.json()["parameter"] == "method"
    assert httpx.post(f"{urls['lexical']}/retrieve", json={"queries": ["effusion"], "method": "bm25"},
                      timeout=60).status_code == 200
    missing = httpx.post(f"{urls['bare']}/retrieve", json={"queries": ["effusion"]}, timeout=60)
    assert missing.status_code == 503 and "BIOS_RETRIEVE_INDEX" in missing.json()["detail"]
