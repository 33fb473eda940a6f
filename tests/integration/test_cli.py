"""The `bios` command in-process against the test graph: ingest, stats, errors as one line + exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore
from tests.support.bios_files import write_bios_release
from tests.support.reader_samples import cmekg_clean, rdf_clean

pytestmark = pytest.mark.integration


def bios(*args: str, env_uri: str) -> subprocess.CompletedProcess[str]:
    env = {"NEO4J_URI": env_uri, "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-c", "from bios_kg.apps.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=300)


def test_ingest_stats_and_errors(graph_env: GraphStore, neo4j_uri: str, tmp_path: Path) -> None:
    expected = write_bios_release(tmp_path / "release")
    done = bios("ingest", "bios", str(tmp_path / "release"), "--json", env_uri=neo4j_uri)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["records"]["TermRecord"] == expected["term_rows"]

    stats = bios("graph", "stats", "--json", env_uri=neo4j_uri)
    assert stats.returncode == 0, stats.stderr
    counts = json.loads(stats.stdout)
    assert counts["labels"]["Concept"] == expected["concepts"]
    assert counts["by_source"]["BIOS"]["rel:HAS_TERM"] == expected["has_term"]

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "ConceptTerms.txt").write_text("CN1|S1|Fever|ENG|PT\n|S2|Cough|ENG|PT\n", encoding="utf-8")
    failed = bios("ingest", "bios", str(bad), env_uri=neo4j_uri)
    assert failed.returncode == 2
    assert f"{bad / 'ConceptTerms.txt'}:2:" in " ".join(failed.stderr.split())


def test_unreachable_graph_is_a_clear_error() -> None:
    done = bios("graph", "stats", env_uri="bolt://127.0.0.1:1")
    assert done.returncode == 2
    assert "not reachable at bolt://127.0.0.1:1" in " ".join(done.stderr.split())


def test_lookup_over_the_sample_graph(sample_settings: Neo4jSettings) -> None:
    found = bios("lookup", "癫痫", "--json", "--limit", "3", env_uri=sample_settings.uri)
    assert found.returncode == 0, found.stderr
    assert {"CMEKG:癫痫", "ICD10:G40"} <= {hit["id"] for hit in json.loads(found.stdout)}
    table = bios("lookup", "seizure", env_uri=sample_settings.uri)
    assert table.returncode == 0 and "HP:0001250" in table.stdout
    bad = bios("lookup", "seizure", "--lang", "xx", env_uri=sample_settings.uri)
    assert (bad.returncode, bad.stderr.strip()) == (2, "error: lang: unknown language code 'xx' (expected a language "
                                                       "code, e.g. en, zh, se)")


def test_export_skos_of_one_source(sample_settings: Neo4jSettings, tmp_path: Path) -> None:
    out = tmp_path / "icd10.ttl"
    done = bios("export", "skos", "--out", str(out), "--source", "ICD10", "--json", env_uri=sample_settings.uri)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["concepts"] == 14700
    text = out.read_text(encoding="utf-8")
    assert '"癫癎[癫痫]"@zh' in text and '"癫痫"@zh' in text and "ICD10:G40 a skos:Concept" in text
    missing = bios("export", "skos", "--out", str(out), "--source", "NOPE", env_uri=sample_settings.uri)
    assert missing.returncode == 2 and "NOPE" in missing.stderr


def test_generated_ingest_commands_pass_reader_options(graph_env: GraphStore, neo4j_uri: str, tmp_path: Path) -> None:
    turtle = rdf_clean(tmp_path)
    done = bios("ingest", "rdf", str(turtle), "--prefix", "TST=http://example.org/tst/", "--source-id", "TST",
                "--version", "v1", "--json", env_uri=neo4j_uri)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["source"] == "TST" and json.loads(done.stdout)["version"] == "v1"
    found = bios("lookup", "Valve", "--json", env_uri=neo4j_uri)
    assert found.returncode == 0 and "TST:2" in {hit["id"] for hit in json.loads(found.stdout)}  # --prefix: CURIEs

    bad_pair = bios("ingest", "rdf", str(turtle), "--prefix", "TST", env_uri=neo4j_uri)
    assert bad_pair.returncode == 2 and "--prefix must be KEY=VALUE, not 'TST'" in " ".join(bad_pair.stderr.split())
    bad_choice = bios("ingest", "cmekg", str(cmekg_clean(tmp_path)), "--predicates", "some", env_uri=neo4j_uri)
    assert bad_choice.returncode == 2 and "--predicates must be one of core, all" in " ".join(bad_choice.stderr.split())
    missing = bios("ingest", "obo", str(tmp_path / "none.obo"), env_uri=neo4j_uri)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def test_every_command_is_mounted_once() -> None:
    from typer.testing import CliRunner

    from bios_kg.apps.cli import COMMANDS, GROUPS, app

    paths = [path for path, _ in COMMANDS] + [name for name, _ in GROUPS]
    assert len(paths) == len(set(paths)) and len(app.registered_groups) == len(GROUPS)
    for path in ("eval normalize", "eval cluster", "eval extract", "eval retrieve", "eval held-out", "sample load",
                 "embed train-default", "cypher run", "types train", "lookup", "serve", "ingest obographs"):
        helped = CliRunner().invoke(app, [*path.split(), "--help"])
        assert helped.exit_code == 0, (path, helped.output)
