"""Fragments the statements of several features share (provenance lists, quoted names, asserted types)."""

from __future__ import annotations

# A node or edge lists every source that stated it.
_ADD_SOURCE = (
    "CASE WHEN $source IN coalesce({v}.sources, []) THEN {v}.sources ELSE coalesce({v}.sources, []) + $source END"
)


def add_source(var: str) -> str:
    return f"{var}.sources = {_ADD_SOURCE.format(v=var)}"


def escape_name(name: str) -> str:
    """A label or type read from the database itself, quoted for Cypher."""
    return "`" + name.replace("`", "``") + "`"


def asserted_type(h: str) -> str:
    """The HAS_TYPE edge `h` was stated by some source, not only predicted by a model (embed/semantic_types.py)."""
    return f"any(x IN coalesce({h}.sources, []) WHERE x <> coalesce({h}.model, ''))"


def sources_state() -> str:
    """A subquery giving `sources`: every loaded source as [id, version, loaded_at], in id order; part of the
    state that caches built from the graph (vector indexes, the extractor's dictionary) are keyed by."""
    return """CALL () {
  OPTIONAL MATCH (s:Source)
  WITH s ORDER BY s.id
  RETURN [x IN collect(s) | [x.id, x.version, toString(x.loaded_at)]] AS sources
}"""
