"""Term normalization and term identity: one Term node per (language, normalized string)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# Punctuation that separates words: dashes, connectors, brackets, quotes and common separators.
_SEPARATOR_CATEGORIES = frozenset({"Pd", "Pc", "Ps", "Pe", "Pi", "Pf"})
_SEPARATOR_CHARS = frozenset(",;:!?\"'`·、，。：；！？/\\")
_SPACES = re.compile(r"\s+")
_DOT_NOT_DECIMAL = re.compile(r"(?<!\d)\.|\.(?!\d)")


def normalize_term(text: str) -> str:
    """Case-, width-, space- and punctuation-normalized form used for exact matching (`Term.norm`).

    NFKC folds full-width forms (common in Chinese text), casefold lower-cases, word-separating
    punctuation becomes a space, a dot is kept only inside a number (`1.5`), and runs of spaces collapse.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    chars = [
        " " if ch in _SEPARATOR_CHARS or unicodedata.category(ch) in _SEPARATOR_CATEGORIES else ch for ch in folded
    ]
    return _SPACES.sub(" ", _DOT_NOT_DECIMAL.sub(" ", "".join(chars))).strip()


def term_id(lang: str, norm: str) -> str:
    """Stable id of the Term node for (lang, norm): the same on every machine and in the bulk path."""
    digest = hashlib.blake2b(f"{lang}\x1f{norm}".encode(), digest_size=10).hexdigest()
    return f"T{digest}"


def char_trigrams(text: str) -> set[str]:
    """Character 3-grams of a string, space-padded at both ends."""
    padded = f" {text} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def trigram_dice(a: str, b: str) -> float:
    """Dice coefficient of the character 3-gram sets of two (normalized) strings."""
    grams_a, grams_b = char_trigrams(a), char_trigrams(b)
    if not grams_a or not grams_b:
        return 0.0
    return 2 * len(grams_a & grams_b) / (len(grams_a) + len(grams_b))
