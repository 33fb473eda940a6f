"""Opening a driver and checking that the server answers."""

from __future__ import annotations

from neo4j import Driver, GraphDatabase
from neo4j.exceptions import AuthError, ServiceUnavailable

from bios_kg.graph.errors import GraphError
from bios_kg.graph.settings import Neo4jSettings, connection_settings


def open_driver(settings: Neo4jSettings | None = None, check: bool = True) -> Driver:
    """A driver for `settings` (default: the environment's); raises GraphError if unreachable."""
    settings = connection_settings(settings)
    driver = GraphDatabase.driver(settings.uri, auth=settings.auth, notifications_min_severity="OFF")
    if check:
        try:
            driver.verify_connectivity()
        except (ServiceUnavailable, OSError) as exc:
            driver.close()
            raise GraphError(
                f"Neo4j is not reachable at {settings.uri} ({exc.__class__.__name__}); "
                "start the local one with `bios neo4j start` or set NEO4J_URI"
            ) from exc
        except AuthError as exc:
            driver.close()
            raise GraphError(f"Neo4j at {settings.uri} refused the credentials: {exc.message}") from exc
    return driver
