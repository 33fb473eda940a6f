"""Retrieval metrics for CliniQ (cliniq.md §5) and PMC-Patients (pmc-patients.md §6).

Per query, from a ranking (document ids, best first) and graded judgments (document -> grade, > 0 relevant):
- `ndcg@k`: standard graded NDCG as pytrec_eval computes it: gain = grade, discount log2(rank + 1), IDCG from
  the judged grades sorted, cut at k;
- `ndcg_cliniq@k`: CliniQ's variant: binary gains, IDCG from the *retrieved* top k sorted (it measures ordering
  within the top k; 0 when no relevant document is there);
- `mrr`: 1 / rank of the first relevant document in the whole ranking (0 when none is ranked);
- `p@k`: relevant among the top k, over k; `recall@k`: relevant among the top k over all relevant.
Aggregates are means over queries × 100 ("overall" pools every query, a micro-average over query types).

Per match type t (CliniQ's rule for its per-type breakdown, applied here to the full ranking as well): the
relevant documents are those judged t, documents relevant under another type are removed from the ranking, and a
query without a t judgment does not count for t.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

Grades = Mapping[str, int]
DEFAULT_RECALL_KS = (10, 100, 1000)


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


def precision(ranking: Sequence[str], grades: Grades, k: int = 10) -> float:
    return sum(1 for doc in ranking[:k] if grades.get(doc, 0) > 0) / k


def recall(ranking: Sequence[str], grades: Grades, k: int) -> float:
    relevant = sum(1 for g in grades.values() if g > 0)
    if relevant == 0:
        return 0.0
    return sum(1 for doc in ranking[:k] if grades.get(doc, 0) > 0) / relevant


def query_metrics(ranking: Sequence[str], grades: Grades,
                  recall_ks: Sequence[int] = DEFAULT_RECALL_KS) -> dict[str, float]:
    values = {"ndcg@10": ndcg(ranking, grades), "ndcg_cliniq@10": ndcg_cliniq(ranking, grades),
              "mrr": reciprocal_rank(ranking, grades), "p@10": precision(ranking, grades)}
    values.update({f"recall@{k}": recall(ranking, grades, k) for k in recall_ks})
    return values


def _mean(rows: list[dict[str, float]]) -> dict[str, Any]:
    if not rows:
        return {"queries": 0}
    return {"queries": len(rows), **{name: round(100 * sum(row[name] for row in rows) / len(rows), 2)
                                     for name in rows[0]}}


def evaluate_run(run: Mapping[str, Sequence[str]], qrels: Mapping[str, Grades],
                 query_types: Mapping[str, str] | None = None,
                 match_types: Mapping[str, Mapping[str, str]] | None = None,
                 recall_ks: Sequence[int] = DEFAULT_RECALL_KS) -> dict[str, Any]:
    """{"overall", "by_query_type": {type: …}, "by_match_type": {type: …}} of metric means × 100, over the
    queries with at least one relevant judgment (a query missing from `run` ranks nothing)."""
    overall: list[dict[str, float]] = []
    by_query: dict[str, list[dict[str, float]]] = defaultdict(list)
    by_match: dict[str, list[dict[str, float]]] = defaultdict(list)
    for query, grades in qrels.items():
        if not any(g > 0 for g in grades.values()):
            continue
        ranking = run.get(query, [])
        values = query_metrics(ranking, grades, recall_ks)
        overall.append(values)
        if query_types is not None:
            by_query[query_types.get(query, "-")].append(values)
        types = (match_types or {}).get(query, {})
        for match in sorted(set(types.values())):
            own = {doc: grades.get(doc, 0) for doc, t in types.items() if t == match}
            others = {doc for doc, t in types.items() if t != match and grades.get(doc, 0) > 0}
            by_match[match].append(query_metrics([doc for doc in ranking if doc not in others], own, recall_ks))
    return {"overall": _mean(overall),
            "by_query_type": {name: _mean(rows) for name, rows in sorted(by_query.items())},
            "by_match_type": {name: _mean(rows) for name, rows in sorted(by_match.items())}}
