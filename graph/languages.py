"""Language codes: terms carry ISO 639-1 codes; sources use their own (BIOS ENG/CHS, UMLS LAT)."""

from __future__ import annotations

from graph.errors import ConfigError

# ISO 639-1 codes accepted on Term.lang.
ISO_639_1 = frozenset(
    "ar bg ca cs da de el en es et eu fa fi fr ga he hi hr hu hy id is it ja ka ko la lt lv ms nb nl nn "
    "no pl pt ro ru sk sl sr sv sw th tr uk ur vi zh".split()
)

# Source-specific codes mapped onto ISO 639-1 (UMLS LAT values, BIOS ENG/CHS, upper-case ISO codes).
SOURCE_LANGUAGE_CODES: dict[str, str] = {
    "ENG": "en",
    "CHS": "zh",
    "CHI": "zh",
    "ZHO": "zh",
    "CHT": "zh",
    "JPN": "ja",
    "KOR": "ko",
    "SPA": "es",
    "FRE": "fr",
    "FRA": "fr",
    "GER": "de",
    "DEU": "de",
    "ITA": "it",
    "POR": "pt",
    "RUS": "ru",
    "DUT": "nl",
    "NLD": "nl",
    "SWE": "sv",
    "DAN": "da",
    "NOR": "no",
    "FIN": "fi",
    "POL": "pl",
    "CZE": "cs",
    "CES": "cs",
    "HUN": "hu",
    "TUR": "tr",
    "GRE": "el",
    "ELL": "el",
    "HEB": "he",
    "ARA": "ar",
    "LAV": "lv",
    "EST": "et",
    "HRV": "hr",
    "BAQ": "eu",
    "EUS": "eu",
    "LIT": "lt",
    "UKR": "uk",
    "SCR": "hr",
    "ICE": "is",
    "ISL": "is",
    "PER": "fa",
    "FAS": "fa",
}


def to_iso(code: str) -> str | None:
    """Map a source language code (`ENG`, `CHS`, `en`, `ZH`, `zh-CN`) to ISO 639-1, or None if unknown."""
    raw = code.strip()
    if raw.upper() in SOURCE_LANGUAGE_CODES:
        return SOURCE_LANGUAGE_CODES[raw.upper()]
    base = raw.replace("_", "-").split("-")[0].lower()
    return base if base in ISO_639_1 else None


def guess_language(text: str) -> str:
    """`zh` when the text contains a Han character, else `en` (for formats that omit the language)."""
    return "zh" if any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text) else "en"


def language_filter(codes: list[str] | None, what: str) -> frozenset[str] | None:
    """ISO 639-1 codes for a user's language filter (None: every language); ConfigError names `what` filters."""
    if codes is None:
        return None
    isos = set()
    for code in codes:
        iso = to_iso(code)
        if iso is None:
            raise ConfigError(f"unknown language code {code!r} in the {what} language filter")
        isos.add(iso)
    return frozenset(isos)
