"""Retrieval of image-text pairs by ITC (docs/algorithms/ramm.md §5).

With the pretrained model, every pair's image is embedded with z_v and its caption with z_t into two faiss
IndexFlatIP files (row i = pair i). A VQA image queries both with its z_v for k+1 hits; hits on the query's own
image (same image id) are dropped (RAMM's code drops the top 1, which is the image itself when it was pretrained
on; an image that was not keeps all its hits) and each list is cut to k; the 2k candidates are deduplicated by
pair, keeping the higher similarity, with probability ∝ similarity. Training samples `n` pairs without
replacement by probability each time an example is drawn; evaluation takes the top n. The default searches
k = 2n; RAMM's code (`drop_top`, ModelConfig.published) k = n and drops each list's top hit whatever it is.
Similarities below 1e-6 count as 1e-6 so that the probabilities stay valid.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import torch

from bios_kg.apps.vqa.data import ImageCache, Pair
from bios_kg.apps.vqa.model import RAMM
from bios_kg.embed.index import build_faiss
from bios_kg.graph.errors import ConfigError

IMAGE_INDEX, TEXT_INDEX, PAIRS_FILE = "image.faiss", "text.faiss", "pairs.json"
Candidates = list[tuple[int, float]]  # (pair row, probability), best first


@dataclass
class RetrievalIndex:
    pairs: list[Pair]
    images: faiss.Index
    texts: faiss.Index

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.images, str(folder / IMAGE_INDEX))
        faiss.write_index(self.texts, str(folder / TEXT_INDEX))
        rows = [{"image": str(pair.image), "caption": pair.caption, "image_id": pair.image_id} for pair in self.pairs]
        (folder / PAIRS_FILE).write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> RetrievalIndex:
        try:
            rows = json.loads((folder / PAIRS_FILE).read_text(encoding="utf-8"))
            images = faiss.read_index(str(folder / IMAGE_INDEX))
            texts = faiss.read_index(str(folder / TEXT_INDEX))
        except (OSError, RuntimeError, ValueError) as error:
            raise ConfigError(f"{folder}: not a retrieval index ({error}); run `bios vqa pretrain`") from None
        pairs = [Pair(Path(row["image"]), row["caption"], row["image_id"]) for row in rows]
        if not images.ntotal == texts.ntotal == len(pairs):
            raise ConfigError(f"{folder}: {images.ntotal} image and {texts.ntotal} text vectors for {len(pairs)} pairs")
        return cls(pairs, images, texts)

    def candidates(self, queries: np.ndarray, image_ids: Sequence[str], k: int,
                   drop_top: bool = False) -> list[Candidates]:
        """Per query z_v: up to 2k (pair, probability) candidates, best first, without the query's own image
        (`drop_top`: without each list's top hit instead, as RAMM's code)."""
        depth = min(k + 1, len(self.pairs))
        found = [index.search(np.ascontiguousarray(queries, dtype=np.float32), depth)
                 for index in (self.images, self.texts)]
        out = []
        for row, image_id in enumerate(image_ids):
            best: dict[int, float] = {}
            for scores, rows in found:
                hits = [(int(pair), float(score)) for pair, score in zip(rows[row], scores[row], strict=True)
                        if pair >= 0 and (drop_top or self.pairs[pair].image_id != image_id)]
                hits = hits[1:k + 1] if drop_top else hits[:k]
                for pair, score in hits:
                    best[pair] = max(score, best.get(pair, -1.0))
            weights = {pair: max(score, 1e-6) for pair, score in best.items()}
            total = sum(weights.values())
            out.append(sorted(((pair, weight / total) for pair, weight in weights.items()), key=lambda x: -x[1]))
        return out


def choose(candidates: Candidates, n: int, rng: np.random.Generator | None) -> list[int]:
    """n pairs: sampled without replacement by probability with `rng`, else the top n."""
    if n <= 0 or not candidates:
        return []
    if rng is None or len(candidates) <= n:
        return [pair for pair, _ in candidates[:n]]
    probabilities = np.array([p for _, p in candidates])
    picked = rng.choice(len(candidates), size=n, replace=False, p=probabilities / probabilities.sum())
    return [candidates[index][0] for index in sorted(picked)]


@torch.no_grad()
def embed_images(embed: Callable[[torch.Tensor], torch.Tensor], device: torch.device, paths: Sequence[Path],
                 images: ImageCache, batch_size: int = 64) -> np.ndarray:
    """ITC z_v of image files with `embed` (RAMM.image_embedding or a Retriever, in eval mode)."""
    parts = [embed(images.stack(paths[start:start + batch_size]).to(device)).cpu().numpy()
             for start in range(0, len(paths), batch_size)]
    return np.concatenate(parts)


@torch.no_grad()
def build_index(model: RAMM, pairs: list[Pair], images: ImageCache, batch_size: int = 64) -> RetrievalIndex:
    """Image and text ITC vectors of every pair in flat inner-product indexes."""
    if not pairs:
        raise ConfigError("no image-text pairs to index")
    was_training = model.training
    model.eval()
    try:
        texts = np.concatenate([model.text_embedding([pair.caption for pair in pairs[start:start + batch_size]])
                                .cpu().numpy() for start in range(0, len(pairs), batch_size)])
        image_vectors = embed_images(model.image_embedding, model.device, [pair.image for pair in pairs], images,
                                     batch_size)
    finally:
        model.train(was_training)
    return RetrievalIndex(pairs, build_faiss(image_vectors, "flat"), build_faiss(texts, "flat"))
