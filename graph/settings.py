"""Where things live and how to reach the graph: the data home and the Neo4j connection settings.

Connection settings use the names of the Neo4j ecosystem: NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD,
NEO4J_DATABASE. Without NEO4J_URI the local runner's instance is used (its recorded Bolt port).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bios_kg.graph.errors import ConfigError

DEFAULT_BOLT_PORT = 7687
DEFAULT_HTTP_PORT = 7474


def data_home() -> Path:
    """Root of everything the project downloads or stores: BIOS_HOME, default ~/.bios-kg."""
    return Path(os.environ.get("BIOS_HOME", Path.home() / ".bios-kg")).expanduser().resolve()


def default_instance_home() -> Path:
    return data_home() / "neo4j" / "instances" / "default"


@dataclass(frozen=True)
class Neo4jSettings:
    uri: str
    username: str | None
    password: str | None
    database: str

    @classmethod
    def from_env(cls) -> Neo4jSettings:
        uri = os.environ.get("NEO4J_URI") or local_instance_uri(default_instance_home())
        password = os.environ.get("NEO4J_PASSWORD") or None
        return cls(
            uri=uri,
            username=os.environ.get("NEO4J_USERNAME", "neo4j") if password else None,
            password=password,
            database=os.environ.get("NEO4J_DATABASE", "neo4j"),
        )

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.username or "neo4j", self.password) if self.password else None


def local_instance_uri(home: Path) -> str:
    """The Bolt URI recorded by the runner for the instance at `home`, else the default port."""
    state = home / "run" / "neo4j.json"
    if state.exists():
        return str(json.loads(state.read_text())["uri"])
    return f"bolt://127.0.0.1:{DEFAULT_BOLT_PORT}"


def _address(uri: str) -> tuple[str, int]:
    parts = urlsplit(uri)
    host = parts.hostname or ""
    return ("127.0.0.1" if host in ("localhost", "::1") else host), parts.port or DEFAULT_BOLT_PORT


def check_local_target(home: Path) -> None:
    """Work that writes a database's files (the bulk path: neo4j-admin import) needs the runner's instance at
    `home` on this machine. Raise ConfigError when NEO4J_URI names another server: one reached only by URI (a
    remote server, a cluster, Aura) is loaded through transactions instead."""
    uri = os.environ.get("NEO4J_URI")
    local = local_instance_uri(home)
    if uri and _address(uri) != _address(local):
        raise ConfigError(
            f"NEO4J_URI is {uri}, not the local instance at {home} ({local}): the bulk path imports files into a "
            "database on this machine with neo4j-admin, which a server reached only by URI does not allow. Load it "
            "without --bulk (transactional loads work against any server), or run the bulk load on the server's "
            "own machine with --home pointing at its instance")
