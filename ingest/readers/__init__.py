"""Readers by format name. Importing this package registers every built-in reader."""

from bios_kg.ingest.readers import bios, cmekg, hpoa, icd10, obo, obographs, rdf, sssom, umls  # noqa: F401  (registration)
from bios_kg.ingest.readers.base import (
    READERS,
    Input,
    Item,
    Option,
    Parsed,
    Rejected,
    SourceReader,
)

__all__ = ["READERS", "Input", "Item", "Option", "Parsed", "Rejected", "SourceReader"]
