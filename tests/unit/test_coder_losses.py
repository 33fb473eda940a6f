"""CODER losses against values worked out by hand on 2-3 dimensional vectors."""

from __future__ import annotations

import math

import pytest
import torch

from bios_kg.embed.coder.losses import (
    CoderObjective,
    cosine_matrix,
    cosine_relation_loss,
    mine_multi_similarity,
    multi_similarity_loss,
    semantic_type_loss,
    transe_loss,
)


def tensor(rows: list[list[float]]) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.float64)


def labels(values: list[int]) -> torch.Tensor:
    return torch.tensor(values)


# Four 2-d vectors (v1 scaled by 3: the loss normalizes), concepts A A B B. Cosines:
#   S01 = 0.8, S02 = 0.6, S03 = 0, S12 = 0.8*0.6 + 0.6*0.8 = 0.96, S13 = 0.6, S23 = 0.8.
FOUR = tensor([[1.0, 0.0], [2.4, 1.8], [0.6, 0.8], [0.0, 1.0]])
FOUR_LABELS = labels([0, 0, 1, 1])


def test_cosine_matrix_normalizes() -> None:
    sim = cosine_matrix(FOUR, FOUR)
    expected = tensor([[1, 0.8, 0.6, 0], [0.8, 1, 0.96, 0.6], [0.6, 0.96, 1, 0.8], [0, 0.6, 0.8, 1]])
    assert torch.allclose(sim, expected)


def test_miner_keeps_the_hard_pairs() -> None:
    # anchor 0: P={1: 0.8}, N={2: 0.6, 3: 0}: 0.8 - 0.1 < 0.6? no; 0.6 + 0.1 > 0.8? no  -> nothing
    # anchor 1: P={0: 0.8}, N={2: 0.96, 3: 0.6}: 0.7 < 0.96 keeps 0; 1.06 > 0.8 keeps 2; 0.7 > 0.8? no
    # anchor 2: symmetric to 1 -> positive 3, negative 1;  anchor 3: symmetric to 0 -> nothing
    pairs = mine_multi_similarity(cosine_matrix(FOUR, FOUR), FOUR_LABELS, FOUR_LABELS, same_set=True)
    assert pairs.positive.nonzero().tolist() == [[1, 0], [2, 3]]
    assert pairs.negative.nonzero().tolist() == [[1, 2], [2, 1]]


def test_multi_similarity_loss_by_hand_averages_over_all_anchors() -> None:
    # rows 1 and 2: (1/2)·log(1 + e^{-2(0.8-0.5)}) + (1/50)·log(1 + e^{50(0.96-0.5)}); rows 0 and 3: 0
    row = 0.5 * math.log(1 + math.exp(-0.6)) + math.log(1 + math.exp(23.0)) / 50
    expected = (0 + row + row + 0) / 4  # pytorch-metric-learning's MeanReducer: every anchor counts
    loss = multi_similarity_loss(FOUR, FOUR_LABELS)
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert loss.item() != pytest.approx(row)  # not the mean over the anchors that have pairs


def test_multi_similarity_loss_matches_the_formula_written_as_loops() -> None:
    torch.manual_seed(3)
    vectors, concepts = torch.randn(12, 3, dtype=torch.float64), torch.randint(0, 4, (12,))
    sim = cosine_matrix(vectors, vectors).tolist()
    rows = []
    for i in range(12):
        positives = [k for k in range(12) if k != i and concepts[k] == concepts[i]]
        negatives = [k for k in range(12) if concepts[k] != concepts[i]]
        if not positives or not negatives:
            rows.append(0.0)
            continue
        min_positive, max_negative = min(sim[i][k] for k in positives), max(sim[i][k] for k in negatives)
        kept_positive = [k for k in positives if sim[i][k] - 0.1 < max_negative]
        kept_negative = [k for k in negatives if sim[i][k] + 0.1 > min_positive]
        rows.append(math.log(1 + sum(math.exp(-2 * (sim[i][k] - 0.5)) for k in kept_positive)) / 2
                    + math.log(1 + sum(math.exp(50 * (sim[i][k] - 0.5)) for k in kept_negative)) / 50)
    assert multi_similarity_loss(vectors, concepts).item() == pytest.approx(sum(rows) / 12, rel=1e-10)


def test_miner_edge_cases_give_zero_loss() -> None:
    vectors = tensor([[1.0, 0.0], [0.8, 0.6], [0.6, 0.8]])
    # every label distinct: no positive pair at all
    assert multi_similarity_loss(vectors, labels([0, 1, 2])).item() == 0.0
    # one label: no negative pair at all
    pairs = mine_multi_similarity(cosine_matrix(vectors, vectors), labels([5, 5, 5]), labels([5, 5, 5]), True)
    assert pairs.counts == (0, 0)
    assert multi_similarity_loss(vectors, labels([5, 5, 5])).item() == 0.0
    # A A B: only anchor 1 mines (positive 0 at 0.8, negative 2 at 0.96) -> 1 pair each, which the library
    # treats as no loss; anchor 2 has no positive, so none of its negatives is kept either
    pairs = mine_multi_similarity(cosine_matrix(vectors, vectors), labels([0, 0, 1]), labels([0, 0, 1]), True)
    assert pairs.positive.nonzero().tolist() == [[1, 0]]
    assert pairs.negative.nonzero().tolist() == [[1, 2]]
    assert multi_similarity_loss(vectors, labels([0, 0, 1])).item() == 0.0


def test_miner_epsilon_band() -> None:
    # anchor 0 (label A): positive at cos 0.8 ((0.8, 0.6)), negative at cos 0.75 ((0.75, sqrt(1-0.75²))):
    # 0.75 + 0.1 > 0.8 keeps the negative and 0.8 - 0.1 < 0.75 keeps the positive; with ε = 0.01 neither is kept
    vectors = tensor([[1.0, 0.0], [0.8, 0.6], [0.75, math.sqrt(1 - 0.75**2)]])
    sim = cosine_matrix(vectors, vectors)
    wide = mine_multi_similarity(sim, labels([0, 0, 1]), labels([0, 0, 1]), True, epsilon=0.1)
    narrow = mine_multi_similarity(sim, labels([0, 0, 1]), labels([0, 0, 1]), True, epsilon=0.01)
    assert [0, 1] in wide.positive.nonzero().tolist() and [0, 2] in wide.negative.nonzero().tolist()
    assert not narrow.positive[0].any() and not narrow.negative[0].any()


def test_transe_loss_by_hand() -> None:
    heads = tensor([[1, 0, 0], [0, 0, 0], [1, 2, 2]])
    relations = tensor([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    tails = tensor([[1, 1, 0], [0, 0, 0], [0, 0, 0]])
    negatives = tensor([[4, 5, 0], [1, 0, 0], [1, 2, 2]])
    # ‖h+r−t‖ = 0, 1, 3 and ‖h+r−t′‖ = ‖(−3,−4,0)‖ = 5, 0, 0
    # ReLU(1 + 0 − 5) = 0, ReLU(1 + 1 − 0) = 2, ReLU(1 + 3 − 0) = 4 -> mean 2
    assert transe_loss(heads, relations, tails, negatives).item() == pytest.approx(2.0)
    assert transe_loss(heads[:0], relations[:0], tails[:0], negatives[:0]).item() == 0.0


def test_cosine_relation_loss_by_hand() -> None:
    # anchors h + r: (0.5,0)+(0.5,0) = (1,0) for tail concept A; (0,0.5)+(0,0.5) = (0,1) for tail concept C.
    # references: t1 = (0.6,0.8) A, t2 = (0.8,0.6) C, n1 = (0,1) B, n2 = (0.6,−0.8) D.
    # anchor 1: pos t1 0.6; neg t2 0.8, n1 0, n2 0.6 -> keeps t1 (0.5 < 0.8), t2 (0.9 > 0.6), n2 (0.7 > 0.6)
    # anchor 2: pos t2 0.6; neg t1 0.8, n1 1.0, n2 −0.8 -> keeps t2 (0.5 < 1), t1 (0.9 > 0.6), n1 (1.1 > 0.6)
    heads, relations = tensor([[0.5, 0], [0, 0.5]]), tensor([[0.5, 0], [0, 0.5]])
    tails, negatives = tensor([[0.6, 0.8], [0.8, 0.6]]), tensor([[0, 1], [0.6, -0.8]])
    positive = 0.5 * math.log(1 + math.exp(-2 * (0.6 - 0.5)))
    row1 = positive + math.log(1 + math.exp(50 * 0.3) + math.exp(50 * 0.1)) / 50
    row2 = positive + math.log(1 + math.exp(50 * 0.3) + math.exp(50 * 0.5)) / 50
    loss = cosine_relation_loss(heads, relations, tails, negatives, labels([0, 2]), labels([1, 3]))
    assert loss.item() == pytest.approx((row1 + row2) / 2, rel=1e-12)


def test_semantic_type_loss_by_hand() -> None:
    logits = tensor([[0, math.log(3)], [5, -5], [0, 0]])
    # row 0: −log(3/4); row 1 has no type (ignored); row 2: −log(1/2)
    expected = (math.log(4 / 3) + math.log(2)) / 2
    assert semantic_type_loss(logits, labels([1, -1, 0])).item() == pytest.approx(expected)
    assert semantic_type_loss(logits, labels([-1, -1, -1])).item() == 0.0


def test_objective_combines_the_parts_in_batch_layout() -> None:
    torch.manual_seed(0)
    objective = CoderObjective(dim=3, relation_types=2, semantic_types=2, re_weight=0.5, sty_weight=0.25).double()
    # one (head, tail, negative) pair + one pair, then two synonym strings: rows h h t t n n s s
    vectors = torch.randn(8, 3, dtype=torch.float64)
    concepts, types, relations = labels([0, 0, 1, 1, 2, 3, 4, 4]), labels([0, 0, 1, 1, -1, 0, 1, 1]), labels([1, 0])
    parts = objective(vectors, concepts, types, relations, pairs=2)
    shift = objective.relations(relations)
    assert parts.term.item() == pytest.approx(multi_similarity_loss(vectors, concepts).item())
    assert parts.relation.item() == pytest.approx(transe_loss(vectors[:2], shift, vectors[2:4], vectors[4:6]).item())
    assert parts.semantic_type.item() == pytest.approx(
        semantic_type_loss(objective.semantic_types(vectors), types).item())
    assert parts.total.item() == pytest.approx(
        parts.term.item() + 0.5 * parts.relation.item() + 0.25 * parts.semantic_type.item())
    assert set(parts.values()) == {"loss", "ms", "relation", "sty"}


@pytest.mark.parametrize("relation_loss", ["transe", "cosine"])
def test_gradients_are_finite_on_degenerate_batches(relation_loss: str) -> None:
    torch.manual_seed(1)
    objective = CoderObjective(dim=3, relation_types=2, semantic_types=3, sty_weight=0.1,
                               relation_loss=relation_loss)  # type: ignore[arg-type]
    vectors = torch.randn(9, 3)  # rows: heads 0-2, tails 3-5, negative tails 6-8
    vectors[1] = vectors[0]  # the same string under two concepts: a negative pair at cosine exactly 1
    vectors[4] = 0.0  # a zero vector
    vectors[3] = vectors[0] + objective.relations.weight[1].detach()  # h + r − t = 0 exactly
    vectors.requires_grad_(True)
    concepts, types = labels([0, 1, 0, 5, 6, 7, 8, 9, 5]), labels([0, 1, 0, 2, -1, 1, 0, 0, 2])
    parts = objective(vectors, concepts, types, labels([1, 0, 1]), pairs=3)
    parts.total.backward()
    assert torch.isfinite(parts.total)
    assert vectors.grad is not None and torch.isfinite(vectors.grad).all()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in objective.parameters())
    assert vectors.grad.abs().sum() > 0
