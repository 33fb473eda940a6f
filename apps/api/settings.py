"""The API's own settings, from the environment (Neo4j's come from graph.settings)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from graph.errors import ConfigError


@dataclass(frozen=True)
class ApiSettings:
    api_keys: frozenset[str] = frozenset()  # keys accepted in X-API-Key on write endpoints; none: writes refused
    cors_origins: tuple[str, ...] = ()  # origins allowed to call from a browser; none: CORS off
    max_body_bytes: int = 2 * 1024 * 1024  # larger request bodies get 413
    query_timeout_s: float = 30.0  # a library query running longer is stopped (504)

    @classmethod
    def from_env(cls) -> ApiSettings:
        """BIOS_API_KEYS and BIOS_CORS_ORIGINS (comma-separated), BIOS_MAX_BODY_BYTES, BIOS_QUERY_TIMEOUT_S."""
        max_body = int(_number("BIOS_MAX_BODY_BYTES", int, cls.max_body_bytes))
        timeout = _number("BIOS_QUERY_TIMEOUT_S", float, cls.query_timeout_s)
        return cls(frozenset(_list("BIOS_API_KEYS")), tuple(_list("BIOS_CORS_ORIGINS")), max_body, timeout)


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
