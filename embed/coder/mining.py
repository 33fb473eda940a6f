"""Hard-negative mining for contrastive training (docs/algorithms/cortex.md §3.4, CODER++).

Two kinds, both re-mined periodically with faiss under the current weights. `mine_neighbours` is CODER++'s: each
string's 30 nearest strings, which sampling="coderpp" turns into one group per anchor string (hard positives and
negatives alike). `mine_hard_negatives`, for the other samplers, pairs each concept with one partner concept:
every training string is encoded; a concept's vector is the normalized mean of its
strings' vectors; a faiss inner-product search over those centroids (k = 30, as CoRTEx's kNN) gives each concept
its nearest other concept that shares no string with it and that the graph does not link to it by XREF or IS_A
(`TrainingData.linked`): its partner, which the sampler then puts in the same batch. Without that rule the
nearest concept is often the same thing in another source (HP:0002040 "Enlarged vein in esophagus" and ICD10:I85
"Oesophageal varices") or a parent or child (a quarter of the partners on HPO + ICD-10), and pushing those apart
costs accuracy. The search is exact (IndexFlatIP), so the same weights give the same partners, and a resumed run
mines what an uninterrupted one did.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from bios_kg.embed.coder.sampler import TrainingData
from bios_kg.embed.encoders import Encoder

MINE_K = 30
MINE_BATCH = 64


@dataclass(frozen=True)
class Mined:
    partners: np.ndarray  # int64 [concepts]: the hard negative concept, -1 when none was found
    similarity: float  # mean cosine between a concept and its partner


def concept_centroids(vectors: np.ndarray, data: TrainingData) -> np.ndarray:
    """L2-normalized mean of each concept's string vectors (rows of `vectors` follow data.texts)."""
    rows = vectors[data.term_index]
    rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    sums = np.add.reduceat(rows, data.term_offsets[:-1].astype(np.int64), axis=0)
    centroids = sums / np.maximum(data.term_counts(), 1)[:, None]
    return (centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def nearest_partners(centroids: np.ndarray, data: TrainingData, k: int = MINE_K) -> Mined:
    """Each concept's nearest other concept among its k neighbours that shares none of its strings and is not
    linked to it in the graph."""
    index = faiss.IndexFlatIP(centroids.shape[1])
    index.add(centroids)
    scores, neighbours = index.search(centroids, min(k + 1, len(centroids)))
    partners = np.full(len(centroids), -1, dtype=np.int64)
    found: list[float] = []
    linked = {(int(a), int(b)) for a, b in data.linked} | {(int(b), int(a)) for a, b in data.linked}
    strings = [set(data.term_index[data.term_offsets[c]:data.term_offsets[c + 1]].tolist())
               for c in range(len(centroids))]
    for concept, (row, row_scores) in enumerate(zip(neighbours, scores, strict=True)):
        for other, score in zip(row.tolist(), row_scores.tolist(), strict=True):
            if other not in (concept, -1) and not strings[concept] & strings[other] and (concept, other) not in linked:
                partners[concept] = other
                found.append(score)
                break
    return Mined(partners, float(np.mean(found)) if found else 0.0)


def string_neighbours(vectors: np.ndarray, k: int = MINE_K) -> tuple[np.ndarray, float]:
    """CODER++'s re-mining: each string's k nearest other strings ([N, k], -1 for none) by exact inner product of
    the normalized vectors, and their mean cosine."""
    matrix = np.ascontiguousarray(vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12),
                                  dtype=np.float32)
    index = faiss.IndexFlatIP(matrix.shape[1])
    index.add(matrix)
    scores, rows = index.search(matrix, min(k + 1, len(matrix)))
    own = rows == np.arange(len(matrix))[:, None]
    order = np.argsort(own, axis=1, kind="stable")[:, :min(k, len(matrix) - 1)]  # all but itself, best first
    kept_rows = np.take_along_axis(np.where(own, -1, rows), order, axis=1)
    kept = kept_rows >= 0
    similarity = float(np.take_along_axis(scores, order, axis=1)[kept].mean()) if kept.any() else 0.0
    return kept_rows.astype(np.int64), similarity


def mine_neighbours(encoder: Encoder, data: TrainingData, k: int = MINE_K) -> tuple[np.ndarray, float]:
    """string_neighbours of every training string under the encoder's current weights."""
    with encoder.onnx_snapshot():
        vectors = encoder.encode(data.texts, batch_size=MINE_BATCH)
    return string_neighbours(vectors, k)


def mine_hard_negatives(encoder: Encoder, data: TrainingData, k: int = MINE_K) -> Mined:
    """Partners under the encoder's current weights (encoded in eval mode, without gradients, on ONNX Runtime
    when it is installed: twice as fast on CPU)."""
    with encoder.onnx_snapshot():
        vectors = encoder.encode(data.texts, batch_size=MINE_BATCH)
    return nearest_partners(concept_centroids(vectors, data), data, k)
