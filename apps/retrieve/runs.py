"""Retrieval runs made by any system, read and written in the forms evaluators take.

Formats (`read_run` detects them from the first character: `{` is JSON, anything else TREC):
- `trec`: one line per hit, `qid Q0 docid rank score tag` (whitespace-separated, as trec_eval reads it). The rank
  column is ignored, as trec_eval does: hits are ordered by score, ties by document id descending (trec_eval's
  order), so the order of lines does not matter;
- `json`: `{qid: {doc: score}}`, the form PMC-Patients' evaluation script and BEIR take; the order of the
  documents in the file is kept for tied scores (Python's stable sort, which BEIR's MRR uses);
- `json` ranked lists: `{qid: [doc, …]}`, best first; scores n, n-1, …, 1 are attached so the order is kept.

A run is `{qid: [(doc, score), …]}` in the order given (file order or a search engine's ranking); `ranking`
turns it into document ids best first (stable sort by score, descending). A document listed twice for a query is
an error naming the file and line.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Literal, get_args

from bios_kg.graph.errors import InputError, ParameterError

RunFormat = Literal["trec", "json"]
RUN_FORMATS: tuple[str, ...] = get_args(RunFormat)
Entries = list[tuple[str, float]]
Run = dict[str, Entries]


def ranking(entries: Sequence[tuple[str, float]]) -> list[str]:
    """Document ids best first: score descending, ties in the given order."""
    return [doc for doc, _ in sorted(entries, key=lambda entry: -entry[1])]


def trec_order(entries: Iterable[tuple[str, float]]) -> Entries:
    """trec_eval's order (pytrec_eval's too): score descending, ties by document id descending."""
    return sorted(entries, key=lambda entry: (entry[1], entry[0]), reverse=True)


def read_run(path: Path) -> Run:
    """A run file in one of the formats of the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), None, "no such run file")
    with path.open(encoding="utf-8") as handle:
        head = handle.read(4096).lstrip()
    if not head:
        raise InputError(str(path), None, "empty run file")
    return _read_json(path) if head.startswith("{") else _read_trec(path)


def _read_trec(path: Path) -> Run:
    run: Run = {}
    seen: dict[str, set[str]] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise InputError(str(path), number, f"expected 6 columns 'qid Q0 docid rank score tag' "
                                                    f"(TREC run), got {len(parts)}")
            qid, _, doc, _, score, _ = parts
            value = _score(score, path, number)
            if doc in seen.setdefault(qid, set()):
                raise InputError(str(path), number, f"document {doc!r} listed twice for query {qid!r}")
            seen[qid].add(doc)
            run.setdefault(qid, []).append((doc, value))
    return {qid: trec_order(entries) for qid, entries in run.items()}


def _score(text: object, path: Path, line: int | None) -> float:
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(str(path), line, f"score {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(str(path), line, f"score {text!r} is not finite")
    return value


def _read_json(path: Path) -> Run:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)
    except ValueError as error:
        line = getattr(error, "lineno", None)
        raise InputError(str(path), line, f"not a JSON run ({error})") from None
    if not isinstance(data, dict):
        raise InputError(str(path), None, "expected {qid: {doc: score}} or {qid: [doc, …]}")
    run: Run = {}
    for qid, hits in data.items():
        if isinstance(hits, dict):
            run[qid] = [(str(doc), _score(score, path, None)) for doc, score in hits.items()]
        elif isinstance(hits, list) and all(isinstance(doc, str | int) for doc in hits):
            docs = [str(doc) for doc in hits]
            if len(set(docs)) != len(docs):
                raise InputError(str(path), None, f"query {qid!r}: a document is listed twice")
            run[qid] = [(doc, float(len(docs) - i)) for i, doc in enumerate(docs)]
        else:
            raise InputError(str(path), None, f"query {qid!r}: expected {{doc: score}} or a list of document ids")
    return run


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        twice = sorted({key for key in keys if keys.count(key) > 1})
        raise ValueError(f"key listed twice: {twice[:3]}")
    return dict(pairs)


def write_run(run: Mapping[str, Sequence[tuple[str, float]]], path: Path, fmt: RunFormat = "json",
              tag: str = "bios") -> Path:
    """Write `run` (entries best first) as TREC lines (rank from 1 in the given order) or as
    {qid: {doc: score}} JSON (documents in the given order)."""
    if fmt not in RUN_FORMATS:
        raise ParameterError("run_format", f"{fmt!r} is not one of {', '.join(RUN_FORMATS)}")
    if fmt == "trec" and (not tag or any(ch.isspace() for ch in tag)):
        raise ParameterError("tag", f"{tag!r}: a TREC run tag is one word")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        if fmt == "json":
            json.dump({qid: dict(entries) for qid, entries in run.items()}, handle, ensure_ascii=False)
            handle.write("\n")
        else:
            for qid, entries in run.items():
                _check_trec_id(qid, "query")
                for rank, (doc, score) in enumerate(entries, 1):
                    _check_trec_id(doc, "document")
                    handle.write(f"{qid} Q0 {doc} {rank} {score!r} {tag}\n")
    temporary.replace(path)
    return path


def _check_trec_id(value: str, what: str) -> None:
    if not value or any(ch.isspace() for ch in value):
        raise ParameterError("run_format", f"{what} id {value!r} contains whitespace: write the run as json")
