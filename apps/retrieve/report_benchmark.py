"""A retrieval benchmark from the Indiana University chest X-ray reports, in CliniQ's format (datasets.py).

Built by `build_report_benchmark` (`bios retrieve build-benchmark --out DIR`) from bios_kg.ingest.readers.iu_xray and
the
graph; written, never committed:
1. Corpus: each report's FINDINGS then IMPRESSION, cleaned and split like CliniQ (chunking.py); ids
   `<report id>_<i>` (CXR1_0). Reports without either section are left out.
2. Headings: the MeSH major headings of each report without their qualifiers ("Cardiomegaly/mild" ->
   "Cardiomegaly"); "normal" and "No Indexing" are not findings and are skipped. A heading links to graph concepts
   through the normalizer (calibrated score >= 0.8), tried as written and un-inverted ("Hernia, Hiatal" ->
   "hiatal hernia"). Headings of fewer than `min_reports` reports are skipped.
3. Queries (lower-cased, deduplicated, ids from 0): each linked heading; up to `synonyms` other graph terms of its
   concepts (XREF-joined concepts included); up to `parents` preferred terms of their IS_A parents. A query stands
   for a set of concepts (the heading's, or the parent); its gold reports are those indexed with a heading whose
   concept is in that set or an IS_A descendant of it (up to 4 edges). Parents whose gold exceeds `max_share` of
   the reports are too generic and skipped.
4. Judgments, per chunk of a gold report: `string` when the query's normalized text occurs in the chunk's (whole
   words); else `abbreviation` / `synonym` when an all-capitals short term (<= 6 characters) / another term of
   the query's concepts occurs; else `hyponym` when a term of a descendant concept does; a gold report in which no
   chunk matches any of these has every chunk judged `implication` (the indexer inferred the heading).
5. Query types, by where the query's text occurs: `string` in at least half of its gold reports, `semantic` in
   none (a synonym, a parent or an inferred heading), `mixed` in between. Each type gets queries_<type>.jsonl
   and qrels_<type>.tsv; build.json records the parameters and counts.
MeSH indexing marks findings that are present: a report that says "no pleural effusion" is not gold for
"pleural effusion", so string matches on negated mentions are false positives by design.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bios_kg.apps.retrieve.chunking import DEFAULT_OVERLAP, DEFAULT_WORDS, Chunk, chunk_note, write_corpus
from bios_kg.apps.retrieve.knowledge import KnowledgeGraph
from bios_kg.apps.retrieve.queries import CONCEPT_ANCESTORS
from bios_kg.graph.errors import GraphError, ParameterError
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import normalize_term
from bios_kg.ingest.readers.iu_xray import Report, read_reports

SKIPPED_HEADINGS = frozenset({"normal", "no indexing"})
QUERY_TYPES = ("string", "semantic", "mixed")


@dataclass
class _Query:
    text: str
    concepts: frozenset[str]
    gold: set[str]  # report ids


def uninvert(heading: str) -> str:
    """MeSH's inverted form "Hernia, Hiatal" -> "Hiatal Hernia" (one comma only)."""
    parts = [part.strip() for part in heading.split(",")]
    return f"{parts[1]} {parts[0]}" if len(parts) == 2 and all(parts) else heading


def _contains(haystack_norm: str, needle_norm: str) -> bool:
    return bool(needle_norm) and re.search(rf"(?<!\w){re.escape(needle_norm)}(?!\w)", haystack_norm) is not None


def report_text(report: Report) -> str:
    return " ".join(part for part in (report.findings, report.impression) if part)


def build_report_benchmark(store: GraphStore, out: Path, reports: Iterable[Report] | None = None,
                           min_reports: int = 3, synonyms: int = 3, parents: int = 2, max_share: float = 0.25,
                           chunk_words: int = DEFAULT_WORDS, overlap: int = DEFAULT_OVERLAP) -> dict[str, Any]:
    """Write the benchmark (module docstring) into `out`; returns the summary also written to build.json."""
    if min_reports < 1:
        raise ParameterError("min_reports", f"{min_reports} is not a positive integer")
    if not 0 < max_share <= 1:
        raise ParameterError("max_share", f"{max_share} is not in (0, 1]")
    kept = [report for report in (reports if reports is not None else read_reports()) if report_text(report)]
    chunks: dict[str, list[Chunk]] = {r.id: chunk_note(r.id, report_text(r), chunk_words, overlap) for r in kept}
    by_heading: dict[str, set[str]] = defaultdict(set)
    for report in kept:
        for major in report.mesh_major:
            heading = major.split("/", 1)[0].strip()
            if heading and heading.lower() not in SKIPPED_HEADINGS:
                by_heading[heading].add(report.id)
    headings = sorted(h for h, ids in by_heading.items() if len(ids) >= min_reports)
    graph = KnowledgeGraph(store)
    forms = [(h, uninvert(h)) for h in headings]
    links = graph.link([form for pair in forms for form in pair])
    concepts = {h: list(dict.fromkeys(links[2 * i] + links[2 * i + 1])) for i, (h, _) in enumerate(forms)}
    linked = [h for h in headings if concepts[h]]
    if not linked:
        raise GraphError("no MeSH heading of the reports links to a concept of this graph: load HPO / ICD-10 first")
    all_concepts = sorted({c for h in linked for c in concepts[h]})
    hoods = graph.neighbourhoods(all_concepts)
    ancestors = {row["id"]: set(row["ancestors"]) for row in store.run(CONCEPT_ANCESTORS, ids=all_concepts)}

    def gold_of(targets: frozenset[str]) -> set[str]:
        return {rid for h in linked if any(c in targets or ancestors.get(c, set()) & targets for c in concepts[h])
                for rid in by_heading[h]}

    candidates: list[_Query] = []
    for heading in linked:
        own = frozenset(concepts[heading])
        gold = gold_of(own)
        terms = [t for c in concepts[heading] for t in hoods[c].terms]
        candidates.append(_Query(uninvert(heading), own, gold))
        candidates += [_Query(t, own, gold) for t in _distinct(terms, {normalize_term(uninvert(heading))})[:synonyms]]
        parent_ids = list(dict.fromkeys(p for c in concepts[heading] for p in hoods[c].parents))[:parents]
        for pid, names in graph.terms(parent_ids).items():
            if names:
                candidates.append(_Query(names[0], frozenset({pid}), gold_of(frozenset({pid}))))
    limit = max_share * len(kept)
    queries: list[_Query] = []
    seen: set[str] = set()
    for query in candidates:
        key = normalize_term(query.text)
        if key and key not in seen and 0 < len(query.gold) <= limit:
            seen.add(key)
            queries.append(query)
    term_norms = {c: [normalize_term(t) for t in graph.terms([c])[c]] for c in
                  {c for q in queries for c in q.concepts} | set(all_concepts)}
    descendants_of = {c: {d for d in all_concepts if c in ancestors.get(d, set())} for q in queries for c in q.concepts}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_corpus((chunk for r in kept for chunk in chunks[r.id]), out / "corpus.jsonl")
    norms = {chunk.id: normalize_term(chunk.text) for rid in chunks for chunk in chunks[rid]}
    rows: dict[str, list[tuple[str, str, str]]] = {kind: [] for kind in QUERY_TYPES}
    texts: dict[str, list[tuple[str, str]]] = {kind: [] for kind in QUERY_TYPES}
    matches: dict[str, int] = defaultdict(int)
    for number, query in enumerate(queries):
        qid, qnorm = str(number), normalize_term(query.text)
        synonym_norms = [n for c in query.concepts for n in term_norms[c] if n != qnorm]
        abbreviations = {normalize_term(t) for c in query.concepts for t in graph.terms([c])[c]
                         if t.isupper() and len(t) <= 6}
        hyponym_norms = [n for c in query.concepts for d in descendants_of[c] for n in term_norms[d]]
        judged: list[tuple[str, str]] = []
        with_string = 0
        for rid in sorted(query.gold):
            report_judged = []
            for chunk in chunks[rid]:
                text = norms[chunk.id]
                if _contains(text, qnorm):
                    report_judged.append((chunk.id, "string"))
                elif hit := next((n for n in synonym_norms if _contains(text, n)), None):
                    report_judged.append((chunk.id, "abbreviation" if hit in abbreviations else "synonym"))
                elif any(_contains(text, n) for n in hyponym_norms):
                    report_judged.append((chunk.id, "hyponym"))
            with_string += any(match == "string" for _, match in report_judged)
            judged += report_judged or [(chunk.id, "implication") for chunk in chunks[rid]]
        kind = "string" if 2 * with_string >= len(query.gold) else "semantic" if with_string == 0 else "mixed"
        texts[kind].append((qid, query.text.lower()))
        rows[kind] += [(qid, doc, match) for doc, match in judged]
        for _, match in judged:
            matches[match] += 1
    for kind in QUERY_TYPES:
        with (out / f"queries_{kind}.jsonl").open("w", encoding="utf-8") as handle:
            for qid, text in texts[kind]:
                handle.write(json.dumps({"_id": qid, "text": text}, ensure_ascii=False) + "\n")
        (out / f"qrels_{kind}.tsv").write_text("".join(f"{q}\t{d}\t{m}\n" for q, d, m in rows[kind]),
                                                encoding="utf-8")
    summary = {"reports": len(kept), "chunks": sum(len(c) for c in chunks.values()), "headings": len(headings),
               "linked_headings": len(linked), "queries": {kind: len(texts[kind]) for kind in QUERY_TYPES},
               "judgments": dict(sorted(matches.items())),
               "parameters": {"min_reports": min_reports, "synonyms": synonyms, "parents": parents,
                              "max_share": max_share, "chunk_words": chunk_words, "overlap": overlap},
               "graph_sources": [s["id"] for s in store.sources()]}
    (out / "build.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def _distinct(terms: list[str], exclude: set[str]) -> list[str]:
    out, seen = [], set(exclude)
    for term in terms:
        key = normalize_term(term)
        if key and key not in seen:
            seen.add(key)
            out.append(term)
    return out
