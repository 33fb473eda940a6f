"""Normalization benchmarks on vocabularies the default encoder never trained on.

Built from the sample graph (their strings are kept out of the default encoder's training,
bios_kg.apps.normalize.default_encoder):

- hpo_lay: an HPO layperson synonym ("peeing a lot") -> its HPO concept, among the HPO preferred names and
  EXACT synonyms. No lay name is trained on.
- cmekg_alias_zh: a CMeKG Chinese alias (别名) -> its concept, among the Chinese preferred names of all CMeKG
  concepts; the alias queries' concepts are held out by concept (as the in-source benchmarks are).
- icd10_zh_hant_en: the ICD-10 Chinese names of the held-out ICD-10 concepts, converted to Traditional
  characters (OpenCC s2t, read from the installed `opencc-python-reimplemented`) -> the concept, among the
  English names only.

Built from files the graph does not hold (bios_kg.apps.normalize.external): Disease Ontology synonyms mapped onto
the sample's ICD-10 concepts through DO's ICD-10 cross-references, and the drug name variants of an NCI UMLS
subset (a synonym or brand name -> the drug's other names).

Every benchmark splits its queries by concept into calibration (CALIBRATION_FRACTION) and test parts, like the
in-source ones, so that the abstention threshold can be calibrated on one part and judged on the other.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from bios_kg.apps.normalize.evaluate import (
    CALIBRATION_FRACTION,
    DEFAULT_MAX_QUERIES,
    DEFAULT_SEED,
    HELD_OUT_FRACTION,
    Benchmark,
    EvalQuery,
    concept_split,
    icd10_benchmark,
)
from bios_kg.apps.normalize.queries import SOURCE_TERMS
from bios_kg.graph.errors import ConfigError, GraphError
from bios_kg.graph.queries.lookup import XREF_NEIGHBOURS
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import normalize_term

LAY_TTYS = frozenset({"LAY", "RT_LAY", "BT_LAY", "NT_LAY"})


def split_benchmark(name: str, description: str, dictionary: list[tuple[str, str]],
                    asked: dict[str, tuple[str, set[str]]], seed: int, max_queries: int,
                    held_out: Iterable[str] = ()) -> Benchmark:
    """All of `asked` (norm -> (text, gold)): calibration / test parts split by concept, each sampled to
    `max_queries` (seeded). `held_out`: the concepts training must leave out for the benchmark to hold."""
    gold_concepts = {c for _, gold in asked.values() for c in gold}
    parts = concept_split(gold_concepts, CALIBRATION_FRACTION, seed + 1)
    test = sorted((EvalQuery(text, frozenset(gold)) for text, gold in asked.values() if gold <= parts.train),
                  key=lambda q: q.text)
    calibration = sorted((EvalQuery(text, frozenset(gold)) for text, gold in asked.values() if gold <= parts.test),
                         key=lambda q: q.text)
    pool = {"test_pool": len(test), "calibration_pool": len(calibration)}
    rng = random.Random(seed)
    return Benchmark(name, description, dictionary, rng.sample(test, min(max_queries, len(test))),
                     rng.sample(calibration, min(max_queries, len(calibration))), frozenset(held_out), pool)


def hpo_lay_benchmark(store: GraphStore, seed: int = DEFAULT_SEED,
                      max_queries: int = DEFAULT_MAX_QUERIES) -> Benchmark:
    rows = store.run(SOURCE_TERMS, prefix="HP:", source="HPO", languages=["en"])
    dictionary = sorted({(r["concept"], r["text"]) for r in rows if r["tty"] in ("PT", "SY")})
    known = {normalize_term(text) for _, text in dictionary}
    asked: dict[str, tuple[str, set[str]]] = {}
    for r in rows:
        if r["tty"] in LAY_TTYS and r["norm"] not in known:
            asked.setdefault(r["norm"], (r["text"], set()))[1].add(r["concept"])
    if not asked:
        raise GraphError("the graph has no HPO layperson synonyms (load the sample: bios sample load)")
    return split_benchmark("hpo_lay", "HPO layperson synonym -> HPO concept, among HPO preferred names and EXACT "
                           "synonyms (no lay name trained on)", dictionary, asked, seed, max_queries)


def cmekg_alias_benchmark(store: GraphStore, seed: int = DEFAULT_SEED,
                          max_queries: int = DEFAULT_MAX_QUERIES) -> Benchmark:
    rows = store.run(SOURCE_TERMS, prefix="CMEKG:", source="CMEKG", languages=["zh"])
    dictionary = sorted({(r["concept"], r["text"]) for r in rows if r["tty"] == "PT"})
    known = {normalize_term(text) for _, text in dictionary}
    asked: dict[str, tuple[str, set[str]]] = {}
    for r in rows:
        if r["tty"] == "SY" and r["norm"] not in known:
            asked.setdefault(r["norm"], (r["text"], set()))[1].add(r["concept"])
    if not asked:
        raise GraphError("the graph has no CMeKG Chinese aliases (load the sample: bios sample load)")
    held = concept_split({c for _, gold in asked.values() for c in gold}, HELD_OUT_FRACTION, seed).test
    asked = {norm: (text, gold) for norm, (text, gold) in asked.items() if gold <= held}
    return split_benchmark("cmekg_alias_zh", "CMeKG Chinese alias -> CMeKG concept, among the Chinese preferred "
                           "names (alias concepts held out)", dictionary, asked, seed, max_queries, held)


def to_traditional(texts: Iterable[str]) -> list[str]:
    """Simplified -> Traditional Chinese with OpenCC's s2t tables from the installed package."""
    try:
        import opencc
    except ImportError as error:
        raise ConfigError("Traditional Chinese needs the opencc-python-reimplemented package "
                          "(pip install opencc-python-reimplemented)") from error
    converter = opencc.OpenCC("s2t")
    return [converter.convert(text) for text in texts]


def icd10_traditional_benchmark(store: GraphStore, seed: int = DEFAULT_SEED,
                                max_queries: int = DEFAULT_MAX_QUERIES) -> Benchmark:
    """The in-source ICD-10 zh -> en benchmark with its queries in Traditional characters (only those that
    change)."""
    source = icd10_benchmark(store, seed, max_queries)

    def convert(part: list[EvalQuery]) -> list[EvalQuery]:
        return [EvalQuery(hant, q.gold) for q, hant in zip(part, to_traditional(q.text for q in part), strict=True)
                if hant != q.text]

    return Benchmark("icd10_zh_hant_en", "ICD-10 Chinese name in Traditional characters -> ICD-10 concept, among "
                     "English names only (held-out concepts)", source.dictionary, convert(source.test),
                     convert(source.calibration), source.held_out, source.pool)


def unseen_training_exclusions(store: GraphStore, seed: int = DEFAULT_SEED) -> set[str]:
    """Concepts of the graph-built unseen benchmarks that training must leave out (their XREF neighbours
    included); lay names are left out by term type instead."""
    held = set(cmekg_alias_benchmark(store, seed, max_queries=0).held_out)
    return held | {row["id"] for row in store.run(XREF_NEIGHBOURS, ids=sorted(held))}
