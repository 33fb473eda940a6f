"""Explanations of terms (CoRTEx pairs each term with one), cached with provenance.

Offline, a term's explanation is the definition of a concept of the graph that it names (HPO holds about 16k;
the smallest concept id wins when several concepts with definitions share the term). Given an LLM backend
(bios_kg.embed.llm), terms without a definition are explained by it, with PROMPT.

The cache is a JSON-lines file, by default `$BIOS_HOME/explanations/explanations.jsonl`: one object per term
{lang, norm, text, explanation, provider, source, created_at}, where provider is `graph:definition` or
`llm:<model id>` and source the concept id (graph) or the prompt's name (LLM). Lines are only appended; the last
line for a (lang, norm) wins, so a regenerated explanation replaces the old one and the history stays readable.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bios_kg.embed.llm import LLMBackend, backend_id, generate_one
from bios_kg.graph.errors import InputError
from bios_kg.graph.queries.clustering import TERM_DEFINITIONS
from bios_kg.graph.settings import data_home
from bios_kg.graph.store import GraphStore

GRAPH_PROVIDER = "graph:definition"
PROMPT_NAME = "explain-v1"
PROMPT = "In one sentence, explain the biomedical term \"{term}\" (language: {lang})."
LOOKUP_BATCH = 1000

Key = tuple[str, str]  # (lang, norm)


def default_cache_path() -> Path:
    return data_home() / "explanations" / "explanations.jsonl"


@dataclass(frozen=True)
class Explanation:
    lang: str
    norm: str
    text: str
    explanation: str
    provider: str
    source: str
    created_at: str

    @property
    def key(self) -> Key:
        return (self.lang, self.norm)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class ExplanationCache:
    """The explanations of a JSON-lines file, by (lang, norm)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_cache_path()
        self.entries: dict[Key, Explanation] = {}
        if self.path.exists():
            for number, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    entry = Explanation(**json.loads(line))
                except (ValueError, TypeError) as error:
                    raise InputError(str(self.path), number, f"not an explanation record ({error})") from None
                self.entries[entry.key] = entry

    def get(self, lang: str, norm: str) -> Explanation | None:
        return self.entries.get((lang, norm))

    def add(self, entries: Iterable[Explanation]) -> int:
        new = list(entries)
        if new:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as sink:
                for entry in new:
                    sink.write(json.dumps(asdict(entry), ensure_ascii=False) + "\n")
                    self.entries[entry.key] = entry
        return len(new)


def graph_definitions(store: GraphStore, terms: list[tuple[str, str, str]]) -> list[Explanation]:
    """Explanations from the graph's definitions for terms (lang, norm, text) that name a defined concept."""
    texts = {(lang, norm): text for lang, norm, text in terms}
    found = []
    keys = sorted(texts)
    for start in range(0, len(keys), LOOKUP_BATCH):
        rows = [{"lang": lang, "norm": norm} for lang, norm in keys[start:start + LOOKUP_BATCH]]
        for row in store.run(TERM_DEFINITIONS, rows=rows):
            found.append(Explanation(row["lang"], row["norm"], texts[(row["lang"], row["norm"])], row["definition"],
                                     GRAPH_PROVIDER, row["concept"], _now()))
    return found


def llm_explanations(backend: LLMBackend, terms: list[tuple[str, str, str]]) -> list[Explanation]:
    return [Explanation(lang, norm, text, generate_one(backend, PROMPT.format(term=text, lang=lang)).strip(),
                        f"llm:{backend_id(backend)}", PROMPT_NAME, _now()) for lang, norm, text in terms]


def explain_terms(terms: list[tuple[str, str, str]], cache: ExplanationCache, store: GraphStore | None = None,
                  backend: LLMBackend | None = None) -> dict[str, Any]:
    """Fill the cache for terms (lang, norm, text) not in it yet: graph definitions first, then the LLM for the
    rest when one is given. Returns counts."""
    missing = [term for term in dict.fromkeys(terms) if cache.get(term[0], term[1]) is None]
    from_graph = cache.add(graph_definitions(store, missing)) if store is not None and missing else 0
    still = [term for term in missing if cache.get(term[0], term[1]) is None]
    from_llm = cache.add(llm_explanations(backend, still)) if backend is not None and still else 0
    return {"terms": len(set(terms)), "cached_before": len(set(terms)) - len(missing), "from_graph": from_graph,
            "from_llm": from_llm, "unexplained": len(still) - from_llm, "cache": str(cache.path)}


def lookup(cache: ExplanationCache, keys: list[Key]) -> Callable[[int], str | None]:
    """row -> the cached explanation of keys[row], for the clusterer's oracle."""
    def explain(row: int) -> str | None:
        entry = cache.get(*keys[row])
        return entry.explanation if entry else None
    return explain
