"""The SSSOM reader's own rules: metadata as provenance, predicates mapped, labels as terms, bad rows and headers."""

from __future__ import annotations

from pathlib import Path

import bioregistry
import pytest

from bios_kg.graph.errors import InputError
from bios_kg.graph.records import Concept, Relation, TermRecord, Xref
from bios_kg.ingest.readers import READERS, Parsed, Rejected
from bios_kg.ingest.readers.sssom import SssomReader
from tests.support.reader_samples import SSSOM, sssom_clean, write_lines

HEADER = "subject_id\tpredicate_id\tobject_id\tmapping_justification"


def read(path: Path) -> list[Parsed | Rejected]:
    return list(READERS.get("sssom")(path).read())


def test_metadata_is_the_provenance(tmp_path: Path) -> None:
    source = READERS.get("sssom")(sssom_clean(tmp_path)).source()
    assert (source.id, source.version, source.licence, source.url, source.format) == (
        "TST-HP", "2026-12-01", "https://creativecommons.org/publicdomain/zero/1.0/",
        "https://example.org/tst-hp.sssom.tsv", "sssom")
    assert set(source.checksums) == {"tst-hp.sssom.tsv"}


def test_options_override_the_metadata(tmp_path: Path) -> None:
    source = READERS.get("sssom")(sssom_clean(tmp_path), source_id="MAP", version="v2", licence="CC-BY-4.0").source()
    assert (source.id, source.version, source.licence) == ("MAP", "v2", "CC-BY-4.0")


def test_predicates_labels_and_lines(tmp_path: Path) -> None:
    items = read(sssom_clean(tmp_path))
    assert all(isinstance(item, Parsed) for item in items)
    records = [(item.record, item.line) for item in items if isinstance(item, Parsed)]
    assert (Xref("TST:1", "HP:0001250"), 8) in records
    assert (TermRecord("TST:1", "Seizure", "en"), 8) in records
    assert (TermRecord("HP:0001250", "Seizures", "en"), 8) in records
    assert (Concept("HP:0001250"), 9) in records
    relations = [record for record, _ in records if isinstance(record, Relation)]
    assert [(r.head, r.type, r.tail, dict(r.props)) for r in relations] == [
        ("TST:2", "BROADER", "HP:0001250", {"mapping_justification": "semapv:ManualMappingCuration",
                                           "confidence": 0.8}),
        ("TST:3", "RELATED_TO", "HP:0001250", {"mapping_justification": "semapv:LexicalMatching"})]


def test_narrow_match_is_inverted_and_other_predicates_dropped(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "m.sssom.tsv", [HEADER, "A:1\tskos:narrowMatch\tB:1\tsemapv:ManualMappingCuration",
                                                  "A:2\towl:sameAs\tB:2\tsemapv:ManualMappingCuration"])
    reader = SssomReader(path)
    records = [item.record for item in reader.read() if isinstance(item, Parsed)]
    assert Relation("B:1", "BROADER", "A:1", rel_id="skos:narrowMatch",
                    props=(("mapping_justification", "semapv:ManualMappingCuration"),)) in records
    assert not any("A:2" in str(record) for record in records)
    assert reader.dropped == {"predicate owl:sameAs": 1}


@pytest.mark.parametrize(("row", "reason"), [
    ("A:1\tskos:exactMatch\tB:1", "expected 4 tab-separated columns, got 3"),
    ("A 1\tskos:exactMatch\tB:1\tsemapv:ManualMappingCuration", "not a CURIE"),
    ("A:1\tskos:exactMatch\thttp://example.org/x\tsemapv:ManualMappingCuration", "a link, not an identifier"),
    ("A:1\tskos:exactMatch\tB:1\t", "empty mapping_justification"),
    ("A 1\towl:sameAs\tB:1\tsemapv:ManualMappingCuration", "not a CURIE"),  # checked on dropped rows too
])
def test_bad_rows_are_rejected_with_their_line(tmp_path: Path, row: str, reason: str) -> None:
    items = read(write_lines(tmp_path / "m.sssom.tsv", ["# license: CC0", HEADER, row]))
    assert len(items) == 1 and isinstance(items[0], Rejected)
    assert (items[0].file, items[0].line) == ("m.sssom.tsv", 3)
    assert reason in items[0].reason


def test_a_header_without_a_required_column_names_file_and_line(tmp_path: Path) -> None:
    lines = [line.replace("\tmapping_justification", "") for line in SSSOM[:7]]
    with pytest.raises(InputError, match=r"tst\.sssom\.tsv:7: .*mapping_justification"):
        read(write_lines(tmp_path / "tst.sssom.tsv", lines))


def test_negated_mappings_are_dropped_and_modifiers_checked(tmp_path: Path) -> None:
    header = "subject_id\tpredicate_id\tpredicate_modifier\tobject_id\tmapping_justification"
    path = write_lines(tmp_path / "m.sssom.tsv", [header, "A:1\tskos:exactMatch\tNot\tB:1\tsemapv:MappingReview",
                                                  "A:2\tskos:exactMatch\tMaybe\tB:2\tsemapv:MappingReview"])
    reader = SssomReader(path)
    items = list(reader.read())
    assert [(item.line, item.reason) for item in items if isinstance(item, Rejected)] == [
        (3, "unknown predicate_modifier 'Maybe' (SSSOM has only Not)")]
    assert not [item for item in items if isinstance(item, Parsed)]
    assert reader.dropped == {"negated skos:exactMatch": 1}


def test_a_published_mapping_set_from_the_installed_bioregistry_package() -> None:
    """The Bioregistry's own curated mappings (written by others): negated rows are not cross-references."""
    reader = SssomReader(Path(bioregistry.__file__).parent / "data" / "curated_mappings.sssom.tsv")
    source = reader.source()
    assert source.licence == "https://creativecommons.org/publicdomain/zero/1.0/"
    assert source.name == "Bioregistry Manual Curations"
    items = list(reader.read())
    assert not [item for item in items if isinstance(item, Rejected)]
    xrefs = {(item.record.concept_id, item.record.target) for item in items
             if isinstance(item, Parsed) and isinstance(item.record, Xref)}
    assert ("BIOREGISTRY:aaindex", "INTEGBIO:nbdc00004") in xrefs
    assert not any(concept == "BIOREGISTRY:aao" for concept, _ in xrefs)  # "aao skos:exactMatch Not agroportal:AAO"
    assert reader.dropped["negated skos:exactMatch"] > 0


def test_metadata_without_a_table_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"meta\.sssom\.tsv: no SSSOM table"):
        read(write_lines(tmp_path / "meta.sssom.tsv", SSSOM[:6]))
