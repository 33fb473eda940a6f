"""The commands against a Neo4j reached only by URI: a second local server started as if it were remote, with
authentication on and a default database that is not `neo4j`, and a BIOS_HOME without any local instance.
Everything goes through NEO4J_URI / NEO4J_USERNAME / NEO4J_PASSWORD / NEO4J_DATABASE; the bulk path, which needs
the database's files, refuses and says what to do instead.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from neo4j import GraphDatabase

from bios_kg.graph.runtime import LocalNeo4j, ServerOptions, free_port
from tests.support.bios_files import write_bios_release
from tests.support.models import fixture_bert

pytestmark = pytest.mark.integration

PASSWORD = "remote-secret-42"
DATABASE = "bioskg"
BIOS = [sys.executable, "-c", "from bios_kg.apps.cli import main; main()"]


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment of a client whose only way to the graph is the URI."""
    root = tmp_path_factory.mktemp("remote")
    server = LocalNeo4j(root / "server")
    status = server.start(ServerOptions(bolt_port=free_port(), http=False, heap="512m", pagecache="256m",
                                        password=PASSWORD, database=DATABASE))
    assert status.uri is not None
    (root / "client-home").mkdir()
    env = {"PATH": os.environ["PATH"], "HOME": str(root), "BIOS_HOME": str(root / "client-home"),
           "NEO4J_URI": status.uri, "NEO4J_USERNAME": "neo4j", "NEO4J_PASSWORD": PASSWORD,
           "NEO4J_DATABASE": DATABASE, "COLUMNS": "200", "ROOT": str(root)}
    try:
        yield env
    finally:
        server.stop()


def bios(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*BIOS, *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=Path(__file__).resolve().parents[2])
    if ok:
        assert done.returncode == 0, done.stdout + done.stderr
    return done


def test_commands_work_against_a_server_reached_only_by_uri(remote: dict[str, str]) -> None:
    root = Path(remote["ROOT"])
    write_bios_release(root / "release")
    bios(remote, "graph", "init")
    loaded = json.loads(bios(remote, "ingest", "bios", str(root / "release"), "--json").stdout)
    assert loaded["rejected"] == 0

    with GraphDatabase.driver(remote["NEO4J_URI"], auth=("neo4j", PASSWORD)) as driver:
        names = {row["name"] for row in driver.execute_query("SHOW DATABASES YIELD name", database_="system").records}
        assert "neo4j" not in names  # so nothing could have gone to a database by the default name
        concepts = driver.execute_query("MATCH (c:Concept) RETURN count(c) AS n", database_=DATABASE).records[0]["n"]
    assert concepts == 12

    assert "12" in bios(remote, "graph", "stats").stdout
    hits = json.loads(bios(remote, "lookup", "heart attack", "--json").stdout)
    assert hits[0]["id"] == "BIOS:CN00000007"
    card = json.loads(bios(remote, "cypher", "run", "concept-card", "--param", "id=BIOS:CN00000007", "--json").stdout)
    assert card["rows"][0]["name"] == "Myocardial infarction"

    model = fixture_bert(root / "tiny-bert", 32, seed=1)
    embedded = bios(remote, "embed", "terms", "--model", str(model), "--device", "cpu", "--runtime", "torch")
    assert "terms" in embedded.stdout.lower()

    refused = bios(remote, "ingest", "bios", str(root / "release"), "--bulk", ok=False)
    assert refused.returncode != 0
    assert "not the local instance" in refused.stdout + refused.stderr and "without --bulk" in (
        refused.stdout + refused.stderr)


def test_api_serves_a_server_reached_only_by_uri(remote: dict[str, str]) -> None:
    port = free_port()
    server = subprocess.Popen([*BIOS, "serve", "--port", str(port), "--no-vector"],
                              env=remote, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[2])
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as api:  # a loaded CI machine
            deadline = time.monotonic() + 120
            while True:
                try:
                    if api.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.poll() is None and time.monotonic() < deadline, "the API did not start"
                time.sleep(0.5)
            search = api.get("/search", params={"q": "心肌梗死"}).json()
            assert search["hits"][0]["id"] == "BIOS:CN00000007"
            assert api.get("/concepts/BIOS:CN00000007").json()["names"]["en"] == "Myocardial infarction"
            around = api.get("/neighbourhood/BIOS:CN00000007").json()
            assert {"source": "BIOS:CN00000007", "type": "IS_A", "target": "BIOS:CN00000010"} in around["edges"]
    finally:
        server.terminate()
        server.wait(timeout=30)
