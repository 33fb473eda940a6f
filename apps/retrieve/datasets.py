"""Benchmark readers in the releases' exact formats: CliniQ and PMC-Patients ReCDS (BEIR). A folder in CliniQ's
format (what `bios retrieve build-benchmark` writes) reads the same way.

CliniQ folder: `corpus.jsonl` ({"_id": "<HADM>_<i>", "text"}; not shipped by CliniQ, built from MIMIC-III),
`queries_<type>.jsonl` ({"_id", "text"}) and `qrels_<type>.tsv` (no header: query_id, chunk_id, match_type) for
each query type (disease, procedure, drug upstream). A judged pair is relevant (grade 1) whatever its match type.

ReCDS folder (task PAR or PPR): `queries/<split>_queries.jsonl`, the corpus `<TASK>/corpus.jsonl` or, in the first
release (the names PMC-Patients' `evaluation.py` opens), `<TASK>/<TASK>_corpus.jsonl`, and the judgments
`<TASK>/qrels_<split>.tsv` or `<TASK>/<TASK>_<split>_qrels.tsv` (query-id, corpus-id, integer score). As BEIR's
loader does, the first line of the judgments is skipped whatever it holds (a warning says so when it reads as a
judgment), a pair judged twice keeps the last score, and only judged queries are kept. A judged document missing
from the corpus is kept with a warning (BEIR does not check). The Hugging Face release ships PAR/PAR_PMIDs.json
instead of the 11.7M-article PAR corpus, which must then be built from the PubMed baseline.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from bios_kg.apps.retrieve.chunking import Chunk, read_corpus
from bios_kg.graph.errors import InputError, ParameterError
from bios_kg.ingest.jsonl import json_objects

MATCH_TYPES = ("string", "synonym", "hyponym", "abbreviation", "implication")
RECDS_TASKS = ("PAR", "PPR")
RECDS_SPLITS = ("train", "dev", "test")


@dataclass
class Benchmark:
    name: str
    corpus: list[Chunk]
    queries: dict[str, str]  # id -> text
    query_types: dict[str, str]  # id -> type (CliniQ: the file suffix; ReCDS: task/split)
    qrels: dict[str, dict[str, int]]  # query -> document -> grade
    match_types: dict[str, dict[str, str]] = field(default_factory=dict)  # query -> document -> match type
    kind: str = "cliniq"  # which official script's figures apply: cliniq or recds
    warnings: list[str] = field(default_factory=list)

    def notes(self) -> dict[str, list[str]]:
        """Note id (the chunk id before its first "_") -> chunk ids in collection order."""
        notes: dict[str, list[str]] = {}
        for chunk in self.corpus:
            notes.setdefault(chunk.note, []).append(chunk.id)
        return notes

    def summary(self) -> dict[str, int]:
        return {"documents": len(self.corpus), "queries": len(self.queries),
                "judgments": sum(len(docs) for docs in self.qrels.values())}


def read_queries(path: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for number, row in json_objects(path, '{"_id": …, "text": "…"}'):
        if not isinstance(row.get("_id"), str | int) or not isinstance(row.get("text"), str) \
                or not row["text"].strip():
            raise InputError(str(path), number, 'expected {"_id": …, "text": "<non-empty>"}')
        if str(row["_id"]) in queries:
            raise InputError(str(path), number, f"duplicate query _id {row['_id']!r}")
        queries[str(row["_id"])] = row["text"]
    return queries


def _check_known(path: Path, number: int, query: str, doc: str, queries: dict[str, str], docs: set[str]) -> None:
    if query not in queries:
        raise InputError(str(path), number, f"query {query!r} is not in the queries file")
    if doc not in docs:
        raise InputError(str(path), number, f"document {doc!r} is not in the corpus")


def read_cliniq(folder: Path, name: str | None = None) -> Benchmark:
    """A folder in CliniQ's format (module docstring)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), None, "no such folder")
    corpus_file = folder / "corpus.jsonl"
    if not corpus_file.is_file():
        raise InputError(str(corpus_file), None, "no corpus: CliniQ ships HADM_IDs only; build corpus.jsonl from "
                                                 "MIMIC-III NOTEEVENTS as CliniQ's preprocess.py does "
                                                 "(bios_kg.apps.retrieve.chunking.chunk_notes)")
    corpus = read_corpus(corpus_file)
    docs = {chunk.id for chunk in corpus}
    query_files = sorted(folder.glob("queries_*.jsonl"))
    if not query_files:
        raise InputError(str(folder), None, "no queries_<type>.jsonl file")
    benchmark = Benchmark(name or folder.name, corpus, {}, {}, {}, {})
    for query_file in query_files:
        kind = query_file.stem.removeprefix("queries_")
        queries = read_queries(query_file)
        clash = sorted(set(queries) & set(benchmark.queries))
        if clash:
            raise InputError(str(query_file), None, f"query ids also used by another query type: {clash[:5]}")
        benchmark.queries.update(queries)
        benchmark.query_types.update(dict.fromkeys(queries, kind))
        qrels_file = folder / f"qrels_{kind}.tsv"
        if not qrels_file.is_file():
            raise InputError(str(qrels_file), None, f"no such file (the judgments of {query_file.name})")
        with qrels_file.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 3:
                    raise InputError(str(qrels_file), number, "expected 3 tab-separated columns: query_id, "
                                                              "chunk_id, match_type (no header)")
                query, doc, match = parts
                if match not in MATCH_TYPES:
                    raise InputError(str(qrels_file), number, f"match type {match!r} is not one of "
                                                              f"{', '.join(MATCH_TYPES)}")
                _check_known(qrels_file, number, query, doc, queries, docs)
                if doc in benchmark.qrels.get(query, {}):
                    raise InputError(str(qrels_file), number, f"pair ({query}, {doc}) judged twice")
                benchmark.qrels.setdefault(query, {})[doc] = 1
                benchmark.match_types.setdefault(query, {})[doc] = match
    return benchmark


def _first_present(*paths: Path) -> Path | None:
    return next((path for path in paths if path.is_file()), None)


def read_recds(folder: Path, task: str = "PPR", split: str = "test") -> Benchmark:
    """One task and split of the PMC-Patients ReCDS benchmark, either release's file names (module docstring)."""
    if task not in RECDS_TASKS:
        raise ParameterError("task", f"{task!r} is not one of {', '.join(RECDS_TASKS)}")
    if split not in RECDS_SPLITS:
        raise ParameterError("split", f"{split!r} is not one of {', '.join(RECDS_SPLITS)}")
    folder = Path(folder)
    corpus_file = _first_present(folder / task / "corpus.jsonl", folder / task / f"{task}_corpus.jsonl")
    if corpus_file is None:
        hint = " (the Hugging Face release ships PAR_PMIDs.json: build the corpus from the PubMed baseline)" \
            if (folder / task / "PAR_PMIDs.json").is_file() else ""
        raise InputError(str(folder / task / "corpus.jsonl"), None, f"no such file, nor {task}_corpus.jsonl{hint}")
    corpus = read_corpus(corpus_file)
    docs = {chunk.id for chunk in corpus}
    queries = read_queries(folder / "queries" / f"{split}_queries.jsonl")
    qrels_file = _first_present(folder / task / f"qrels_{split}.tsv", folder / task / f"{task}_{split}_qrels.tsv")
    if qrels_file is None:
        raise InputError(str(folder / task / f"qrels_{split}.tsv"), None,
                         f"no such file, nor {task}_{split}_qrels.tsv")
    qrels: dict[str, dict[str, int]] = {}
    warnings: list[str] = []
    missing: list[str] = []
    with qrels_file.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle, delimiter="\t")
        first = next(rows, None)
        if first is not None and len(first) == 3 and first[2].lstrip("-").isdigit():
            warnings.append(f"{qrels_file}:1: {first} reads as a judgment; skipped as BEIR skips the header line")
        for number, row in enumerate(rows, 2):
            if not row:
                continue
            if len(row) != 3 or not row[2].lstrip("-").isdigit():
                raise InputError(str(qrels_file), number, "expected query-id, corpus-id and an integer score")
            if row[0] not in queries:
                raise InputError(str(qrels_file), number, f"query {row[0]!r} is not in the queries file")
            if row[1] not in docs:
                missing.append(row[1])
            qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    if missing:
        warnings.append(f"{qrels_file}: {len(missing)} judged documents are not in {corpus_file.name} "
                        f"(first: {', '.join(missing[:3])}); they count as relevant but cannot be retrieved")
    judged = {query: queries[query] for query in qrels}
    return Benchmark(f"pmc-patients-{task}-{split}", corpus, judged, dict.fromkeys(judged, f"{task}/{split}"), qrels,
                     kind="recds", warnings=warnings)
