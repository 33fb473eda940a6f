"""Retrieval metrics: CliniQ's (its evaluation script, both settings) and PMC-Patients' (its BEIR-based script).

Per query, from a ranking (document ids, best first) and graded judgments (document -> grade, > 0 relevant):
- `ndcg@k`: standard graded NDCG as pytrec_eval computes it: gain = grade, discount log2(rank + 1), IDCG from
  the judged grades sorted, cut at k;
- `ndcg_cliniq@k`: CliniQ's variant: binary gains, IDCG from the *retrieved* top k sorted (it measures ordering
  within the top k; 0 when no relevant document is there);
- `mrr`: 1 / rank of the first relevant document in the whole ranking (0 when none is ranked);
- `map`: average precision over the whole ranking, normalized by the number of relevant documents;
- `p@k`: relevant among the top k, over k; `recall@k`: relevant among the top k over all relevant.
Aggregates are means × 100 ("overall" pools every instance: a micro-average over query types).

CliniQ (`cliniq_report`), as its evaluation script computes it:
- multi-patient: per query over the ranking of the whole collection: MRR, CliniQ's NDCG@10 and Recall@100 (the
  report adds standard NDCG@10, MAP, P@10 and Recall@10/1000);
- single-patient: per (query, note) pair for every note holding a relevant chunk, the ranking restricted to that
  note's chunks; the pair is skipped when the note has fewer than 5 chunks or every chunk of it is relevant;
  MRR, NDCG over the note's length (CliniQ's variant, which over a whole note equals binary NDCG) and MAP;
- per match type t, inside the single-patient setting only: the relevant chunks are the note's chunks judged t,
  chunks relevant under another type leave the ranking, and the pair is skipped when no t chunk is in the note
  or no non-relevant chunk remains; pooled over query types;
- judgments are keyed by query *text* within a query type, as the script does (two ids with one text share them).
A ranking that stops before every chunk of a judged note (a run cut at some depth) gets the missing chunks after
its own, in collection order; `unranked_note_chunks` counts them (0 for a full ranking, as CliniQ's).
`multi_by_match_type` is this project's extension, not a CliniQ figure: the per-type rule applied to the
multi-patient ranking (useful where notes are short, as in the IU report benchmark).

PMC-Patients (`recds_report`), as its `evaluation.py` computes it through BEIR: a document equal to its query's
id is removed from the ranking; NDCG@10 (graded), P@10 and Recall@1000 are pytrec_eval's, with ties ordered by
document id descending, averaged over the judged queries present in the run; MRR (no cutoff, ties in run order)
is summed over those queries and divided by the number of judged queries.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bios_kg.apps.retrieve.runs import Entries, ranking, trec_order

Grades = Mapping[str, int]
DEFAULT_RECALL_KS = (10, 100, 1000)
MATCH_TYPES = ("string", "synonym", "abbreviation", "hyponym", "implication")  # CliniQ's order
MIN_NOTE_CHUNKS = 5


def _dcg(gains: Sequence[float]) -> float:
    return sum(gain / math.log2(rank + 2) for rank, gain in enumerate(gains))


def ndcg(ranking: Sequence[str], grades: Grades, k: int = 10) -> float:
    ideal = _dcg(sorted((g for g in grades.values() if g > 0), reverse=True)[:k])
    if ideal == 0:
        return 0.0
    return _dcg([max(grades.get(doc, 0), 0) for doc in ranking[:k]]) / ideal


def ndcg_cliniq(ranking: Sequence[str], grades: Grades, k: int = 10) -> float:
    gains = [1.0 if grades.get(doc, 0) > 0 else 0.0 for doc in ranking[:k]]
    ideal = _dcg(sorted(gains, reverse=True))
    return _dcg(gains) / ideal if ideal else 0.0


def reciprocal_rank(ranking: Sequence[str], grades: Grades) -> float:
    for rank, doc in enumerate(ranking, 1):
        if grades.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def average_precision(ranking: Sequence[str], grades: Grades) -> float:
    relevant = sum(1 for g in grades.values() if g > 0)
    if relevant == 0:
        return 0.0
    hits, total = 0, 0.0
    for rank, doc in enumerate(ranking, 1):
        if grades.get(doc, 0) > 0:
            hits += 1
            total += hits / rank
    return total / relevant


def precision(ranking: Sequence[str], grades: Grades, k: int = 10) -> float:
    return sum(1 for doc in ranking[:k] if grades.get(doc, 0) > 0) / k


def recall(ranking: Sequence[str], grades: Grades, k: int) -> float:
    relevant = sum(1 for g in grades.values() if g > 0)
    if relevant == 0:
        return 0.0
    return sum(1 for doc in ranking[:k] if grades.get(doc, 0) > 0) / relevant


def query_metrics(ranking: Sequence[str], grades: Grades,
                  recall_ks: Sequence[int] = DEFAULT_RECALL_KS) -> dict[str, float]:
    """The multi-patient figures of one query (module docstring)."""
    values = {"ndcg@10": ndcg(ranking, grades), "ndcg_cliniq@10": ndcg_cliniq(ranking, grades),
              "mrr": reciprocal_rank(ranking, grades), "map": average_precision(ranking, grades),
              "p@10": precision(ranking, grades)}
    values.update({f"recall@{k}": recall(ranking, grades, k) for k in recall_ks})
    return values


def note_metrics(ranking: Sequence[str], relevant: Iterable[str]) -> dict[str, float]:
    """CliniQ's single-patient figures of one note's ranking (every chunk of the note, best first)."""
    grades = dict.fromkeys(relevant, 1)
    return {"mrr": reciprocal_rank(ranking, grades), "ndcg": ndcg_cliniq(ranking, grades, len(ranking)),
            "map": average_precision(ranking, grades)}


def _mean(rows: list[dict[str, float]], count: str = "queries") -> dict[str, Any]:
    if not rows:
        return {count: 0}
    return {count: len(rows), **{name: round(100 * sum(row[name] for row in rows) / len(rows), 2)
                                 for name in rows[0]}}


def _note(doc: str) -> str:
    return doc.split("_", 1)[0]


def cliniq_report(run: Mapping[str, Entries], qrels: Mapping[str, Grades], notes: Mapping[str, Sequence[str]],
                  query_types: Mapping[str, str] | None = None,
                  match_types: Mapping[str, Mapping[str, str]] | None = None,
                  texts: Mapping[str, str] | None = None,
                  recall_ks: Sequence[int] = DEFAULT_RECALL_KS) -> dict[str, Any]:
    """CliniQ's figures (module docstring) of `run` over the queries with a relevant judgment. `notes`: note id ->
    its chunk ids in collection order; `texts`: query id -> text (judgments pooled per type and text)."""
    query_types = query_types or {}
    match_types = match_types or {}
    pooled_grades, pooled_types = _pool_by_text(qrels, match_types, query_types, texts or {})
    multi: dict[str, list[dict[str, float]]] = defaultdict(list)
    single: dict[str, list[dict[str, float]]] = defaultdict(list)
    by_match: dict[str, list[dict[str, float]]] = defaultdict(list)
    multi_by_match: dict[str, list[dict[str, float]]] = defaultdict(list)
    missing, unranked = 0, 0
    for query, grades in pooled_grades.items():
        relevant = {doc for doc, grade in grades.items() if grade > 0}
        if not relevant:
            continue
        missing += query not in run
        order = ranking(run.get(query, []))
        kind = query_types.get(query, "-")
        multi[kind].append(query_metrics(order, grades, recall_ks))
        types = pooled_types.get(query, {})
        for match in MATCH_TYPES:
            own = {doc for doc in relevant if match in types.get(doc, ())}
            if own:
                kept = [doc for doc in order if doc not in relevant - own]
                multi_by_match[match].append(query_metrics(kept, dict.fromkeys(own, 1), recall_ks))
        position = {doc: i for i, doc in enumerate(order)}
        for note in sorted({_note(doc) for doc in relevant}):
            chunks = notes.get(note, [])
            ranked = sorted((c for c in chunks if c in position), key=position.__getitem__)
            unranked += len(chunks) - len(ranked)
            note_order = ranked + [c for c in chunks if c not in position]
            note_relevant = relevant & set(chunks)
            if len(note_order) < MIN_NOTE_CHUNKS or len(note_relevant) == len(note_order):
                continue
            single[kind].append(note_metrics(note_order, note_relevant))
            for match in MATCH_TYPES:
                own = {doc for doc in note_relevant if match in types.get(doc, ())}
                if not own:
                    continue
                kept = [doc for doc in note_order if doc not in note_relevant - own]
                if len(kept) > len(own):
                    by_match[match].append(note_metrics(kept, own))
    pairs = "pairs"
    return {"overall": _mean([row for rows in multi.values() for row in rows]),
            "by_query_type": {name: _mean(rows) for name, rows in sorted(multi.items())},
            "single_patient": {"overall": _mean([row for rows in single.values() for row in rows], pairs),
                               "by_query_type": {name: _mean(rows, pairs) for name, rows in sorted(single.items())}},
            "by_match_type": {name: _mean(by_match[name], pairs) for name in MATCH_TYPES if name in by_match},
            "multi_by_match_type": {name: _mean(multi_by_match[name]) for name in MATCH_TYPES
                                    if name in multi_by_match},
            "queries_missing_from_run": missing, "unranked_note_chunks": unranked}


def _pool_by_text(qrels: Mapping[str, Grades], match_types: Mapping[str, Mapping[str, str]],
                  query_types: Mapping[str, str], texts: Mapping[str, str],
                  ) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, set[str]]]]:
    """Judgments and match types per query id, pooled over the ids of one query type that share a text."""
    groups: dict[tuple[str, bool, str], list[str]] = defaultdict(list)
    for query in qrels:
        groups[(query_types.get(query, "-"), query in texts, texts.get(query, query))].append(query)
    grades: dict[str, dict[str, int]] = {}
    types: dict[str, dict[str, set[str]]] = {}
    for members in groups.values():
        merged: dict[str, int] = {}
        merged_types: dict[str, set[str]] = defaultdict(set)
        for query in members:
            for doc, grade in qrels[query].items():
                merged[doc] = max(grade, merged.get(doc, grade))
            for doc, match in match_types.get(query, {}).items():
                merged_types[doc].add(match)
        for query in members:
            grades[query], types[query] = merged, merged_types
    return grades, types


def recds_report(run: Mapping[str, Entries], qrels: Mapping[str, Grades]) -> dict[str, Any]:
    """PMC-Patients' figures (module docstring): MRR, NDCG@10, P@10, Recall@1000."""
    rows: list[dict[str, float]] = []
    reciprocal = 0.0
    removed = 0
    for query, entries in run.items():
        if query not in qrels:
            continue
        kept = [(doc, score) for doc, score in entries if doc != query]
        removed += len(entries) - len(kept)
        grades = qrels[query]
        reciprocal += reciprocal_rank(ranking(kept), grades)
        order = [doc for doc, _ in trec_order(kept)]
        rows.append({"ndcg@10": ndcg(order, grades), "p@10": precision(order, grades),
                     "recall@1000": recall(order, grades, 1000)})
    overall = _mean(rows)
    overall["mrr"] = round(100 * reciprocal / len(qrels), 2) if qrels else 0.0
    return {"overall": overall, "queries_judged": len(qrels), "queries_in_run": len(rows),
            "self_hits_removed": removed}
