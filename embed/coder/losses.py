"""CODER's losses (docs/algorithms/coder.md §4.2) in plain torch.

Multi-similarity (MS) loss and miner: the arithmetic of pytorch-metric-learning's
`MultiSimilarityLoss(alpha=2, beta=50, base=0.5)` with `MultiSimilarityMiner(epsilon=0.1)`, their default
`CosineSimilarity` and the loss's default `MeanReducer` — the pair CODER trains with:

- S is the cosine matrix of the L2-normalized vectors; the miner reads it without gradient. Per anchor i it keeps
  a negative k when S_ik + ε > min_{j∈P_i} S_ij and a positive k when S_ik − ε < max_{j∈N_i} S_ij, where P_i and
  N_i are all positives (same label, k ≠ i) and negatives of i.
- Per anchor: (1/α)·log(1 + Σ_{k∈P'_i} e^{−α(S_ik−λ)}) + (1/β)·log(1 + Σ_{k∈N'_i} e^{β(S_ik−λ)}) over the mined
  sets P'_i, N'_i (an empty set adds 0).
- The batch loss is the mean over **every** anchor of the batch: an anchor without a mined pair counts as 0 and
  still counts in the denominator (MeanReducer over the per-row losses), not a mean over anchors with pairs.
- As in the library, the loss is 0 when the miner keeps at most one positive and at most one negative pair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

RelationLoss = Literal["transe", "cosine"]
ALPHA, BETA, BASE, EPSILON = 2.0, 50.0, 0.5, 0.1
TRANSE_MARGIN = 1.0


@dataclass(frozen=True)
class MinedPairs:
    """Boolean [anchors, references] masks of the pairs the miner kept."""

    positive: torch.Tensor
    negative: torch.Tensor

    @property
    def counts(self) -> tuple[int, int]:
        return int(self.positive.sum()), int(self.negative.sum())


def cosine_matrix(vectors: torch.Tensor, references: torch.Tensor) -> torch.Tensor:
    return F.normalize(vectors, p=2, dim=1) @ F.normalize(references, p=2, dim=1).T


def mine_multi_similarity(similarity: torch.Tensor, labels: torch.Tensor, reference_labels: torch.Tensor,
                          same_set: bool, epsilon: float = EPSILON) -> MinedPairs:
    """The MS miner on a similarity matrix; `same_set`: references are the anchors (the diagonal is no pair)."""
    with torch.no_grad():
        sim = similarity.detach()
        positive = labels[:, None] == reference_labels[None, :]
        negative = ~positive
        if same_set:
            positive.fill_diagonal_(False)
        if not positive.any() or not negative.any():
            empty = torch.zeros_like(positive)
            return MinedPairs(empty, empty.clone())
        hardest_positive = sim.masked_fill(~positive, float("inf")).min(dim=1, keepdim=True).values
        hardest_negative = sim.masked_fill(~negative, float("-inf")).max(dim=1, keepdim=True).values
        return MinedPairs(positive & (sim - epsilon < hardest_negative), negative & (sim + epsilon > hardest_positive))


def _log_one_plus_sum_exp(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per row: log(1 + Σ_{k: mask} exp(x_k)), computed stably (0 for a row with no k)."""
    kept = x.masked_fill(~mask, float("-inf"))
    return torch.logsumexp(torch.cat([kept, kept.new_zeros(len(kept), 1)], dim=1), dim=1)


def multi_similarity_loss(vectors: torch.Tensor, labels: torch.Tensor, references: torch.Tensor | None = None,
                          reference_labels: torch.Tensor | None = None, alpha: float = ALPHA, beta: float = BETA,
                          base: float = BASE, epsilon: float = EPSILON) -> torch.Tensor:
    """MS loss with MS mining (module docstring); against `references` when given, else within `vectors`."""
    same_set = references is None
    if references is None or reference_labels is None:
        references, reference_labels = vectors, labels
    similarity = cosine_matrix(vectors, references)
    pairs = mine_multi_similarity(similarity, labels, reference_labels, same_set, epsilon)
    positives, negatives = pairs.counts
    if positives <= 1 and negatives <= 1:
        return vectors.sum() * 0.0
    positive_term = _log_one_plus_sum_exp(alpha * (base - similarity), pairs.positive) / alpha
    negative_term = _log_one_plus_sum_exp(beta * (similarity - base), pairs.negative) / beta
    return (positive_term + negative_term).mean()


def transe_loss(heads: torch.Tensor, relations: torch.Tensor, tails: torch.Tensor, negative_tails: torch.Tensor,
                margin: float = TRANSE_MARGIN) -> torch.Tensor:
    """mean_b ReLU(γ + ‖h_b + r_b − t_b‖₂ − ‖h_b + r_b − t′_b‖₂) on unnormalized vectors."""
    if len(heads) == 0:
        return heads.sum() * 0.0
    positive = torch.linalg.vector_norm(heads + relations - tails, dim=1)
    negative = torch.linalg.vector_norm(heads + relations - negative_tails, dim=1)
    return F.relu(margin + positive - negative).mean()


def cosine_relation_loss(heads: torch.Tensor, relations: torch.Tensor, tails: torch.Tensor,
                         negative_tails: torch.Tensor, tail_labels: torch.Tensor,
                         negative_labels: torch.Tensor) -> torch.Tensor:
    """The figure's reading of the relation term (docs/algorithms/coder.md §4.3): the MS loss (same α, β, λ, ε) of the
    anchors h + r, labelled with their tail concept, against every tail and negative tail of the batch: cos(h + r, t)
    is pulled up for the tail concept's terms and pushed down for the other concepts' terms."""
    if len(heads) == 0:
        return heads.sum() * 0.0
    return multi_similarity_loss(heads + relations, tail_labels, torch.cat([tails, negative_tails]),
                                 torch.cat([tail_labels, negative_labels]))


def semantic_type_loss(logits: torch.Tensor, types: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the strings whose concept has a semantic type (type index >= 0)."""
    known = types >= 0
    if not known.any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits[known], types[known])


@dataclass(frozen=True)
class LossParts:
    total: torch.Tensor
    term: torch.Tensor  # multi-similarity over concept labels
    relation: torch.Tensor
    semantic_type: torch.Tensor

    def values(self) -> dict[str, float]:
        return {name: float(value.detach()) for name, value in
                (("loss", self.total), ("ms", self.term), ("relation", self.relation), ("sty", self.semantic_type))}


class CoderObjective(nn.Module):
    """L = L_MS + re_weight·L_rel + sty_weight·L_sty, with the learned relation embeddings and type classifier.

    Input layout (one batch, see sampler.CoderBatch): rows [0, p) are heads, [p, 2p) their tails, [2p, 3p) the
    negative tails, the rest synonym strings; `relations` has the p relation indices.
    """

    def __init__(self, dim: int, relation_types: int, semantic_types: int, re_weight: float = 1.0,
                 sty_weight: float = 0.0, relation_loss: RelationLoss = "transe") -> None:
        super().__init__()
        self.relations = nn.Embedding(max(relation_types, 1), dim)
        self.semantic_types = nn.Linear(dim, max(semantic_types, 1))
        self.re_weight = re_weight
        self.sty_weight = sty_weight
        self.relation_loss = relation_loss

    def forward(self, vectors: torch.Tensor, concepts: torch.Tensor, types: torch.Tensor, relations: torch.Tensor,
                pairs: int) -> LossParts:
        zero = vectors.sum() * 0.0
        term = multi_similarity_loss(vectors, concepts)
        relation = zero
        if self.re_weight and pairs:
            heads, tails, negatives = vectors[:pairs], vectors[pairs:2 * pairs], vectors[2 * pairs:3 * pairs]
            shift = self.relations(relations)
            if self.relation_loss == "transe":
                relation = transe_loss(heads, shift, tails, negatives)
            else:
                relation = cosine_relation_loss(heads, shift, tails, negatives, concepts[pairs:2 * pairs],
                                                concepts[2 * pairs:3 * pairs])
        semantic_type = semantic_type_loss(self.semantic_types(vectors), types) if self.sty_weight else zero
        total = term + self.re_weight * relation + self.sty_weight * semantic_type
        return LossParts(total, term, relation, semantic_type)
