"""A bounded schemathesis run against the served API: every response must match the OpenAPI document.

The API runs in uvicorn on loopback over the real sample graph (exact + full-text normalization, the extractor
opened by a first request before the run); `st run` (schemathesis, fixed seed) goes through its examples, coverage
and fuzzing phases over every operation. Checks: no 500, status codes, content types, response schemas and headers
documented; data the schema forbids refused; unsupported methods answered 405 with Allow. Not checked: that every
schema-valid request succeeds (`positive_data_acceptance`), since the server refuses some schema-valid values on
grounds a schema cannot state (an unknown language code, repeated note ids, a parameter a library query does not
have), each with a documented problem status. 503 (no retrieval index or VQA model configured) and 504 (a graph
search past its time limit) are documented answers, not server errors.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bios_kg.apps.api.app import create_app
from bios_kg.graph.settings import ApiSettings, Neo4jSettings
from tests.support.http import served

pytestmark = pytest.mark.integration

SEED = 17
EXAMPLES_PER_OPERATION = 5
CONFIG = """
[checks.not_a_server_error]
expected-statuses = ["1XX", "2XX", "3XX", "4XX", "503", "504"]

[checks.positive_data_acceptance]
enabled = false
"""


@pytest.fixture(scope="module")
def api_url(sample_settings: Neo4jSettings) -> Iterator[str]:
    app = create_app(sample_settings, ApiSettings(request_timeout_s=20), vector=False)
    with served(app) as url:
        first = {"notes": [{"id": "n1", "text": "No pleural effusion."}], "link": False}
        httpx.post(f"{url}/extract", json=first, timeout=600).raise_for_status()  # builds the extractor's dictionary
        yield url


@pytest.mark.skipif(shutil.which("st") is None, reason="needs schemathesis (pip install -e '.[dev]')")
def test_the_api_matches_its_openapi_under_fuzzing(api_url: str, tmp_path: Path) -> None:
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    command = ["st", "--config-file", str(config), "run", f"{api_url}/openapi.json", "--seed", str(SEED),
               "--phases", "examples,coverage,fuzzing", "--max-examples", str(EXAMPLES_PER_OPERATION),
               "--generation-database", "none", "--request-timeout", "60", "--no-color"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=900, cwd=tmp_path)
    failures = run.stdout[run.stdout.find("FAILURES"):] if "FAILURES" in run.stdout else run.stdout[-12000:]
    assert run.returncode == 0, failures[:12000] + run.stderr[-2000:]
