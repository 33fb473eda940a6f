"""CoRTEx's BIRCH-style incremental clustering with two thresholds and an oracle (docs/algorithms/cortex.md §4,
reconstructed).

Terms stream in, in input order. Each sub-cluster keeps BIRCH's clustering feature: its size N and the linear
sum LS of its (unit) term vectors, so its centroid's direction is LS/|LS|, and its representative, the term that
opened it. For each term x:

1. candidates: the sub-clusters whose opening vectors are nearest to x (`candidates` of them, from a faiss index
   over the opening vectors: exact up to FLAT_MAX sub-clusters expected, else IVF trained on a seeded sample of
   the input), plus those opened earlier in the same batch; this flat lookup stands in for the CF-tree's descent.
   With `term_knn` = k > 0, term-level instead, as CoRTEx's published inference code searches: the all-pairs
   k-NN over the terms (k = 30 there; knn.py) is computed first, and x's candidates are the sub-clusters that
   hold its neighbours already clustered;
2. s = the best cosine of x to a candidate's centroid;
3. s >= upper: x joins that sub-cluster; s <= lower (or no candidate): x opens a new one;
4. between the two: the oracle is asked once whether x and the sub-cluster's representative are synonyms, and
   x joins or opens accordingly.

So each term costs at most one oracle call: the calls grow linearly with N (`oracle_calls` in the stats). There
is no merging or splitting of sub-clusters afterwards (BIRCH's global phase); the sub-clusters are the clusters.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import faiss
import numpy as np

from bios_kg.embed.cluster.baseline import ClusterResult
from bios_kg.embed.cluster.config import BirchConfig
from bios_kg.embed.cluster.knn import TRAIN_PER_CELL, ivf_index, knn_graph, seeded_sample
from bios_kg.embed.cluster.labels import canonical_labels
from bios_kg.embed.cluster.oracle import Oracle, OracleQuery
from bios_kg.embed.index import FLAT_MAX, normalized


class _Features:
    """Growable per-sub-cluster arrays: LS, |LS|, N and the representative's row."""

    def __init__(self, dim: int, capacity: int = 1024) -> None:
        self.sums = np.zeros((capacity, dim), dtype=np.float32)
        self.norms = np.zeros(capacity, dtype=np.float32)
        self.sizes = np.zeros(capacity, dtype=np.int64)
        self.representative = np.zeros(capacity, dtype=np.int64)
        self.count = 0

    def open(self, row: int, vector: np.ndarray) -> int:
        if self.count == len(self.sizes):
            grow = len(self.sizes)
            self.sums = np.concatenate([self.sums, np.zeros_like(self.sums[:grow])])
            self.norms = np.concatenate([self.norms, np.zeros(grow, dtype=np.float32)])
            self.sizes = np.concatenate([self.sizes, np.zeros(grow, dtype=np.int64)])
            self.representative = np.concatenate([self.representative, np.zeros(grow, dtype=np.int64)])
        cluster = self.count
        self.sums[cluster] = vector
        self.norms[cluster] = 1.0
        self.sizes[cluster] = 1
        self.representative[cluster] = row
        self.count += 1
        return cluster

    def absorb(self, cluster: int, vector: np.ndarray) -> None:
        self.sums[cluster] += vector
        self.norms[cluster] = np.linalg.norm(self.sums[cluster])
        self.sizes[cluster] += 1

    def centroid_cosines(self, clusters: np.ndarray, vector: np.ndarray) -> np.ndarray:
        return (self.sums[clusters] @ vector) / np.maximum(self.norms[clusters], 1e-12)


def birch_cluster(vectors: np.ndarray, texts: Sequence[str], oracle: Oracle, config: BirchConfig | None = None,
                  explain: Callable[[int], str | None] | None = None,
                  progress: Callable[[int], None] | None = None) -> ClusterResult:
    """Cluster the rows of `vectors` (terms `texts`, same order) in order; `explain(row)` gives a term's
    explanation for the oracle; `progress(n)` is called after each batch of n terms."""
    config = config or BirchConfig()
    vectors = normalized(vectors)
    count, dim = vectors.shape if vectors.ndim == 2 else (0, 0)
    if len(texts) != count:
        raise ValueError(f"{count} vectors but {len(texts)} texts")
    labels = np.zeros(count, dtype=np.int64)
    features = _Features(dim or 1)
    neighbours = knn_graph(vectors, min(config.term_knn, count - 1), config.nprobe, config.seed, unit=True)[1] \
        if config.term_knn and count > 1 else None
    if count <= FLAT_MAX:
        index: faiss.Index = faiss.IndexFlatIP(dim or 1)
    else:
        index = ivf_index(seeded_sample(vectors, int(4 * math.sqrt(count)) * TRAIN_PER_CELL, config.seed), count,
                          config.nprobe)
    stats = {"absorbed": 0, "opened": 0, "oracle_calls": 0, "oracle_yes": 0}
    for start in range(0, count, config.batch):
        chunk = vectors[start:start + config.batch]
        if neighbours is not None:
            hits = np.zeros((len(chunk), 0), dtype=np.int64)
        elif index.ntotal:
            _, hits = index.search(chunk, min(config.candidates, index.ntotal))
        else:
            hits = np.full((len(chunk), 0), -1, dtype=np.int64)
        first_new = features.count
        for offset, vector in enumerate(chunk):
            row = start + offset
            if neighbours is not None:
                earlier = neighbours[row][(neighbours[row] >= 0) & (neighbours[row] < row)]
                clusters = np.unique(labels[earlier])
            else:
                found = hits[offset]
                clusters = np.concatenate([found[found >= 0], np.arange(first_new, features.count)])
            best, similarity = -1, -1.0
            if len(clusters):
                cosines = features.centroid_cosines(clusters, vector)
                top = int(np.argmax(cosines))
                best, similarity = int(clusters[top]), float(cosines[top])
            join = False
            if best >= 0 and similarity >= config.upper:
                join = True
            elif best >= 0 and similarity > config.lower:
                stats["oracle_calls"] += 1
                representative = int(features.representative[best])
                join = oracle.judge(OracleQuery(
                    texts[row], texts[representative], similarity,
                    explain(row) if explain else None, explain(representative) if explain else None, row,
                    representative))
                stats["oracle_yes"] += join
            if join:
                features.absorb(best, vector)
                labels[row] = best
                stats["absorbed"] += 1
            else:
                labels[row] = features.open(row, vector)
                stats["opened"] += 1
        if features.count > first_new and neighbours is None:
            index.add(vectors[features.representative[first_new:features.count]])
        if progress:
            progress(len(chunk))
    labels = canonical_labels(labels)
    return ClusterResult(labels, {"terms": count, "clusters": int(labels.max()) + 1 if count else 0, **stats})
