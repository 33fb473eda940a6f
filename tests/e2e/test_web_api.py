"""The concept browser's endpoints over real HTTP against the real sample graph: neighbourhoods, paths, the page and
its files (bios_kg.graph.explore behind them)."""

from __future__ import annotations

import httpx
import pytest

from bios_kg.apps.api import web_routes
from bios_kg.apps.api.app import create_app
from bios_kg.graph.settings import Neo4jSettings
from tests.support.http import served

pytestmark = pytest.mark.integration


def test_neighbourhood(api: httpx.Client) -> None:
    body = api.get("/neighbourhood/HP:0001250", params={"limit": 20}).json()
    ids = [node["id"] for node in body["nodes"]]
    assert body["id"] == ids[0] == "HP:0001250" and body["nodes"][0]["name"] == "Seizure"
    assert len(ids) == len(set(ids)) == 21
    relations = {(r["type"], r["direction"]): (r["total"], r["shown"]) for r in body["relations"]}
    # Neighbours are taken in turn from each relation: the one parent, then children and annotated diseases/genes.
    assert relations == {("IS_A", "out"): (1, 1), ("IS_A", "in"): (12, 9), ("HAS_PHENOTYPE", "in"): (4213, 10)}
    edges = {(e["source"], e["type"], e["target"]) for e in body["edges"]}
    assert ("HP:0001250", "IS_A", "HP:0012638") in edges and ("HP:0002133", "IS_A", "HP:0001250") in edges
    assert all({source, target} <= set(ids) for source, _, target in edges)
    assert sum(shown for _, shown in relations.values()) == sum("HP:0001250" in (s, t) for s, _, t in edges)
    assert ("NCBIGene:10000", "HAS_PHENOTYPE", "HP:0002133") in edges  # edges among the neighbours too

    cmekg = api.get("/neighbourhood/CMEKG:癫痫病", params={"limit": 200}).json()
    assert ("XREF", "out") in {(r["type"], r["direction"]) for r in cmekg["relations"]}
    assert {"ICD10:G40", "ICD10:G40.9"} <= {node["id"] for node in cmekg["nodes"]}
    assert len(cmekg["nodes"]) == 201
    icd = api.get("/neighbourhood/ICD10:G40").json()
    assert {"source": "CMEKG:癫痫病", "type": "XREF", "target": "ICD10:G40.9"} in icd["edges"]

    retired = api.get("/neighbourhood/HP:0001275", params={"limit": 1}).json()
    assert (retired["id"], retired["redirected_from"], len(retired["nodes"])) == ("HP:0001250", "HP:0001275", 2)
    assert api.get("/neighbourhood/CMEKG:0.1mol/L盐酸").status_code == 200  # ids with a slash


def test_paths(api: httpx.Client) -> None:
    one = api.get("/paths", params={"from": "HP:0001250", "to": "HP:0012638"}).json()
    assert (one["found"], one["length"], one["max_length"]) == (True, 1, 6)
    assert one["edges"] == [{"source": "HP:0001250", "type": "IS_A", "target": "HP:0012638"}]
    assert [node["name"] for node in one["nodes"]] == ["Seizure", "Abnormal nervous system physiology"]

    long = api.get("/paths", params={"from": "ICD10:G40", "to": "HP:0001250", "max_length": 8}).json()
    assert long["found"] and long["length"] == 7 and len(long["nodes"]) == 8
    ids = [node["id"] for node in long["nodes"]]
    assert (ids[0], ids[-1]) == ("ICD10:G40", "HP:0001250")
    for i, edge in enumerate(long["edges"]):  # each edge joins two consecutive nodes, in either direction
        assert {edge["source"], edge["target"]} == {ids[i], ids[i + 1]}
    assert long["edges"][0]["type"] == "XREF"

    short = api.get("/paths", params={"from": "ICD10:G40", "to": "HP:0001250", "max_length": 3}).json()
    assert (short["found"], short["length"], short["nodes"], short["edges"]) == (False, None, [], [])
    same = api.get("/paths", params={"from": "HP:0001275", "to": "hp:0001250"}).json()
    assert (same["source"], same["target"], same["length"]) == ("HP:0001250", "HP:0001250", 0)


def test_openapi_has_examples(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    hood, path = paths["/neighbourhood/{concept_id}"]["get"], paths["/paths"]["get"]
    examples = {p["name"]: p["schema"].get("examples") for p in path["parameters"] + hood["parameters"]}
    assert examples["from"] == ["HP:0001250"] and examples["to"] and examples["concept_id"]
    assert {"400", "404", "422"} <= set(hood["responses"]) and {"400", "404", "422"} <= set(path["responses"])
    assert "/browse" not in paths


def test_page_and_its_files(api: httpx.Client) -> None:
    home = api.get("/")
    assert home.status_code == 307 and home.headers["location"] == "/browse"
    page = api.get("/browse")
    assert page.status_code == 200 and 'role="combobox"' in page.text
    script = api.get("/browse/static/app.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    library = api.get("/browse/vendor/cytoscape.mjs")
    assert library.status_code == 200 and "export" in library.text[-2000:]
    assert api.get("/browse/static/..%2Fpackage.json").status_code == 404


def test_page_without_cytoscape_says_how_to_install_it(sample_settings: Neo4jSettings,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(web_routes, "CYTOSCAPE", web_routes.WEB_DIR / "node_modules" / "missing.mjs")
    with served(create_app(sample_settings)) as url, httpx.Client(base_url=url) as client:
        page = client.get("/browse")
        library = client.get("/browse/vendor/cytoscape.mjs")
    assert page.status_code == 503 and "npm ci --prefix apps/web" in page.text
    assert library.status_code == 503 and "npm ci --prefix apps/web" in library.json()["detail"]
    assert "npm ci --prefix apps/web" in caplog.text  # said at startup too
