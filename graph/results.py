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


def process_memory_mib(pid: int | str = "self") -> dict[str, float]:
    """A process's resident (VmRSS) and peak resident (VmHWM) memory in MiB, from Linux /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mib": fields["VmRSS"], "peak_rss_mib": fields["VmHWM"]}
