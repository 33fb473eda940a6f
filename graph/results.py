"""Result files of evaluations and benchmarks: the figures as JSON and their markdown table beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_results(result: dict[str, Any], out: Path, table: str) -> tuple[Path, Path]:
    """`result` as JSON at `out` and `table` as markdown at out.md; returns both paths."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    markdown = out.with_suffix(".md")
    markdown.write_text(table, encoding="utf-8")
    return out, markdown
