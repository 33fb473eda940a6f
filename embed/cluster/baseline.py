"""BIOS's clustering of the CODER++ era (docs/algorithms/bios.md §6.2), on any encoder's vectors.

1. k-NN (k = 30) over the L2-normalized term vectors (knn.py).
2. Pre-clusters: the connected components of the pairs with cosine > `link` (0.8), which is what BIOS's
   union-find computes (done here with scipy's connected components); terms of `short_max` (3) characters or
   fewer take no part.
3. Ratio cut: every cluster of at least `max_cluster` (5) terms is bisected recursively: unnormalized Laplacian
   L = D - W of an affinity W, the eigenvectors of its two smallest eigenvalues with rows normalized, two-means;
   a part below `ratio_max_size` (50) terms stays uncut when min(mean affinity within each half) / mean affinity
   across < `ratio` (1.5). Two modes:
   - corrected (the default): W = exp(-[center - s]_+^2 / width^2) (0.95, 0.15), clamped so that more similar
     never means less affine; parts up to `dense_max` terms use every pair's cosine, larger ones the k-NN pairs;
     the means leave out the diagonal and count each pair once; a part of `max_cluster` terms or more is cut
     again; two-means is seeded deterministically.
   - published (`BaselineConfig.published`), the authors' v2 ratio-cut code: k counts the term itself (the
     all-pairs search returns it first), so k - 1 other neighbours; W holds exp(-(center - s)^2 / width^2) for
     the k-NN pairs only (their `np.max(center - s, 0)` reduces an array along axis 0 and clamps nothing, so an
     exact duplicate, s = 1, is less affine than s = 0.95) with the self-affinity on the diagonal; the mean within
     a half is its sum over n^2 (diagonal included) and the mean across is the sum of both cross blocks over
     n0 * n1 (each pair twice), so the same ratio cuts less often than the corrected rule; halves of at most
     `max_cluster` terms are kept; two-means is scikit-learn's KMeans (k-means++, 10 starts, seed 0).
   In both, the affinity, not the raw cosine, is the "similarity" of the stop rule [D: with raw cosines of linked
   terms (all > 0.8) no ratio reaches 1.5]. Large parts (above `dense_max`) use a sparse eigensolver.
4. Short terms join the cluster of their most similar neighbour that is not short when that cosine is >
   `short_attach` (0.8), else stay alone.

Left out of v2: abbreviation and lemma variants (an Aho-Corasick automaton over a BIOS list) and the bilingual
back-translation merge, which needs translation pairs this project does not have.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.linalg import eigh
from scipy.sparse import coo_matrix, csgraph, identity
from scipy.sparse.linalg import eigsh

from bios_kg.embed.cluster.config import BaselineConfig
from bios_kg.embed.cluster.knn import knn_graph
from bios_kg.embed.cluster.labels import canonical_labels, groups
from bios_kg.embed.index import normalized


@dataclass
class ClusterResult:
    labels: np.ndarray  # one cluster number per term, numbered by first appearance
    stats: dict[str, Any]

    @property
    def clusters(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0


def affinity(similarity: np.ndarray, config: BaselineConfig) -> np.ndarray:
    """The ratio cut's affinity of cosines (clamped unless config.published; module docstring)."""
    gap = config.center - similarity
    if not config.published:
        gap = np.clip(gap, 0.0, None)
    return np.exp(-(gap ** 2) / config.width ** 2)


def two_means(points: np.ndarray, iterations: int = 50) -> np.ndarray | None:
    """A boolean side per row from two-means seeded deterministically (the row farthest from the mean, then
    the row farthest from it); None when the rows cannot be split in two."""
    first = points[np.argmax(((points - points.mean(0)) ** 2).sum(1))]
    second = points[np.argmax(((points - first) ** 2).sum(1))]
    centres = np.stack([first, second])
    side = np.zeros(len(points), dtype=bool)
    for _ in range(iterations):
        distances = ((points[:, None, :] - centres[None]) ** 2).sum(-1)
        new_side = distances[:, 1] < distances[:, 0]
        if not new_side.any() or new_side.all():
            return None
        if (new_side == side).all():
            break
        side = new_side
        centres = np.stack([points[~side].mean(0), points[side].mean(0)])
    return side


def kmeans_side(points: np.ndarray) -> np.ndarray | None:
    """The authors' split: scikit-learn's KMeans with 2 clusters (k-means++, 10 starts; seed 0 here)."""
    from sklearn.cluster import KMeans

    side = KMeans(n_clusters=2, n_init=10, random_state=0).fit_predict(points) == 1
    return None if side.all() or not side.any() else side


def _spectral_side(laplacian: Any, dense: bool, published: bool = False) -> np.ndarray | None:
    if dense:
        _, vectors = eigh(laplacian, subset_by_index=[0, 1])
    else:  # shift-invert just below 0: L is singular, L + 1e-3·I is not
        _, vectors = eigsh(laplacian, k=2, sigma=-1e-3, which="LM")
    vectors = normalized(vectors).astype(np.float64)
    return kmeans_side(vectors) if published else two_means(vectors)


def _mean_off_diagonal(block: np.ndarray) -> float:
    n = block.shape[0]
    return 1.0 if n < 2 else float((block.sum() - np.trace(block)) / (n * (n - 1)))


def _knn_weights(part: np.ndarray, rows: np.ndarray, sims: np.ndarray, config: BaselineConfig) -> Any:
    """Sparse affinity of the k-NN pairs inside `part` (either direction), CSR [len(part), len(part)]."""
    position = np.full(len(rows), -1, dtype=np.int64)
    position[part] = np.arange(len(part))
    heads = np.repeat(np.arange(len(part)), rows.shape[1])
    tails = position[np.where(rows[part] >= 0, rows[part], 0).reshape(-1)]
    keep = (rows[part].reshape(-1) >= 0) & (tails >= 0)
    values = affinity(sims[part].reshape(-1)[keep].astype(np.float64), config)
    weights = coo_matrix((values, (heads[keep], tails[keep])), shape=(len(part), len(part))).tocsr()
    return weights.maximum(weights.T)


def _bisect_published(part: np.ndarray, rows: np.ndarray, sims: np.ndarray,
                      config: BaselineConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """The authors' cut of `part` (module docstring, published mode); None when it stays whole."""
    weights = _knn_weights(part, rows, sims, config)
    self_affinity = float(affinity(np.array(1.0), config))
    dense = len(part) <= config.dense_max
    if dense:
        matrix = weights.toarray()
        np.fill_diagonal(matrix, self_affinity)  # the term is its own first neighbour; L does not change
        side = _spectral_side(np.diag(matrix.sum(0)) - matrix, dense=True, published=True)
    else:
        degree = np.asarray(weights.sum(0)).reshape(-1)
        side = _spectral_side(identity(len(part), format="csr").multiply(degree[:, None]).tocsr() - weights,
                              dense=False, published=True)
    if side is None:
        return None
    if dense and len(part) < config.ratio_max_size:
        within = min(matrix[np.ix_(half, half)].sum() / half.sum() ** 2 for half in (side, ~side))
        across = (matrix.sum() - matrix[np.ix_(side, side)].sum() - matrix[np.ix_(~side, ~side)].sum()) \
            / (side.sum() * (~side).sum())
        if within / (across + 1e-8) < config.ratio:
            return None
    return part[side], part[~side]


def _bisect(part: np.ndarray, vectors: np.ndarray, rows: np.ndarray, sims: np.ndarray,
            config: BaselineConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """The two halves of `part` (term rows), or None when it stays whole (no split, or the stop rule)."""
    if config.published:
        return _bisect_published(part, rows, sims, config)
    if len(part) <= config.dense_max:
        local = vectors[part]
        weights = affinity(local @ local.T, config)
        np.fill_diagonal(weights, 0.0)
        side = _spectral_side(np.diag(weights.sum(1)) - weights, dense=True)
        if side is None:
            return None
        if len(part) < config.ratio_max_size:
            cross = float(weights[np.ix_(side, ~side)].mean())
            within = min(_mean_off_diagonal(weights[np.ix_(side, side)]),
                         _mean_off_diagonal(weights[np.ix_(~side, ~side)]))
            if cross > 0 and within / cross < config.ratio:
                return None
    else:
        weights = _knn_weights(part, rows, sims, config)
        degree = np.asarray(weights.sum(1)).reshape(-1)
        laplacian = identity(len(part), format="csr").multiply(degree[:, None]).tocsr() - weights
        side = _spectral_side(laplacian, dense=False)
        if side is None:
            return None
    return part[side], part[~side]


def ratio_cut(part: np.ndarray, vectors: np.ndarray, rows: np.ndarray, sims: np.ndarray,
              config: BaselineConfig) -> list[np.ndarray]:
    """`part` (term rows of one pre-cluster) cut recursively into clusters: a part of `max_cluster` terms or more
    is cut again (corrected), or one of more than `max_cluster` terms (published: the authors keep halves of at
    most `max_cluster`)."""
    done: list[np.ndarray] = []
    pending = [part] if len(part) >= config.max_cluster else []
    smallest = config.max_cluster + 1 if config.published else config.max_cluster
    while pending:
        current = pending.pop()
        halves = _bisect(current, vectors, rows, sims, config)
        if halves is None:
            done.append(current)
            continue
        for half in (halves[1], halves[0]):
            (pending if len(half) >= smallest else done).append(half)
    return done if len(part) >= config.max_cluster else [part]


def baseline_cluster(vectors: np.ndarray, lengths: np.ndarray, config: BaselineConfig | None = None,
                     knn: tuple[np.ndarray, np.ndarray] | None = None) -> ClusterResult:
    """Cluster the rows of `vectors`; `lengths` are the terms' lengths in characters (normalized form). `knn`,
    when given, is knn_graph's output for these vectors with at least config.k neighbours."""
    config = config or BaselineConfig()
    vectors = normalized(vectors)
    count = len(vectors)
    lengths = np.asarray(lengths)
    if len(lengths) != count:
        raise ValueError(f"{count} vectors but {len(lengths)} lengths")
    if count == 0:
        return ClusterResult(np.zeros(0, dtype=np.int64), {"terms": 0, "clusters": 0})
    others = max(1, config.k - 1) if config.published else config.k  # published: k includes the term itself
    sims, rows = knn if knn is not None else knn_graph(vectors, min(others, max(1, count - 1)), config.nprobe,
                                                                unit=True)
    sims, rows = sims[:, :others], rows[:, :others]
    short = lengths <= config.short_max
    heads = np.repeat(np.arange(count), rows.shape[1])
    tails = rows.reshape(-1)
    link = (sims.reshape(-1) > config.link) & (tails >= 0)
    link &= ~short[heads] & ~short[np.where(tails >= 0, tails, 0)]
    graph = coo_matrix((np.ones(int(link.sum()), dtype=np.int8), (heads[link], tails[link])), shape=(count, count))
    components, pre = csgraph.connected_components(graph, directed=True, connection="weak")
    labels = np.where(short, -1, pre).astype(np.int64)
    sizes = np.bincount(pre[~short], minlength=components)
    big = np.flatnonzero(~short & (sizes[pre] >= config.max_cluster))
    next_label = components
    cut = 0
    for members in (big[group] for group in groups(pre[big])):
        parts = ratio_cut(members, vectors, rows, sims, config)
        cut += len(parts) - 1
        for part in parts[1:]:
            labels[part] = next_label
            next_label += 1
    attached = 0
    for term in np.flatnonzero(short):
        hits = [(row, sim) for row, sim in zip(rows[term], sims[term], strict=True) if row >= 0 and not short[row]]
        if hits and hits[0][1] > config.short_attach:
            labels[term] = labels[hits[0][0]]
            attached += 1
        else:
            labels[term] = next_label
            next_label += 1
    labels = canonical_labels(labels)
    return ClusterResult(labels, {"terms": count, "clusters": int(labels.max()) + 1, "links": int(link.sum()),
                                  "pre_clusters_cut": cut, "short_terms": int(short.sum()),
                                  "short_attached": attached})
