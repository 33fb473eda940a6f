"""Language codes: a term's `lang` is the language of a BCP 47 tag, normalized; sources use their own codes.

Any valid BCP 47 tag is accepted (checked with `langcodes`, which reads the IANA subtag registry): its
language subtag is stored in its shortest ISO 639 form (`fin` -> `fi`, `sme` -> `se`, `iw` -> `he`;
three letters for languages without a two-letter code, like `smn` Inari Sami). Region, script and
variant subtags are dropped: terms are keyed by language (`zh-CN` and `zh-Hant` are both `zh`). Tags
that name no language (`und`, `zxx`, `mul`, `mis`, private use) are refused.
"""

from __future__ import annotations

from functools import cache

import langcodes

from bios_kg.graph.errors import ConfigError

_NOT_A_LANGUAGE = frozenset({"und", "zxx", "mul", "mis"})

# Source-specific codes that are not BCP 47 tags of the language they mean (UMLS LAT values, BIOS ENG/CHS).
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


@cache
def to_iso(code: str) -> str | None:
    """The stored language code of a source code (`ENG`, `CHS`) or a BCP 47 tag (`en`, `zh-CN`, `se-FI`,
    `en_US`); None when it names no language."""
    raw = code.strip()
    if raw.upper() in SOURCE_LANGUAGE_CODES:
        return SOURCE_LANGUAGE_CODES[raw.upper()]
    tag = raw.replace("_", "-")
    if not tag or not langcodes.tag_is_valid(tag):
        return None
    language = langcodes.Language.get(langcodes.standardize_tag(tag)).language
    if not language or language in _NOT_A_LANGUAGE or not language.isalpha() or language.startswith("q"):
        return None  # no language subtag, a special code, or private use (qaa-qtz)
    return language


def is_language(code: str) -> bool:
    """Whether `code` is a language code as the graph stores it (`en`, `se`, `smn`; not `EN` or `zh-CN`)."""
    return to_iso(code) == code


def guess_language(text: str) -> str:
    """`zh` when the text contains a Han character, else `en` (for formats that omit the language)."""
    return "zh" if any("\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" for ch in text) else "en"


def language_filter(codes: list[str] | None, what: str) -> frozenset[str] | None:
    """Stored language codes for a user's language filter (None: every language); ConfigError names `what` filters."""
    if codes is None:
        return None
    isos = set()
    for code in codes:
        iso = to_iso(code)
        if iso is None:
            raise ConfigError(f"unknown language code {code!r} in the {what} language filter")
        isos.add(iso)
    return frozenset(isos)
