"""All-pairs k-NN over L2-normalized term vectors: every term's nearest other terms by cosine.

Up to bios_kg.embed.index.FLAT_MAX vectors the house exact index (bios_kg.embed.index.build_faiss, flat inner
product); above,
an inverted file (`IndexIVFFlat`, inner product, nlist = 4·√N coarse cells trained on a seeded sample, `nprobe`
cells searched). BIOS used exact search to ~3M terms on GPUs and IVF-PQ at ~30M (docs/algorithms/bios.md §6.2); on
CPUs a one-off all-pairs pass is cheaper with IVF than with HNSW, whose graph build dominates at a million vectors.
"""

from __future__ import annotations

import math

import faiss
import numpy as np

from bios_kg.embed.cluster.config import DEFAULT_NPROBE
from bios_kg.embed.index import FLAT_MAX, build_faiss, normalized
from bios_kg.graph.errors import ParameterError

TRAIN_PER_CELL = 40  # training vectors per coarse cell (faiss warns below 39)
TRAIN_ITERATIONS = 10  # k-means iterations of the coarse quantizer (faiss: 25); coarse cells need no more
SEARCH_BATCH = 16_384


def ivf_index(sample: np.ndarray, count: int, nprobe: int = DEFAULT_NPROBE) -> faiss.Index:
    """An empty inner-product IVF index for about `count` vectors, its nlist = 4·√count cells trained on the
    rows of `sample` (at most TRAIN_PER_CELL per cell are used)."""
    dim = sample.shape[1]
    nlist = max(1, min(int(4 * math.sqrt(count)), len(sample) // TRAIN_PER_CELL or 1))
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
    index.cp.niter = TRAIN_ITERATIONS
    index.train(np.ascontiguousarray(sample[:nlist * TRAIN_PER_CELL], dtype=np.float32))
    index.nprobe = min(nprobe, nlist)
    return index


def seeded_sample(vectors: np.ndarray, size: int, seed: int) -> np.ndarray:
    """`size` rows of `vectors` drawn without replacement (seeded), in row order."""
    if size >= len(vectors):
        return vectors
    return vectors[np.sort(np.random.default_rng(seed).choice(len(vectors), size, replace=False))]


def knn_graph(vectors: np.ndarray, k: int, nprobe: int = DEFAULT_NPROBE, seed: int = 0,
              unit: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(similarities, rows), each [N, k]: the k nearest other rows of each row, best first; missing hits have row
    -1 and similarity -inf (fewer than k other rows, or an approximate search that found fewer). `unit`: the rows
    are float32 and L2-normalized already (no normalized copy is made)."""
    if k < 1:
        raise ParameterError("k", f"{k} is not a positive integer")
    matrix = vectors if unit else normalized(vectors)
    count = len(matrix)
    if count <= FLAT_MAX:
        index = build_faiss(matrix, "flat")
    else:
        index = ivf_index(seeded_sample(matrix, int(4 * math.sqrt(count)) * TRAIN_PER_CELL, seed), count, nprobe)
        index.add(matrix)
    depth = min(k + 1, count)
    sims = np.full((count, k), -np.inf, dtype=np.float32)
    rows = np.full((count, k), -1, dtype=np.int64)
    for start in range(0, count, SEARCH_BATCH):
        found_sims, found_rows = index.search(matrix[start:start + SEARCH_BATCH], depth)
        own = np.arange(start, start + len(found_rows))[:, None]
        drop = (found_rows < 0) | (found_rows == own)
        order = np.argsort(drop, axis=1, kind="stable")[:, :k]  # kept hits first, in rank order
        width = order.shape[1]
        kept = ~np.take_along_axis(drop, order, axis=1)
        rows[start:start + len(found_rows), :width] = np.where(kept, np.take_along_axis(found_rows, order, axis=1), -1)
        sims[start:start + len(found_rows), :width] = np.where(kept, np.take_along_axis(found_sims, order, axis=1),
                                                               -np.inf)
    return sims, rows
