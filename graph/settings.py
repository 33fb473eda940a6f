"""Where things live and how to reach the graph: the data home and the Neo4j connection settings.

Connection settings use the names of the Neo4j ecosystem: NEO4J_URI, NEO4J_USERNAME, NEO4J_PASSWORD,
NEO4J_DATABASE. Without NEO4J_URI the local runner's instance is used (its recorded Bolt port).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

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
