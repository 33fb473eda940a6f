"""The extraction record (GENIE's 8 keys plus offsets and concept links) and the GENIE type map.

GENIE (docs/algorithms/genie.md §3) names entity types in its own vocabulary ("Sign, Symptom, or Finding", …); the
graph's concepts carry semantic types (UMLS_STY ids and names). TYPE_MAP relates them: GENIE type -> the graph semantic
types (ids or names, compared case-insensitively) consistent with it. It drives the offline extractor's types and
the linker's consistency check; `load_type_map` reads another one from a JSON file of the same shape. The order of
its keys is the priority when a term names concepts of several types equally often.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bios_kg.graph.errors import InputError

ATTRIBUTES = ("body_location", "modifier", "value", "unit", "purpose")
GENIE_KEYS = ("phrase", "semantic_type", "assertion_status", *ATTRIBUTES)
ASSERTIONS = ("present", "negated", "possible", "historical", "family")
ANATOMY = "Anatomical Structure"
LAB = "Laboratory or Test Result"
DRUG = "Chemical or Drug"

TypeMap = Mapping[str, tuple[str, ...]]

TYPE_MAP: TypeMap = {
    "Disease, Syndrome or Pathologic Function": (
        "Disease or Syndrome", "Pathologic Function", "Neoplastic Process", "Injury or Poisoning",
        "Congenital Abnormality", "Acquired Abnormality", "Anatomical Abnormality", "Mental or Behavioral Dysfunction",
        "Cell or Molecular Dysfunction", "Experimental Model of Disease", "Disease, Syndrome or Pathologic Function"),
    "Sign, Symptom, or Finding": ("Sign or Symptom", "Finding", "Sign, Symptom, or Finding"),
    DRUG: ("Pharmacologic Substance", "Clinical Drug", "Antibiotic", "Organic Chemical", "Inorganic Chemical",
           "Hormone", "Vitamin", "Immunologic Factor", "Biologically Active Substance", "Chemical or Drug"),
    "Therapeutic or Preventive Procedure": ("Therapeutic or Preventive Procedure",),
    "Diagnostic Procedure": ("Diagnostic Procedure",),
    LAB: ("Laboratory or Test Result", "Laboratory Procedure", "Clinical Attribute"),
    "Medical Device": ("Medical Device",),
    ANATOMY: ("Body Part, Organ, or Organ Component", "Anatomical Structure", "Body Location or Region",
              "Body Space or Junction", "Body System", "Tissue", "Anatomy"),
    "Organism": ("Organism", "Bacterium", "Virus", "Fungus", "Eukaryote"),
}

# Attributes that apply to a GENIE type (docs/algorithms/genie.md §3.2, inferred from examples); the others are
# "not applicable" unless an extractor found a value for them. Types not listed take every attribute.
APPLICABLE: Mapping[str, frozenset[str]] = {
    DRUG: frozenset({"value", "unit", "purpose"}),
    "Disease, Syndrome or Pathologic Function": frozenset({"body_location", "modifier"}),
    "Sign, Symptom, or Finding": frozenset({"body_location", "modifier"}),
    "Therapeutic or Preventive Procedure": frozenset({"body_location", "purpose"}),
    "Diagnostic Procedure": frozenset({"body_location", "purpose"}),
    LAB: frozenset({"value", "unit"}),
}


def load_type_map(path: Path) -> TypeMap:
    """A type map from JSON: {"GENIE type": ["graph semantic type id or name", ...], ...}."""
    if not path.is_file():
        raise InputError(str(path), None, "no such file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(str(path), None, f"not JSON ({exc})") from None
    if not isinstance(data, dict) or not data:
        raise InputError(str(path), None, "expected an object: GENIE type -> list of graph semantic types")
    for key, value in data.items():
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
            raise InputError(str(path), None, f"{key!r}: expected a non-empty list of semantic type ids or names")
    return {key: tuple(value) for key, value in data.items()}


def not_applicable(semantic_type: str | None, found: Mapping[str, Any]) -> tuple[str, ...]:
    """The attributes that do not apply to `semantic_type`, less those with a value in `found`."""
    applicable = APPLICABLE.get(semantic_type or "")
    if applicable is None:
        return ()
    return tuple(name for name in ATTRIBUTES if name not in applicable and found.get(name) is None)


@dataclass
class Entity:
    """One entity mention. Offsets are character offsets into the note (end exclusive); None when a generated
    phrase could not be found in the text. `not_applicable` lists the attributes that do not apply to the entity
    (GENIE's "not applicable"; an attribute that applies but is absent is just None)."""

    phrase: str
    start: int | None
    end: int | None
    semantic_type: str | None
    assertion_status: str | None
    body_location: str | None = None
    modifier: str | None = None
    value: float | str | None = None
    unit: str | None = None
    purpose: str | None = None
    concept_id: str | None = None
    concept_name: str | None = None
    body_location_concept_id: str | None = None
    not_applicable: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["not_applicable"] = list(self.not_applicable)
        return record

    def genie(self) -> dict[str, str]:
        """The entity in GENIE's output form (docs/algorithms/genie.md §3): every value a string, empty ones
        "null" or "not applicable"."""
        out = {"phrase": self.phrase, "semantic_type": self.semantic_type or "null",
               "assertion_status": self.assertion_status or "null"}
        for name in ATTRIBUTES:
            value = getattr(self, name)
            if value is None:
                out[name] = "not applicable" if name in self.not_applicable else "null"
            elif isinstance(value, float):
                out[name] = f"{value:g}"
            else:
                out[name] = str(value)
        return out


@dataclass
class Extraction:
    """What an extractor found in one text: its entities, and the problems met on the way (GENIE objects that
    failed validation, phrases not found in the text), each a dict with a `problem` and what it concerns."""

    entities: list[Entity]
    problems: list[dict[str, Any]] = field(default_factory=list)
