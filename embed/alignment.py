"""Initial embeddings for ideographic characters from their English translations (vocabulary extension, step 2).

An English encoder such as MiniLM knows few Chinese characters (most tokenize to [UNK]; `Encoder.add_tokens`
makes them tokens with a neutral row), and the ones it knows carry little meaning. Training can teach them, but
slowly: each row moves only when its character is in a batch. What the graph already holds is a parallel corpus:
concepts named in both Chinese and English (ICD-10 has both for every code). From those pairs IBM Model 1 learns
t(english token | character) by EM, with a NULL source for function words, and each character's input row becomes
the expectation of the English token rows it translates to, Σ_e t(e|c)·W[e], rescaled so that its distance from
the mean row is that of an ordinary row (an average of rows is shorter). 肺 starts near "lung", 炎 near
"##itis"/"inflammation", and a Chinese name reads to the encoder roughly as its English gloss; contrastive
training then refines it.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bios_kg.embed.encoders import Encoder

EM_ITERATIONS = 8
TOP_TRANSLATIONS = 8  # English tokens kept per character (the rest of t(.|c) is noise)
MIN_PAIRS = 2  # characters seen in fewer aligned pairs keep their row
MAX_PAIRS_PER_CONCEPT = 4
_IDEOGRAPHIC = ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HIRAGANA", "KATAKANA", "HANGUL")
NULL = -1


def is_ideograph(char: str) -> bool:
    """A Chinese, Japanese or Korean character (the scripts an English WordPiece vocabulary lacks)."""
    return unicodedata.name(char, "").startswith(_IDEOGRAPHIC)


def has_ideographs(text: str) -> bool:
    return any(is_ideograph(char) for char in text)


def translation_pairs(synonym_sets: Iterable[Sequence[str]]) -> list[tuple[str, str]]:
    """(ideographic string, Latin-script string) pairs of the same concept, up to MAX_PAIRS_PER_CONCEPT each."""
    pairs: list[tuple[str, str]] = []
    for strings in synonym_sets:
        foreign = [s for s in strings if has_ideographs(s)]
        english = [s for s in strings if not has_ideographs(s) and s.isascii()]
        pairs.extend([(f, e) for f in foreign for e in english][:MAX_PAIRS_PER_CONCEPT])
    return pairs


def translation_table(pairs: Sequence[tuple[Sequence[str], Sequence[int]]],
                      iterations: int = EM_ITERATIONS) -> dict[str, dict[int, float]]:
    """IBM Model 1 by EM: t(e|c) for English token ids e and characters c, from (characters, token ids) pairs."""
    table: dict[str, dict[int, float]] = defaultdict(dict)
    for chars, tokens in pairs:  # uniform start over co-occurring tokens
        for char in (*chars, NULL):
            row = table[str(char)]
            for token in tokens:
                row[token] = 1.0
    for _ in range(iterations):
        counts: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
        for chars, tokens in pairs:
            sources = [*chars, NULL]
            for token in tokens:
                weights = [table[str(c)][token] for c in sources]
                total = sum(weights)
                for char, weight in zip(sources, weights, strict=True):
                    counts[str(char)][token] += weight / total
        table = defaultdict(dict)
        for char, row in counts.items():
            norm = sum(row.values())
            table[char] = {token: count / norm for token, count in row.items()}
    table.pop(str(NULL), None)
    return dict(table)


def align_character_embeddings(encoder: Encoder, pairs: Sequence[tuple[str, str]]) -> int:
    """Set the input row of every ideograph seen in >= MIN_PAIRS pairs from its English translations (module
    docstring); the characters must already be tokens (Encoder.add_tokens). Returns the rows set."""
    import torch

    tokenizer = encoder.tokenizer
    special = set(tokenizer.all_special_ids)
    corpus: list[tuple[list[str], list[int]]] = []
    seen: dict[str, int] = defaultdict(int)
    for foreign, english in pairs:
        chars = sorted({c for c in foreign if is_ideograph(c)})
        tokens = [t for t in tokenizer(english, add_special_tokens=False)["input_ids"] if t not in special]
        if chars and tokens:
            corpus.append((chars, tokens))
            for char in chars:
                seen[char] += 1
    if not corpus:
        return 0
    table = translation_table(corpus)
    unk = tokenizer.unk_token_id
    targets = {char: row for char in sorted(table) if seen[char] >= MIN_PAIRS
               and (row := tokenizer.convert_tokens_to_ids(char)) not in (None, unk)}
    with torch.no_grad():
        weight = encoder.model.get_input_embeddings().weight
        base = weight.detach().float().cpu().numpy()
        others = np.delete(base, list(targets.values()), axis=0)  # the rows' scale, without those being replaced
        mean = others.mean(0)
        typical = float(np.median(np.linalg.norm(others - mean, axis=1)))
        for char, row in targets.items():
            top = sorted(table[char].items(), key=lambda item: -item[1])[:TOP_TRANSLATIONS]
            total = sum(p for _, p in top)
            offset = sum((p / total) * base[token] for token, p in top) - mean
            vector = mean + offset * (typical / max(float(np.linalg.norm(offset)), 1e-6))
            weight[row] = torch.from_numpy(np.asarray(vector, dtype=np.float32)).to(weight.device, weight.dtype)
    return len(targets)
