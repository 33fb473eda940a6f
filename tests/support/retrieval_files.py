"""Small benchmark folders in the released layouts of CliniQ and PMC-Patients (ReCDS)."""

from __future__ import annotations

import json
from pathlib import Path


def write_jsonl(path: Path, rows: list[dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def recds_folder(root: Path) -> Path:
    write_jsonl(root / "queries" / "test_queries.jsonl", [
        {"_id": "123-1", "text": "A 45-year-old man with chest pain."}, {"_id": "9-1", "text": "unjudged"}])
    write_jsonl(root / "PPR" / "corpus.jsonl", [{"_id": "77-1", "title": "", "text": "A man with angina."},
                                                {"_id": "78-2", "title": "", "text": "A child with fever."}])
    (root / "PPR" / "qrels_test.tsv").write_text("query-id\tcorpus-id\tscore\n123-1\t77-1\t1\n123-1\t78-2\t2\n")
    return root
