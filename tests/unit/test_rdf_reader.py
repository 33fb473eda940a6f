"""CURIE <-> IRI mapping and the RDF reader on small SKOS and OBO-style OWL files (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.records import (
    AltId,
    Concept,
    Definition,
    Record,
    Relation,
    RelationType,
    SemanticType,
    TermRecord,
    TypeAssignment,
    Xref,
)
from bios_kg.graph.skos import IRI_PREFIXES, curie_to_iri, iri_to_curie
from bios_kg.ingest.readers.base import Parsed, Rejected
from bios_kg.ingest.readers.rdf import RdfReader


# --- CURIE <-> IRI -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("curie", "iri"), [
    ("HP:0001250", "http://purl.obolibrary.org/obo/HP_0001250"),
    ("OMIM:600123", "https://omim.org/entry/600123"),
    ("ORPHA:558", "http://www.orpha.net/ORDO/Orphanet_558"),
    ("NCBIGene:3630", "http://identifiers.org/ncbigene/3630"),
    ("UMLS:C0014544", "https://uts.nlm.nih.gov/uts/umls/concept/C0014544"),
    ("ICD10:E11.9", "http://id.who.int/icd/release/10/E11.9"),
    ("MESH:D004827", "http://id.nlm.nih.gov/mesh/D004827"),
    ("SNOMEDCT:84757009", "http://snomed.info/id/84757009"),
    ("BIOS:CN00000003", "https://bios-kg.org/id/BIOS/CN00000003"),
    ("UMLS_STY:T047", "https://bios-kg.org/id/UMLS_STY/T047"),
    ("CMEKG:癫痫", "https://bios-kg.org/id/CMEKG/%E7%99%AB%E7%97%AB"),
    ("X.Y-Z:a/b#c", "https://bios-kg.org/id/X.Y-Z/a%2Fb%23c"),
    ("no-prefix", "https://bios-kg.org/id/no-prefix"),
])
def test_curie_to_iri_uses_the_table_else_the_generic_namespace(curie: str, iri: str) -> None:
    assert curie_to_iri(curie) == iri
    assert iri_to_curie(iri) == curie


@pytest.mark.parametrize("curie", [
    "HP:0001250", "ICD10:E11.9", "ICD10:G40-G47", "CMEKG:支气管肺癌", "CMEKG:2型糖尿病(成人)", "BIOS:a b",
    "MESH:D012345?x=1", "P:100%", "P:x:y", ":empty-prefix", "1ABC:digit-first", "HP:", "plain", "中文:id",
    "NCBIGene:3630", "ORPHA:558/1",
])
def test_iri_to_curie_inverts_curie_to_iri(curie: str) -> None:
    iri = curie_to_iri(curie)
    assert " " not in iri and all(ord(ch) < 128 for ch in iri)
    assert iri_to_curie(iri) == curie


def test_every_table_namespace_inverts() -> None:
    for prefix in IRI_PREFIXES:
        assert iri_to_curie(curie_to_iri(f"{prefix}:0001")) == f"{prefix}:0001"


def test_iri_to_curie_beyond_the_table() -> None:
    assert iri_to_curie("http://purl.obolibrary.org/obo/NCBITaxon_9606") == "NCBITAXON:9606"  # any OBO PURL
    assert iri_to_curie("http://purl.obolibrary.org/obo/hp.owl") is None
    assert iri_to_curie("http://example.org/thes/c1") is None
    assert iri_to_curie("http://example.org/thes/c1", {"ex": "http://example.org/thes/"}) == "EX:c1"
    assert iri_to_curie("http://snomed.info/id/") is None  # a namespace is not an id


# --- RdfReader ---------------------------------------------------------------------------------------------
SKOS_TTL = """\
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix dct: <http://purl.org/dc/terms/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix ex: <http://example.org/thes/> .

ex:scheme a skos:ConceptScheme ; dct:identifier "EXT" ; dct:title "Example thesaurus" ;
    owl:versionInfo "2024-01" ; dct:license <https://creativecommons.org/licenses/by/4.0/> .

ex:epilepsy a skos:Concept ; skos:inScheme ex:scheme ;
    skos:prefLabel "Epilepsy"@en, "癫痫"@zh ;
    skos:altLabel "Seizure disorder"@en-GB, "epilepsy"@en, "羊癫疯" ;
    skos:hiddenLabel "epilepsey"@en ;
    skos:definition "A brain disorder."@en, "一种脑部疾病。" ;
    skos:broader ex:neuro ;
    skos:related ex:seizure ;
    skos:exactMatch <https://uts.nlm.nih.gov/uts/umls/concept/C0014544>, <http://id.nlm.nih.gov/mesh/D004827> .

ex:neuro skos:inScheme ex:scheme ; skos:prefLabel "Nervous system disease"@en ;
    skos:narrower ex:seizure .

ex:seizure a skos:Concept ; skos:prefLabel "Seizure"@en ; skos:related ex:epilepsy ;
    skos:closeMatch "HP:0001250" ; skos:altLabel "fit"@tlh, "gorččas"@se, "fit"@zz .

ex:orphan skos:prefLabel "No concept here"@en .
ex:group a skos:Collection ; skos:prefLabel "A group, not a concept"@en .
"""

OBO_OWL = """\
<?xml version="1.0"?>
<rdf:RDF xmlns="http://purl.obolibrary.org/obo/hp.owl#"
     xmlns:obo="http://purl.obolibrary.org/obo/"
     xmlns:owl="http://www.w3.org/2002/07/owl#"
     xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
     xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#"
     xmlns:dc="http://purl.org/dc/elements/1.1/"
     xmlns:oboInOwl="http://www.geneontology.org/formats/oboInOwl#">
  <owl:Ontology rdf:about="http://purl.obolibrary.org/obo/hp.owl">
    <owl:versionInfo>2025-01-16</owl:versionInfo>
    <rdfs:label>Human Phenotype Ontology</rdfs:label>
  </owl:Ontology>
  <owl:ObjectProperty rdf:about="http://purl.obolibrary.org/obo/BFO_0000050">
    <rdfs:label>part of</rdfs:label>
  </owl:ObjectProperty>
  <owl:Class rdf:about="http://purl.obolibrary.org/obo/UBERON_0000955"/>
  <owl:Class rdf:about="http://purl.obolibrary.org/obo/HP_0000118">
    <rdfs:label xml:lang="en">Phenotypic abnormality</rdfs:label>
  </owl:Class>
  <owl:Class rdf:about="http://purl.obolibrary.org/obo/HP_0001250">
    <rdfs:subClassOf rdf:resource="http://purl.obolibrary.org/obo/HP_0000118"/>
    <rdfs:subClassOf>
      <owl:Restriction>
        <owl:onProperty rdf:resource="http://purl.obolibrary.org/obo/BFO_0000050"/>
        <owl:someValuesFrom rdf:resource="http://purl.obolibrary.org/obo/UBERON_0000955"/>
      </owl:Restriction>
    </rdfs:subClassOf>
    <obo:IAO_0000115>A seizure is an intermittent abnormality of nervous system physiology.</obo:IAO_0000115>
    <oboInOwl:hasAlternativeId>HP:0001262</oboInOwl:hasAlternativeId>
    <oboInOwl:hasDbXref>UMLS:C0036572</oboInOwl:hasDbXref>
    <oboInOwl:hasDbXref>SNOMEDCT_US:91175000</oboInOwl:hasDbXref>
    <oboInOwl:hasDbXref>MSH:D012640</oboInOwl:hasDbXref>
    <oboInOwl:hasExactSynonym>Epileptic seizure</oboInOwl:hasExactSynonym>
    <oboInOwl:hasExactSynonym>Seizures</oboInOwl:hasExactSynonym>
    <oboInOwl:hasRelatedSynonym>Fits</oboInOwl:hasRelatedSynonym>
    <oboInOwl:hasBroadSynonym>Spell</oboInOwl:hasBroadSynonym>
    <oboInOwl:hasNarrowSynonym>Tonic seizure</oboInOwl:hasNarrowSynonym>
    <rdfs:label xml:lang="en">Seizure</rdfs:label>
  </owl:Class>
  <owl:Axiom>
    <owl:annotatedSource rdf:resource="http://purl.obolibrary.org/obo/HP_0001250"/>
    <owl:annotatedProperty rdf:resource="http://purl.obolibrary.org/obo/IAO_0000115"/>
    <owl:annotatedTarget>A seizure is an intermittent abnormality of nervous system physiology.</owl:annotatedTarget>
    <oboInOwl:hasDbXref>PMID:12345</oboInOwl:hasDbXref>
  </owl:Axiom>
  <owl:Class rdf:about="http://purl.obolibrary.org/obo/HP_0000001">
    <rdfs:label>obsolete Seizures</rdfs:label>
    <owl:deprecated rdf:datatype="http://www.w3.org/2001/XMLSchema#boolean">true</owl:deprecated>
    <obo:IAO_0100001 rdf:resource="http://purl.obolibrary.org/obo/HP_0001250"/>
  </owl:Class>
  <owl:Class rdf:about="http://purl.obolibrary.org/obo/HP_0000002">
    <rdfs:label>Child of an obsolete class</rdfs:label>
    <rdfs:subClassOf rdf:resource="http://purl.obolibrary.org/obo/HP_0000001"/>
    <rdfs:subClassOf rdf:resource="http://www.w3.org/2002/07/owl#Thing"/>
    <oboInOwl:hasDbXref>not a curie</oboInOwl:hasDbXref>
  </owl:Class>
</rdf:RDF>
"""


def read(reader: RdfReader) -> tuple[set[Record], list[Rejected]]:
    items = list(reader.read())
    records = {item.record for item in items if isinstance(item, Parsed)}
    assert all(item.line == 0 for item in items)
    return records, [item for item in items if isinstance(item, Rejected)]


def test_skos_file(tmp_path: Path) -> None:
    path = tmp_path / "thes.ttl"
    path.write_text(SKOS_TTL, encoding="utf-8")
    reader = RdfReader(path)
    records, rejected = read(reader)
    epilepsy, neuro, seizure = "EX:epilepsy", "EX:neuro", "EX:seizure"
    assert {r for r in records if isinstance(r, Concept)} == {Concept(epilepsy), Concept(neuro), Concept(seizure)}
    assert {r for r in records if isinstance(r, TermRecord) and r.concept_id == epilepsy} == {
        TermRecord(epilepsy, "Epilepsy", "en", "PT", preferred=True),
        TermRecord(epilepsy, "癫痫", "zh", "PT", preferred=True),
        TermRecord(epilepsy, "Seizure disorder", "en", "SY"),  # en-GB -> en; "epilepsy" folds onto the prefLabel
        TermRecord(epilepsy, "羊癫疯", "zh", "SY"),  # untagged: language from the script
        TermRecord(epilepsy, "epilepsey", "en", "HL"),
    }
    assert {r for r in records if isinstance(r, Definition)} == {
        Definition(epilepsy, "A brain disorder.", "en"), Definition(epilepsy, "一种脑部疾病。", "zh")}
    assert {r for r in records if isinstance(r, Relation)} == {
        Relation(epilepsy, "IS_A", neuro), Relation(seizure, "IS_A", neuro),  # broader, and narrower inverted
        Relation(epilepsy, "RELATED_TO", seizure),  # stated both ways, kept once
    }
    # any valid BCP 47 language: Klingon and Northern Sami are kept, zz is no language
    assert {(r.text, r.lang) for r in records if isinstance(r, TermRecord) and r.concept_id == seizure} == {
        ("Seizure", "en"), ("fit", "tlh"), ("gorččas", "se")}
    assert {r for r in records if isinstance(r, Xref)} == {
        Xref(epilepsy, "UMLS:C0014544"), Xref(epilepsy, "MESH:D004827"), Xref(seizure, "HP:0001250")}
    assert [r.reason for r in rejected] == ["unknown language tag 'zz'"]
    assert rejected[0].raw.startswith("<http://example.org/thes/") and rejected[0].file == "thes.ttl"
    # labels of resources that are not concepts (an undeclared one, a skos:Collection) do not stop the load
    assert reader.dropped == {"labels and definitions of resources that are not concepts": 2}
    source = reader.source()
    assert (source.id, source.name, source.version) == ("EXT", "Example thesaurus", "2024-01")
    assert source.licence == "https://creativecommons.org/licenses/by/4.0/" and source.format == "rdf"
    assert list(source.checksums) == ["thes.ttl"]


def test_concepts_come_before_relations(tmp_path: Path) -> None:
    path = tmp_path / "thes.ttl"
    path.write_text(SKOS_TTL, encoding="utf-8")
    kinds = [type(item.record).__name__ for item in RdfReader(path).read() if isinstance(item, Parsed)]
    assert kinds.index("Relation") > max(i for i, kind in enumerate(kinds) if kind != "Relation")


def test_obo_style_owl(tmp_path: Path) -> None:
    path = tmp_path / "hp.owl"
    path.write_text(OBO_OWL, encoding="utf-8")
    reader = RdfReader(path, source_id="HPO", licence="HPO licence")
    records, rejected = read(reader)
    seizure, root, child = "HP:0001250", "HP:0000118", "HP:0000002"
    # The obsolete class is skipped and its id retired into its replacement; the bare UBERON
    # declaration (only mentioned by a restriction) is no concept.
    assert {r for r in records if isinstance(r, Concept)} == {Concept(seizure), Concept(root), Concept(child)}
    assert {r for r in records if isinstance(r, AltId)} == {AltId(seizure, "HP:0000001"), AltId(seizure, "HP:0001262")}
    assert {r for r in records if isinstance(r, TermRecord) and r.concept_id == seizure} == {
        TermRecord(seizure, "Seizure", "en", "PT", preferred=True),
        TermRecord(seizure, "Epileptic seizure", "en", "SY"),
        TermRecord(seizure, "Seizures", "en", "SY"),
        TermRecord(seizure, "Fits", "en", "RT"),  # the OBO reader's scope codes
        TermRecord(seizure, "Spell", "en", "BT"),
        TermRecord(seizure, "Tonic seizure", "en", "NT"),
    }
    assert Definition(seizure, "A seizure is an intermittent abnormality of nervous system physiology.",
                      "en") in records
    assert {r for r in records if isinstance(r, Xref)} == {
        Xref(seizure, "UMLS:C0036572"), Xref(seizure, "SNOMEDCT:91175000"), Xref(seizure, "MESH:D012640")}
    # Only the named superclass: the restriction, owl:Thing and the obsolete parent are skipped.
    assert {r for r in records if isinstance(r, Relation)} == {Relation(seizure, "IS_A", root)}
    assert not {r for r in records if isinstance(r, SemanticType | RelationType | TypeAssignment)}
    assert [(r.reason, r.raw) for r in rejected] == [
        ("cross-reference is not a CURIE or an IRI: not a CURIE (expected PREFIX:id): 'not a curie'",
         '<http://purl.obolibrary.org/obo/HP_0000002> <http://www.geneontology.org/formats/oboInOwl#hasDbXref> '
         '"not a curie" .')]
    source = reader.source()
    assert (source.id, source.name, source.version, source.licence) == (
        "HPO", "Human Phenotype Ontology", "2025-01-16", "HPO licence")
    assert source.url == "http://purl.obolibrary.org/obo/hp.owl"


def test_unparsable_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "broken.ttl"
    path.write_text('@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n<a> skos:prefLabel "x\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.ttl:2: not valid turtle"):  # the parser's line
        list(RdfReader(path).read())
    owl = tmp_path / "broken.owl"
    owl.write_text("<rdf:RDF><owl:Class>", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.owl:1: not valid xml"):
        RdfReader(owl).source()


def test_format_is_guessed_or_named(tmp_path: Path) -> None:
    path = tmp_path / "thes.data"
    path.write_text(SKOS_TTL, encoding="utf-8")
    with pytest.raises(InputError, match="unknown RDF format"):
        list(RdfReader(path).read())
    assert any(isinstance(item, Parsed) for item in RdfReader(path, format="ttl").read())
    with pytest.raises(ConfigError, match="unknown RDF format 'obo'"):
        RdfReader(path, format="obo")
    with pytest.raises(InputError, match="no such file"):
        list(RdfReader(tmp_path / "missing.ttl").read())


def test_unbound_namespace_is_rejected_unless_given(tmp_path: Path) -> None:
    path = tmp_path / "plain.ttl"
    path.write_text("@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
                    "<http://example.org/x/1> a skos:Concept ; skos:prefLabel \"One\"@en .\n", encoding="utf-8")
    _, rejected = read(RdfReader(path))
    assert [r.reason for r in rejected] == [
        "no CURIE for the concept IRI http://example.org/x/1: bind a prefix for its namespace"]
    records, rejected = read(RdfReader(path, prefixes={"X": "http://example.org/x/"}))
    assert not rejected and TermRecord("X:1", "One", "en", "PT", preferred=True) in records


def test_prefix_bound_without_trailing_slash_and_iri_xrefs(tmp_path: Path) -> None:
    path = tmp_path / "thes.ttl"
    path.write_text("""\
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix yso: <http://example.org/onto/yso> .
<http://example.org/onto/yso/p123> a skos:Concept ; skos:prefLabel "kissa"@fi, "katt"@sv, "bussá"@se ;
    skos:broader <http://example.org/onto/yso/p1> ;
    skos:exactMatch <http://purl.obolibrary.org/obo/NCBITaxon_9685>, "SNOMEDCT_US_2025_09_01:388626009" .
<http://example.org/onto/yso/p1> a skos:Concept ; skos:prefLabel "eläin"@fi .
""", encoding="utf-8")
    records, rejected = read(RdfReader(path))
    assert not rejected
    assert {r.id for r in records if isinstance(r, Concept)} == {"YSO:p123", "YSO:p1"}  # not YSO:/p123
    assert Relation("YSO:p123", "IS_A", "YSO:p1") in records
    assert {r.lang for r in records if isinstance(r, TermRecord)} == {"fi", "sv", "se"}
    assert {r.target for r in records if isinstance(r, Xref)} == {"NCBITAXON:9685", "SNOMEDCT:388626009"}


def test_a_file_without_statements_or_concepts_is_an_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.ttl"
    empty.write_text("@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n", encoding="utf-8")
    with pytest.raises(InputError, match="no RDF statements"):
        list(RdfReader(empty).read())
    scheme = tmp_path / "scheme.ttl"
    scheme.write_text('<http://x.org/s> a <http://www.w3.org/2004/02/skos/core#ConceptScheme> .\n', encoding="utf-8")
    with pytest.raises(InputError, match="no skos:Concept or owl:Class"):
        list(RdfReader(scheme).read())
