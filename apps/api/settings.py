"""The API's own settings, from the environment (Neo4j's come from bios_kg.graph.settings)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from bios_kg.graph.errors import ConfigError


@dataclass(frozen=True)
class ApiSettings:
    api_keys: frozenset[str] = frozenset()  # keys accepted in X-API-Key on write endpoints; none: writes refused
    cors_origins: tuple[str, ...] = ()  # origins allowed to call from a browser; none: CORS off
    max_body_bytes: int = 2 * 1024 * 1024  # larger request bodies get 413
    query_timeout_s: float = 30.0  # a library query running longer is stopped (504)
    request_timeout_s: float = 30.0  # work of one request (extraction, linking) stops past this (504)
    body_timeout_s: float = 10.0  # a request body not fully received within this is refused (408)
    shutdown_timeout_s: float = 10.0  # on shutdown, requests in flight get this long before they are cancelled

    @classmethod
    def from_env(cls) -> ApiSettings:
        """BIOS_API_KEYS and BIOS_CORS_ORIGINS (comma-separated), BIOS_MAX_BODY_BYTES, BIOS_QUERY_TIMEOUT_S,
        BIOS_REQUEST_TIMEOUT_S, BIOS_BODY_TIMEOUT_S, BIOS_SHUTDOWN_TIMEOUT_S."""
        max_body = int(_number("BIOS_MAX_BODY_BYTES", int, cls.max_body_bytes))
        timeouts = [_number(f"BIOS_{name.upper()}", float, getattr(cls, name))
                    for name in ("query_timeout_s", "request_timeout_s", "body_timeout_s", "shutdown_timeout_s")]
        return cls(frozenset(_list("BIOS_API_KEYS")), tuple(_list("BIOS_CORS_ORIGINS")), max_body, *timeouts)


def _list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _number(name: str, kind: type[int] | type[float], default: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {text!r}") from None
    if value <= 0:
        raise ConfigError(f"{name}: must be positive, got {text!r}")
    return value
