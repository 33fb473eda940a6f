"""`bios eval cluster`: pairwise precision, recall and F1 of clusterings against the graph's synonym groups.

Gold sets (a seeded sample of `max_concepts` concepts each, from the queries the normalization benchmarks use):
- hpo: the English preferred names and EXACT synonyms of HPO concepts (HPO_TERMS);
- icd10_en_zh: the English and Chinese names of ICD-10 codes (ICD10_TERMS).
Items are distinct (lang, normalized form) strings, as Term nodes are, in a seeded random order (BIRCH is
order-dependent and real streams are not grouped by concept). Two items are a gold pair when they name a common
concept; a predicted pair when they share a cluster (docs/algorithms/cortex.md §5, one confusion matrix for every
method).

Methods, per encoder: baseline (docs/algorithms/bios.md §6.2) and the other ratio-cut mode beside it
(baseline-published: the authors' v2 code as published; or baseline-corrected when the baseline given is the published
one), birch with the threshold oracle (no oracle: the band's midpoint), birch with the rule oracle. For the first
encoder, BIRCH + rule also runs on growing prefixes of the hpo items to show the oracle calls growing linearly with N.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bios_kg.embed.cluster.baseline import ClusterResult, baseline_cluster
from bios_kg.embed.cluster.birch import birch_cluster
from bios_kg.embed.cluster.config import DEFAULT_MAX_CONCEPTS, DEFAULT_SEED, BaselineConfig, BirchConfig
from bios_kg.embed.cluster.oracle import RuleOracle, ThresholdOracle
from bios_kg.graph.errors import GraphError, ParameterError
from bios_kg.graph.queries.evaluation import HPO_TERMS, ICD10_TERMS
from bios_kg.graph.results import write_results as write_result_files
from bios_kg.graph.store import GraphStore

GROWTH_FRACTIONS = (0.125, 0.25, 0.5, 1.0)


@dataclass
class GoldSet:
    name: str
    description: str
    texts: list[str]
    langs: list[str]
    norms: list[str]
    concepts: list[frozenset[str]]  # the sampled concepts each item names


def gold_set(name: str, description: str, rows: Sequence[dict[str, Any]], max_concepts: int, seed: int,
             among: Collection[str] | None = None) -> GoldSet:
    """Rows {concept, text, norm, lang?} -> the items of a seeded sample of `max_concepts` concepts (drawn
    `among` the given concepts only, when given: e.g. concepts held out of training)."""
    if max_concepts < 2:
        raise ParameterError("max_concepts", f"must be at least 2, got {max_concepts}")
    rng = random.Random(seed)
    concepts = sorted({row["concept"] for row in rows if among is None or row["concept"] in among})
    if not concepts:
        raise GraphError(f"the graph has no concepts for the {name} gold set (load the sample: bios sample load)")
    chosen = set(rng.sample(concepts, min(max_concepts, len(concepts))))
    items: dict[tuple[str, str], tuple[str, set[str]]] = {}
    for row in rows:
        if row["concept"] in chosen:
            items.setdefault((row.get("lang", "en"), row["norm"]), (row["text"], set()))[1].add(row["concept"])
    keys = sorted(items)
    rng.shuffle(keys)
    return GoldSet(name, description, [items[key][0] for key in keys], [key[0] for key in keys],
                   [key[1] for key in keys], [frozenset(items[key][1]) for key in keys])


def gold_sets(store: GraphStore, max_concepts: int = DEFAULT_MAX_CONCEPTS, seed: int = DEFAULT_SEED,
              among: Collection[str] | None = None) -> list[GoldSet]:
    return [gold_set("hpo", "HPO English preferred names + EXACT synonyms, grouped by concept",
                     store.run(HPO_TERMS), max_concepts, seed, among),
            gold_set("icd10_en_zh", "ICD-10 English + Chinese names, grouped by code",
                     store.run(ICD10_TERMS), max_concepts, seed, among)]


def gold_pairs(concepts: Sequence[frozenset[str]]) -> set[tuple[int, int]]:
    """Item pairs (i < j) naming a common concept."""
    by_concept: dict[str, list[int]] = defaultdict(list)
    for row, names in enumerate(concepts):
        for concept in names:
            by_concept[concept].append(row)
    return {(a, b) for rows in by_concept.values() for i, a in enumerate(rows) for b in rows[i + 1:]}


def pairwise_scores(labels: np.ndarray, concepts: Sequence[frozenset[str]]) -> dict[str, Any]:
    """Pairwise precision / recall / F1 of the clustering `labels` against the gold concepts of each item."""
    labels = np.asarray(labels)
    if len(labels) != len(concepts):
        raise ValueError(f"{len(labels)} labels for {len(concepts)} items")
    def pairs(counts: np.ndarray) -> int:
        return int((counts * (counts - 1) // 2).sum())

    predicted = pairs(np.bincount(labels)) if len(labels) else 0
    if all(len(names) == 1 for names in concepts):  # a partition: count pairs per (cluster, concept) cell
        gold_ids = np.unique([next(iter(names)) for names in concepts], return_inverse=True)[1].reshape(-1)
        gold_count = pairs(np.bincount(gold_ids))
        true = pairs(np.unique(np.stack([labels, gold_ids]), axis=1, return_counts=True)[1]) if len(labels) else 0
    else:
        gold = gold_pairs(concepts)
        gold_count = len(gold)
        true = sum(1 for a, b in gold if labels[a] == labels[b])
    precision = true / predicted if predicted else 0.0
    recall = true / gold_count if gold_count else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
            "predicted_pairs": predicted, "gold_pairs": gold_count, "true_pairs": true}


def oracle_growth(vectors: np.ndarray, texts: Sequence[str], config: BirchConfig,
                  fractions: Sequence[float] = GROWTH_FRACTIONS) -> list[dict[str, Any]]:
    """BIRCH + rule oracle on growing prefixes: N, oracle calls and calls per term."""
    rows = []
    for fraction in fractions:
        size = max(1, int(len(texts) * fraction))
        result = birch_cluster(vectors[:size], texts[:size], RuleOracle(), config)
        calls = int(result.stats["oracle_calls"])
        rows.append({"terms": size, "oracle_calls": calls, "calls_per_term": round(calls / size, 4)})
    return rows


def _methods(gold: GoldSet, vectors: np.ndarray, baseline: BaselineConfig,
             birch: BirchConfig) -> dict[str, Callable[[], ClusterResult]]:
    lengths = np.array([len(norm) for norm in gold.norms])
    cut = (birch.lower + birch.upper) / 2
    published = replace(baseline, published=not baseline.published)
    return {"baseline": lambda: baseline_cluster(vectors, lengths, baseline),
            "baseline-published" if published.published else "baseline-corrected":
                lambda: baseline_cluster(vectors, lengths, published),
            "birch+threshold": lambda: birch_cluster(vectors, gold.texts, ThresholdOracle(cut), birch),
            "birch+rule": lambda: birch_cluster(vectors, gold.texts, RuleOracle(), birch)}


def evaluate_clustering(store: GraphStore, models: Sequence[str | Path] = ("minilm",), seed: int = DEFAULT_SEED,
                        max_concepts: int = DEFAULT_MAX_CONCEPTS, baseline: BaselineConfig | None = None,
                        birch: BirchConfig | None = None, device: str = "auto",
                        progress: Callable[[str], None] | None = None,
                        among: Collection[str] | None = None, encoder_preset: str | None = None) -> dict[str, Any]:
    """Every method with every encoder (under `encoder_preset`'s settings, when given) on both gold sets (concepts
    sampled `among` these, when given); returns the results document (see write_results)."""
    from bios_kg.embed.encoders import load_encoder

    if not models:
        raise ParameterError("model", "give at least one encoder")
    say = progress or (lambda _: None)
    baseline = baseline or BaselineConfig()
    birch = birch or BirchConfig()
    say("building the gold sets from the graph")
    sets = gold_sets(store, max_concepts, seed, among)
    encoders = [load_encoder(model, preset=encoder_preset, device=device, runtime="auto") for model in models]
    result: dict[str, Any] = {"seed": seed, "max_concepts": max_concepts, "among": len(among) if among else None,
                              "baseline": baseline.as_dict(),
                              "birch": birch.as_dict(), "encoders": {e.name: e.model_id for e in encoders},
                              "sets": {}}
    for gold in sets:
        scores: dict[str, Any] = {}
        growth: list[dict[str, Any]] = []
        for number, encoder in enumerate(encoders):
            say(f"{gold.name}: encoding {len(gold.texts):,} terms with {encoder.name}")
            vectors = encoder.encode(gold.texts)
            for method, run in _methods(gold, vectors, baseline, birch).items():
                say(f"{gold.name}: {method} on {encoder.name}")
                started = time.perf_counter()
                clustered = run()
                seconds = time.perf_counter() - started
                scores[f"{method}:{encoder.name}"] = {
                    **pairwise_scores(clustered.labels, gold.concepts), "clusters": clustered.clusters,
                    "oracle_calls": clustered.stats.get("oracle_calls"), "seconds": round(seconds, 2)}
            if number == 0 and gold.name == "hpo":
                say(f"{gold.name}: oracle calls on growing prefixes")
                growth = oracle_growth(vectors, gold.texts, birch)
        result["sets"][gold.name] = {"description": gold.description, "terms": len(gold.texts),
                                     "concepts": len({c for names in gold.concepts for c in names}),
                                     "gold_pairs": len(gold_pairs(gold.concepts)), "methods": scores,
                                     "oracle_growth": growth}
    return result


def markdown_table(result: dict[str, Any]) -> str:
    birch, base = result["birch"], result["baseline"]
    among = f" among {result['among']:,} given concepts (held out of training)" if result.get("among") else ""
    lines = [f"Seed {result['seed']}, {result['max_concepts']} concepts sampled per set{among}. Baseline: "
             f"k {base['k']}, link cos > {base['link']}, ratio cut at {base['max_cluster']}+ terms "
             f"(ratio {base['ratio']}); BIRCH: "
             f"absorb >= {birch['upper']}, new <= {birch['lower']}, oracle in between (threshold oracle: "
             f"{(birch['upper'] + birch['lower']) / 2:g}). Pairwise P/R/F1.", ""]
    for name, data in result["sets"].items():
        lines += [f"### {name}: {data['description']}", "",
                  f"{data['terms']:,} terms, {data['concepts']:,} concepts, {data['gold_pairs']:,} gold pairs.", "",
                  "| method:encoder | precision | recall | F1 | clusters | oracle calls | seconds |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for method, m in data["methods"].items():
            calls = "-" if m["oracle_calls"] is None else f"{m['oracle_calls']:,}"
            lines.append(f"| {method} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | "
                         f"{m['clusters']:,} | {calls} | {m['seconds']} |")
        if data["oracle_growth"]:
            lines += ["", "Oracle calls of BIRCH + rule on growing prefixes (first encoder):", "",
                      "| terms | oracle calls | calls per term |", "|---:|---:|---:|"]
            lines += [f"| {g['terms']:,} | {g['oracle_calls']:,} | {g['calls_per_term']} |"
                      for g in data["oracle_growth"]]
        lines.append("")
    return "\n".join(lines)


def write_results(result: dict[str, Any], out: Path) -> tuple[Path, Path]:
    """The results as JSON at `out` and as a markdown table beside it (.md)."""
    return write_result_files(result, out, markdown_table(result))
