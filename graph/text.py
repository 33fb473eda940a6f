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
