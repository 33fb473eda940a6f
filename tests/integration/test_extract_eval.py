"""`bios eval extract` on the sample graph: the offline extractor scored on the hand-annotated IU X-ray gold set and
against the MeSH indexing of the first reports; a gold line that no longer matches the package is named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bios_kg.apps.cli import app
from bios_kg.apps.extract.evaluate import DEFAULT_GOLD, report_headings
from bios_kg.graph.errors import InputError
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.ingest.readers.iu_xray import read_reports

pytestmark = pytest.mark.integration


@pytest.fixture
def sample_env(sample_settings: Neo4jSettings, monkeypatch: pytest.MonkeyPatch) -> Neo4jSettings:
    monkeypatch.setenv("NEO4J_URI", sample_settings.uri)
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    return sample_settings


def test_eval_extract_command(sample_env: Neo4jSettings, tmp_path: Path) -> None:
    out = tmp_path / "extract_eval.json"
    done = CliRunner().invoke(app, ["eval", "extract", "--backend", "offline", "--mesh", "--max-reports", "30",
                                    "--out", str(out)])
    assert done.exit_code == 0, done.output
    result = json.loads(out.read_text(encoding="utf-8"))
    assert "| overlap + same type |" in out.with_suffix(".md").read_text(encoding="utf-8")
    gold = result["gold"]
    assert (result["backend"], gold["sentences"], gold["gold_entities"]) == ("offline", 82, 113)
    # the sample graph (HPO) names pneumothorax, negated in 9 gold sentences: at least those match exactly
    assert gold["exact"]["tp"] >= 9
    assert gold["overlap"]["tp"] >= gold["exact"]["tp"] >= gold["exact_typed"]["tp"]
    assert gold["overlap"]["predicted"] == gold["predicted_entities"]
    headings = [report_headings(report) for report in list(read_reports())[:30]]
    mesh = result["mesh"]
    assert mesh["reports"] == sum(h is not None for h in headings)
    assert mesh["normal_reports"] == sum(h == set() for h in headings)
    assert mesh["headings"] == sum(len(h) for h in headings if h)
    assert 0 < mesh["mapped_distinct_heads"] <= mesh["distinct_heads"]
    assert 0.0 <= mesh["recall"] <= 1.0 and mesh["linking"] == ["exact", "fulltext"]


def test_a_stale_gold_line_is_named(sample_env: Neo4jSettings, tmp_path: Path) -> None:
    lines = DEFAULT_GOLD.read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[1])
    record["entities"][0]["end"] += 1
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join([lines[0], json.dumps(record)]) + "\n", encoding="utf-8")
    done = CliRunner().invoke(app, ["eval", "extract", "--backend", "offline", "--gold", str(gold),
                                    "--out", str(tmp_path / "r.json")])
    assert isinstance(done.exception, InputError)
    assert str(done.exception).startswith(f"{gold}:2: entity 'pulmonary mass' at 19:34 does not match")
