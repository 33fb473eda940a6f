"""The settings object: every documented variable reaches its field, bad values are named, groups set in code ignore
the environment, docs/settings.md is current, and no module but graph/settings.py reads the environment."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from bios_kg.graph.errors import ConfigError
from bios_kg.graph.settings import (
    ApiSettings,
    BiosSettings,
    DataSettings,
    LlmSettings,
    check_local_target,
    connection_settings,
    data_home,
    load_settings,
    settings_for_run,
    settings_markdown,
)

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_MODULE = ROOT / "graph" / "settings.py"
GROUPS = [item.annotation for item in BiosSettings.model_fields.values()]
VARIABLES = [group.variable(field) for group in GROUPS for field in group.model_fields]  # type: ignore[union-attr]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BIOS_HOME", str(tmp_path / "home"))


def test_every_variable_reaches_its_field(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    values = {"NEO4J_URI": "neo4j+s://graph.example:7687", "NEO4J_USERNAME": "reader", "NEO4J_PASSWORD": "pw",
              "NEO4J_DATABASE": "bios", "BIOS_NEO4J_VERSION": "5.26.1", "BIOS_APOC_VERSION": "5.26.2",
              "BIOS_NEO4J_BROWSER_VERSION": "5.24.1", "BIOS_API_KEYS": " k1, k2 ,", "BIOS_CORS_ORIGINS":
              "http://a.example,http://b.example", "BIOS_MAX_BODY_BYTES": "1024", "BIOS_QUERY_TIMEOUT_S": "1.5",
              "BIOS_REQUEST_TIMEOUT_S": "2", "BIOS_BODY_TIMEOUT_S": "3", "BIOS_SHUTDOWN_TIMEOUT_S": "4",
              "BIOS_RETRIEVE_INDEX": "~/index", "BIOS_VQA_MODEL": str(tmp_path / "vqa"), "BIOS_LLM_BACKEND": "openai",
              "BIOS_LLM_BASE_URL": "http://127.0.0.1:9/v1", "BIOS_LLM_MODEL": "m", "BIOS_LLM_API_KEY": "secret",
              "BIOS_LLM_TIMEOUT": "20", "BIOS_LLM_ENDPOINT": "chat", "BIOS_ONNX_DIR": str(tmp_path / "onnx"),
              "BIOS_ONNX_THREADS": "2", "BIOS_REALWORLD": str(tmp_path)}
    assert set(values) | {"BIOS_HOME"} == set(VARIABLES)  # a new field gets a line here
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.data.home == (tmp_path / "home").resolve() and settings.data.realworld_dir() == tmp_path
    assert settings.connection is settings.neo4j and settings.neo4j.auth == ("reader", "pw")
    assert (settings.neo4j.uri, settings.neo4j.database) == ("neo4j+s://graph.example:7687", "bios")
    assert settings.runner.model_dump() == {"neo4j_version": "5.26.1", "apoc_version": "5.26.2",
                                            "neo4j_browser_version": "5.24.1"}
    api = settings.api
    assert api.api_keys == {"k1", "k2"} and api.cors_origins == ("http://a.example", "http://b.example")
    assert (api.max_body_bytes, api.query_timeout_s, api.request_timeout_s, api.body_timeout_s,
            api.shutdown_timeout_s) == (1024, 1.5, 2.0, 3.0, 4.0)
    assert api.retrieve_index == Path.home() / "index" and api.vqa_model == tmp_path / "vqa"
    assert settings.llm.configured and settings.llm.options() == {
        "base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "secret", "timeout": 20.0, "endpoint": "chat"}
    assert settings.onnx_dir == tmp_path / "onnx" and settings.onnx.threads == 2


def test_defaults_and_the_local_instance_uri(tmp_path: Path) -> None:
    settings = load_settings()
    assert settings.neo4j.uri == "" and settings.neo4j.auth is None and not settings.llm.configured
    assert settings.connection.uri == "bolt://127.0.0.1:7687"  # no instance recorded yet
    state = tmp_path / "home" / "neo4j" / "instances" / "default" / "run" / "neo4j.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"uri": "bolt://127.0.0.1:7999"}))
    assert connection_settings().uri == "bolt://127.0.0.1:7999"
    assert settings.onnx_dir == tmp_path / "home" / "onnx" and settings.api.api_keys == frozenset()


def test_bad_values_name_their_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOS_MAX_BODY_BYTES", "lots")
    monkeypatch.setenv("BIOS_QUERY_TIMEOUT_S", "-1")
    monkeypatch.setenv("BIOS_ONNX_THREADS", "-2")
    with pytest.raises(ConfigError) as error:
        load_settings()
    message = str(error.value)
    assert "BIOS_MAX_BODY_BYTES: " in message and "'lots'" in message
    assert "BIOS_QUERY_TIMEOUT_S: Input should be greater than 0 (got '-1')" in message
    assert "BIOS_ONNX_THREADS: " in message


def test_groups_set_in_code_ignore_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOS_API_KEYS", "from-env")
    monkeypatch.setenv("BIOS_LLM_BASE_URL", "http://127.0.0.1:9/v1")
    settings = BiosSettings(api=ApiSettings(max_body_bytes=5), llm=LlmSettings())
    assert settings.api.api_keys == frozenset() and settings.api.max_body_bytes == 5 and not settings.llm.configured
    assert ApiSettings().api_keys == frozenset() and load_settings().api.api_keys == {"from-env"}


def test_a_run_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with settings_for_run(load_settings()) as fixed:
        monkeypatch.setenv("BIOS_HOME", str(tmp_path / "later"))
        assert load_settings() is fixed and data_home() == (tmp_path / "home").resolve()
    assert data_home() == (tmp_path / "later").resolve()


def test_the_cli_refuses_a_bad_variable_before_any_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bios_kg.apps.cli import app

    monkeypatch.setenv("BIOS_REQUEST_TIMEOUT_S", "soon")
    result = CliRunner().invoke(app, ["neo4j", "status"])
    assert isinstance(result.exception, ConfigError) and "BIOS_REQUEST_TIMEOUT_S" in str(result.exception)


def test_missing_evaluation_folder_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"not at {tmp_path / 'absent'}: set BIOS_REALWORLD"):
        DataSettings(realworld=tmp_path / "absent").realworld_dir()


def test_bulk_target_must_be_the_local_instance(tmp_path: Path) -> None:
    check_local_target(tmp_path, None)
    check_local_target(tmp_path, "bolt://localhost:7687")  # the default port of an instance not started yet
    with pytest.raises(ConfigError, match="NEO4J_URI is bolt://db.example:7687, not the local instance"):
        check_local_target(tmp_path, "bolt://db.example:7687")


def test_docs_list_every_variable() -> None:
    page = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert page == settings_markdown(), "docs/settings.md is stale: regenerate it (the command is on the page)"


READS = {"environ", "environb", "getenv", "putenv", "unsetenv"}


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines of `os.environ`-like attributes and of `from os import environ`-like imports."""
    return sorted(node.lineno for node in ast.walk(tree)
                  if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                      and node.attr in READS)
                  or (isinstance(node, ast.ImportFrom) and node.module == "os"
                      and any(alias.name in READS for alias in node.names)))


def test_only_the_settings_module_reads_the_environment() -> None:
    found = [f"{path.relative_to(ROOT)}:{line}" for folder in ("graph", "ingest", "embed", "apps")
             for path in sorted((ROOT / folder).rglob("*.py")) if path != SETTINGS_MODULE
             for line in _environment_reads(ast.parse(path.read_text(encoding="utf-8"), str(path)))]
    assert not found, f"environment read outside graph/settings.py (add a setting instead): {found}"


def test_the_check_sees_reads_but_not_comments() -> None:
    source = "import os\nfrom os import getenv\n# os.environ in a comment\nx = os.environ.get('A')\n'os.getenv'\n"
    assert _environment_reads(ast.parse(source)) == [2, 4]
