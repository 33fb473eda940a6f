"""Structuring clinical notes (docs/algorithms/genie.md): GENIE through an LLM backend or the offline dictionary + rules
extractor, one output schema, entities linked to concepts through the normalizer."""

from bios_kg.apps.extract.genie import GenieExtractor, chunk_spans, parse_genie_output
from bios_kg.apps.extract.link import Linker
from bios_kg.apps.extract.offline import OfflineExtractor
from bios_kg.apps.extract.pipeline import (
    Extractor,
    Note,
    NoteResult,
    distil_sft_pairs,
    extract_file,
    extract_notes,
    open_extractor,
    read_notes,
    write_mentions,
)
from bios_kg.apps.extract.records import TYPE_MAP, Entity, Extraction

__all__ = ["TYPE_MAP", "Entity", "Extraction", "Extractor", "GenieExtractor", "Linker", "Note", "NoteResult",
           "OfflineExtractor", "chunk_spans", "distil_sft_pairs", "extract_file", "extract_notes", "open_extractor",
           "parse_genie_output", "read_notes", "write_mentions"]
