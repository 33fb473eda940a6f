"""The relation vocabulary and the rules that turn source relation names into relationship types.

Relationship types are never taken from user text as they are: a name is mapped to its canonical
type (reverse and inverse names fold onto the forward type with head and tail swapped) and the result
must match RELATIONSHIP_TYPE_PATTERN before any query uses it.
"""

from __future__ import annotations

import re

from bios_kg.graph.errors import ConfigError

RELATIONSHIP_TYPE_PATTERN = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
# Types the store uses for its own structure; a source relation may not take these names.
STRUCTURAL_TYPES = frozenset({"HAS_TERM", "HAS_TYPE", "MENTIONS", "SUGGESTED", "XREF"})

# Forward name -> inverse name, for pairs whose inverse is not spelled `reverse_<name>`.
# The forward member is the one BIOS lists first (odd RELID), the same as the vocabulary's canonical type.
NAMED_INVERSES: dict[str, str] = {
    "expressed_in": "is_expression_of",
    "encodes": "encoded_by",
    "involved_in_biological_process": "biological_process_involves",
    "is_active_ingredient_in": "has_active_ingredient",
    "part_of": "has_part",
    "is_part_of": "has_part",
    "may_treat": "may_be_treated_by",
    "may_cause": "may_be_caused_by",
    "isa": "inverse_isa",
    "broader": "narrower",
}
_INVERSE_TO_FORWARD = {inv: fwd for fwd, inv in NAMED_INVERSES.items()}
# Synonymous spellings of one canonical type.
ALIASES: dict[str, str] = {"isa": "is_a", "is_part_of": "part_of", "subclass_of": "is_a"}
SYMMETRIC = frozenset({"significant_drug_interaction", "related_to"})


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def canonical_relation(name: str) -> tuple[str, bool]:
    """Map a source relation name to (RELATIONSHIP_TYPE, swapped).

    `swapped` is True when the name is an inverse (`reverse_is_a`, `encoded_by`, `inverse_isa`):
    the relation is stored as the forward type with head and tail exchanged.
    """
    snake = _snake(name)
    swapped = False
    for prefix in ("reverse_", "inverse_"):
        if snake.startswith(prefix) and snake not in _INVERSE_TO_FORWARD:
            snake, swapped = snake[len(prefix) :], True
            break
    if snake in _INVERSE_TO_FORWARD:
        snake, swapped = _INVERSE_TO_FORWARD[snake], not swapped
    snake = ALIASES.get(snake, snake)
    return validate_relationship_type(snake.upper()), swapped


def validate_relationship_type(rel_type: str) -> str:
    """Return `rel_type` if it may be used as a relationship type in Cypher, else raise ConfigError."""
    if not RELATIONSHIP_TYPE_PATTERN.match(rel_type) or rel_type in STRUCTURAL_TYPES:
        raise ConfigError(f"invalid relationship type {rel_type!r}: expected an upper-case name like IS_A")
    return rel_type


def inverse_name(name: str) -> str | None:
    """The inverse's name for a forward relation name, or None when the relation is symmetric."""
    snake = ALIASES.get(_snake(name), _snake(name))
    if snake in SYMMETRIC:
        return None
    return NAMED_INVERSES.get(snake, f"reverse_{snake}")
