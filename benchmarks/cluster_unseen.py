# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Clustering a vocabulary no encoder trained on: the drug names of a UMLS RRF subset (the NCI sample).

Every English name of every drug concept (bios_kg.apps.normalize.external.nci_drug_names) is one item; the gold clusters
are the concepts. The BIOS baseline clustering (bios_kg.embed.cluster.baseline: k-NN links above cosine 0.8, union-find,
spectral ratio cut) runs on the vectors of each encoder and, as the lexical baseline in the same run, on character
3-gram TF-IDF vectors (the same union-find over TF-IDF cosine). Pairwise precision / recall / F1
(bios_kg.embed.cluster.evaluate.pairwise_scores).

    python benchmarks/cluster_unseen.py [--model minilm --model bios-default] [--nci DIR]
    -> benchmarks/results/cluster_unseen.json and .md
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import time
from typing import Any

import numpy as np

from bios_kg.apps.normalize.external import nci_drug_names, realworld_files
from bios_kg.embed.cluster.baseline import baseline_cluster
from bios_kg.embed.cluster.evaluate import pairwise_scores
from bios_kg.embed.encoders import load_encoder
from bios_kg.graph.results import write_results
from bios_kg.graph.settings import load_settings
from bios_kg.graph.text import normalize_term

OUT = Path("benchmarks/results/cluster_unseen.json")


def tfidf_vectors(texts: list[str]) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), lowercase=False, sublinear_tf=True,
                                 dtype=np.float32)
    return vectorizer.fit_transform([normalize_term(text) for text in texts]).toarray()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help="encoder (repeatable; default: minilm, bios-default)")
    parser.add_argument("--nci", type=Path, help="UMLS RRF folder (default: umls-nci-sample in BIOS_REALWORLD)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    _, names = nci_drug_names(args.nci or realworld_files(load_settings().data)[1])
    items = sorted({(normalize_term(text), text, concept) for concept, texts in names.items() for text in texts})
    by_norm: dict[str, set[str]] = {}
    for norm, _, concept in items:
        by_norm.setdefault(norm, set()).add(concept)
    texts = sorted({text for _, text, _ in items}, key=normalize_term)
    norms = [normalize_term(text) for text in texts]
    gold = [frozenset(by_norm[norm]) for norm in norms]
    lengths = np.array([len(norm) for norm in norms])
    result: dict[str, Any] = {"items": len(texts), "concepts": len(names), "methods": {}}
    for model in [None, *(args.model or ["minilm", "bios-default"])]:
        name = f"baseline:{model}" if model else "tfidf_char3 union-find"
        started = time.perf_counter()
        vectors = load_encoder(model, device="cpu", runtime="auto").encode(texts) if model else tfidf_vectors(texts)
        labels = baseline_cluster(vectors, lengths).labels
        scores = pairwise_scores(labels, gold)
        result["methods"][name] = {**scores, "clusters": int(len(set(labels.tolist()))),
                                   "seconds": round(time.perf_counter() - started, 1)}
        print(name, result["methods"][name], flush=True)
    lines = [f"Drug names of {args.nci.name}: {result['items']:,} names of {result['concepts']:,} drug concepts "
             "(gold: the concepts). BIOS baseline clustering (cosine 0.8 links, union-find, ratio cut).", "",
             "| method | pairwise P | R | F1 | clusters | seconds |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['clusters']} | "
              f"{m['seconds']} |" for name, m in result["methods"].items()]
    write_results(result, args.out, "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
