"""CURIEs: identifiers as `PREFIX:local`, with the prefix spellings of different sources folded.

Sources spell one namespace several ways (HPO writes `SNOMEDCT_US:`, `MSH:`, `ICD-10:`); a
cross-reference joins two concepts only when both sides use the same spelling, so every id that
enters the graph goes through `normalize_curie`.
"""

from __future__ import annotations

import re
from pathlib import Path

from bios_kg.graph.errors import InputError

# Source spelling (upper-cased) -> canonical prefix.
PREFIX_ALIASES: dict[str, str] = {
    "ICD-10": "ICD10",
    "ICD10WHO": "ICD10",
    "ICD-10-CM": "ICD10CM",
    "ICD-9": "ICD9",
    "ICD-O": "ICDO",
    "SNOMEDCT_US": "SNOMEDCT",
    "SNOMED_CT": "SNOMEDCT",
    "SNOMED": "SNOMEDCT",
    "SCTID": "SNOMEDCT",
    "MSH": "MESH",
    "MEDDRA": "MEDDRA",
    "ORPHANET": "ORPHA",
    "NCBIGENE": "NCBIGene",
    "ENTREZ": "NCBIGene",
    "UMLS_CUI": "UMLS",
}
# Canonical prefixes whose case is not all upper.
MIXED_CASE = {"NCBIGENE": "NCBIGene"}

_CURIE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.-]*)\s*:\s*(\S(?:.*\S)?)\s*$")


def normalize_curie(text: str) -> str:
    """`PREFIX:local` with the canonical prefix; raises ValueError for text that is not a CURIE."""
    match = _CURIE.match(text)
    if not match:
        raise ValueError(f"not a CURIE (expected PREFIX:id): {text!r}")
    prefix, local = match.group(1).upper(), match.group(2)
    prefix = PREFIX_ALIASES.get(prefix, MIXED_CASE.get(prefix, prefix))
    if " " in local:
        raise ValueError(f"not a CURIE (space in the local id): {text!r}")
    return f"{prefix}:{local}"


def prefix_of(curie: str) -> str:
    return curie.split(":", 1)[0]


def read_concept_ids(path: Path) -> set[str]:
    """A file of concept ids, one per line (blank lines ignored), as `bios eval held-out` writes."""
    try:
        return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(str(path), None, f"cannot read concept ids ({error})") from error
