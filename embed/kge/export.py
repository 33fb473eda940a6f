"""Concept relations out of the graph as (head CURIE, RELATIONSHIP_TYPE, tail CURIE) triples, for PyKEEN or a TSV.

Only relations of the vocabulary (`(:RelationType)`) are exported, so structural edges (HAS_TERM, XREF,
SUGGESTED) never are; filters pick relation types and the sources that stated an edge. The triples come back
deduplicated and sorted, so a seeded split or sample of them is the same on every run over the same graph.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bios_kg.graph.errors import ConfigError, GraphError, InputError, ParameterError
from bios_kg.graph.queries.suggestions import KGE_TRIPLES, RELATION_TYPE_IDS
from bios_kg.graph.store import GraphStore
from bios_kg.graph.vocabulary import canonical_relation

TSV_HEADER = ("head", "relation", "tail")


def relation_filter(store: GraphStore, names: Sequence[str] | None) -> list[str] | None:
    """Relation names (`is_a`, `IS_A`, `reverse_is_a`) as the vocabulary's relationship types; None for all."""
    if not names:
        return None
    known = {row["id"] for row in store.run(RELATION_TYPE_IDS)}
    types: list[str] = []
    for name in names:
        try:
            rel_type, _ = canonical_relation(name)
        except ConfigError as error:
            raise ParameterError("relations", str(error)) from error
        if rel_type not in known:
            raise ParameterError("relations", f"{name!r} is not in the graph's relation vocabulary "
                                              f"({', '.join(sorted(known)) or 'empty'})")
        types.append(rel_type)
    return sorted(set(types))


def export_triples(store: GraphStore, *, sources: Sequence[str] | None = None, relations: Sequence[str] | None = None,
                   max_triples: int | None = None, seed: int = 72) -> np.ndarray:
    """A sorted str array [n, 3] of distinct triples; `max_triples` keeps a seeded uniform sample of that many."""
    if max_triples is not None and max_triples < 1:
        raise ParameterError("max_triples", f"{max_triples} is not a positive integer")
    types = relation_filter(store, relations)
    rows = list(store.stream(KGE_TRIPLES, sources=list(sources) if sources else None, relations=types))
    if not rows:
        raise GraphError(f"no concept relations to export (sources: {', '.join(sources or []) or 'all'}; "
                         f"relations: {', '.join(types or []) or 'all'})")
    triples = np.unique(np.asarray(rows, dtype=str), axis=0)
    if max_triples is not None and len(triples) > max_triples:
        keep = np.random.default_rng(seed).choice(len(triples), size=max_triples, replace=False)
        triples = triples[np.sort(keep)]
    return triples


def write_tsv(triples: np.ndarray, path: Path) -> int:
    """`head<TAB>relation<TAB>tail` with a header row; returns the number of triples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(TSV_HEADER)
        writer.writerows(triples.tolist())
    return len(triples)


def read_tsv(path: Path) -> np.ndarray:
    """Triples written by write_tsv (or any three-column TSV with that header)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    if not rows or tuple(rows[0]) != TSV_HEADER:
        raise InputError(str(path), 1, f"expected the header {'<TAB>'.join(TSV_HEADER)}")
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 3 or not all(row):
            raise InputError(str(path), line, f"expected 3 non-empty tab-separated columns, got {len(row)}")
    return np.asarray(rows[1:], dtype=str).reshape(-1, 3)
