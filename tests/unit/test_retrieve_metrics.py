"""Retrieval metrics: CliniQ's figures by hand where they differ from trec_eval, the rest against pytrec_eval."""

from __future__ import annotations

import math
from typing import Any

import pytest

from bios_kg.apps.retrieve.metrics import (
    average_precision,
    cliniq_report,
    ndcg,
    ndcg_cliniq,
    note_metrics,
    precision,
    recall,
    recds_report,
    reciprocal_rank,
)
from bios_kg.apps.retrieve.runs import trec_order

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


def scored(ranking: list[str]) -> list[tuple[str, float]]:
    return [(doc, float(len(ranking) - i)) for i, doc in enumerate(ranking)]


# Note A has 6 chunks, B 4 (under 5: skipped), C 5 all relevant to q1 (skipped).
NOTES = {"A": [f"A_{i}" for i in range(6)], "B": [f"B_{i}" for i in range(4)], "C": [f"C_{i}" for i in range(5)]}
QRELS = {"q1": {"A_1": 1, "A_4": 1, "B_0": 1, **{f"C_{i}": 1 for i in range(5)}}, "q2": {"A_5": 1}}
MATCHES = {"q1": {"A_1": "string", "A_4": "synonym", "B_0": "string", **{f"C_{i}": "string" for i in range(5)}},
           "q2": {"A_5": "abbreviation"}}
TYPES = {"q1": "disease", "q2": "drug"}


def cliniq_example() -> dict[str, Any]:
    run = {"q1": scored(["A_4", "B_0", "A_0", "A_1", "C_0", "C_1", "C_2", "C_3", "C_4", "A_2", "A_3", "A_5",
                         "B_1", "B_2", "B_3"]),
           "q2": scored(["B_1", "A_0"])}  # cut short: A_1 … A_5 unranked
    return cliniq_report(run, QRELS, NOTES, TYPES, MATCHES, {"q1": "heart failure", "q2": "vitamin k"})


def test_single_patient_setting_by_hand() -> None:
    result = cliniq_example()
    single = result["single_patient"]
    # q1 / note A: [A_4, A_0, A_1, A_2, A_3, A_5], relevant A_4 and A_1: RR 1, NDCG (1 + 1/log2 4) / (1 + 1/log2 3),
    # AP (1 + 2/3) / 2. q2 / note A: its chunks in collection order after the ranked A_0: A_5 at rank 6.
    q1 = {"mrr": 1.0, "ndcg": 1.5 / (1 + 1 / math.log2(3)), "map": 5 / 6}
    q2 = {"mrr": 1 / 6, "ndcg": 1 / math.log2(7), "map": 1 / 6}
    assert single["overall"]["pairs"] == 2
    for name in ("mrr", "ndcg", "map"):
        assert single["overall"][name] == pytest.approx(100 * (q1[name] + q2[name]) / 2, abs=0.005)
        assert single["by_query_type"]["disease"][name] == pytest.approx(100 * q1[name], abs=0.005)
    assert result["unranked_note_chunks"] == 5
    # per match type, inside the single-patient setting: string of q1 in note A ranks [A_0, A_1, A_2, A_3, A_5]
    # (A_4, a synonym match, removed); synonym ranks [A_4, A_0, A_2, A_3, A_5]; notes B and C are skipped
    by_match = result["by_match_type"]
    assert list(by_match) == ["string", "synonym", "abbreviation"]
    assert by_match["string"] == {"pairs": 1, "mrr": 50.0, "ndcg": round(100 / math.log2(3), 2), "map": 50.0}
    assert by_match["synonym"] == {"pairs": 1, "mrr": 100.0, "ndcg": 100.0, "map": 100.0}
    assert by_match["abbreviation"]["mrr"] == pytest.approx(100 / 6, abs=0.005)


def test_multi_patient_setting_and_the_labelled_extension() -> None:
    result = cliniq_example()
    assert result["overall"]["queries"] == 2
    assert result["overall"]["mrr"] == pytest.approx(100 * (1 + 0) / 2)
    assert result["by_query_type"]["disease"]["recall@100"] == 100.0
    gains = [1, 1, 0, 1, 1, 1, 1, 1, 1, 0]  # q1's top 10 holds all 8 relevant: both NDCGs agree
    expected = sum(g / math.log2(i + 2) for i, g in enumerate(gains)) / sum(1 / math.log2(i + 2) for i in range(8))
    assert result["by_query_type"]["disease"]["ndcg_cliniq@10"] == round(100 * expected, 2)
    assert result["by_query_type"]["disease"]["ndcg@10"] == round(100 * expected, 2)
    assert result["by_query_type"]["disease"]["map"] == round(100 * (1 + 1 + 3 / 4 + 4 / 5 + 5 / 6 + 6 / 7 + 7 / 8
                                                                     + 8 / 9) / 8, 2)
    assert result["multi_by_match_type"]["synonym"]["mrr"] == 100.0
    assert result["multi_by_match_type"]["string"]["mrr"] == 100.0  # A_4 removed, B_0 first
    assert result["multi_by_match_type"]["abbreviation"]["mrr"] == 0.0  # q2 ranks only B_1 and A_0


def test_judgments_are_pooled_per_query_text_as_the_official_script_keys_them() -> None:
    qrels = {"1": {"A_1": 1}, "2": {"A_2": 1}}
    run = {"1": scored(["A_2", "A_1"]), "2": scored(["A_2", "A_1"])}
    types = {"1": "disease", "2": "disease"}
    same = cliniq_report(run, qrels, NOTES, types, texts={"1": "gout", "2": "gout"})
    apart = cliniq_report(run, qrels, NOTES, types, texts={"1": "gout", "2": "asthma"})
    assert same["overall"]["mrr"] == 100.0 and apart["overall"]["mrr"] == 75.0


def test_figures_agree_with_trec_eval_where_the_definitions_do() -> None:
    import random

    import pytrec_eval

    rng = random.Random(7)
    docs = [f"N{n}_{i}" for n in range(6) for i in range(rng.randint(3, 9))]
    qrels = {f"q{q}": {doc: rng.choice([1, 1, 2]) for doc in rng.sample(docs, rng.randint(1, 8))} for q in range(30)}
    run = {q: [(doc, float(rng.randint(0, 5))) for doc in rng.sample(docs, rng.randint(5, len(docs)))]
           for q in qrels}  # integer scores: many ties
    reference = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "P.10", "recall.1000", "recip_rank",
                                                       "map"}).evaluate({q: dict(e) for q, e in run.items()})
    for query, grades in qrels.items():
        order = [doc for doc, _ in trec_order(run[query])]
        expected = reference[query]
        assert ndcg(order, grades, 10) == pytest.approx(expected["ndcg_cut_10"])
        assert precision(order, grades, 10) == pytest.approx(expected["P_10"])
        assert recall(order, grades, 1000) == pytest.approx(expected["recall_1000"])
        assert reciprocal_rank(order, grades) == pytest.approx(expected["recip_rank"])
        assert average_precision(order, grades) == pytest.approx(expected["map"])
    # single patient: over a whole note, CliniQ's NDCG is binary NDCG, its MAP trec_eval's AP
    notes: dict[str, list[str]] = {}
    for doc in docs:
        notes.setdefault(doc.split("_")[0], []).append(doc)
    for query, grades in qrels.items():
        order = [doc for doc, _ in trec_order(run[query])]
        for chunks in notes.values():
            relevant = {doc for doc in chunks if doc in grades}
            if not relevant:
                continue
            note_order = [doc for doc in order if doc in chunks] + [doc for doc in chunks if doc not in order]
            binary = {query: dict.fromkeys(relevant, 1)}
            note_run = {query: {doc: float(len(note_order) - i) for i, doc in enumerate(note_order)}}
            expected = pytrec_eval.RelevanceEvaluator(binary, {"ndcg", "map", "recip_rank"}).evaluate(note_run)[query]
            values = note_metrics(note_order, relevant)
            assert values == pytest.approx({"ndcg": expected["ndcg"], "map": expected["map"],
                                            "mrr": expected["recip_rank"]})


def test_pmc_patients_figures_follow_beir_on_trec_eval() -> None:
    import pytrec_eval

    qrels = {"p1": {"d1": 2, "d2": 1}, "p2": {"d3": 1}, "p3": {"d1": 1}}  # p3 is judged but not in the run
    run = {"p1": [("p1", 9.0), ("d9", 5.0), ("d2", 5.0), ("d1", 1.0)],  # the query itself first; a tie
           "p2": [("d3", 3.0)], "px": [("d1", 1.0)]}  # px is not judged
    result = recds_report(run, qrels)
    assert result["self_hits_removed"] == 1 and result["queries_in_run"] == 2 and result["queries_judged"] == 3
    # BEIR: pytrec_eval over the run without identical ids, averaged over the queries it scores
    kept = {q: {d: s for d, s in entries if d != q} for q, entries in run.items()}
    reference = pytrec_eval.RelevanceEvaluator(qrels, {"ndcg_cut.10", "P.10", "recall.1000"}).evaluate(kept)
    assert set(reference) == {"p1", "p2"}
    for name, key in (("ndcg@10", "ndcg_cut_10"), ("p@10", "P_10"), ("recall@1000", "recall_1000")):
        assert result["overall"][name] == round(100 * sum(r[key] for r in reference.values()) / 2, 2)
    # MRR in run order for ties (d9 before d2: rank 2 for p1) over all 3 judged queries
    assert result["overall"]["mrr"] == round(100 * (1 / 2 + 1) / 3, 2)
