"""An SSSOM mapping set loaded through `bios ingest sssom` into a real Neo4j: what the graph holds afterwards."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bios_kg.apps.cli import app
from bios_kg.graph.store import GraphStore
from tests.support.reader_samples import sssom_clean, sssom_damaged

pytestmark = pytest.mark.integration


def test_mappings_become_xrefs_relations_terms_and_provenance(tmp_path: Path, graph_env: GraphStore) -> None:
    result = CliRunner().invoke(app, ["ingest", "sssom", str(sssom_clean(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["rejected"] == 0 and report["relations_pending"] == 0
    store = graph_env
    assert store.scalar("MATCH (s:Source {id: 'TST-HP'}) RETURN [s.version, s.licence, s.url]") == [
        "2026-12-01", "https://creativecommons.org/publicdomain/zero/1.0/", "https://example.org/tst-hp.sssom.tsv"]
    assert store.count("MATCH (:Concept {id: 'TST:1'})-[:XREF]-(:Concept {id: 'HP:0001250'}) RETURN count(*)") >= 1
    assert store.scalar("MATCH (c:Concept {id: 'TST:1'}) RETURN c.xrefs") == ["HP:0001250"]
    assert store.scalar("MATCH (:Concept {id: 'TST:2'})-[r:BROADER]->(:Concept {id: 'HP:0001250'}) "
                        "RETURN r.confidence") == 0.8
    assert store.count("MATCH (:Concept {id: 'TST:3'})-[:RELATED_TO]->(:Concept {id: 'HP:0001250'}) "
                       "RETURN count(*)") == 1
    terms = store.run("MATCH (c:Concept)-[h:HAS_TERM]->(t:Term) RETURN c.id AS id, t.text AS text, t.lang AS lang, "
                      "c.name AS name ORDER BY id")
    assert {(row["id"], row["text"], row["lang"]) for row in terms} == {
        ("HP:0001250", "Seizures", "en"), ("TST:1", "Seizure", "en"), ("TST:2", "Focal seizure", "en"),
        ("TST:3", "Epilepsy", "en")}
    assert {row["id"]: row["name"] for row in terms}["HP:0001250"] == "Seizures"


def test_a_damaged_row_stops_the_cli_naming_file_and_line(tmp_path: Path, graph_env: GraphStore) -> None:
    """The installed `bios` command (graph_env points it at the test graph): one line, exit code 2, nothing stored."""
    damaged = sssom_damaged(tmp_path)
    result = subprocess.run(["bios", "ingest", "sssom", str(damaged.input)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 2, result.stderr
    assert f"{damaged.file}:{damaged.line}: expected 7 tab-separated columns, got 3" in result.stderr
    assert graph_env.count("MATCH (c:Concept) RETURN count(c)") == 0
