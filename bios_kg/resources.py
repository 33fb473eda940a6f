"""Files shipped inside the package (the schema, the query library, the Neo4j runner's pom, the browser page),
found through importlib.resources so that they are there in a wheel install as in a checkout."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def package_path(package: str, *parts: str) -> Path:
    """The file-system path of a resource of `package` (wheels and checkouts install as plain folders)."""
    return Path(str(files(package).joinpath(*parts)))


SCHEMA_FILE = package_path("bios_kg.cypher", "schema.cypher")
LIBRARY_DIR = package_path("bios_kg.cypher", "library")
RUNNER_POM = package_path("bios_kg.neo4j_runner", "pom.xml")
WEB_DIR = package_path("bios_kg.apps", "web")
