"""JSON-lines input files (notes, corpora, queries, SFT pairs): one object per line, blank lines skipped."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bios_kg.graph.errors import InputError


def json_objects(path: Path, expected: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) per non-blank line; InputError naming the file and line of one that is not a JSON
    object (`expected` describes the object, e.g. '{"id", "text"}')."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), None, "no such file")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as error:
                raise InputError(str(path), number, f"not JSON ({error})") from None
            if not isinstance(row, dict):
                raise InputError(str(path), number, f"expected an object {expected}")
            yield number, row
