"""The concept browser page in headless Chromium (Debian's, driven by Playwright) over the real sample graph.

Search with the keyboard, open a concept card, navigate by clicking a neighbour in the cytoscape.js graph, go
back, and find a path. Screenshots are kept in test-artifacts/e2e-web/ (git-ignored; CI keeps the folder).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e-web"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        message = "Debian chromium is not installed (apt-get install -y chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture()
def page(browser: Browser, api_url: str) -> Iterator[Page]:
    context = browser.new_context(base_url=api_url, viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")


def browse(concept_id: str) -> str:
    """The page's URL for a concept, encoded as the page itself writes it."""
    return f"/browse?id={quote(concept_id, safe='')}"


def concept_url(concept_id: str) -> re.Pattern[str]:
    return re.compile(re.escape(browse(concept_id)) + "$")


def graph_ready(page: Page, centre: str) -> None:
    """Wait until the neighbourhood of `centre` is laid out."""
    page.wait_for_function("""centre => {
        const graph = document.getElementById('graph');
        return graph.dataset.state === 'ready' && graph.cy.nodes('[?centre]').id() === centre;
    }""", arg=centre)


def test_search_with_the_keyboard_and_the_concept_card(page: Page) -> None:
    page.goto("/browse")
    box = page.get_by_role("combobox", name="Find a concept")
    expect(box).to_be_focused()
    box.fill("seizure")
    options = page.locator("#search-results [role=option]")
    expect(options.first).to_have_attribute("data-id", "HP:0001250")  # the normalizer's exact match
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(page.locator("#search-status")).to_contain_text("normalizer")
    screenshot(page, "1-search")
    box.press("ArrowDown")
    expect(box).to_have_attribute("aria-activedescendant", "search-option-1")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    box.press("ArrowUp")
    expect(box).to_have_attribute("aria-activedescendant", "search-option-0")
    box.press("Enter")

    expect(page).to_have_url(concept_url("HP:0001250"))
    card = page.locator("#card")
    expect(card.get_by_role("heading", level=2)).to_have_text("Seizure")
    expect(page).to_have_title("Seizure (HP:0001250) · BIOS-KG")
    expect(card.locator(".concept-id")).to_have_text("HP:0001250")
    expect(card.get_by_role("list", name="Semantic types")).to_contain_text("Finding")
    expect(card.locator(".definitions")).to_contain_text("A seizure is an intermittent abnormality")
    english = card.locator(".term-group[data-lang=en]")
    expect(english.get_by_role("heading")).to_contain_text("English")
    expect(english.get_by_role("listitem").filter(has_text="Epileptic seizure")).to_contain_text("SY")
    expect(card.locator(".xrefs")).to_contain_text("UMLS:C0036572")
    expect(card.locator(".sources")).to_have_text("HPO")
    expect(card.get_by_role("link", name="Abnormal nervous system physiology")).to_be_visible()
    graph_ready(page, "HP:0001250")
    screenshot(page, "2-card-seizure")

    # An id is no term for the normalizer: the page falls back to full-text search, which knows ids.
    box.fill("ICD10:G40")
    expect(options.first).to_have_attribute("data-id", "ICD10:G40")
    expect(page.locator("#search-status")).to_contain_text("full-text search")
    box.press("Escape")
    expect(page.get_by_role("listbox")).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press("Escape")
    expect(box).to_have_value("")
    box.fill("癫痫")
    expect(page.locator("[role=option][data-id='CMEKG:癫痫']")).to_have_count(1)


def test_click_a_neighbour_in_the_graph_then_go_back(page: Page, api: httpx.Client) -> None:
    page.goto(browse("HP:0001250"))
    graph_ready(page, "HP:0001250")
    drawn = page.evaluate("document.getElementById('graph').cy.nodes().map(node => node.id())")
    expected = api.get("/neighbourhood/HP:0001250", params={"limit": 40}).json()
    assert drawn[0] == "HP:0001250" and len(drawn) == 41
    assert set(drawn) == {node["id"] for node in expected["nodes"]}
    expect(page.locator("#graph-relations")).to_contain_text("HAS_PHENOTYPE 27 of 4213")

    # Click where cytoscape drew the parent concept.
    x, y = page.evaluate("""id => {
        const graph = document.getElementById('graph');
        const box = graph.getBoundingClientRect();
        const at = graph.cy.getElementById(id).renderedPosition();
        return [box.left + at.x, box.top + at.y];
    }""", "HP:0012638")
    page.mouse.click(x, y)
    expect(page).to_have_url(concept_url("HP:0012638"))
    expect(page.locator("#card h2")).to_have_text("Abnormal nervous system physiology")
    graph_ready(page, "HP:0012638")
    screenshot(page, "3-after-click")

    page.go_back()
    expect(page).to_have_url(concept_url("HP:0001250"))
    expect(page.locator("#card h2")).to_have_text("Seizure")
    graph_ready(page, "HP:0001250")
    page.go_forward()
    expect(page.locator("#card h2")).to_have_text("Abnormal nervous system physiology")

    # A link of the card navigates the same way; a retired id lands on its concept's canonical URL.
    page.goto(browse("HP:0001275"))
    expect(page).to_have_url(concept_url("HP:0001250"))
    expect(page.locator("#card .notice")).to_have_text("HP:0001275 is a retired id of this concept.")
    page.locator("#card").get_by_role("link", name="Status epilepticus").click()
    expect(page).to_have_url(concept_url("HP:0002133"))
    graph_ready(page, "HP:0002133")


def test_path_finder(page: Page, api: httpx.Client) -> None:
    page.goto(browse("ICD10:G40"))
    expect(page.locator("#card h2")).to_have_text("Epilepsy")
    expect(page.get_by_label("From", exact=True)).to_have_value("ICD10:G40")
    page.get_by_label("To", exact=True).fill("seizure")  # a term: the best match (HP:0001250) is used
    page.get_by_label("At most").select_option("8")
    page.get_by_role("button", name="Find path").click()

    expected = api.get("/paths", params={"from": "ICD10:G40", "to": "HP:0001250", "max_length": 8}).json()
    assert expected["found"] and expected["length"] == 7
    steps = page.locator("#path-steps > li")
    expect(steps).to_have_count(expected["length"] + 1)
    expect(page.locator("#path-status")).to_have_text("A shortest path: 7 edges.")
    expect(steps.first).to_have_attribute("data-concept-id", "ICD10:G40")
    expect(steps.last).to_have_attribute("data-concept-id", "HP:0001250")
    expect(steps.first).to_contain_text("XREF")  # ICD-10 reaches the other sources through cross-references
    page.wait_for_function("document.getElementById('path-graph').dataset.state === 'ready'")
    assert page.evaluate("document.getElementById('path-graph').cy.edges().length") == 7
    screenshot(page, "4-path")

    page.get_by_label("At most").select_option("3")
    page.get_by_role("button", name="Find path").click()
    expect(page.locator("#path-status")).to_have_text(
        "No path of at most 3 edges between ICD10:G40 and HP:0001250.")
    expect(steps).to_have_count(0)

    page.get_by_label("To", exact=True).fill("HP:9999999")
    page.get_by_role("button", name="Find path").click()
    expect(page.locator("#path-status")).to_contain_text("no concept HP:9999999")
