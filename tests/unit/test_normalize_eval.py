"""Normalization without a database: metrics, the concept split, calibration, scores and result shapes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bios_kg.apps.normalize.cli import read_queries
from bios_kg.apps.normalize.evaluate import (
    calibration_pairs,
    concept_split,
    cross_script,
    first_rank,
    fit_calibration,
    fit_logistic,
    rank_exact,
    rank_tfidf,
    ranking_metrics,
    selective_accuracy,
)
from bios_kg.apps.normalize.normalizer import (
    DEFAULT_FULLTEXT,
    Candidate,
    Logistic,
    NormalizeResult,
    calibration_path,
    load_calibration,
    save_calibration,
)
from bios_kg.graph.errors import ConfigError, InputError, ParameterError
from bios_kg.graph.text import trigram_dice

GOLD = [{"A"}, {"B", "C"}, {"D"}, {"E"}]
RANKED = [["A", "X"], ["X", "Y", "C"], ["X", "Y", "Z", "W", "V", "D"], ["X"]]


def test_first_rank() -> None:
    assert first_rank(["A", "X"], {"A"}) == 1
    assert first_rank(["X", "Y", "C"], {"B", "C"}) == 3
    assert first_rank(["X"], {"E"}) is None
    assert first_rank(["X", "A"], {"A"}, top=1) is None


def test_ranking_metrics_hand_computed() -> None:
    # ranks 1, 3, 6, none -> Acc@1 1/4; Acc@5 2/4; MRR (1 + 1/3 + 1/6 + 0) / 4 = 0.375
    assert ranking_metrics(RANKED, GOLD) == {"queries": 4, "acc@1": 0.25, "acc@5": 0.5, "mrr": 0.375}
    # MRR over the first 5 only: the rank-6 hit no longer counts -> (1 + 1/3) / 4
    assert ranking_metrics(RANKED, GOLD, top=5)["mrr"] == round(4 / 3 / 4, 4)
    assert ranking_metrics([], []) == {"queries": 0, "acc@1": 0.0, "acc@5": 0.0, "mrr": 0.0}
    with pytest.raises(ValueError, match="2 rankings for 1 gold"):
        ranking_metrics([["A"], ["B"]], [{"A"}])


def test_concept_split_is_disjoint_complete_and_sized() -> None:
    ids = [f"HP:{i:07d}" for i in range(1000)]
    split = concept_split(ids, 0.2, seed=0)
    assert not split.train & split.test
    assert split.train | split.test == set(ids)
    assert len(split.test) == 200
    assert concept_split(ids, 0.0).test == frozenset() and concept_split(ids, 1.0).train == frozenset()


def test_concept_split_is_deterministic_and_seeded() -> None:
    ids = [f"ICD10:A{i:02d}.{j}" for i in range(50) for j in range(10)]
    split = concept_split(ids, 0.3, seed=7)
    assert concept_split(reversed(ids), 0.3, seed=7) == split  # order of the input does not matter
    assert concept_split(ids + ids[:10], 0.3, seed=7) == split  # nor duplicates
    assert concept_split(ids, 0.3, seed=8).test != split.test
    grown = concept_split(ids + [f"ICD10:Z{i:02d}" for i in range(5)], 0.3, seed=7)
    assert len(grown.test & split.test) >= len(split.test) - 5  # adding concepts moves few
    with pytest.raises(ParameterError, match="test_fraction"):
        concept_split(ids, 1.5)


def test_logistic_is_stable_at_the_extremes() -> None:
    assert Logistic(1.0, 0.0)(0.0) == 0.5
    assert Logistic(2.0, -1.0)(1.0) == pytest.approx(1 / (1 + math.exp(-1)))
    assert Logistic(1.0, 0.0)(-1000.0) == 0.0 and Logistic(1.0, 0.0)(1000.0) == 1.0


def test_fit_logistic_recovers_the_maximum_likelihood() -> None:
    # x = 0: 1 right in 4 -> sigmoid(b) = 1/4, b = -ln 3; x = 1: 3 in 4 -> a + b = ln 3, a = 2 ln 3
    fitted = fit_logistic([0, 0, 0, 0, 1, 1, 1, 1], [1, 0, 0, 0, 1, 1, 1, 0], ridge=0.0)
    assert fitted.a == pytest.approx(2 * math.log(3), abs=1e-6)
    assert fitted.b == pytest.approx(-math.log(3), abs=1e-6)
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, 20000)
    y = rng.uniform(0, 1, 20000) < 1 / (1 + np.exp(-(10 * x - 6)))
    fitted = fit_logistic(x, y.astype(int))
    assert fitted.a == pytest.approx(10, rel=0.1) and fitted.b == pytest.approx(-6, rel=0.1)
    separable = fit_logistic([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])  # the ridge keeps it finite
    assert math.isfinite(separable.a) and separable(0.9) > 0.9 > 0.1 > separable(0.1)
    with pytest.raises(ConfigError, match="all wrong"):
        fit_logistic([0.1, 0.2], [0, 0])


def test_calibration_pairs_take_the_top_candidates() -> None:
    ranking = [[("A", 0.9), ("B", 0.5)], [("X", 0.7), ("C", 0.6), ("Y", 0.1)]]
    assert calibration_pairs(ranking, [frozenset({"A"}), frozenset({"C"})], depth=2) == (
        [0.9, 0.5, 0.7, 0.6], [1, 0, 0, 1])


def test_selective_accuracy_at_a_threshold() -> None:
    ranking = [[("A", 2.0)], [("X", 2.0)], [("C", -2.0)], []]  # calibrated: 0.88, 0.88, 0.12, none
    gold = [frozenset({"A"}), frozenset({"B"}), frozenset({"C"}), frozenset({"D"})]
    assert selective_accuracy(Logistic(1.0, 0.0), ranking, gold, 0.5) == {
        "threshold": 0.5, "coverage": 0.5, "answered_acc@1": 0.5}
    assert selective_accuracy(Logistic(1.0, 0.0), ranking, gold, 0.1)["coverage"] == 0.75
    assert selective_accuracy(Logistic(1.0, 0.0), ranking, gold, 0.99) == {
        "threshold": 0.99, "coverage": 0.0, "answered_acc@1": 0.0}


def test_cross_script_answers_are_chinese_queries_answered_without_a_chinese_name() -> None:
    dictionary = [("ICD10:E11", "Type 2 diabetes mellitus"), ("ICD10:E11", "2型糖尿病"), ("ICD10:I10", "Hypertension"),
                  ("CMEKG:多尿", "多尿")]
    ranking = [[("ICD10:E11", 0.8)], [("ICD10:I10", 0.6)], [("ICD10:I10", 0.9)], [], [("CMEKG:多尿", 0.7)]]
    assert cross_script(["糖尿病", "高血压", "high blood pressure", "高血压", "peeing a lot"], ranking, dictionary) == [
        False, True, False, False, False]


def test_cross_script_pairs_get_their_own_curve_when_there_are_enough() -> None:
    rng = np.random.default_rng(0)
    same_x = rng.uniform(0.4, 1.0, 400)
    cross_x = rng.uniform(0.3, 0.8, 200)  # cross-lingual cosines run lower for the same chance of being right
    same_y = (rng.uniform(size=400) < 1 / (1 + np.exp(-(12 * same_x - 9)))).astype(int)
    cross_y = (rng.uniform(size=200) < 1 / (1 + np.exp(-(12 * cross_x - 6)))).astype(int)
    fitted = fit_calibration([*same_x, *cross_x], [*same_y, *cross_y], [False] * 400 + [True] * 200)
    assert fitted.cross is not None and fitted.cross.b > fitted.b + 1.0
    assert fitted(0.6, cross_script=True) > fitted(0.6) + 0.2
    few = fit_calibration([*same_x, *cross_x[:50]], [*same_y, *cross_y[:50]], [False] * 400 + [True] * 50)
    assert few.cross is None and few(0.6, cross_script=True) == few(0.6)  # too few: one curve for all
    ranking = [[("A", 0.6)], [("B", 0.6)]]
    gold = [frozenset({"A"}), frozenset({"B"})]
    assert selective_accuracy(fitted, ranking, gold, fitted(0.6) + 0.1, cross=[False, True])["coverage"] == 0.5


def test_calibration_files_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOS_HOME", str(tmp_path))
    assert load_calibration(None, DEFAULT_FULLTEXT) == DEFAULT_FULLTEXT
    path = save_calibration(None, Logistic(3.0, -2.0), examples=10)
    assert path == tmp_path / "indexes" / "fulltext" / "calibration.json"
    assert json.loads(path.read_text())["examples"] == 10
    assert load_calibration(None, DEFAULT_FULLTEXT) == Logistic(3.0, -2.0)
    model_path = save_calibration("minilm@0123456789ab", Logistic(9.0, -7.0, Logistic(8.0, -5.0)))
    assert model_path == calibration_path("minilm@0123456789ab")
    assert load_calibration("minilm@0123456789ab", DEFAULT_FULLTEXT) == Logistic(9.0, -7.0, Logistic(8.0, -5.0))
    assert model_path.parent.parent == tmp_path / "indexes"
    path.write_text("{}")
    with pytest.raises(ConfigError, match="not a calibration file"):
        load_calibration(None, DEFAULT_FULLTEXT)


def test_trigram_dice() -> None:
    assert trigram_dice("seizure", "seizure") == 1.0
    assert trigram_dice("abc", "xyz") == 0.0
    # " ab" "abc" "bc " vs " ab" "abd" "bd ": 1 shared -> 2 * 1 / (3 + 3)
    assert trigram_dice("abc", "abd") == pytest.approx(1 / 3)
    assert trigram_dice("", "abc") == trigram_dice("", "") == 0.0


def test_result_json_shape() -> None:
    candidate = Candidate(concept_id="HP:0001250", name="Seizure", score=1.0, matched_term="Seizure",
                          method="exact", semantic_types=[{"id": "UMLS_STY:T033", "name": "Finding"}])
    result = NormalizeResult(query="seizure", candidates=[candidate], abstained=False, methods=["exact", "fulltext"])
    data = json.loads(json.dumps(result.as_dict()))
    assert list(data) == ["query", "candidates", "abstained", "methods", "truncated", "error"]
    assert data["truncated"] is False and data["error"] is None
    assert list(data["candidates"][0]) == ["concept_id", "name", "score", "matched_term", "method", "semantic_types"]
    assert data["candidates"][0]["semantic_types"] == [{"id": "UMLS_STY:T033", "name": "Finding"}]


DICTIONARY = [("C1", "Myocardial infarction"), ("C2", "Heart failure"), ("C3", "Seizure"), ("C4", "seizure")]


def test_rank_exact_and_tfidf_on_a_small_dictionary() -> None:
    assert rank_exact(["SEIZURE", "heart attack"], DICTIONARY) == [[("C3", 1.0), ("C4", 1.0)], []]
    ranked = rank_tfidf(["myocardial infarct", "heart failures"], DICTIONARY)
    assert [found[0][0] for found in ranked] == ["C1", "C2"]
    assert all(0 < score <= 1 + 1e-6 for found in ranked for _, score in found)
    assert [c for c, _ in ranked[0]] == ["C1"]  # the other names share no 3-gram with the query: no candidates


def test_read_queries_names_the_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "good.txt"
    good.write_text("seizure\n癫痫\n", encoding="utf-8")
    assert read_queries(good) == [("seizure", None), ("癫痫", None)]
    bad = tmp_path / "bad.txt"
    bad.write_text("seizure\n  \nfever\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.txt:2: the query is empty"):
        read_queries(bad)
    kept = read_queries(bad, on_error="skip")  # the bad line becomes an error entry, the others stay queries
    assert [text for text, _ in kept] == ["seizure", "  ", "fever"]
    assert kept[0][1] is None and kept[2][1] is None
    assert kept[1][1] is not None and kept[1][1].endswith("bad.txt:2: the query is empty")
    with pytest.raises(InputError, match="no such file"):
        read_queries(tmp_path / "missing.txt")
