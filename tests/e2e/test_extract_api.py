"""POST /extract over real HTTP (uvicorn on loopback) against the real sample graph: the offline extractor with
linking, and the 413 / 422 problem documents."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bios_kg.apps.api.extract_routes import MAX_NOTE_CHARS, MAX_NOTES
from bios_kg.apps.extract.records import GENIE_KEYS

pytestmark = pytest.mark.integration

TEXT = "No pleural effusion. Mild cardiomegaly. 否认糖尿病。"


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No LLM configured: the API opens the offline extractor (its dictionary file in the test's BIOS_HOME)."""
    monkeypatch.setenv("BIOS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BIOS_LLM_BACKEND", raising=False)
    monkeypatch.delenv("BIOS_LLM_BASE_URL", raising=False)


def test_extract_notes(api: httpx.Client, offline: None) -> None:
    response = api.post("/extract", json={"notes": [{"id": "a", "text": TEXT}, {"id": "b", "text": "Stable."}]},
                        timeout=120)  # the first request builds the dictionary
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["extractor"] == "offline" and [r["id"] for r in body["results"]] == ["a", "b"]
    entities = body["results"][0]["entities"]
    assert [(e["phrase"], e["assertion_status"]) for e in entities] == [
        ("pleural effusion", "negated"), ("cardiomegaly", "present"), ("糖尿病", "negated")]
    for entity in entities:
        assert set(GENIE_KEYS) <= set(entity) and TEXT[entity["start"]:entity["end"]] == entity["phrase"]
        assert entity["concept_id"] and entity["concept_name"]
    assert entities[1]["modifier"] == "Mild" and body["results"][1]["entities"] == []
    unlinked = api.post("/extract", json={"notes": [{"id": "a", "text": TEXT}], "link": False}).json()
    assert [e["concept_id"] for e in unlinked["results"][0]["entities"]] == [None, None, None]


def test_extract_limits_are_413(api: httpx.Client) -> None:
    many = api.post("/extract", json={"notes": [{"id": str(i), "text": "x"} for i in range(MAX_NOTES + 1)]})
    assert many.status_code == 413 and many.headers["content-type"] == "application/problem+json"
    assert many.json()["parameter"] == "notes" and str(MAX_NOTES) in many.json()["detail"]
    long = api.post("/extract", json={"notes": [{"id": "a", "text": "x" * (MAX_NOTE_CHARS + 1)}]})
    assert long.status_code == 413 and long.json()["parameter"] == "text"


@pytest.mark.parametrize(("body", "parameter"), [
    ({"notes": []}, "notes"),
    ({"notes": [{"id": "a"}]}, "text"),
    ({"notes": [{"id": " ", "text": "Fever."}]}, "id"),
    ({"notes": [{"id": "a", "text": "Fever."}], "backend": "openai"}, "backend"),
    ({"notes": [{"id": "a", "text": "Fever."}, {"id": "a", "text": "Cough."}]}, "id"),
])
def test_malformed_requests_are_422(api: httpx.Client, body: dict[str, object], parameter: str) -> None:
    response = api.post("/extract", json=body)
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"
    assert response.json()["parameter"] == parameter
