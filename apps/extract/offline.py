"""The offline extractor: dictionary matching over the graph's terms plus rules, in GENIE's output schema. It is
the extractor when no LLM is configured, and a teacher for distilled SFT pairs.

Dictionary: every Term of the configured languages (default English and Chinese) whose concepts have a semantic
type in the type map (records.TYPE_MAP), keyed by its `norm`, in an Aho-Corasick automaton (pyahocorasick). The
term's GENIE type is the one most of its concepts map to (ties: the map's order). Terms of anatomical types, and
the organ names that HPO's "Abnormality of the X" / "Abnormal X morphology" terms contain, are body locations, not
entities. Left out: STOP_TERMS, terms in Latin letters under 3 characters and others under 2, and terms holding
a measurement (38.5℃, 阿莫西林0.5g: values are found by rule). The dictionary is built once per graph state and
configuration, kept in the process and pickled under BIOS_HOME (the sample graph's 208k English and Chinese terms:
built in about 13 s on 2 busy cores, mostly the Cypher read; read back from the file in a quarter of a second).

Matching: the note is normalized like `Term.norm` with a map back to its offsets (rules.normalize_with_offsets),
so matches are case-, width- and punctuation-insensitive and offsets stay exact; English matches must sit on word
boundaries, Chinese ones need not; overlapping matches are resolved leftmost-longest (forward maximum matching).
Then per entity: assertion status (rules.assertions), a value with its unit (the nearest measurement in the same
clause), modifiers (the modifier words right before it), body location (an anatomical term inside the phrase,
else the nearest one in the clause, with the location words before it, else those words alone) and purpose (for a
drug or procedure: the entity after "for" / 用于 / 治疗). Named measurements with no term there ("BP 120/80 mmHg",
体温 37.5℃) become Laboratory or Test Result entities.
"""

from __future__ import annotations

import hashlib
import pickle
import re
import threading
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick

from bios_kg.apps.extract import rules
from bios_kg.apps.extract.queries import EXTRACT_DICTIONARY_STATE, EXTRACT_TERMS
from bios_kg.apps.extract.records import ANATOMY, DRUG, LAB, TYPE_MAP, Entity, Extraction, TypeMap, not_applicable
from bios_kg.graph.settings import data_home
from bios_kg.graph.store import GraphStore

STOP_TERMS = frozenset({
    "all", "normal", "clear", "stable", "unknown", "other", "left", "right", "mild", "moderate", "severe", "small",
    "large", "increased", "decreased", "high", "low", "chronic", "acute", "positive", "negative", "present", "absent",
    "history", "change", "changes", "size", "unchanged", "frequent", "occasional", "onset", "death", "xxxx",
    "病史", "查体", "口服", "诱因", "治疗", "检查", "症状", "体征", "患者", "出现", "正常",
})
MIN_LATIN_CHARS, MIN_CHARS = 3, 2  # shortest term matched: in Latin letters (any language), in other scripts
ANATOMY_PATTERNS = (r"^abnormality of (?:the )?(.+)$", r"^abnormal (.+) morphology$")
LOCATION_WINDOW = 40  # characters between an entity and an anatomical term outside it
VALUE_WINDOW = 25  # characters between an entity and its measurement
PURPOSE = re.compile(r"\b(?:for|to treat|to prevent)\b|用于|治疗|预防", re.IGNORECASE)
PURPOSE_TYPES = frozenset({DRUG, "Therapeutic or Preventive Procedure", "Diagnostic Procedure"})
ENTITY, BODY = "entity", "anatomy"
DICTIONARY_VERSION = 2  # part of the cache key: bump when dictionary_from_rows changes what it builds


@dataclass(frozen=True)
class DictionaryConfig:
    languages: tuple[str, ...] = ("en", "zh")
    type_map: tuple[tuple[str, tuple[str, ...]], ...] = tuple(TYPE_MAP.items())
    stop_terms: frozenset[str] = STOP_TERMS
    anatomy_patterns: tuple[str, ...] = ANATOMY_PATTERNS

    @classmethod
    def of(cls, languages: Sequence[str] = ("en", "zh"), type_map: TypeMap | None = None) -> DictionaryConfig:
        return cls(languages=tuple(languages), type_map=tuple((type_map or TYPE_MAP).items()))


@dataclass
class Dictionary:
    automaton: Any  # ahocorasick.Automaton: norm -> (length, kind, GENIE type)
    counts: dict[str, int] = field(default_factory=dict)  # entity and anatomy keys, skipped terms
    seconds: float = 0.0


_CACHE: dict[tuple[Any, ...], Dictionary] = {}
_BUILDING = threading.Lock()


def graph_state(store: GraphStore) -> tuple[Any, ...]:
    row = store.run(EXTRACT_DICTIONARY_STATE)[0]
    return row["database"], row["terms"], row["named"], row["typed"], tuple(map(tuple, row["sources"]))


def dictionary_file(key: tuple[Any, ...]) -> Path:
    """Where the dictionary of a (graph state, configuration) is kept between processes."""
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:24]
    return data_home() / "indexes" / "extract" / f"dictionary-{digest}.pkl"


def dictionary_key(store: GraphStore, config: DictionaryConfig = DictionaryConfig()) -> tuple[Any, ...]:
    """What a dictionary depends on: this code's version, the graph's state and the configuration."""
    return DICTIONARY_VERSION, graph_state(store), config


def load_dictionary(store: GraphStore, config: DictionaryConfig = DictionaryConfig()) -> Dictionary:
    """The dictionary of the graph's current state: kept in the process and in BIOS_HOME/indexes/extract/ (one
    file, replaced when the graph or the configuration changes), built when neither has it."""
    key = dictionary_key(store, config)
    with _BUILDING:
        if key not in _CACHE:
            _CACHE.clear()  # one graph state at a time: an old one is not coming back
            path = dictionary_file(key)
            if path.is_file():
                with path.open("rb") as handle:
                    _CACHE[key] = pickle.load(handle)
            else:
                _CACHE[key] = build_dictionary(store, config)
                path.parent.mkdir(parents=True, exist_ok=True)
                for old in path.parent.glob("dictionary-*.pkl"):
                    old.unlink()
                partial = path.with_suffix(".tmp")
                with partial.open("wb") as handle:
                    pickle.dump(_CACHE[key], handle, protocol=pickle.HIGHEST_PROTOCOL)
                partial.replace(path)
        return _CACHE[key]


def build_dictionary(store: GraphStore, config: DictionaryConfig = DictionaryConfig()) -> Dictionary:
    return dictionary_from_rows(store.stream(EXTRACT_TERMS, languages=list(config.languages)), config)


def dictionary_from_rows(rows: Iterable[tuple[str, str, list[list[str]]]],
                         config: DictionaryConfig = DictionaryConfig()) -> Dictionary:
    """The dictionary of term rows (norm, lang, [[concept id, semantic type id, semantic type name], ...]), ids and
    names lower-cased as EXTRACT_TERMS returns them."""
    started = time.perf_counter()
    by_graph_type = {graph_type.lower(): genie for genie, graph_types in config.type_map for graph_type in graph_types}
    priority = {genie: rank for rank, (genie, _) in enumerate(config.type_map)}
    patterns = [re.compile(pattern) for pattern in config.anatomy_patterns]
    automaton = ahocorasick.Automaton()
    counts: Counter[str] = Counter()
    organs: set[str] = set()
    for norm, lang, types in rows:
        if lang == "en":
            organs.update(match.group(1) for pattern in patterns for match in [pattern.match(norm)] if match)
        if norm in config.stop_terms or len(norm) < (MIN_LATIN_CHARS if norm.isascii() else MIN_CHARS) \
                or not any(ch.isalpha() for ch in norm) or rules.measures(norm):
            counts["skipped"] += 1
            continue
        typed = {(concept, genie) for concept, type_id, type_name in types
                 for genie in (by_graph_type.get(type_id), by_graph_type.get(type_name)) if genie}
        if not typed:
            counts["untyped"] += 1
            continue
        votes = Counter(genie for _, genie in typed)  # concepts per GENIE type
        genie_type = max(votes, key=lambda g: (votes[g], -priority[g]))
        kind = BODY if genie_type == ANATOMY else ENTITY
        if automaton.exists(norm) and (kind == BODY or automaton.get(norm)[1] == ENTITY):
            continue  # the same norm in another language: an entity wins over a body location
        automaton.add_word(norm, (len(norm), kind, genie_type))
        counts[kind] += 1
        if lang == "en" and not automaton.exists(plural := english_plural(norm)):  # "pleural effusions"
            automaton.add_word(plural, (len(plural), kind, genie_type))
            counts["plurals"] += 1
    for organ in organs - config.stop_terms:
        if not automaton.exists(organ):
            automaton.add_word(organ, (len(organ), BODY, ANATOMY))
            counts[BODY] += 1
    automaton.make_automaton()
    return Dictionary(automaton, dict(counts), round(time.perf_counter() - started, 2))


def english_plural(norm: str) -> str:
    """The regular plural of a term's last word: effusion -> effusions, opacity -> opacities, mass -> masses."""
    if norm.endswith(("s", "x", "z", "ch", "sh")):
        return norm + "es"
    if norm.endswith("y") and len(norm) > 1 and norm[-2] not in "aeiou":
        return norm[:-1] + "ies"
    return norm + "s"


@dataclass(frozen=True)
class Match:
    start: int  # offsets into the note
    end: int
    kind: str
    semantic_type: str


def _word_char(ch: str) -> bool:
    return ch.isalnum() and not rules.is_cjk(ch)


def find_terms(dictionary: Dictionary, text: str) -> list[Match]:
    """Every dictionary match in `text` on word boundaries (English), in note offsets; overlaps included."""
    norm, offsets = rules.normalize_with_offsets(text)
    found = []
    for last, (length, kind, genie_type) in dictionary.automaton.iter(norm):
        first = last - length + 1
        if _word_char(norm[first]) and first > 0 and _word_char(norm[first - 1]):
            continue
        if _word_char(norm[last]) and last + 1 < len(norm) and _word_char(norm[last + 1]):
            continue
        found.append(Match(offsets[first], offsets[last] + 1, kind, genie_type))
    return found


def longest_matches(matches: Sequence[Match]) -> list[Match]:
    """Leftmost-longest non-overlapping matches."""
    chosen: list[Match] = []
    for match in sorted(matches, key=lambda m: (m.start, -(m.end - m.start))):
        if not chosen or match.start >= chosen[-1].end:
            chosen.append(match)
    return chosen


class OfflineExtractor:
    """Dictionary + rules extraction (module docstring)."""

    name = "offline"

    def __init__(self, dictionary: Dictionary) -> None:
        self.dictionary = dictionary

    @classmethod
    def open(cls, store: GraphStore, languages: Sequence[str] = ("en", "zh"),
             type_map: TypeMap | None = None) -> OfflineExtractor:
        return cls(load_dictionary(store, DictionaryConfig.of(languages, type_map)))

    def extract(self, texts: Sequence[str]) -> list[Extraction]:
        return [Extraction(self.entities(text)) for text in texts]

    def entities(self, text: str) -> list[Entity]:
        matches = find_terms(self.dictionary, text)
        chosen = longest_matches(matches)
        spans = [(m.start, m.end, m.semantic_type) for m in chosen if m.kind == ENTITY]
        vitals = {}
        taken = rules.Intervals([(start, end) for start, end, _ in spans])
        for name, reading in rules.vital_signs(text):
            if not taken.overlaps(name.start, reading.end):
                spans.append((name.start, name.end, LAB))
                vitals[name.start] = reading
        spans.sort()  # spans do not overlap, so their ends are in order too
        anatomy = sorted((m for m in matches if m.kind == BODY), key=lambda m: m.end)  # find_terms's order
        outside = [m for m in chosen if m.kind == BODY]
        stops = rules.terminations(text)
        statuses = rules.assertions(text, [(start, end) for start, end, _ in spans])
        values = self._values(text, spans, stops, vitals)
        entities = []
        for index, ((start, end, semantic_type), status) in enumerate(zip(spans, statuses, strict=True)):
            measure = values.get(start)
            found: dict[str, Any] = {
                "body_location": self._location(text, start, end, anatomy, outside, stops),
                "modifier": ", ".join(text[s:e] for s, e in rules.modifiers_before(text, start)) or None,
                "value": measure.value if measure else None, "unit": measure.unit if measure else None,
                "purpose": self._purpose(text, index, spans, stops)}
            entities.append(Entity(phrase=text[start:end], start=start, end=end, semantic_type=semantic_type,
                                   assertion_status=status, **found,
                                   not_applicable=not_applicable(semantic_type, found)))
        return entities

    @staticmethod
    def _values(text: str, spans: Sequence[tuple[int, int, str]], stops: Sequence[int],
                vitals: Mapping[int, rules.Measure]) -> dict[int, rules.Measure]:
        """Entity start -> its measurement: the vital sign's own, else the nearest free one in the clause."""
        taken = dict(vitals)
        used = {(m.start, m.end) for m in vitals.values()}
        starts, ends = [start for start, _, _ in spans], [end for _, end, _ in spans]
        entity_spans = rules.Intervals([(start, end) for start, end, _ in spans])
        for measure in rules.measures(text):
            if (measure.start, measure.end) in used or entity_spans.overlaps(measure.start, measure.end):
                continue
            best: tuple[int, int] | None = None
            near = range(bisect_left(ends, measure.start - VALUE_WINDOW),
                         bisect_right(starts, measure.end + VALUE_WINDOW))
            for start, end, _ in (spans[i] for i in near):
                if start in taken:
                    continue
                gap = measure.start - end if measure.start >= end else start - measure.end
                low, high = (end, measure.start) if measure.start >= end else (measure.end, start)
                if 0 <= gap <= VALUE_WINDOW and _same_clause(low, high, stops) and (best is None or gap < best[0]):
                    best = (gap, start)
            if best is not None:
                taken[best[1]] = measure
        return taken

    @staticmethod
    def _location(text: str, start: int, end: int, anatomy: Sequence[Match], outside: Sequence[Match],
                  stops: Sequence[int]) -> str | None:
        """`anatomy`: every anatomical match, by end; `outside`: those chosen as matches of their own, in order."""
        side = rules.laterality_before(text, start)
        anatomy_ends = [m.end for m in anatomy]
        inner = [m for m in anatomy[bisect_right(anatomy_ends, start):bisect_right(anatomy_ends, end)]
                 if start <= m.start]
        if inner:
            organ = text[inner[0].start:inner[0].end]
            return f"{text[side[0]:side[1]]} {organ}" if side else organ
        outside_starts, outside_ends = [m.start for m in outside], [m.end for m in outside]
        candidates = outside[bisect_left(outside_ends, start - LOCATION_WINDOW):
                             bisect_right(outside_starts, end + LOCATION_WINDOW)]
        near = [m for m in candidates if (0 <= start - m.end <= LOCATION_WINDOW and _same_clause(m.end, start, stops))
                or (0 <= m.start - end <= LOCATION_WINDOW and _same_clause(end, m.start, stops))]
        if near:
            organ_match = min(near, key=lambda m: m.start - end if m.start >= end else start - m.end)
            organ_side = rules.laterality_before(text, organ_match.start)
            return text[organ_side[0] if organ_side else organ_match.start:organ_match.end]
        return text[side[0]:side[1]] if side else None

    @staticmethod
    def _purpose(text: str, index: int, spans: Sequence[tuple[int, int, str]], stops: Sequence[int]) -> str | None:
        """For a drug or procedure (spans[index]): the entity after "for" / 用于 / 治疗 in the same clause."""
        _, end, semantic_type = spans[index]
        if semantic_type not in PURPOSE_TYPES:
            return None
        for other in range(index + 1, len(spans)):
            other_start, other_end, _ = spans[other]
            if other_start - end > LOCATION_WINDOW:
                break
            if _same_clause(end, other_start, stops) and PURPOSE.search(text, end, other_start):
                return text[other_start:other_end]
        return None


def _same_clause(low: int, high: int, stops: Sequence[int]) -> bool:
    return not rules.any_between(stops, low, high)
