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


class _Separators(dict[int, str]):
    """A `str.translate` table mapping word-separating punctuation to a space, filled per character on
    first sight (millions of terms go through `normalize_term` in a load)."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        self[code] = value = " " if ch in _SEPARATOR_CHARS or unicodedata.category(ch) in _SEPARATOR_CATEGORIES else ch
        return value


_SEPARATORS = _Separators()


def normalize_term(text: str) -> str:
    """Case-, width-, space- and punctuation-normalized form used for exact matching (`Term.norm`).

    NFKC folds full-width forms (common in Chinese text), casefold lower-cases, word-separating
    punctuation becomes a space, a dot is kept only inside a number (`1.5`), and runs of spaces collapse.
    """
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_SEPARATORS)
    return _SPACES.sub(" ", _DOT_NOT_DECIMAL.sub(" ", folded)).strip()


def term_id(lang: str, norm: str) -> str:
    """Stable id of the Term node for (lang, norm): the same on every machine and in the bulk path."""
    digest = hashlib.blake2b(f"{lang}\x1f{norm}".encode(), digest_size=10).hexdigest()
    return f"T{digest}"


_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def has_han(text: str) -> bool:
    """Does the text hold a Chinese character (CJK unified or compatibility ideograph)?"""
    return _HAN.search(text) is not None


def char_trigrams(text: str) -> set[str]:
    """Character 3-grams of a string, space-padded at both ends."""
    padded = f" {text} "
    return {padded[i:i + 3] for i in range(len(padded) - 2)}


def trigram_dice(a: str, b: str) -> float:
    """Dice coefficient of the character 3-gram sets of two (normalized) strings."""
    return set_dice(char_trigrams(a), char_trigrams(b))


def set_dice(a: set[str], b: set[str]) -> float:
    """Dice coefficient of two sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


# A sentence ends at a run of . ! ? followed by white space or the end, or at a blank line.
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n[ \t]*\n")
_LIST_MARKER = re.compile(r"\s*\(?\d{1,2}[.)]")  # "1." or "2)" opening an enumerated impression
_NOT_FINAL = frozenset({"e.g", "i.e", "dr", "vs", "approx", "fig", "mr", "mrs", "ms", "st"})


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the sentences of `text`, trimmed of surrounding white space.

    A dot after a known abbreviation ("e.g.", "vs.") or after the number of an enumeration ("1. No acute
    disease. 2. ...") ends no sentence; a decimal point (1.5 cm) is never followed by a space. Pieces
    without a letter or digit (the stray ". ." of dictated reports) are dropped.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        piece = text[start:match.start()]
        words = piece.split()
        if match.group().startswith((".", "!", "?")) and (
                _LIST_MARKER.fullmatch(text[start:match.end()]) or (words and words[-1].lower() in _NOT_FINAL)):
            continue
        _add_span(text, start, match.end(), spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    piece = text[start:end]
    if any(ch.isalnum() for ch in piece):
        left = len(piece) - len(piece.lstrip())
        spans.append((start + left, start + len(piece.rstrip())))
