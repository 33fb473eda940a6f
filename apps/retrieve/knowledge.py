"""Knowledge injection from the graph (DR.EHR's stage-1 `add_syn` step): the neighbourhood of linked concepts.

Two uses of the same neighbourhoods:
- training (DR.EHR's `add_syn`, setting syn2_up22_rel22): for each entity of a chunk linked to a concept, up to
  `synonyms` other terms of the concept (preferred first if it differs from the entity, the rest random), up to
  `parents` IS_A parents and up to `related` other related concepts (random), each contributing up to `per_concept`
  of its terms (the preferred one, then random); seeded;
- query expansion at search time: a query linked to concepts gets weighted expansion texts of each kind (the
  first ones in the graph's order, deterministic); engine.py fuses the BM25 hits that contain each expansion as a
  phrase with the query's own hybrid runs. `children` (IS_A children, off in training) are the query-side
  mirror of DR.EHR's hypernym injection: a chunk that mentions a child concept is relevant to the parent query.

Concepts joined by XREF count as the same concept: their terms are synonyms. Linking uses the normalizer
(exact normalized match, then full text) and keeps candidates whose calibrated score reaches `min_score`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bios_kg.apps.normalize.normalizer import Normalizer
from bios_kg.apps.retrieve.queries import CONCEPT_NEIGHBOURS, CONCEPT_TERMS
from bios_kg.graph.errors import ParameterError
from bios_kg.graph.queries.lookup import LOOKUP_EXACT
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import normalize_term

KINDS = ("synonym", "child", "parent", "related")
FETCH = 20  # neighbours and terms read per concept, the pool the budgets choose from
DEFAULT_MIN_SCORE = 0.8


@dataclass(frozen=True)
class Budget:
    """How many of each kind (DR.EHR: 2, 2, 2 and 2 terms per added concept; children 0 in training)."""

    synonyms: int = 2
    parents: int = 2
    related: int = 2
    children: int = 2
    per_concept: int = 2

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not isinstance(value, int) or not 0 <= value <= FETCH:
                raise ParameterError(name, f"{value!r} is not an integer in 0..{FETCH}")


@dataclass(frozen=True)
class Weights:
    """Fusion weights of the kg method: each expansion kind's phrase-matched BM25 run, and the dense run of the
    query itself, against 1.0 for the query's BM25 run. Chosen on the even query ids of the IU X-ray report
    benchmark (README, "EHR retrieval")."""

    synonym: float = 1.0
    child: float = 1.0
    parent: float = 0.5
    related: float = 0.2
    dense: float = 0.3

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not 0 <= value <= 1:
                raise ParameterError(f"weight_{name}", f"{value!r} is not in [0, 1]")


@dataclass(frozen=True)
class Expansion:
    text: str
    kind: str  # synonym, child, parent, related
    concept: str
    weight: float


@dataclass
class Neighbourhood:
    id: str
    terms: list[str] = field(default_factory=list)
    same: list[str] = field(default_factory=list)
    parents: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)


class KnowledgeGraph:
    """Reads concept neighbourhoods and terms from the graph, cached per concept."""

    def __init__(self, store: GraphStore, lang: str = "en", min_score: float = DEFAULT_MIN_SCORE) -> None:
        self.store = store
        self.lang = lang
        self.min_score = min_score
        self.normalizer = Normalizer(store, threshold=0.0)
        self._terms: dict[str, list[str]] = {}
        self._neighbourhoods: dict[str, Neighbourhood] = {}
        self._exact: dict[str, list[tuple[str, str]]] = {}

    def link(self, texts: Sequence[str], k: int = 3) -> list[list[str]]:
        """Per text, the ids of the concepts it names (best first; calibrated score >= min_score)."""
        results = self.normalizer.normalize_batch(list(texts), k=k, lang=self.lang)
        return [[c.concept_id for c in result.candidates if c.score >= self.min_score] for result in results]

    def _exact_hits(self, text: str) -> list[tuple[str, str]]:
        """(concept id, tty) of the graph terms whose normalized form is `text`'s, PT hits first, then by id."""
        norm = normalize_term(text)
        if norm not in self._exact:
            rows = self.store.run(LOOKUP_EXACT, norm=norm, lang=self.lang, limit=FETCH) if norm else []
            self._exact[norm] = sorted({(row["id"], row["tty"] or "") for row in rows},
                                       key=lambda hit: (hit[1] != "PT", hit[0]))
        return self._exact[norm]

    def concept_of_term(self, text: str) -> str | None:
        """The one concept a term names, as DR.EHR's term2CUI keeps one: where it is preferred, else the smallest
        id; None when the graph lacks the term."""
        hits = self._exact_hits(text)
        return hits[0][0] if hits else None

    def abbreviation_expansions(self, tokens: Sequence[str]) -> dict[str, str]:
        """Token -> the preferred term of the concept that holds it as an abbreviation term (tty AB; the smallest
        id when several do)."""
        owners = {token: min((cid for cid, tty in self._exact_hits(token) if tty == "AB"), default=None)
                  for token in tokens}
        names = self.terms(sorted({cid for cid in owners.values() if cid}))
        return {token: names[cid][0] for token, cid in owners.items() if cid and names[cid]}

    def terms(self, ids: Sequence[str]) -> dict[str, list[str]]:
        missing = sorted({cid for cid in ids if cid not in self._terms})
        if missing:
            for row in self.store.run(CONCEPT_TERMS, ids=missing, lang=self.lang, limit=FETCH):
                self._terms[row["id"]] = row["terms"]
            for cid in missing:
                self._terms.setdefault(cid, [])
        return {cid: self._terms[cid] for cid in ids}

    def neighbourhoods(self, ids: Sequence[str]) -> dict[str, Neighbourhood]:
        missing = sorted({cid for cid in ids if cid not in self._neighbourhoods})
        if missing:
            rows = self.store.run(CONCEPT_NEIGHBOURS, ids=missing, lang=self.lang, limit=FETCH)
            for row in rows:
                self._neighbourhoods[row["id"]] = Neighbourhood(row["id"], [], row["same"], row["parents"],
                                                                row["children"], row["related"])
            for cid in missing:
                self._neighbourhoods.setdefault(cid, Neighbourhood(cid))
            linked = [cid for n in (self._neighbourhoods[c] for c in missing)
                      for cid in (n.id, *n.same, *n.parents, *n.children, *n.related)]
            self.terms(linked)
        found = {cid: self._neighbourhoods[cid] for cid in ids}
        for hood in found.values():
            hood.terms = _unique([t for cid in (hood.id, *hood.same) for t in self._terms.get(cid, [])])
        return found

    def expand(self, texts: Sequence[str], budget: Budget, weights: Weights) -> list[list[Expansion]]:
        """Per query, its expansions: synonyms, children, parents and related concepts' preferred terms."""
        links = self.link(texts)
        hoods = self.neighbourhoods(sorted({cid for ids in links for cid in ids}))
        out: list[list[Expansion]] = []
        for text, ids in zip(texts, links, strict=True):
            offers = [("synonym", cid, hoods[cid].terms, budget.synonyms) for cid in ids]
            for kind, attr, limit in (("child", "children", budget.children), ("parent", "parents", budget.parents),
                                      ("related", "related", budget.related)):
                offers += [(kind, other, self._terms.get(other, [])[:1], limit)
                           for cid in ids for other in getattr(hoods[cid], attr)]
            seen = {normalize_term(text)}
            chosen: list[Expansion] = []
            taken: dict[str, int] = dict.fromkeys(KINDS, 0)
            for kind, concept, candidates, limit in offers:
                for term in candidates:
                    key = normalize_term(term)
                    if taken[kind] < limit and key and key not in seen:
                        seen.add(key)
                        chosen.append(Expansion(term, kind, concept, getattr(weights, kind)))
                        taken[kind] += 1
            out.append(chosen)
        return out

    def inject(self, entities: Sequence[tuple[str, str | None]], budget: Budget, rng: random.Random) -> list[str]:
        """DR.EHR's add_syn for one chunk: the entity strings plus the injected ones (module docstring)."""
        hoods = self.neighbourhoods(sorted({cid for _, cid in entities if cid}))
        added: list[str] = []
        for phrase, cid in entities:
            if not cid:
                continue
            hood = hoods[cid]
            others = [t for t in hood.terms if normalize_term(t) != normalize_term(phrase)]
            if others and budget.synonyms:
                head, rest = others[0], others[1:]  # the preferred term first (terms are ordered preferred first)
                added += [head, *rng.sample(rest, min(len(rest), budget.synonyms - 1))]
            for pool, limit in ((hood.parents, budget.parents), (hood.related, budget.related)):
                for other in rng.sample(pool, min(len(pool), limit)):
                    terms = self._terms.get(other, [])
                    if terms and budget.per_concept:
                        added += [terms[0], *rng.sample(terms[1:], min(len(terms) - 1, budget.per_concept - 1))]
        return _unique([phrase for phrase, _ in entities] + added)

    def describe(self) -> dict[str, Any]:
        return {"lang": self.lang, "min_score": self.min_score, "cached_concepts": len(self._neighbourhoods)}


def _unique(items: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        key = normalize_term(item)
        if key and key not in seen:
            seen.add(key)
            out.append(item)
    return out
