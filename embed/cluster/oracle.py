"""Oracles: the judge asked, once per term at most, whether a term in the ambiguous band of the BIRCH-style
clusterer is a synonym of the nearest sub-cluster's representative (docs/algorithms/cortex.md §4).

- `rule` (default, offline): the same normalized string, the same words in another order or number (a plural
  `s` folded), one an initialism of the other, or character 3-gram Dice >= 0.7 unless the words that differ
  carry a number or a contrary pair of stems (hypo/hyper, left/right, acute/chronic, …);
- `threshold`: yes when the similarity reaches a cut (the band's midpoint): clustering without an oracle;
- `llm`: a prompt with both terms and their explanations to a registered LLM backend (llm.py), yes/no parsed;
- `review`: every question queued for curators (ReviewItem nodes with --write, else a TSV beside the output)
  with a provisional answer from the rule oracle, which the clusterer uses meanwhile.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from bios_kg.embed.llm import LLMBackend, generate_one, get_backend
from bios_kg.graph.errors import ParameterError
from bios_kg.graph.text import normalize_term, trigram_dice

ORACLES = ("rule", "threshold", "llm", "review")
DEFAULT_ORACLE = "rule"
TRIGRAM_DICE = 0.7
# Word stems that make two otherwise similar terms name different things (hypothyroidism, hyperthyroidism).
_CONTRARY = (("hypo", "hyper"), ("increas", "decreas"), ("high", "low"), ("left", "right"), ("upper", "lower"),
             ("acute", "chronic"), ("micro", "macro"), ("mono", "poly"), ("pre", "post"), ("intra", "extra"),
             ("absen", "presen"), ("congenital", "acquired"), ("benign", "malignant"), ("in", "ex"))
_STOPWORDS = frozenset({"of", "the", "and", "in", "with", "or", "to", "for", "on", "by", "a", "an"})


@dataclass(frozen=True)
class OracleQuery:
    term: str  # the incoming term, as written
    candidate: str  # the representative (first term) of the nearest sub-cluster
    similarity: float  # cosine of the term to that sub-cluster's centroid
    term_explanation: str | None = None
    candidate_explanation: str | None = None
    term_row: int = -1  # the two terms' positions in the clustered input, for the review queue
    candidate_row: int = -1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Oracle(Protocol):
    name: str

    def judge(self, query: OracleQuery) -> bool:
        """True: the term joins the candidate's cluster; False: it opens a cluster of its own."""
        ...


def _words(norm: str) -> list[str]:
    return [word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word
            for word in norm.split()]


def is_initialism(short: str, long: str) -> bool:
    """`short` (one token of 2+ letters) spells the first letters of `long`'s words, stop words optional."""
    if " " in short or len(short) < 2 or not short.isalnum():
        return False
    words = long.split()
    return short in ("".join(w[0] for w in words if w not in _STOPWORDS), "".join(w[0] for w in words))


def contrary(a: str, b: str) -> bool:
    """The words only one of two normalized terms has differ in a number or in a contrary pair of stems."""
    only_a, only_b = set(a.split()) - set(b.split()), set(b.split()) - set(a.split())
    if {w for w in only_a if any(c.isdigit() for c in w)} or {w for w in only_b if any(c.isdigit() for c in w)}:
        return True
    return any(any(w.startswith(x) for w in only_a) and any(w.startswith(y) for w in only_b)
               or any(w.startswith(y) for w in only_a) and any(w.startswith(x) for w in only_b)
               for x, y in _CONTRARY)


@dataclass
class RuleOracle:
    trigram_dice: float = TRIGRAM_DICE
    name: str = "rule"

    def judge(self, query: OracleQuery) -> bool:
        a, b = normalize_term(query.term), normalize_term(query.candidate)
        if a == b or sorted(_words(a)) == sorted(_words(b)):
            return True
        if is_initialism(a, b) or is_initialism(b, a):
            return True
        return not contrary(a, b) and trigram_dice(a, b) >= self.trigram_dice


@dataclass
class ThresholdOracle:
    cut: float
    name: str = "threshold"

    def judge(self, query: OracleQuery) -> bool:
        return query.similarity >= self.cut


PROMPT = """Do these two biomedical terms name the same concept (synonyms)? Answer yes or no.
Term A: {term}{term_explanation}
Term B: {candidate}{candidate_explanation}
Answer:"""
_ANSWER = re.compile(r"^\W*(yes|no)\b", re.IGNORECASE)


@dataclass
class LLMOracle:
    backend: LLMBackend
    name: str = "llm"
    unparsed: int = 0  # answers that were neither yes nor no (taken as no)

    def prompt(self, query: OracleQuery) -> str:
        def explained(text: str | None) -> str:
            return f" (explanation: {text})" if text else ""
        return PROMPT.format(term=query.term, candidate=query.candidate,
                             term_explanation=explained(query.term_explanation),
                             candidate_explanation=explained(query.candidate_explanation))

    def judge(self, query: OracleQuery) -> bool:
        found = _ANSWER.match(generate_one(self.backend, self.prompt(query)))
        if found is None:
            self.unparsed += 1
            return False
        return found.group(1).lower() == "yes"


@dataclass
class ReviewQueueOracle:
    provisional: Oracle = field(default_factory=RuleOracle)
    name: str = "review"
    items: list[tuple[OracleQuery, bool]] = field(default_factory=list)  # (question, provisional answer)

    def judge(self, query: OracleQuery) -> bool:
        answer = self.provisional.judge(query)
        self.items.append((query, answer))
        return answer


def make_oracle(name: str, band: tuple[float, float], llm: str | None = None) -> Oracle:
    """The oracle `name` for the ambiguous band (lower, upper); `llm` names the backend of the llm oracle."""
    if name == "rule":
        return RuleOracle()
    if name == "threshold":
        return ThresholdOracle(cut=(band[0] + band[1]) / 2)
    if name == "llm":
        if llm is None:
            raise ParameterError("llm", "the llm oracle needs an LLM backend name (--llm NAME)")
        return LLMOracle(get_backend(llm))
    if name == "review":
        return ReviewQueueOracle()
    raise ParameterError("oracle", f"{name!r} is not one of {', '.join(ORACLES)}")
