"""`bios eval normalize`: term-normalization benchmarks built from the graph, and score calibration.

Two benchmarks, each split by concept (concept_split, fixed seed): HELD_OUT_FRACTION of the concepts with
queries are held out of training (the CODER trainer gets them as `exclude_concepts`, see held_out_concepts);
of those, CALIBRATION_FRACTION fit the score calibration and the rest are the test set.

- hpo_synonyms: an HPO EXACT synonym (HAS_TERM tty SY, source HPO, differing from the preferred name once
  normalized) -> its HPO concept, ranked among the preferred names of all HPO concepts.
- icd10_zh_en: an ICD-10 Chinese name (zh PT) -> its ICD-10 concept, ranked among the English names (en PT)
  of all ICD-10 concepts only, so no Chinese string of any concept is in the dictionary.

A query is right when a concept holding that string (a string may name several) is ranked first (Acc@1),
in the first five (Acc@5); MRR is over the first TOP (10) concepts (0 beyond). Methods rank the dictionary:
exact (normalized string equality), full text (the graph's term_text Lucene index restricted to dictionary
terms, ranked by 3-gram similarity like the normalizer), character 3-gram TF-IDF cosine (scikit-learn), and
each encoder: cosine over the dictionary names (faiss flat inner product on L2-normalized vectors).

numpy, scikit-learn and faiss (the `ml` extra) are imported where used, so `bios` starts without them.

With --calibrate, the top candidate of each calibration query gives a (raw score, right or wrong) pair per
method; a logistic regression on them is the calibration the normalizer applies (normalizer.Logistic), so a
calibrated score estimates how often an answer with that raw score is right. (Fitted on the top 5 candidates
instead, most pairs are wrong lower-ranked candidates, and the fit asks a cosine of about 0.92 before the top
answer reaches 0.3: the normalizer then abstained on most queries it would have answered correctly.) Encoders get
a second curve for cross-script answers (a query with Chinese characters whose answer has no Chinese name; see
cross_script), fitted on those pairs alone when there are enough of both kinds.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bios_kg.apps.normalize.normalizer import (
    DEFAULT_THRESHOLD,
    FULLTEXT,
    Logistic,
    save_calibration,
    stored_calibration,
)
from bios_kg.apps.normalize.queries import FULLTEXT_TERMS
from bios_kg.graph.errors import ConfigError, GraphError, ParameterError
from bios_kg.graph.lookup import fulltext_query
from bios_kg.graph.queries.evaluation import HPO_TERMS, ICD10_TERMS
from bios_kg.graph.queries.lookup import XREF_NEIGHBOURS
from bios_kg.graph.results import write_results as write_result_files
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import has_han, normalize_term, trigram_dice

if TYPE_CHECKING:
    import numpy as np

    from bios_kg.embed.encoders import Encoder

HELD_OUT_FRACTION = 0.2
CALIBRATION_FRACTION = 0.25
DEFAULT_SEED = 0
DEFAULT_MAX_QUERIES = 1000
TOP = 10
CALIBRATION_DEPTH = 1  # the top candidate of each calibration query: p(the answer is right | its raw score)
MIN_CROSS_EXAMPLES = 100  # cross-script calibration pairs needed for a curve of their own
FULLTEXT_CANDIDATES = 200  # Lucene hits per query before keeping dictionary terms only
DEFAULT_OUT = Path("benchmarks/results/normalize_eval.json")


Ranking = list[list[tuple[str, float]]]  # per query: (concept id, raw score), best first


@dataclass(frozen=True)
class Split:
    train: frozenset[str]
    test: frozenset[str]


def concept_split(concept_ids: Iterable[str], test_fraction: float, seed: int = DEFAULT_SEED) -> Split:
    """A deterministic split by concept: the round(n * test_fraction) concepts with the smallest
    blake2b(seed, id) are the test part. A concept's side does not depend on the order of the input, and
    adding concepts moves few others (only those near the cut)."""
    if not 0.0 <= test_fraction <= 1.0:
        raise ParameterError("test_fraction", f"must be between 0 and 1, got {test_fraction}")
    ids = sorted(set(concept_ids), key=lambda concept: (_split_key(seed, concept), concept))
    cut = round(len(ids) * test_fraction)
    return Split(train=frozenset(ids[cut:]), test=frozenset(ids[:cut]))


def _split_key(seed: int, concept: str) -> bytes:
    return hashlib.blake2b(f"{seed}\x1f{concept}".encode(), digest_size=8).digest()


@dataclass(frozen=True)
class EvalQuery:
    text: str
    gold: frozenset[str]  # every concept the string names


@dataclass
class Benchmark:
    name: str
    description: str
    dictionary: list[tuple[str, str]]  # (concept id, name): what the methods rank
    test: list[EvalQuery]
    calibration: list[EvalQuery]
    held_out: frozenset[str]  # concepts of test and calibration queries: never trained on
    pool: dict[str, int] = field(default_factory=dict)  # queries available before sampling
    in_graph: bool = True  # the dictionary's names are terms of the graph (full text can rank them)

    def summary(self) -> dict[str, Any]:
        return {"description": self.description, "dictionary": len(self.dictionary), "test_queries": len(self.test),
                "calibration_queries": len(self.calibration), "held_out_concepts": len(self.held_out), **self.pool}


def _make_benchmark(name: str, description: str, dictionary: list[tuple[str, str]],
                    queries: dict[str, tuple[str, set[str]]], seed: int, max_queries: int) -> Benchmark:
    """`queries`: norm -> (text, gold concepts); split by concept, sampled to max_queries each (seeded)."""
    held = concept_split({c for _, gold in queries.values() for c in gold}, HELD_OUT_FRACTION, seed).test
    parts = concept_split(held, CALIBRATION_FRACTION, seed + 1)
    test = [EvalQuery(text, frozenset(gold)) for text, gold in queries.values() if gold <= parts.train]
    calibration = [EvalQuery(text, frozenset(gold)) for text, gold in queries.values() if gold <= parts.test]
    pool = {"test_pool": len(test), "calibration_pool": len(calibration)}
    rng = random.Random(seed)
    test = sorted(test, key=lambda q: q.text)
    calibration = sorted(calibration, key=lambda q: q.text)
    return Benchmark(name, description, dictionary, rng.sample(test, min(max_queries, len(test))),
                     rng.sample(calibration, min(max_queries, len(calibration))), frozenset(held), pool)


def hpo_benchmark(store: GraphStore, seed: int = DEFAULT_SEED, max_queries: int = DEFAULT_MAX_QUERIES) -> Benchmark:
    rows = store.run(HPO_TERMS)
    names = {row["concept"]: row["name"] for row in rows if row["name"]}
    asked: dict[str, tuple[str, set[str]]] = {}
    for row in rows:
        name = names.get(row["concept"])
        if row["tty"] == "SY" and name and row["norm"] != normalize_term(name):
            asked.setdefault(row["norm"], (row["text"], set()))[1].add(row["concept"])
    if not names or not asked:
        raise GraphError("the graph has no HPO concepts with EXACT synonyms (load the sample: bios sample load)")
    return _make_benchmark("hpo_synonyms", "HPO EXACT synonym -> HPO concept, among all HPO preferred names",
                           sorted(names.items()), asked, seed, max_queries)


def icd10_benchmark(store: GraphStore, seed: int = DEFAULT_SEED,
                    max_queries: int = DEFAULT_MAX_QUERIES) -> Benchmark:
    rows = store.run(ICD10_TERMS)
    dictionary = sorted({(row["concept"], row["text"]) for row in rows if row["lang"] == "en"})
    asked: dict[str, tuple[str, set[str]]] = {}
    for row in rows:
        if row["lang"] == "zh":
            asked.setdefault(row["norm"], (row["text"], set()))[1].add(row["concept"])
    if not dictionary or not asked:
        raise GraphError("the graph has no ICD-10 concepts with English and Chinese names (bios sample load)")
    return _make_benchmark("icd10_zh_en", "ICD-10 Chinese name -> ICD-10 concept, among English names only",
                           dictionary, asked, seed, max_queries)


def build_benchmarks(store: GraphStore, seed: int = DEFAULT_SEED,
                     max_queries: int = DEFAULT_MAX_QUERIES) -> list[Benchmark]:
    return [hpo_benchmark(store, seed, max_queries), icd10_benchmark(store, seed, max_queries)]


def held_out_concepts(store: GraphStore, seed: int = DEFAULT_SEED) -> set[str]:
    """Concepts a trainer must not see for the evaluation to hold: both benchmarks' held-out concepts and the
    concepts joined to them by XREF (a CMeKG concept naming the same disease as a held-out ICD-10 code)."""
    held = set().union(*(benchmark.held_out for benchmark in build_benchmarks(store, seed, max_queries=0)))
    neighbours = {row["id"] for row in store.run(XREF_NEIGHBOURS, ids=sorted(held))}
    return held | neighbours


# --- metrics and calibration fitting ---------------------------------------------------------------------------
def first_rank(ranked: Sequence[str], gold: Iterable[str], top: int = TOP) -> int | None:
    """1-based position of the first gold concept among the first `top`, else None."""
    wanted = set(gold)
    return next((position for position, concept in enumerate(ranked[:top], 1) if concept in wanted), None)


def ranking_metrics(ranked: Sequence[Sequence[str]], gold: Sequence[Iterable[str]], top: int = TOP) -> dict[str, Any]:
    """Acc@1, Acc@5 and MRR (over the first `top`) of ranked concept lists against gold sets."""
    if len(ranked) != len(gold):
        raise ValueError(f"{len(ranked)} rankings for {len(gold)} gold sets")
    if not ranked:
        return {"queries": 0, "acc@1": 0.0, "acc@5": 0.0, "mrr": 0.0}
    ranks = [first_rank(r, g, top) for r, g in zip(ranked, gold, strict=True)]
    n = len(ranks)
    return {"queries": n, "acc@1": round(sum(r == 1 for r in ranks) / n, 4),
            "acc@5": round(sum(r is not None and r <= 5 for r in ranks) / n, 4),
            "mrr": round(sum(1 / r for r in ranks if r is not None) / n, 4)}


def fit_logistic(x: Sequence[float] | np.ndarray, y: Sequence[int] | np.ndarray, ridge: float = 1e-4,
                 iterations: int = 100) -> Logistic:
    """Maximum-likelihood p(y=1 | x) = sigmoid(a x + b) by Newton's method (IRLS), with a small L2 ridge that
    keeps it finite when the classes separate."""
    import numpy as np

    features = np.column_stack([np.asarray(x, dtype=np.float64), np.ones(len(x))])
    labels = np.asarray(y, dtype=np.float64)
    if labels.min(initial=1.0) == labels.max(initial=0.0):
        raise ConfigError(f"cannot calibrate on {len(labels)} examples that are all "
                          f"{'right' if labels.size and labels[0] else 'wrong'}")
    weights = np.zeros(2)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-features @ weights))
        gradient = features.T @ (p - labels) + ridge * weights
        hessian = (features * (p * (1 - p))[:, None]).T @ features + ridge * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-10:
            break
    return Logistic(a=float(weights[0]), b=float(weights[1]))


def calibration_pairs(ranking: Ranking, gold: Sequence[frozenset[str]],
                      depth: int = CALIBRATION_DEPTH) -> tuple[list[float], list[int]]:
    scores: list[float] = []
    labels: list[int] = []
    for found, wanted in zip(ranking, gold, strict=True):
        for concept, raw in found[:depth]:
            scores.append(raw)
            labels.append(int(concept in wanted))
    return scores, labels


def cross_script(texts: Sequence[str], ranking: Ranking, dictionary: list[tuple[str, str]]) -> list[bool]:
    """Per query: is its top answer cross-script, i.e. does a query with Chinese characters have a top concept with
    no dictionary name holding any? (The normalizer knows the matched term itself; here the concept's names stand
    for it.)"""
    chinese = {concept for concept, name in dictionary if has_han(name)}
    return [bool(found) and has_han(text) and found[0][0] not in chinese
            for text, found in zip(texts, ranking, strict=True)]


def fit_calibration(scores: Sequence[float], labels: Sequence[int], cross: Sequence[bool]) -> Logistic:
    """The logistic over every pair, with a curve of its own for the cross-script pairs when there are at least
    MIN_CROSS_EXAMPLES of them, right and wrong ones among them (the main curve is then fitted on the others)."""
    crossed = [i for i, flag in enumerate(cross) if flag]
    if len(crossed) < MIN_CROSS_EXAMPLES or len({labels[i] for i in crossed}) < 2:
        return fit_logistic(scores, labels)
    same = [i for i, flag in enumerate(cross) if not flag]
    main = fit_logistic([scores[i] for i in same], [labels[i] for i in same])
    return Logistic(main.a, main.b, fit_logistic([scores[i] for i in crossed], [labels[i] for i in crossed]))


def brier(logistic: Logistic, scores: Sequence[float], labels: Sequence[int], cross: Sequence[bool]) -> float:
    if not scores:
        return 0.0
    return round(sum((logistic(s, c) - y) ** 2 for s, y, c in zip(scores, labels, cross, strict=True))
                 / len(scores), 4)


def selective_accuracy(logistic: Logistic, ranking: Ranking, gold: Sequence[frozenset[str]],
                       threshold: float, cross: Sequence[bool] | None = None) -> dict[str, float]:
    """What abstention at `threshold` does to a ranking: the share of queries answered (best calibrated score
    at or above the threshold; `cross` flags the queries whose top answer is cross-script) and Acc@1 among
    those."""
    flags = cross if cross is not None else [False] * len(ranking)
    answered = [found[0][0] in wanted for found, wanted, flag in zip(ranking, gold, flags, strict=True)
                if found and logistic(found[0][1], flag) >= threshold]
    return {"threshold": threshold, "coverage": round(len(answered) / len(ranking), 4) if ranking else 0.0,
            "answered_acc@1": round(sum(answered) / len(answered), 4) if answered else 0.0}


# --- methods: each ranks the dictionary's concepts for a list of query strings -------------------------------------
def _top_concepts(entries: Iterable[tuple[int, float]], dictionary: list[tuple[str, str]],
                  top: int = TOP) -> list[tuple[str, float]]:
    """Dictionary rows (index, score), best first -> concepts, each at its best row, the first `top`."""
    seen: dict[str, float] = {}
    for row, score in entries:
        concept = dictionary[row][0]
        if concept not in seen:
            seen[concept] = score
            if len(seen) == top:
                break
    return list(seen.items())


def _rows_by_norm(dictionary: list[tuple[str, str]]) -> dict[str, list[int]]:
    rows: dict[str, list[int]] = defaultdict(list)
    for row, (_, name) in enumerate(dictionary):
        rows[normalize_term(name)].append(row)
    return rows


def rank_exact(texts: Sequence[str], dictionary: list[tuple[str, str]]) -> Ranking:
    by_norm = _rows_by_norm(dictionary)
    return [_top_concepts(((row, 1.0) for row in by_norm.get(normalize_term(text), [])), dictionary)
            for text in texts]


def rank_fulltext(store: GraphStore, texts: Sequence[str], dictionary: list[tuple[str, str]],
                  batch_size: int = 100) -> Ranking:
    """Lucene hits that are dictionary names, ranked by 3-gram similarity to the query (then Lucene score);
    the raw score is that similarity, the feature the normalizer calibrates."""
    by_norm = _rows_by_norm(dictionary)
    ranking: Ranking = []
    for start in range(0, len(texts), batch_size):
        chunk = texts[start:start + batch_size]
        rows = [{"i": i, "query": fulltext_query(text.lower())} for i, text in enumerate(chunk)]
        found = store.run(FULLTEXT_TERMS, rows=rows, candidates=FULLTEXT_CANDIDATES)
        hits = {row["i"]: row["hits"] for row in found}
        for i, text in enumerate(chunk):
            norm = normalize_term(text)
            scored = sorted(((trigram_dice(norm, hit_norm), lucene, row) for hit_norm, lucene in hits.get(i, [])
                             for row in by_norm.get(hit_norm, [])), key=lambda s: (-s[0], -s[1], s[2]))
            ranking.append(_top_concepts(((row, sim) for sim, _, row in scored), dictionary))
    return ranking


def _rank_matrix(scores: np.ndarray, dictionary: list[tuple[str, str]]) -> Ranking:
    """Rows of query x dictionary scores -> rankings over the best TOP * 3 rows (enough for TOP concepts) that
    score above 0 (a name sharing no 3-gram with the query is no candidate)."""
    import numpy as np

    depth = min(TOP * 3, scores.shape[1])
    best = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]
    ranking = []
    for row_scores, rows in zip(scores, best, strict=True):
        ordered = sorted((r for r in rows.tolist() if row_scores[r] > 0), key=lambda r: (-row_scores[r], r))
        ranking.append(_top_concepts(((r, float(row_scores[r])) for r in ordered), dictionary))
    return ranking


def rank_tfidf(texts: Sequence[str], dictionary: list[tuple[str, str]], batch_size: int = 512) -> Ranking:
    """Cosine of character 3-gram TF-IDF vectors (within word boundaries, space-padded) of normalized strings."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), lowercase=False, sublinear_tf=True,
                                 dtype=np.float32)
    matrix = vectorizer.fit_transform([normalize_term(name) for _, name in dictionary])
    ranking: Ranking = []
    for start in range(0, len(texts), batch_size):
        queries = vectorizer.transform([normalize_term(text) for text in texts[start:start + batch_size]])
        ranking += _rank_matrix((queries @ matrix.T).toarray(), dictionary)
    return ranking


def rank_encoder(encoder: Encoder, texts: Sequence[str], dictionary: list[tuple[str, str]],
                 names: np.ndarray | None = None, batch_size: int = 256) -> Ranking:
    """Cosine over the dictionary names' vectors (faiss IndexFlatIP on L2-normalized rows)."""
    import faiss

    names = names if names is not None else encoder.encode([name for _, name in dictionary], batch_size=batch_size)
    index = faiss.IndexFlatIP(names.shape[1])
    index.add(_unit(names))
    scores, rows = index.search(_unit(encoder.encode(list(texts), batch_size=batch_size)),
                                min(TOP * 3, len(dictionary)))
    return [_top_concepts(((int(r), float(s)) for r, s in zip(row, score, strict=True) if r >= 0), dictionary)
            for row, score in zip(rows, scores, strict=True)]


def _unit(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


# --- the evaluation job ----------------------------------------------------------------------------------------
@dataclass
class MethodRun:
    name: str
    rank: Callable[[Sequence[str]], Ranking]
    calibration_key: str | None = None  # fulltext: None; encoder: its model id; exact/tfidf: not calibrated
    calibrate: bool = False


def check_max_queries(max_queries: int) -> None:
    if max_queries < 1:
        raise ParameterError("max_queries", f"must be at least 1, got {max_queries}")


def evaluate(store: GraphStore, models: Sequence[str | Path] = ("minilm",), seed: int = DEFAULT_SEED,
             max_queries: int = DEFAULT_MAX_QUERIES, calibrate: bool = False, device: str = "auto",
             runtime: str = "auto", progress: Callable[[str], None] | None = None,
             benchmarks: Sequence[Benchmark] | None = None,
             calibrate_on: Sequence[str] | None = None) -> dict[str, Any]:
    """Run every method on the benchmarks (default: the two in-source ones); with `calibrate`, fit and store the
    full-text and encoder calibrations on the calibration queries of the benchmarks named in `calibrate_on`
    (default: all). Every calibrated method reports coverage and answered accuracy at the default threshold: under
    the fitted calibration, else the stored (or built-in) one. `runtime` encodes the queries (the dictionary's
    vectors are always exact, as the graph's are for the normalizer). Returns the results document."""
    check_max_queries(max_queries)
    say = progress or (lambda _: None)
    if benchmarks is None:
        say("building the benchmarks from the graph")
        benchmarks = build_benchmarks(store, seed, max_queries)
    fitted_on = set(calibrate_on) if calibrate_on is not None else {b.name for b in benchmarks}
    encoders: list[Encoder] = []
    query_encoders: list[Encoder] = []
    if models:
        from bios_kg.embed.encoders import load_encoder

        encoders = [load_encoder(model, device=device, runtime="auto") for model in models]
        query_encoders = encoders if runtime == "auto" else [load_encoder(model, device=device, runtime=runtime)
                                                             for model in models]
    result: dict[str, Any] = {"seed": seed, "max_queries": max_queries, "held_out_fraction": HELD_OUT_FRACTION,
                              "calibration_fraction": CALIBRATION_FRACTION, "top": TOP, "threshold": DEFAULT_THRESHOLD,
                              "benchmarks": {},
                              "encoders": {e.name: e.model_id for e in encoders}, "query_runtime": runtime,
                              "calibration": {}, "calibrated_on": sorted(fitted_on) if calibrate else None}
    vector_caches = {encoder.model_id: _VectorCache(encoder) for encoder in encoders}
    fit_pairs: dict[str, tuple[list[float], list[int], list[bool]]] = defaultdict(lambda: ([], [], []))
    tested: dict[str, list[tuple[str, str, Ranking, list[frozenset[str]], list[bool]]]] = defaultdict(list)
    for benchmark in benchmarks:
        methods = [MethodRun("exact", partial(rank_exact, dictionary=benchmark.dictionary))]
        if benchmark.in_graph:
            methods.append(MethodRun("fulltext", partial(rank_fulltext, store, dictionary=benchmark.dictionary),
                                     calibrate=True))
        methods.append(MethodRun("tfidf_char3", partial(rank_tfidf, dictionary=benchmark.dictionary)))
        methods += [MethodRun(f"encoder:{encoder.name}",
                              _CachedNames(vector_caches[encoder.model_id], query_encoder, benchmark.dictionary).rank,
                              calibration_key=encoder.model_id, calibrate=True)
                    for encoder, query_encoder in zip(encoders, query_encoders, strict=True)]
        scores: dict[str, Any] = {}
        test_texts = [q.text for q in benchmark.test]
        for method in methods:
            say(f"{benchmark.name}: {method.name}")
            started = time.perf_counter()
            ranking = method.rank(test_texts)
            seconds = time.perf_counter() - started
            scores[method.name] = {**ranking_metrics([[c for c, _ in found] for found in ranking],
                                                     [q.gold for q in benchmark.test]),
                                   "seconds": round(seconds, 2)}
            if method.calibrate:
                key = method.calibration_key or FULLTEXT
                if calibrate and benchmark.name in fitted_on and benchmark.calibration:
                    texts = [q.text for q in benchmark.calibration]
                    fit_scores, fit_labels, fit_crossed = _labelled_pairs(
                        texts, method.rank(texts), [q.gold for q in benchmark.calibration], benchmark.dictionary)
                    fit_pairs[key][0].extend(fit_scores)
                    fit_pairs[key][1].extend(fit_labels)
                    fit_pairs[key][2].extend(fit_crossed)
                tested[key].append((benchmark.name, method.name, ranking, [q.gold for q in benchmark.test],
                                    cross_script(test_texts, ranking, benchmark.dictionary)))
        result["benchmarks"][benchmark.name] = {**benchmark.summary(), "methods": scores}
    if not calibrate:  # coverage under the calibrations the normalizer would use
        for key, runs in tested.items():
            logistic = stored_calibration(None if key == FULLTEXT else key)
            for benchmark_name, method_name, ranking, gold, cross in runs:
                result["benchmarks"][benchmark_name]["methods"][method_name]["abstention"] = \
                    selective_accuracy(logistic, ranking, gold, DEFAULT_THRESHOLD, cross)
    for key, (raw, labels, crossed) in fit_pairs.items():
        logistic = fit_calibration(raw, labels, crossed)
        path = save_calibration(None if key == FULLTEXT else key, logistic, examples=len(labels),
                                positives=sum(labels), cross_examples=sum(crossed), seed=seed,
                                benchmarks=[b.name for b in benchmarks])
        test_raw: list[float] = []
        test_labels: list[int] = []
        test_crossed: list[bool] = []
        for benchmark_name, method_name, ranking, gold, cross in tested[key]:
            more_scores, more_labels = calibration_pairs(ranking, gold)
            test_raw += more_scores
            test_labels += more_labels
            test_crossed += [flag for found, flag in zip(ranking, cross, strict=True) if found]
            method_scores = result["benchmarks"][benchmark_name]["methods"][method_name]
            method_scores["abstention"] = selective_accuracy(logistic, ranking, gold, DEFAULT_THRESHOLD, cross)
        result["calibration"][key] = {**_rounded(logistic), "examples": len(labels), "positives": sum(labels),
                                      "cross_examples": sum(crossed),
                                      "test_brier": brier(logistic, test_raw, test_labels, test_crossed),
                                      "path": str(path)}
    return result


def _labelled_pairs(texts: Sequence[str], ranking: Ranking, gold: Sequence[frozenset[str]],
                    dictionary: list[tuple[str, str]]) -> tuple[list[float], list[int], list[bool]]:
    """Calibration pairs (raw score, right) of the top answers, with each answer's cross-script flag."""
    scores, labels = calibration_pairs(ranking, gold)
    flags = [flag for found, flag in zip(ranking, cross_script(texts, ranking, dictionary), strict=True) if found]
    return scores, labels, flags


def _rounded(logistic: Logistic) -> dict[str, Any]:
    return {"a": round(logistic.a, 4), "b": round(logistic.b, 4),
            **({"cross": _rounded(logistic.cross)} if logistic.cross else {})}


class _VectorCache:
    """An encoder's exact vectors of dictionary names, each string encoded once across benchmarks."""

    def __init__(self, encoder: Encoder) -> None:
        self.encoder = encoder
        self._rows: dict[str, int] = {}
        self._blocks: list[np.ndarray] = []

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        missing = list(dict.fromkeys(text for text in texts if text not in self._rows))
        if missing:
            self._blocks.append(self.encoder.encode(missing))
            first = len(self._rows)
            self._rows.update((text, first + i) for i, text in enumerate(missing))
            self._blocks = [np.concatenate(self._blocks)]
        return self._blocks[0][[self._rows[text] for text in texts]]


class _CachedNames:
    """rank_encoder with the dictionary's vectors from the cache (exact), for the test and the calibration
    queries (encoded by `query_encoder`: the same model, possibly on another runtime)."""

    def __init__(self, cache: _VectorCache, query_encoder: Encoder, dictionary: list[tuple[str, str]]) -> None:
        self.cache, self.query_encoder, self.dictionary = cache, query_encoder, dictionary

    def rank(self, texts: Sequence[str]) -> Ranking:
        names = self.cache.vectors([name for _, name in self.dictionary])
        return rank_encoder(self.query_encoder, texts, self.dictionary, names)


def markdown_table(result: dict[str, Any]) -> str:
    lines = [f"Seed {result['seed']}, up to {result['max_queries']} test queries per benchmark; MRR over the first "
             f"{result['top']} concepts. With --calibrate: the share of queries answered at the abstention threshold "
             f"{result['threshold']} (best calibrated score at or above it) and Acc@1 among them. Encoders' queries "
             f"on runtime {result.get('query_runtime', 'auto')}, dictionary names always exact.", ""]
    for name, bench in result["benchmarks"].items():
        lines += [f"### {name}: {bench['description']}", "",
                  f"{bench['test_queries']} test queries, {bench['dictionary']:,} dictionary names, "
                  f"{bench['held_out_concepts']:,} held-out concepts.", "",
                  "| method | Acc@1 | Acc@5 | MRR | seconds | answered at threshold | Acc@1 answered |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for method, m in bench["methods"].items():
            kept = m.get("abstention")
            selective = f"{kept['coverage']:.3f} | {kept['answered_acc@1']:.3f}" if kept else "- | -"
            lines.append(f"| {method} | {m['acc@1']:.3f} | {m['acc@5']:.3f} | {m['mrr']:.3f} | {m['seconds']} "
                         f"| {selective} |")
        lines.append("")
    if result["calibration"]:
        lines += ["### calibration: p = 1 / (1 + exp(-(a x + b))); cross-script answers on their own curve when fitted",
                  "", "| method | a | b | cross-script a | cross-script b | examples | cross-script | positives "
                  "| Brier (test) |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        lines += [f"| {key} | {c['a']} | {c['b']} | {c.get('cross', {}).get('a', '-')} | "
                  f"{c.get('cross', {}).get('b', '-')} | {c['examples']} | {c.get('cross_examples', 0)} | "
                  f"{c['positives']} | {c['test_brier']} |" for key, c in result["calibration"].items()]
        lines.append("")
    return "\n".join(lines)


def write_results(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """The results as JSON at `out` and as a markdown table beside it (.md)."""
    return write_result_files(result, out, markdown_table(result))
