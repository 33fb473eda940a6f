"""Small inputs of every registered reader, for the reader contract (tests/support/reader_contract.py).

A `ReaderSample` writes a small clean input of its format and the same kind of input with one damaged line, and
says which file and line that is. A new reader adds one entry to SAMPLES under its registered name.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support.bios_files import write_bios_release, write_umls_subset


@dataclass(frozen=True)
class Damaged:
    """An input with one damaged line: what to give the reader, and the file (name) and line it must name."""

    input: Path
    file: str
    line: int


@dataclass(frozen=True)
class ReaderSample:
    clean: Callable[[Path], Path]  # writes a clean input under the folder; returns what the reader takes
    damaged: Callable[[Path], Damaged]  # writes an input with one damaged line under the folder
    options: Mapping[str, Any] = field(default_factory=dict)  # keyword arguments of the reader's factory


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def damage(path: Path, lines: list[str], at: int, bad: str) -> Damaged:
    """`lines` written to `path` with `bad` inserted as line `at` (1-based)."""
    write_lines(path, [*lines[:at - 1], bad, *lines[at - 1:]])
    return Damaged(path, path.name, at)


# -- BIOS and UMLS: the fixtures of tests/support/bios_files.py ----------------------------------------------

def bios_clean(folder: Path) -> Path:
    write_bios_release(folder / "bios")
    return folder / "bios"


def bios_damaged(folder: Path) -> Damaged:
    damaged = damage(folder / "bad" / "ConceptTerms.txt", ["CN1|S1|Fever|ENG|PT", "CN2|S3|Cough|ENG|PT"], 2,
                     "|S2|Cough|ENG|PT")
    return Damaged(damaged.input.parent, damaged.file, damaged.line)


def umls_clean(folder: Path) -> Path:
    write_umls_subset(folder / "umls")
    return folder / "umls"


def umls_damaged(folder: Path) -> Damaged:
    write_umls_subset(folder / "umls")
    conso = folder / "umls" / "META" / "MRCONSO.RRF"
    lines = conso.read_text(encoding="utf-8").splitlines()
    damage(conso, lines, 2, "C0000001|ENG|too few fields|")
    return Damaged(folder / "umls", "MRCONSO.RRF", 2)


# -- OBO, HPO ------------------------------------------------------------------------------------------------

def obo_lines(prefix: str) -> list[str]:
    return ["format-version: 1.2", "data-version: 2024-01-01", f"ontology: {prefix.lower()}", "",
            "[Term]", f"id: {prefix}:0000001", "name: All", "",
            "[Term]", f"id: {prefix}:0000118", "name: Phenotypic abnormality", f"is_a: {prefix}:0000001 ! All", "",
            "[Term]", f"id: {prefix}:0001250", "name: Seizure", 'synonym: "Seizures" EXACT []',
            'def: "A sudden event." [PMID:1]', f"is_a: {prefix}:0000118 ! Phenotypic abnormality"]


def obo_clean(folder: Path) -> Path:
    return write_lines(folder / "tst.obo", obo_lines("TST"))


def obo_damaged(folder: Path) -> Damaged:
    return damage(folder / "tst.obo", obo_lines("TST"), 17, "this line has no tag")


def hpo_clean(folder: Path) -> Path:
    return write_lines(folder / "hp.obo", obo_lines("HP"))


def hpo_damaged(folder: Path) -> Damaged:
    return damage(folder / "hp.obo", obo_lines("HP"), 17, "this line has no tag")


# -- HPO annotations -----------------------------------------------------------------------------------------

HPOA_HEADER = ("database_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\tmodifier"
               "\taspect\tbiocuration")


def hpoa_row(disease: str, name: str, hpo: str) -> str:
    return "\t".join([disease, name, "", hpo, "PMID:1", "PCS", "", "1/2", "", "", "P", "HPO:curator[2024-01-01]"])


HPOA_LINES = ["#description: \"contract sample\"", "#version: 2025-01-16", HPOA_HEADER,
              hpoa_row("OMIM:100001", "Disease one", "HP:0001250"), hpoa_row("ORPHA:2", "Disease two", "HP:0000118")]
GENE_LINES = ["ncbi_gene_id\tgene_symbol\thpo_id\thpo_name\tfrequency\tdisease_id",
              "\t".join(["10", "NAT2", "HP:0001250", "Seizure", "1/2", "OMIM:100001"])]


def hpoa_clean(folder: Path) -> Path:
    write_lines(folder / "hpoa" / "phenotype.hpoa", HPOA_LINES)
    write_lines(folder / "hpoa" / "genes_to_phenotype.txt", GENE_LINES)
    return folder / "hpoa"


def hpoa_damaged(folder: Path) -> Damaged:
    write_lines(folder / "hpoa" / "genes_to_phenotype.txt", GENE_LINES)
    damage(folder / "hpoa" / "phenotype.hpoa", HPOA_LINES, 5, "OMIM:100004\tToo few columns")
    return Damaged(folder / "hpoa", "phenotype.hpoa", 5)


# -- ICD-10 (the gnuhealth package's layout) -------------------------------------------------------------------

ICD10_CATEGORIES = [
    '<?xml version="1.0"?>', "<tryton>", "<data>",
    '<record model="gnuhealth.pathology.category" id="icdcat_root">', '    <field name="name">ICD-10</field>',
    "</record>",
    '<record model="gnuhealth.pathology.category" id="icdcat6">',
    '    <field name="name">VI Diseases of the nervous system</field>',
    '    <field name="parent" ref="icdcat_root"></field>', "</record>",
    '<record model="gnuhealth.pathology.category" id="icdcat6-5">',
    '    <field name="name">(G40-G47) Episodic and paroxysmal disorders</field>',
    '    <field name="parent" ref="icdcat6"></field>', "</record>",
    "</data>", "</tryton>"]
ICD10_DISEASES = [
    '<?xml version="1.0" encoding="utf-8" ?>', "<tryton>", '<data noupdate="0" grouped="1">',
    '<record model="gnuhealth.pathology" id="G40">', '    <field name="name">Epilepsy</field>',
    '    <field name="code">G40</field>', '    <field name="category" ref="icdcat6-5"></field>', "</record>",
    '<record model="gnuhealth.pathology" id="G41">', '    <field name="name">Status epilepticus</field>',
    '    <field name="code">G41</field>', '    <field name="category" ref="icdcat6-5"></field>', "</record>",
    "</data>", "</tryton>"]


def icd10_clean(folder: Path) -> Path:
    write_lines(folder / "icd10" / "data" / "diseases.xml", ICD10_DISEASES)
    write_lines(folder / "icd10" / "data" / "disease_categories.xml", ICD10_CATEGORIES)
    return folder / "icd10"


def icd10_damaged(folder: Path) -> Damaged:
    write_lines(folder / "icd10" / "data" / "disease_categories.xml", ICD10_CATEGORIES)
    damage(folder / "icd10" / "data" / "diseases.xml", ICD10_DISEASES, 10, '    <field name="name">Broken</fieldx>')
    return Damaged(folder / "icd10", "diseases.xml", 10)


# -- CMeKG (a pickle: its "lines" are entity positions) --------------------------------------------------------

CMEKG_ENTITIES: dict[str, Any] = {
    "癫痫病": {"英文名称": ["epilepsy"], "其他名称": ["羊癫风"], "ICD10": ["G40"], "常见症状": ["抽搐"]},
    "抽搐": {"英文名称": ["convulsion"]},
}


def write_pickle(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(data, protocol=0))  # the package's pickle is protocol 0
    return path


def cmekg_clean(folder: Path) -> Path:
    return write_pickle(folder / "cmekg.pkl", CMEKG_ENTITIES)


def cmekg_damaged(folder: Path) -> Damaged:
    entities = dict(CMEKG_ENTITIES)
    entities["坏值"] = {"常见症状": "抽搐"}  # a value that is not a list: the third entity
    return Damaged(write_pickle(folder / "cmekg.pkl", entities), "cmekg.pkl", 3)


# -- RDF (SKOS in Turtle) and OBO Graphs JSON: the parser's error names the line --------------------------------

TURTLE = ["@prefix skos: <http://www.w3.org/2004/02/skos/core#> .", "",  # ids need a prefix: prefixes TST=…
          '<http://example.org/tst/1> a skos:Concept ; skos:prefLabel "Heart"@en ; skos:altLabel "心脏"@zh .',
          '<http://example.org/tst/2> a skos:Concept ; skos:prefLabel "Valve"@en ;',
          "    skos:broader <http://example.org/tst/1> ."]


def rdf_clean(folder: Path) -> Path:
    return write_lines(folder / "tst.ttl", TURTLE)


def rdf_damaged(folder: Path) -> Damaged:
    return damage(folder / "tst.ttl", TURTLE, 5, "<http://example.org/tst/3> a skos:Concept ;; not turtle")


OBO_PURL = "http://purl.obolibrary.org/obo/"
OBOGRAPH = {"graphs": [{
    "id": f"{OBO_PURL}tst.owl", "meta": {"version": f"{OBO_PURL}tst/releases/2024-03-01/tst.owl"},
    "nodes": [{"id": f"{OBO_PURL}TST_0000001", "lbl": "All", "type": "CLASS"},
              {"id": f"{OBO_PURL}TST_0000002", "lbl": "Heart abnormality", "type": "CLASS",
               "meta": {"synonyms": [{"pred": "hasExactSynonym", "val": "Cardiac anomaly"}]}}],
    "edges": [{"sub": f"{OBO_PURL}TST_0000002", "pred": "is_a", "obj": f"{OBO_PURL}TST_0000001"}]}]}


def obographs_clean(folder: Path) -> Path:
    return write_lines(folder / "tst.json", json.dumps(OBOGRAPH, indent=1).splitlines())


def obographs_damaged(folder: Path) -> Damaged:
    return damage(folder / "tst.json", json.dumps(OBOGRAPH, indent=1).splitlines(), 3, ' "broken": ,')


# -- SSSOM: a mapping set with its metadata block -------------------------------------------------------------

SSSOM = ["# mapping_set_id: https://example.org/tst-hp.sssom.tsv",
         "# license: https://creativecommons.org/publicdomain/zero/1.0/",
         "# mapping_set_version: 2026-12-01",
         "# curie_map:",
         "#   TST: http://example.org/tst/",
         "#   HP: http://purl.obolibrary.org/obo/HP_",
         "subject_id\tsubject_label\tpredicate_id\tobject_id\tobject_label\tmapping_justification\tconfidence",
         "TST:1\tSeizure\tskos:exactMatch\tHP:0001250\tSeizures\tsemapv:ManualMappingCuration\t0.95",
         "TST:2\tFocal seizure\tskos:broadMatch\tHP:0001250\t\tsemapv:ManualMappingCuration\t0.8",
         "TST:3\tEpilepsy\tskos:relatedMatch\tHP:0001250\t\tsemapv:LexicalMatching\t"]


def sssom_clean(folder: Path) -> Path:
    return write_lines(folder / "tst-hp.sssom.tsv", SSSOM)


def sssom_damaged(folder: Path) -> Damaged:
    return damage(folder / "tst-hp.sssom.tsv", SSSOM, 9, "TST:9\tskos:exactMatch\tHP:0001250")  # 3 columns of 7


SAMPLES: dict[str, ReaderSample] = {
    "bios": ReaderSample(bios_clean, bios_damaged, {"version": "contract"}),
    "umls": ReaderSample(umls_clean, umls_damaged),
    "obo": ReaderSample(obo_clean, obo_damaged),
    "hpo": ReaderSample(hpo_clean, hpo_damaged),
    "hpo-annotations": ReaderSample(hpoa_clean, hpoa_damaged),
    "icd10": ReaderSample(icd10_clean, icd10_damaged),
    "cmekg": ReaderSample(cmekg_clean, cmekg_damaged),
    "rdf": ReaderSample(rdf_clean, rdf_damaged, {"prefixes": {"TST": "http://example.org/tst/"}}),
    "obographs": ReaderSample(obographs_clean, obographs_damaged),
    "sssom": ReaderSample(sssom_clean, sssom_damaged),
}
