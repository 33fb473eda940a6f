"""The generated BIOS release reads back cleanly with the counts it reports."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ingest.readers import Parsed, Rejected, get_reader
from ingest.synthetic import SyntheticSize, write_synthetic_bios_release


def test_synthetic_release_reads_back(tmp_path: Path) -> None:
    written = write_synthetic_bios_release(tmp_path, SyntheticSize(concepts=300, terms=800, relations=500))
    items = list(get_reader("bios")(tmp_path).read())
    assert not [item for item in items if isinstance(item, Rejected)]
    kinds = Counter(type(item.record).__name__ for item in items if isinstance(item, Parsed))
    assert kinds["TermRecord"] == written["concept_terms"] == 800
    assert kinds["Relation"] == written["relations"] == 500
    assert kinds["Definition"] == written["definitions"]
    assert {item.record.lang for item in items
            if isinstance(item, Parsed) and type(item.record).__name__ == "TermRecord"} == {"en", "zh"}
