"""Finding concepts by their terms, and a concept's full card: the reads behind `bios lookup` and the API.

Lookup takes a concept id (CURIE, or an id the concept retired) as it is; otherwise it matches the
normalized text against `Term.norm` in any language, and fills the places left with full-text matches
(the `term_text` index, CJK-aware). Term hits are grouped by concept; a concept keeps its best hit.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.errors import ParameterError
from bios_kg.graph.languages import is_language
from bios_kg.graph.queries.explore import RELATED_ITEM
from bios_kg.graph.queries.lookup import CONCEPT_CARD, CONCEPT_SUMMARIES, LOOKUP_EXACT, LOOKUP_FULLTEXT, RESOLVE_ALT_ID
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import normalize_term

MAX_QUERY_LENGTH = 200
MAX_LIMIT = 100  # hits per page
MAX_OFFSET = 400  # hits skipped: pages reach the 500th hit at most
_LUCENE_OPERATORS = frozenset({"AND", "OR", "NOT"})
_LUCENE_SPECIAL = re.compile(r'([+\-!(){}\[\]^"~*?:\\/]|&&|\|\|)')
MAX_JOINED = 200  # XREF-joined concepts on a card
_CARD_EXCLUDED = frozenset({"XREF", "SUGGESTED"})  # a card lists joins apart, and suggestions are not relations
# Preferred names, then synonyms, then everything else, among exact hits of one concept.
_TTY_RANK = {"PT": 0, "SY": 1}


@dataclass
class ConceptHit:
    id: str
    name: str | None  # preferred name in the requested language, else English, else any
    matched: str  # the term that matched
    matched_lang: str | None  # None for an id match
    tty: str | None
    method: str  # id | exact | fulltext
    score: float
    names: dict[str, str] = field(default_factory=dict)  # lang -> preferred name
    types: list[dict[str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    obsolete: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def names_by_language(pairs: list[list[str]]) -> dict[str, str]:
    """[[name, …], [name_zh, …]] from the graph -> {"en": …, "zh": …}."""
    return {("en" if key == "name" else key.removeprefix("name_")): value for key, value in pairs}


def preferred_name(names: dict[str, str], lang: str | None) -> str | None:
    for key in (lang, "en"):
        if key and key in names:
            return names[key]
    return next(iter(names.values()), None)


def check_query(text: str, lang: str | None, limit: int, offset: int = 0) -> None:
    """Raise ParameterError naming the parameter that is out of bounds."""
    if not text.strip():
        raise ParameterError("q", "the search text is empty")
    if len(text) > MAX_QUERY_LENGTH:
        raise ParameterError("q", f"the search text is longer than {MAX_QUERY_LENGTH} characters")
    if lang is not None and not is_language(lang):
        raise ParameterError("lang", f"unknown language code {lang!r} (expected a language code, e.g. en, zh, se)")
    if not 1 <= limit <= MAX_LIMIT:
        raise ParameterError("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}")
    if not 0 <= offset <= MAX_OFFSET:
        raise ParameterError("offset", f"must be between 0 and {MAX_OFFSET}, got {offset}")


def fulltext_query(text: str) -> str:
    """The text as a Lucene query: special characters escaped, the operator words AND, OR, NOT quoted, words OR-ed."""
    words = (_LUCENE_SPECIAL.sub(r"\\\1", word) for word in text.split())
    return " ".join(f'"{word}"' if word in _LUCENE_OPERATORS else word for word in words)


def lookup(store: GraphStore, text: str, lang: str | None = None, limit: int = 10) -> list[ConceptHit]:
    """Concepts for `text`: the concept it names when it is an id; else exact normalized matches first,
    then full-text matches for the remaining places (scores scaled to (0, 1])."""
    return lookup_page(store, text, lang, limit)[0]


def lookup_page(store: GraphStore, text: str, lang: str | None = None, limit: int = 10,
                offset: int = 0) -> tuple[list[ConceptHit], bool]:
    """The hits of `lookup` from rank `offset` on, at most `limit`, and whether more hits follow."""
    check_query(text, lang, limit, offset)
    window = offset + limit
    rows = [{**row, "method": "id"} for row in _id_rows(store, text)]
    if not rows:
        exact = store.run(LOOKUP_EXACT, norm=normalize_term(text), lang=lang, limit=window * 20)
        fulltext = store.run(LOOKUP_FULLTEXT, query=fulltext_query(text), lang=lang,
                             candidates=window * 10, limit=window * 20)
        top_score = max((float(row["score"]) for row in fulltext), default=1.0)
        rows = [{**row, "method": "exact"} for row in exact] + [
            {**row, "method": "fulltext", "score": float(row["score"]) / top_score} for row in fulltext]
    best: dict[str, dict[str, Any]] = {}
    for row in rows:
        known = best.get(row["id"])
        if known is None or _rank(row) < _rank(known):
            best[row["id"]] = row
    ranked = sorted(best.values(), key=_rank)
    top = ranked[offset:window]
    summaries = {row["id"]: row for row in store.run(CONCEPT_SUMMARIES, ids=[row["id"] for row in top])}
    hits = []
    for row in top:
        summary = summaries[row["id"]]
        names = names_by_language(summary["names"])
        hits.append(ConceptHit(id=row["id"], name=preferred_name(names, lang or row["lang"]), matched=row["term"],
                               matched_lang=row["lang"], tty=row["tty"], method=row["method"],
                               score=round(float(row["score"]), 4), names=names, types=summary["types"],
                               sources=summary["sources"], obsolete=summary["obsolete"]))
    return hits, len(ranked) > window


def _id_rows(store: GraphStore, text: str) -> list[dict[str, Any]]:
    """A hit for the concept whose id (or retired id) the text is, when it is a CURIE."""
    try:
        resolved = resolve_concept_id(store, normalize_curie(text))
    except ValueError:
        return []
    if resolved is None:
        return []
    return [{"id": resolved, "term": text.strip(), "lang": None, "tty": None, "score": 1.0}]


_METHOD_RANK = {"id": 0, "exact": 1, "fulltext": 2}


def _rank(row: dict[str, Any]) -> tuple[int, float, int, str]:
    return _METHOD_RANK[row["method"]], -float(row["score"]), _TTY_RANK.get(row["tty"] or "", 2), row["id"]


def resolve_concept_id(store: GraphStore, concept_id: str) -> str | None:
    """The id itself when it is a concept, the concept that retired it (alt id), or None."""
    if store.run(CONCEPT_SUMMARIES, ids=[concept_id]):
        return concept_id
    holder: str | None = store.scalar(RESOLVE_ALT_ID, id=concept_id)
    return holder


def concept_card(store: GraphStore, concept_id: str, relations_per_type: int = 50) -> dict[str, Any] | None:
    """Everything the graph holds about one concept, or None when no concept has this id or alt id."""
    resolved = resolve_concept_id(store, concept_id)
    if resolved is None:
        return None
    card = store.run(CONCEPT_CARD, id=resolved, max_joined=MAX_JOINED)[0]
    card["names"] = names_by_language(card["names"])
    card["terms"] = sorted(card["terms"], key=lambda t: (t["lang"] != "en", t["lang"], _TTY_RANK.get(t["tty"], 2),
                                                         t["text"]))
    card["relations"] = [asdict(group) for group in
                         store.relation_groups(resolved, _CARD_EXCLUDED, RELATED_ITEM, relations_per_type)]
    if resolved != concept_id:
        card["redirected_from"] = concept_id
    return card
