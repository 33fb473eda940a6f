"""Term normalization: query strings -> ranked concepts of the graph, each with a calibrated score.

Pipeline, for up to CHUNK queries at once (one Cypher round trip per stage; larger batches run as chunks, two
in flight):
1. exact: `Term.norm` equal to the normalized query (bios_kg.graph.text.normalize_term);
2. full text: the `term_text` Lucene index (bios_kg.graph.lookup.fulltext_query: special characters escaped, the words
   AND / OR / NOT quoted);
3. vector: the queries embedded by the encoder whose term vectors are in the graph, k-NN over those vectors
   (bios_kg.embed.index.TermIndex: the faiss file when current, else the Neo4j vector index).
Term hits become concept hits (a term may name several concepts), filtered by semantic type (id, English or
Chinese name, case-insensitive), language of the matched term and source of the concept (any of
Concept.sources); each concept keeps its best hit, and the top k are returned.

Scores are calibrated onto [0, 1] as an estimate of the probability that the candidate is the right concept:
exact = 1.0; full text = logistic(a * s + b) with s the Dice coefficient of the character 3-grams of the
normalized query and matched term (Lucene scores are not comparable across queries, s is); vector =
logistic(a * cosine + b), with its own (a, b) for cross-script matches (a query with Chinese characters matched to a
term without any): Chinese -> English cosines run lower for the same chance of being right, so one curve made the
normalizer abstain on most Chinese queries it answered correctly. (English queries matched to Chinese terms keep
the main curve: nothing was fitted on them, and a boost would rank Chinese terms above English ones of the same
cosine.) `bios eval normalize --calibrate` fits
(a, b) by logistic regression on the top candidate of held-out calibration queries (bios_kg.apps.normalize.evaluate)
and stores them in calibration.json:
$BIOS_HOME/indexes/fulltext/ for full text, beside the model's faiss files for vectors. Without a file the
DEFAULT_* parameters apply (fitted that way on the sample graph). The normalizer abstains (no candidates,
abstained=True) when the best calibrated score is below `threshold`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from bios_kg.apps.normalize.queries import CANDIDATE_SUMMARIES, LEXICAL_HITS, VECTOR_HITS
from bios_kg.graph.errors import ConfigError, GraphError, ParameterError
from bios_kg.graph.languages import is_language
from bios_kg.graph.lookup import fulltext_query, names_by_language, preferred_name
from bios_kg.graph.settings import data_home
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import char_trigrams, has_han, normalize_term, set_dice

if TYPE_CHECKING:
    from bios_kg.embed.encoders import Encoder
    from bios_kg.embed.index import TermIndex

MAX_K = 100
MAX_NORMALIZE_LENGTH = 1000  # characters of a query; the encoder reads its first max_length tokens (flagged)
QUERY_BATCH = 32  # queries per encoder forward pass: small batches pad less and run faster on CPU
# A large batch runs as chunks of CHUNK queries, CHUNKS_IN_FLIGHT at a time: while one chunk is encoded, the graph
# answers another's Cypher and Python ranks a third's hits, so both cores stay busy (~1.3x on 2 cores).
CHUNK = 128
CHUNKS_IN_FLIGHT = 2
MAX_FILTER_VALUES = 50
# p(the answer is right) below which the normalizer abstains: 0.2 answers >= 70% of the queries of most unseen
# vocabularies, more often right than without a threshold (docs/normalization.md)
DEFAULT_THRESHOLD = 0.2
EXACT, FULLTEXT, VECTOR = "exact", "fulltext", "vector"
_METHOD_RANK = {EXACT: 0, VECTOR: 1, FULLTEXT: 2}
_TTY_RANK = {"PT": 0, "SY": 1}


@dataclass(frozen=True)
class Logistic:
    """p = 1 / (1 + exp(-(a * x + b))): a raw score x mapped onto a probability-like score; `cross`, when set, is
    the curve of cross-script matches (a query with Chinese characters, a term without)."""

    a: float
    b: float
    cross: Logistic | None = None

    def __call__(self, x: float, cross_script: bool = False) -> float:
        if cross_script and self.cross is not None:
            return self.cross(x)
        z = self.a * x + self.b
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, **({"cross": self.cross.as_dict()} if self.cross else {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Logistic:
        cross = data.get("cross")
        return cls(float(data["a"]), float(data["b"]), cls.from_dict(cross) if cross else None)


# Fitted by `bios eval normalize --calibrate` on the sample graph (seed 0; 2,526 full-text and 5,845 vector
# candidates of HPO + ICD-10 calibration queries): full text on 3-gram similarity, vector on the cosine of the
# base all-MiniLM-L6-v2. A fitted calibration.json replaces them; other encoders should be calibrated.
DEFAULT_FULLTEXT = Logistic(a=6.06, b=-5.77)
DEFAULT_VECTOR = Logistic(a=8.59, b=-8.39)


def calibration_path(model_id: str | None = None) -> Path:
    """Where the calibration of the vector scores of `model_id` (beside its faiss index), or of the full-text
    scores (model_id None), is stored."""
    if model_id is None:
        return data_home() / "indexes" / FULLTEXT / "calibration.json"
    from bios_kg.embed.index import default_index_dir

    return default_index_dir(model_id) / "calibration.json"


def load_calibration(model_id: str | None, default: Logistic) -> Logistic:
    path = calibration_path(model_id)
    if not path.exists():
        return default
    try:
        return Logistic.from_dict(json.loads(path.read_text()))
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a calibration file ({exc})") from None


def stored_calibration(model_id: str | None) -> Logistic:
    """The calibration the normalizer applies: the fitted file when there is one, else for full text (model_id
    None) DEFAULT_FULLTEXT, for the shipped default encoder the calibration shipped with it, else DEFAULT_VECTOR."""
    if model_id is None:
        return load_calibration(None, DEFAULT_FULLTEXT)
    from bios_kg.embed.default_model import shipped_calibration

    shipped = shipped_calibration(model_id)
    return load_calibration(model_id, Logistic.from_dict(shipped) if shipped else DEFAULT_VECTOR)


def save_calibration(model_id: str | None, logistic: Logistic, **meta: Any) -> Path:
    path = calibration_path(model_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"method": VECTOR if model_id else FULLTEXT, "model_id": model_id, **logistic.as_dict(), **meta}
    path.write_text(json.dumps(body, indent=2) + "\n")
    return path


@dataclass
class Candidate:
    concept_id: str
    name: str | None  # preferred name in the requested language, else the matched term's, else English
    score: float  # calibrated, in [0, 1]
    matched_term: str
    method: str  # exact | fulltext | vector
    semantic_types: list[dict[str, Any]] = field(default_factory=list)  # [{id, name}]


@dataclass
class NormalizeResult:
    query: str
    candidates: list[Candidate]
    abstained: bool
    methods: list[str]  # the stages that ran: exact, fulltext and vector when an encoder is loaded
    truncated: bool = False  # the encoder read only the query's first max_length tokens
    error: str | None = None  # why this query was not normalized (batch mode with on_error="item")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Hit(NamedTuple):  # orders by key (a concept is one hit of a query)
    key: tuple[float, int, int, str]  # best first: score, then method, then preferred over synonym, then id
    concept: str
    term: str
    lang: str
    method: str
    score: float


class Normalizer:
    """Normalizes terms against the graph; vector k-NN when both an encoder and its term index are given."""

    def __init__(self, store: GraphStore, encoder: Encoder | None = None, index: TermIndex | None = None,
                 threshold: float = DEFAULT_THRESHOLD, fulltext_calibration: Logistic | None = None,
                 vector_calibration: Logistic | None = None) -> None:
        if (encoder is None) != (index is None):
            raise ConfigError("the normalizer needs both an encoder and its term index, or neither")
        if encoder is not None and index is not None and encoder.model_id != index.model_id:
            raise ConfigError(f"the term index holds vectors of {index.model_id}, not of the encoder "
                              f"{encoder.model_id}: embed the terms with this model first (bios embed terms)")
        if not 0.0 <= threshold <= 1.0:
            raise ParameterError("threshold", f"must be between 0 and 1, got {threshold}")
        self.store = store
        self.encoder = encoder
        self.index = index
        self.threshold = threshold
        self.fulltext_calibration = fulltext_calibration or stored_calibration(None)
        self.vector_calibration = vector_calibration or (
            stored_calibration(encoder.model_id) if encoder is not None else DEFAULT_VECTOR)
        self._chunk_pool = ThreadPoolExecutor(max_workers=CHUNKS_IN_FLIGHT, thread_name_prefix="normalize-chunk")
        self._lexical_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="normalize-lexical")

    @property
    def methods(self) -> list[str]:
        return [EXACT, FULLTEXT] + ([VECTOR] if self.encoder is not None else [])

    def normalize(self, query: str, k: int = 10, lang: str | None = None, semantic_types: Sequence[str] | None = None,
                  sources: Sequence[str] | None = None) -> NormalizeResult:
        return self.normalize_batch([query], k=k, lang=lang, semantic_types=semantic_types, sources=sources)[0]

    def normalize_batch(self, texts: Sequence[str], k: int = 10, lang: str | None = None,
                        semantic_types: Sequence[str] | None = None,
                        sources: Sequence[str] | None = None, on_error: str = "stop") -> list[NormalizeResult]:
        """One result per query, in order; each distinct query is normalized once. A bad query (blank, longer
        than MAX_NORMALIZE_LENGTH) raises ParameterError with on_error="stop"; with "item" it gets a result with
        `error` set and the others are normalized."""
        if not 1 <= k <= MAX_K:
            raise ParameterError("k", f"must be between 1 and {MAX_K}, got {k}")
        if on_error not in ("stop", "item"):
            raise ParameterError("on_error", f"must be stop or item, got {on_error!r}")
        problems = {index: problem for index, text in enumerate(texts)
                    if (problem := query_problem(text)) is not None}
        if problems and on_error == "stop":
            index, problem = next(iter(problems.items()))
            raise ParameterError("q", f"query {index + 1}: {problem}" if len(texts) > 1 else problem)
        if lang is not None and not is_language(lang):
            raise ParameterError("lang", f"unknown language code {lang!r} (expected a language code, e.g. en, zh, se)")
        if problems:
            good = [text for index, text in enumerate(texts) if index not in problems]
            done = iter(self.normalize_batch(good, k, lang, semantic_types, sources))
            return [NormalizeResult(query=str(text), candidates=[], abstained=True, methods=[], error=problems[index])
                    if index in problems else next(done) for index, text in enumerate(texts)]
        if not texts:
            return []
        distinct = list(dict.fromkeys(texts))
        if len(distinct) < len(texts):  # a note's batch repeats its terms: normalize each string once
            results = dict(zip(distinct, self.normalize_batch(distinct, k, lang, semantic_types, sources), strict=True))
            return [results[text] for text in texts]
        params = {"lang": lang, "sources": _filter_values("source", sources, str.upper),
                  "types": _filter_values("semantic_type", semantic_types, str.lower)}
        # term hits per query and stage, before they are joined to concepts and filtered
        filtered = params["sources"] is not None or params["types"] is not None
        candidates = min(max(k * (20 if filtered else 3), 30), 1000)
        if len(texts) <= CHUNK:
            return self._normalize_chunk(texts, k, lang, candidates, params)
        chunks = [texts[start:start + CHUNK] for start in range(0, len(texts), CHUNK)]
        parts = self._chunk_pool.map(lambda chunk: self._normalize_chunk(chunk, k, lang, candidates, params), chunks)
        return [result for part in parts for result in part]

    def _normalize_chunk(self, texts: Sequence[str], k: int, lang: str | None, candidates: int,
                         params: dict[str, Any]) -> list[NormalizeResult]:
        if self.encoder is None:
            rows = self._lexical_rows(texts, candidates, params)
        else:  # the graph answers the lexical stages while the queries are encoded
            lexical = self._lexical_pool.submit(self._lexical_rows, texts, candidates, params)
            rows = self._vector_rows(texts, candidates, params)
            rows += lexical.result()
        best: list[dict[str, _Hit]] = [{} for _ in texts]
        grams = [char_trigrams(normalize_term(text)) for text in texts]
        han = [has_han(text) for text in texts]
        for i, hits in rows:
            by_concept = best[i]
            for values in hits:
                hit = self._hit(values, grams[i], han[i])
                known = by_concept.get(hit.concept)
                if known is None or hit.key < known.key:
                    by_concept[hit.concept] = hit
        tops = [sorted(by_concept.values())[:k] for by_concept in best]
        tops = [top if top and top[0].score >= self.threshold else [] for top in tops]
        summaries = self._summaries({hit.concept for top in tops for hit in top})
        truncated = self._truncated(texts)
        return [NormalizeResult(query=text, candidates=[self._candidate(hit, summaries[hit.concept], lang)
                                                        for hit in top],
                                abstained=not top, methods=self.methods, truncated=cut)
                for text, top, cut in zip(texts, tops, truncated, strict=True)]

    def _truncated(self, texts: Sequence[str]) -> list[bool]:
        """Per query: does the encoder read only part of it (more tokens than its max_length)?"""
        if self.encoder is None:
            return [False] * len(texts)
        limit = self.encoder.settings.max_length
        # a token covers at least one character: only queries longer than the limit can be cut
        long = [i for i, text in enumerate(texts) if len(text) > limit - 2]
        flags = [False] * len(texts)
        if long:
            ids = self.encoder.tokenizer([texts[i] for i in long], truncation=False)["input_ids"]
            for i, row in zip(long, ids, strict=True):
                flags[i] = len(row) > limit
        return flags

    def _lexical_rows(self, texts: Sequence[str], candidates: int, params: dict[str, Any]) -> list[tuple[int, list]]:
        rows = [{"i": i, "norm": normalize_term(text), "query": fulltext_query(text)}
                for i, text in enumerate(texts)]
        return list(self.store.stream(LEXICAL_HITS, rows=rows, limit=candidates, candidates=candidates,
                                      **params))

    def _vector_rows(self, texts: Sequence[str], candidates: int, params: dict[str, Any]) -> list[tuple[int, list]]:
        if self.encoder is None or self.index is None:
            return []
        neighbours = self.index.search(self.encoder.encode(list(texts), batch_size=QUERY_BATCH), candidates)
        rows = [{"i": i, "terms": [term for term, _ in found], "scores": [float(score) for _, score in found]}
                for i, found in enumerate(neighbours) if found]
        return list(self.store.stream(VECTOR_HITS, rows=rows, **params)) if rows else []

    def _hit(self, values: list[Any], query_grams: set[str], query_han: bool) -> _Hit:
        method, concept, term, norm, lang, tty, raw = values
        if method == EXACT:
            score = 1.0
        elif method == FULLTEXT:
            score = self.fulltext_calibration(set_dice(query_grams, char_trigrams(norm)))
        else:
            score = self.vector_calibration(raw, cross_script=query_han and not has_han(term))
        return _Hit((-score, _METHOD_RANK[method], _TTY_RANK.get(tty or "", 2), concept), concept, term, lang, method,
                    score)

    def _summaries(self, ids: set[str]) -> dict[str, tuple[dict[str, str], list[dict[str, Any]]]]:
        """Concept id -> (preferred names by language, semantic types)."""
        if not ids:
            return {}
        [(concepts,)] = self.store.stream(CANDIDATE_SUMMARIES, ids=sorted(ids))
        return {concept: (names_by_language(names), types) for concept, names, types in concepts}

    @staticmethod
    def _candidate(hit: _Hit, summary: tuple[dict[str, str], list[dict[str, Any]]], lang: str | None) -> Candidate:
        names, types = summary
        return Candidate(concept_id=hit.concept, name=preferred_name(names, lang or hit.lang),
                         score=round(hit.score, 4), matched_term=hit.term, method=hit.method, semantic_types=types)


def query_problem(text: object) -> str | None:
    """Why `text` cannot be normalized (not a string, blank, too long), or None."""
    if not isinstance(text, str):
        return f"expected a string, got {type(text).__name__}"
    if not text.strip():
        return "the query is empty"
    if len(text) > MAX_NORMALIZE_LENGTH:
        return f"the query is longer than {MAX_NORMALIZE_LENGTH} characters ({len(text):,})"
    return None


def _filter_values(name: str, values: Sequence[str] | None, fold: Any) -> list[str] | None:
    if not values:
        return None
    if len(values) > MAX_FILTER_VALUES:
        raise ParameterError(name, f"at most {MAX_FILTER_VALUES} values, got {len(values)}")
    if any(not value.strip() for value in values):
        raise ParameterError(name, "empty value")
    return [fold(value.strip()) for value in values]


def open_normalizer(store: GraphStore, model: str | Path | None = None, vector: bool = True,
                    threshold: float = DEFAULT_THRESHOLD, device: str = "auto", runtime: str = "auto") -> Normalizer:
    """A normalizer over the graph. With `model` (a registry name or a local model folder) its term vectors must
    be in the graph; without, the model whose vectors the graph holds is loaded, and when there is none the
    normalizer runs exact + full text only (as it does with vector=False)."""
    if not vector or (model is None and not store.embedding_models()):
        return Normalizer(store, threshold=threshold)
    from bios_kg.embed.encoders import ENCODERS, EncoderSettings, load_encoder
    from bios_kg.embed.index import graph_model, open_term_index

    if model is None:
        record = graph_model(store)
        settings = EncoderSettings.from_dict({name: record[name] for name in EncoderSettings.__dataclass_fields__
                                                 if name in record})
        source = record["name"] if record["name"] in ENCODERS else record["path"]
        encoder = load_encoder(source, settings=settings, device=device, runtime=runtime)
        if encoder.model_id != record["id"]:
            raise GraphError(f"the graph's term vectors come from {record['id']}, but {source} now loads as "
                             f"{encoder.model_id}: pass --model, or embed again (bios embed terms)")
    else:
        encoder = load_encoder(model, device=device, runtime=runtime)
    return Normalizer(store, encoder, open_term_index(store, encoder.model_id), threshold=threshold)
