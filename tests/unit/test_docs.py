"""The documentation holds together: every relative link in README.md and docs/ reaches a file and a heading,
and every docs/ citation in the code names a page and a numbered section that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
CODE = sorted(path for folder in ("graph", "ingest", "embed", "apps", "benchmarks", "tests")
              for path in (ROOT / folder).rglob("*.py"))
CITATION = re.compile(r"docs/([\w/.-]+\.md)(?: (§[\d.]+(?:[-–]§?[\d.]+)?(?:, §[\d.]+)*))?")


def slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    text = re.sub(r"(?ms)^```.*?^```", "", page.read_text(encoding="utf-8"))
    return {slug(heading) for heading in re.findall(r"(?m)^#+ (.+)$", text)}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_relative_links_reach_a_file_and_a_heading(page: Path) -> None:
    broken = []
    for link in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", link):
            continue
        path, _, fragment = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif fragment and target.suffix == ".md" and fragment not in anchors(target):
            broken.append(f"{link}: no heading #{fragment} in {target.relative_to(ROOT)}")
    assert not broken, broken


def test_code_cites_only_pages_and_sections_that_exist() -> None:
    broken = []
    for path in CODE:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for page, sections in CITATION.findall(line):
                target = ROOT / "docs" / page
                if not target.is_file():
                    broken.append(f"{path.relative_to(ROOT)}:{number}: docs/{page} does not exist")
                    continue
                text = target.read_text(encoding="utf-8")
                for section in re.findall(r"[\d.]+", sections):
                    if not re.search(rf"(?m)^#+ {re.escape(section.rstrip('.'))}\.? ", text):
                        broken.append(f"{path.relative_to(ROOT)}:{number}: docs/{page} has no section {section}")
    assert not broken, broken


def test_no_docstring_points_outside_the_repository() -> None:
    outside = re.compile(r"specs/|shared/DESIGN|\b(?<!docs/algorithms/)(?:coder|cortex|bios|genie|drehr|ramm|deft|"
                         r"llm-backends|data|cliniq|pmc-patients|peers)\.md\b")
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}" for path in CODE if path != Path(__file__)
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if outside.search(line) and "realworld" not in line]
    assert not found, found
