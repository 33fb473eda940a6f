"""Retrieval metrics against values computed by hand (cliniq.md §5, pmc-patients.md §6)."""

from __future__ import annotations

import math

import pytest

from apps.retrieve.metrics import evaluate_run, ndcg, ndcg_cliniq, precision, recall, reciprocal_rank

RANKING = ["a", "b", "c", "d"]
GRADES = {"b": 1, "d": 2, "e": 1}  # e is relevant but not retrieved


def test_standard_ndcg_is_graded_with_the_ideal_from_the_judgments() -> None:
    dcg = 1 / math.log2(3) + 2 / math.log2(5)  # b at rank 2, d (grade 2) at rank 4
    ideal = 2 + 1 / math.log2(3) + 1 / math.log2(4)  # grades 2, 1, 1
    assert ndcg(RANKING, GRADES) == pytest.approx(dcg / ideal)
    assert ndcg(RANKING, GRADES) == pytest.approx(0.476627, abs=1e-6)


def test_cliniq_ndcg_is_binary_with_the_ideal_from_the_retrieved_top_k() -> None:
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3)  # the two relevant retrieved, moved to the top
    assert ndcg_cliniq(RANKING, GRADES) == pytest.approx(dcg / ideal)
    assert ndcg_cliniq(RANKING, GRADES) == pytest.approx(0.650921, abs=1e-6)
    assert ndcg_cliniq(["x", "y"], GRADES) == 0.0
    assert ndcg_cliniq(["b", "d"], GRADES) == pytest.approx(1.0)  # perfect within the top k, though e is missed
    assert ndcg(["b", "d"], GRADES) < 1.0


def test_mrr_precision_and_recall() -> None:
    assert reciprocal_rank(RANKING, GRADES) == 0.5
    assert reciprocal_rank(["x"], GRADES) == 0.0
    assert precision(RANKING, GRADES) == pytest.approx(0.2)
    assert recall(RANKING, GRADES, 2) == pytest.approx(1 / 3)
    assert recall(RANKING, GRADES, 10) == pytest.approx(2 / 3)


def test_breakdowns_remove_documents_relevant_under_other_match_types() -> None:
    run = {"q1": ["a", "b", "c", "d"], "q2": ["d"]}
    qrels = {"q1": {"b": 1, "d": 1}, "q2": {"x": 1}, "q3": {"y": 0}}  # q3 has no relevant document: not counted
    result = evaluate_run(run, qrels, {"q1": "disease", "q2": "drug"},
                          {"q1": {"b": "string", "d": "synonym"}, "q2": {"x": "string"}}, recall_ks=(10,))
    assert result["overall"]["queries"] == 2
    assert result["overall"]["mrr"] == pytest.approx(100 * (0.5 + 0) / 2)
    assert result["by_query_type"]["disease"]["mrr"] == 50.0 and result["by_query_type"]["drug"]["mrr"] == 0.0
    # string: d (a synonym match) leaves the ranking, b is at rank 2 of [a, b, c]; synonym: [a, c, d], d at rank 3
    assert result["by_match_type"]["string"] == {**result["by_match_type"]["string"], "queries": 2, "mrr": 25.0}
    assert result["by_match_type"]["synonym"]["mrr"] == pytest.approx(100 / 3, abs=0.01)
    assert result["by_match_type"]["synonym"]["recall@10"] == 100.0
