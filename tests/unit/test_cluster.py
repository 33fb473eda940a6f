"""Clustering algorithms on hand-built vectors: k-NN, BIOS baseline, BIRCH + oracles, metrics, inputs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bios_kg.embed.cluster.baseline import affinity, baseline_cluster, ratio_cut, two_means
from bios_kg.embed.cluster.birch import birch_cluster
from bios_kg.embed.cluster.config import BaselineConfig, BirchConfig
from bios_kg.embed.cluster.evaluate import gold_set, pairwise_scores
from bios_kg.embed.cluster.explanations import Explanation, ExplanationCache, llm_explanations
from bios_kg.embed.cluster.job import read_terms, write_clusters
from bios_kg.embed.cluster.knn import knn_graph
from bios_kg.embed.cluster.labels import canonical_labels, groups
from bios_kg.embed.cluster.oracle import (
    LLMOracle,
    OracleQuery,
    ReviewQueueOracle,
    RuleOracle,
    ThresholdOracle,
    make_oracle,
)
from bios_kg.embed.llm import Generation, LLMBackend
from bios_kg.graph.errors import ConfigError, InputError, ParameterError


def at_angle(base: np.ndarray, other: np.ndarray, cosine: float) -> np.ndarray:
    """A unit vector with the given cosine to unit `base`, in the plane of base and `other`."""
    ortho = other - (other @ base) * base
    ortho /= np.linalg.norm(ortho)
    return cosine * base + np.sqrt(1 - cosine ** 2) * ortho


def jitter(center: np.ndarray, count: int, scale: float, seed: int) -> np.ndarray:
    rows = center + np.random.default_rng(seed).normal(scale=scale, size=(count, len(center)))
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


E = np.eye(8)


def test_knn_graph_leaves_out_self_and_ranks_best_first() -> None:
    vectors = np.array([E[0], at_angle(E[0], E[1], 0.9), at_angle(E[0], E[1], 0.5), E[2]])
    sims, rows = knn_graph(vectors, k=2)
    assert rows[:3].tolist() == [[1, 2], [0, 2], [1, 0]]
    assert sims[0].tolist() == pytest.approx([0.9, 0.5], abs=1e-5)
    assert 3 not in rows[3]
    few_sims, few_rows = knn_graph(vectors[:2], k=3)  # fewer other rows than k
    assert few_rows.tolist() == [[1, -1, -1], [0, -1, -1]] and np.isneginf(few_sims[0, 1])


def test_canonical_labels_and_groups() -> None:
    assert canonical_labels(np.array([7, 3, 7, 5])).tolist() == [0, 1, 0, 2]
    assert [g.tolist() for g in groups(np.array([1, 0, 1, 2]))] == [[1], [0, 2], [3]]


def test_baseline_links_cuts_a_bridged_pair_of_groups_and_keeps_a_tight_one() -> None:
    a, b = E[0], at_angle(E[0], E[1], 0.82)  # every cross pair is linked (> 0.8), yet two groups
    tight = E[3]
    vectors = np.vstack([jitter(a, 5, 0.02, 1), jitter(b, 5, 0.02, 2), jitter(tight, 6, 0.02, 3), E[5]])
    lengths = np.full(len(vectors), 10)
    pre = baseline_cluster(vectors, lengths, BaselineConfig(max_cluster=100))  # no ratio cut
    assert pre.labels.tolist() == [0] * 10 + [1] * 6 + [2]
    result = baseline_cluster(vectors, lengths)
    assert result.labels.tolist() == [0] * 5 + [1] * 5 + [2] * 6 + [3]
    assert result.stats["pre_clusters_cut"] == 1
    # the stop rule: with a ratio no split reaches, the bridged pair stays whole
    assert baseline_cluster(vectors, lengths, BaselineConfig(ratio=50)).clusters == 3


def test_baseline_short_terms_attach_to_their_nearest_long_neighbour_or_stay_alone() -> None:
    flu = at_angle(E[0], E[1], 0.9)
    vectors = np.vstack([E[0], at_angle(E[0], E[2], 0.95), flu, at_angle(flu, E[3], 0.99), E[4]])
    lengths = np.array([9, 12, 3, 3, 2])  # influenza, grippe-like variant, "flu", "flu2"-like, "xy"
    result = baseline_cluster(vectors, lengths)
    # short terms never link to each other; both short neighbours of E[0] (cos ~0.9) join its cluster
    assert result.labels.tolist() == [0, 0, 0, 0, 1]
    assert result.stats["short_terms"] == 3 and result.stats["short_attached"] == 2
    strict = baseline_cluster(vectors, lengths, BaselineConfig(short_attach=0.95))
    assert strict.labels.tolist() == [0, 0, 1, 2, 3]


def test_two_means_cannot_split_identical_rows() -> None:
    assert two_means(np.ones((4, 2))) is None
    side = two_means(np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]]))
    assert side is not None and side.tolist() in ([False, False, True, True], [True, True, False, False])


def five_terms_knn() -> tuple[np.ndarray, np.ndarray]:
    """k-NN lists (every other term) of 5 terms: {0, 1, 2} and {3, 4} at cosine 0.95 inside, 0.85 across."""
    group = np.array([0, 0, 0, 1, 1])
    rows = np.array([[j for j in range(5) if j != i] for i in range(5)])
    sims = np.where(group[rows] == group[:, None], 0.95, 0.85).astype(np.float32)
    return sims, rows


def test_published_ratio_cut_stop_rule_uses_the_authors_means() -> None:
    # affinity: 1 inside (s = 0.95), a = exp(-0.1^2 / 0.15^2) across, b = exp(-0.05^2 / 0.15^2) on the diagonal;
    # authors' means: within {3, 4} (2b + 2) / 4, across 2 * 6a / (3 * 2): ratio 0.7388
    sims, rows = five_terms_knn()
    a, b = np.exp(-(0.1 / 0.15) ** 2), np.exp(-(0.05 / 0.15) ** 2)
    expected = min((3 * b + 6) / 9, (2 * b + 2) / 4) / (2 * a)
    assert expected == pytest.approx(0.7388, abs=1e-4)
    part, vectors = np.arange(5), np.zeros((5, 2))  # the published mode reads the k-NN lists only

    def cut(ratio: float) -> list[list[int]]:
        parts = ratio_cut(part, vectors, rows, sims, BaselineConfig(published=True, ratio=ratio))
        return sorted(sorted(p.tolist()) for p in parts)
    assert cut(expected + 0.001) == [[0, 1, 2, 3, 4]]
    assert cut(expected - 0.001) == [[0, 1, 2], [3, 4]]


def test_published_affinity_is_not_clamped_and_self_counts_as_a_neighbour() -> None:
    assert affinity(np.array([0.95, 1.0]), BaselineConfig(published=True)).tolist() == pytest.approx(
        [1.0, np.exp(-(0.05 / 0.15) ** 2)])
    assert affinity(np.array([0.95, 1.0]), BaselineConfig()).tolist() == [1.0, 1.0]
    vectors = jitter(E[0], 6, 0.01, 4)
    pre = baseline_cluster(vectors, np.full(6, 10), BaselineConfig(k=3, max_cluster=100, published=True))
    assert pre.stats["links"] == 6 * 2  # k = 3 counts the term itself: 2 other neighbours each


def test_published_ratio_cut_keeps_parts_of_max_cluster_terms() -> None:
    # two far groups of 5, each two tight subgroups (3 + 2) at cosine 0.75: the corrected rule cuts the fives
    # again (a part of 5 is >= max_cluster), the authors' code keeps parts of <= 5
    centres = [E[0], at_angle(E[0], E[1], 0.75), E[4], at_angle(E[4], E[5], 0.75)]
    vectors = np.vstack([jitter(c, n, 0.01, seed)
                         for seed, (c, n) in enumerate(zip(centres, [3, 2, 3, 2], strict=True))])
    sims, rows = knn_graph(vectors, k=9)
    sizes = {mode: sorted(len(p) for p in ratio_cut(np.arange(10), vectors, rows, sims,
                                                    BaselineConfig(published=mode)))
             for mode in (False, True)}
    assert sizes == {False: [2, 2, 3, 3], True: [5, 5]}


class Recorder:
    name = "recorder"

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[OracleQuery] = []

    def judge(self, query: OracleQuery) -> bool:
        self.asked.append(query)
        return self.answer


def test_birch_thresholds_and_the_oracle_band() -> None:
    texts = ["heart attack", "myocardial infarction", "attack heart", "fracture"]
    vectors = np.vstack([E[0], at_angle(E[0], E[1], 0.8), at_angle(E[0], E[2], 0.95), E[3]])
    config = BirchConfig(upper=0.9, lower=0.7)
    yes, no = Recorder(True), Recorder(False)
    joined = birch_cluster(vectors, texts, yes, config)
    assert joined.labels.tolist() == [0, 0, 0, 1]
    assert [(q.term, q.candidate, round(q.similarity, 3)) for q in yes.asked] == [
        ("myocardial infarction", "heart attack", 0.8)]
    assert joined.stats | {"terms": 4} == {"terms": 4, "clusters": 2, "absorbed": 2, "opened": 2,
                                           "oracle_calls": 1, "oracle_yes": 1}
    apart = birch_cluster(vectors, texts, no, config)
    assert apart.labels.tolist() == [0, 1, 0, 2] and len(no.asked) == 1
    # at or above upper: no question; at or below lower: no question
    assert birch_cluster(vectors, texts, Recorder(True), BirchConfig(upper=0.8, lower=0.7)).stats["oracle_calls"] == 0
    assert birch_cluster(vectors, texts, Recorder(True), BirchConfig(upper=0.95, lower=0.96 - 0.01)
                         ).stats["oracle_calls"] == 0


def test_birch_term_knn_takes_candidates_from_already_clustered_neighbours() -> None:
    # term 1 (cos 0.9 to term 0) has term 2 as its only neighbour, not yet clustered: no candidate, a new
    # sub-cluster; term 2 then joins term 1's. With sub-cluster candidates term 1 joins term 0 (0.9 >= 0.85).
    vectors = np.vstack([E[0], at_angle(E[0], E[1], 0.9), at_angle(E[0], E[1], 0.95)])
    texts = ["a", "b", "c"]
    assert birch_cluster(vectors, texts, Recorder(False), BirchConfig()).labels.tolist() == [0, 0, 0]
    assert birch_cluster(vectors, texts, Recorder(False), BirchConfig(term_knn=1)).labels.tolist() == [0, 1, 1]
    with pytest.raises(ParameterError):
        BirchConfig(term_knn=-1)


def test_birch_compares_centroids_not_openers() -> None:
    # b (23 degrees from a) pulls the centroid to 11.5 degrees; d at 30 degrees is below upper to the opener a
    # (cos 0.866) but above it to the centroid (cos 0.948), so it joins without a question
    a, b, d = E[0], at_angle(E[0], E[1], 0.92), at_angle(E[0], E[1], np.cos(np.radians(30)))
    result = birch_cluster(np.vstack([a, b, d]), ["a", "b", "d"], Recorder(False), BirchConfig(upper=0.9, lower=0.5))
    assert result.labels.tolist() == [0, 0, 0] and result.stats["oracle_calls"] == 0


def test_oracle_calls_grow_linearly_with_n() -> None:
    # N/4 random concepts in 256-d, four noisy variants each: every variant after the first lands in the band
    calls = {}
    for n in (500, 1000, 2000, 4000):
        rng = np.random.default_rng(n)
        centers = rng.normal(size=(n // 4, 256))
        centers /= np.linalg.norm(centers, axis=1, keepdims=True)
        vectors = np.repeat(centers, 4, axis=0) + rng.normal(scale=0.06, size=(n, 256))
        result = birch_cluster(vectors, [f"t{i}" for i in range(n)], Recorder(False),
                               BirchConfig(upper=0.7, lower=0.4, batch=256))
        calls[n] = result.stats["oracle_calls"]
    # at most one call per term, and a constant share of them
    assert all(abs(calls[n] / n - 0.75) < 0.02 for n in calls), calls


def test_rule_oracle() -> None:
    rule = RuleOracle()

    def same(a: str, b: str) -> bool:
        return rule.judge(OracleQuery(a, b, 0.8))

    assert same("Type 2 diabetes", "diabetes, type 2") and same("Seizures", "seizure")
    assert same("COPD", "chronic obstructive pulmonary disease") and same("ALL", "acute lymphoblastic leukemia")
    assert same("Abnormality of the kidneys", "Abnormality of the kidney")
    assert same("hypertrophic cardiomyopathy", "hypertrophic cardiomyopathie")  # 3-gram Dice
    assert not same("hypothyroidism", "hyperthyroidism") and not same("CAD", "chronic kidney disease")
    assert not same("type 1 diabetes", "type 2 diabetes") and not same("left ventricle", "right ventricle")


def test_threshold_llm_and_review_oracles() -> None:
    assert ThresholdOracle(0.8).judge(OracleQuery("a", "b", 0.8)) and not ThresholdOracle(0.8).judge(
        OracleQuery("a", "b", 0.79))

    class Scripted:
        """An LLM backend that answers every prompt with the same text."""

        name, model = "scripted", "fixed-answer"

        def __init__(self, answer: str) -> None:
            self.answer, self.prompts = answer, []  # type: ignore[var-annotated]

        def generate(self, prompts: Sequence[str], *, max_tokens: int = 512, temperature: float = 0.0,
                     stop: Sequence[str] | None = None) -> list[Generation]:
            self.prompts.extend(prompts)
            return [Generation(self.answer, "stop", self.model) for _ in prompts]

    said_yes = Scripted("Yes, they are synonyms.")
    assert isinstance(said_yes, LLMBackend)
    oracle = LLMOracle(said_yes)
    assert oracle.judge(OracleQuery("fever", "pyrexia", 0.8, "raised body temperature", None))
    assert "Term A: fever (explanation: raised body temperature)\nTerm B: pyrexia\n" in said_yes.prompts[0]
    unsure = LLMOracle(Scripted("Perhaps."))
    assert not unsure.judge(OracleQuery("a", "b", 0.8)) and unsure.unparsed == 1
    queue = ReviewQueueOracle()
    assert queue.judge(OracleQuery("COPD", "chronic obstructive pulmonary disease", 0.75, term_row=3))
    assert [(q.term, q.term_row, answer) for q, answer in queue.items] == [("COPD", 3, True)]
    [explained] = llm_explanations(Scripted(" A raised body temperature. "), [("en", "pyrexia", "Pyrexia")])
    assert (explained.explanation, explained.provider) == ("A raised body temperature.", "llm:scripted:fixed-answer")


def test_llm_oracle_without_a_backend_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown LLM backend 'nobody'; known: openai, transformers"):
        make_oracle("llm", (0.7, 0.9), "nobody")
    with pytest.raises(ParameterError, match="--llm NAME"):
        make_oracle("llm", (0.7, 0.9))
    with pytest.raises(ParameterError, match="oracle: 'gpt' is not one of rule, threshold, llm, review"):
        make_oracle("gpt", (0.7, 0.9))
    assert make_oracle("threshold", (0.7, 0.9)).judge(OracleQuery("a", "b", 0.8))


def test_configs_are_checked() -> None:
    with pytest.raises(ParameterError, match="lower"):
        BirchConfig(upper=0.7, lower=0.8)
    with pytest.raises(ParameterError, match="link"):
        BaselineConfig(link=1.5)
    with pytest.raises(ParameterError, match="max_cluster"):
        BaselineConfig(max_cluster=1)


def test_pairwise_scores_hand_checked() -> None:
    concepts = [frozenset({"A"}), frozenset({"A"}), frozenset({"A"}), frozenset({"B"}), frozenset({"A", "B"})]
    # gold pairs: A: (0,1) (0,2) (0,4) (1,2) (1,4) (2,4); B: (3,4) -> 7
    labels = np.array([0, 0, 1, 1, 1])  # predicted pairs: (0,1) (2,3) (2,4) (3,4) -> 4, true: (0,1) (2,4) (3,4)
    scores = pairwise_scores(labels, concepts)
    assert (scores["gold_pairs"], scores["predicted_pairs"], scores["true_pairs"]) == (7, 4, 3)
    assert (scores["precision"], scores["recall"], scores["f1"]) == (0.75, round(3 / 7, 4), round(2 * .75 * 3 / 7 /
                                                                                                    (.75 + 3 / 7), 4))
    assert pairwise_scores(np.arange(5), concepts)["f1"] == 0.0
    partition = [frozenset({c}) for c in "AABBBC"]  # the contingency path: gold 1 + 3 pairs
    assert pairwise_scores(np.array([0, 0, 0, 1, 1, 2]), partition) | {"f1": 0} == {
        "precision": 0.5, "recall": 0.5, "f1": 0, "predicted_pairs": 4, "gold_pairs": 4, "true_pairs": 2}


def test_gold_set_samples_concepts_and_merges_strings() -> None:
    rows = [{"concept": c, "text": t, "norm": t.lower(), "lang": "en"} for c, t in
            [("A", "Fever"), ("A", "Pyrexia"), ("B", "fever"), ("C", "Cough"), ("D", "Rash")]]
    gold = gold_set("toy", "toy", rows, max_concepts=4, seed=0)
    assert sorted(zip(gold.norms, gold.concepts, strict=True)) == [
        ("cough", frozenset({"C"})), ("fever", frozenset({"A", "B"})), ("pyrexia", frozenset({"A"})),
        ("rash", frozenset({"D"}))]
    assert gold_set("toy", "toy", rows, 4, seed=0).texts == gold.texts  # seeded
    assert len({c for names in gold_set("toy", "toy", rows, 2, 0).concepts for c in names}) == 2


def test_read_terms_and_write_clusters(tmp_path: Path) -> None:
    source = tmp_path / "terms.txt"
    source.write_text("Fever\npyrexia\tla\nFEVER\n癫痫\tzh\n", encoding="utf-8")
    items, lines = read_terms(source)
    assert [(i.text, i.lang, i.norm) for i in items] == [("Fever", "en", "fever"), ("pyrexia", "la", "pyrexia"),
                                                          ("癫痫", "zh", "癫痫")]
    assert lines == [("Fever", 0), ("pyrexia", 1), ("FEVER", 0), ("癫痫", 2)]
    out = tmp_path / "out.tsv"
    write_clusters(out, np.array([0, 0, 1]), lines, items)
    assert out.read_text(encoding="utf-8") == "Fever\t0\npyrexia\t0\nFEVER\t0\n癫痫\t1\n"
    write_clusters(out, np.array([0, 0, 1]), lines, items, "bios")
    assert out.read_text(encoding="utf-8") == "Fever|pyrexia\n癫痫\n"
    for text, problem in [("ok\n\n", ":2: empty term"), ("a\tb\tc\n", ":1: expected term or term<TAB>lang, got 3"),
                          ("fever\txx\n", ":1: unknown language code 'xx'"), ("ok\n---\n", ":2: term '---' is empty")]:
        source.write_text(text, encoding="utf-8")
        with pytest.raises(InputError, match=f"{source}{problem}"):
            read_terms(source)


def test_explanation_cache_is_append_only_and_last_wins(tmp_path: Path) -> None:
    path = tmp_path / "explanations.jsonl"
    cache = ExplanationCache(path)
    old = Explanation("en", "fever", "Fever", "old", "graph:definition", "HP:0001945", "2025-01-01T00:00:00+00:00")
    new = Explanation("en", "fever", "Fever", "new", "llm:m", "explain-v1", "2025-01-02T00:00:00+00:00")
    assert cache.add([old]) == 1 and cache.add([new]) == 1
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2
    reread = ExplanationCache(path).get("en", "fever")
    assert reread is not None and (reread.explanation, reread.provider) == ("new", "llm:m")
    path.write_text(path.read_text(encoding="utf-8") + json.dumps({"lang": "en"}) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"{path}:3: not an explanation record"):
        ExplanationCache(path)
