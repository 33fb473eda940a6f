"""The transactional loader against the real Neo4j: counts, idempotency, rollback, resume, rejects."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from neo4j.exceptions import ConstraintError

from bios_kg.graph.errors import InputError
from bios_kg.graph.records import Concept, Record, Relation, Source, Xref
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.loader import load_source
from bios_kg.ingest.readers import READERS, Item, Parsed
from bios_kg.ingest.readers.base import SourceReader
from tests.support.bios_files import write_bios_release, write_umls_subset

pytestmark = pytest.mark.integration


def graph_counts(store: GraphStore, source: str) -> dict[str, int]:
    def one(cypher: str) -> int:
        return store.count(cypher, source=source)

    return {
        "concepts": one("MATCH (c:Concept) WHERE $source IN c.sources RETURN count(c) AS n"),
        "terms": one("MATCH (t:Term) WHERE $source IN t.sources RETURN count(t) AS n"),
        "has_term": one("MATCH ()-[h:HAS_TERM]->() WHERE $source IN h.sources RETURN count(h) AS n"),
        "types": one("MATCH (s:SemanticType) WHERE $source IN s.sources RETURN count(s) AS n"),
        "type_assignments": one("MATCH ()-[h:HAS_TYPE]->() WHERE $source IN h.sources RETURN count(h) AS n"),
        "relations": one("MATCH (:Concept)-[r]->(:Concept) WHERE $source IN r.sources RETURN count(r) AS n"),
        "relation_types": one("MATCH (t:RelationType) WHERE $source IN t.sources RETURN count(t) AS n"),
        "definitions": one("MATCH (c:Concept) WHERE $source IN c.sources "
                           "RETURN sum(size(coalesce(c.definitions, []))) AS n"),
    }


def expected_graph(expected: dict[str, int]) -> dict[str, int]:
    return {key: expected[key] for key in ("concepts", "terms", "has_term", "types", "type_assignments",
                                           "relations", "relation_types", "definitions")}


@pytest.mark.parametrize("fmt", ["2022", "2022-tab", "2023", "2021"])
def test_bios_release_loads_with_exact_counts(store: GraphStore, tmp_path: Path, fmt: str) -> None:
    expected = write_bios_release(tmp_path / "release", fmt)
    report = load_source(READERS.get("bios")(tmp_path / "release", version="fixture"), store, progress=False)
    assert report.rejected == 0
    assert graph_counts(store, "BIOS") == expected_graph(expected)
    source = store.source("BIOS")
    assert source is not None
    assert source["status"] == "loaded" and source["version"] == "fixture"
    assert source["licence"] == "CC-BY-NC-ND-4.0"
    assert all(len(digest) == 64 for digest in json.loads(source["checksums"]).values())


def test_bilingual_concept_shared_term_and_relations(store: GraphStore, tmp_path: Path) -> None:
    write_bios_release(tmp_path / "release")
    load_source(READERS.get("bios")(tmp_path / "release"), store, progress=False)
    epilepsy = store.run("MATCH (c:Concept {id: 'BIOS:CN00000003'}) RETURN c.name AS en, c.name_zh AS zh")[0]
    assert epilepsy == {"en": "Epilepsy", "zh": "癫痫"}
    shared = store.scalar("MATCH (c:Concept)-[:HAS_TERM]->(t:Term {lang: 'en', norm: 'fit'}) "
                          "RETURN collect(c.id) AS ids")
    assert sorted(shared) == ["BIOS:CN00000003", "BIOS:CN00000004"]
    full_width = store.run("MATCH (:Concept {id: 'BIOS:CN00000002'})-[h:HAS_TERM]->(t:Term {lang: 'zh'}) "
                           "RETURN t.norm AS norm, h.tty AS tty ORDER BY norm")
    assert [row["norm"] for row in full_width] == ["2型糖尿病"]
    parents = store.run("MATCH (:Concept {id: 'BIOS:CN00000002'})-[r:IS_A]->(p:Concept) "
                        "RETURN p.id AS id, r.source AS source")
    assert parents == [{"id": "BIOS:CN00000001", "source": "BIOS"}]


def test_reload_is_idempotent(store: GraphStore, tmp_path: Path) -> None:
    write_bios_release(tmp_path / "release")
    reader = READERS.get("bios")(tmp_path / "release")
    load_source(reader, store, progress=False)
    first = store.stats()
    assert load_source(reader, store, progress=False).skipped_unchanged
    forced = load_source(reader, store, progress=False, force=True, batch_size=7)
    assert not forced.skipped_unchanged and forced.records["TermRecord"] > 0
    assert store.stats() == first


def test_umls_subset_loads_with_exact_counts(store: GraphStore, tmp_path: Path) -> None:
    expected = write_umls_subset(tmp_path / "umls")
    report = load_source(READERS.get("umls")(tmp_path / "umls"), store, progress=False)
    assert report.rejected == 0 and report.version == "2024AA"
    assert graph_counts(store, "UMLS") == expected_graph(expected)


def _break_line(path: Path, line: int, replacement: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = replacement
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_bad_row_stops_and_rolls_back_the_failing_batch(store: GraphStore, tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_bios_release(release)
    _break_line(release / "ConceptTerms.txt", 20, "CN00000005|S0000020|ASA|ENG")  # 4 columns
    with pytest.raises(InputError, match=r"ConceptTerms\.txt:20: .*column"):
        load_source(READERS.get("bios")(release), store, progress=False, batch_size=8)
    # Batches of 8 items: the SemanticNetwork rows come first, so lines up to the last full batch
    # before line 20 are stored and nothing of the failing batch is.
    stored = {row["text"] for row in store.run("MATCH (t:Term) RETURN t.text AS text")}
    assert "Diabetes mellitus" in stored
    assert not stored & {"Aspirin", "Acetylsalicylic acid", "阿司匹林"}
    assert store.source("BIOS")["status"] == "failed"  # type: ignore[index]


def test_relation_to_missing_concept_is_pending_until_the_concept_is_loaded(store: GraphStore,
                                                                             tmp_path: Path) -> None:
    release = tmp_path / "release"
    write_bios_release(release)
    lines = (release / "Relations.txt").read_text(encoding="utf-8").splitlines()
    lines.insert(2, "R9999|CN00000002|CN99999999|1|is_a")
    (release / "Relations.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = load_source(READERS.get("bios")(release), store, progress=False)
    assert (report.relations_pending, report.relations_joined, report.rejected) == (1, 0, 0)
    assert store.count("MATCH (c:Concept {id: 'BIOS:CN99999999'}) RETURN count(c) AS n") == 0
    pending = store.run("MATCH (p:PendingRelation) RETURN p.head AS head, p.type AS type, p.tail AS tail, "
                        "p.rid AS rid, p.sources AS sources")
    assert pending == [{"head": "BIOS:CN00000002", "type": "IS_A", "tail": "BIOS:CN99999999", "rid": "R9999",
                        "sources": ["BIOS"]}]

    later = tmp_path / "later.obo"
    later.write_text("format-version: 1.2\nontology: later\n\n[Term]\nid: BIOS:CN99999999\nname: Late concept\n",
                     encoding="utf-8")
    report = load_source(READERS.get("obo")(later), store, progress=False)
    assert (report.relations_pending, report.relations_joined) == (0, 1)
    assert store.count_pending_relations() == 0
    edge = store.run("MATCH (:Concept {id: 'BIOS:CN00000002'})-[e:IS_A]->(:Concept {id: 'BIOS:CN99999999'}) "
                     "RETURN e.source AS source, e.rid AS rid, e.sources AS sources")
    assert edge == [{"source": "BIOS", "rid": "R9999", "sources": ["BIOS"]}]


def test_skip_mode_writes_rejects_and_loads_the_rest(store: GraphStore, tmp_path: Path) -> None:
    release = tmp_path / "release"
    expected = write_bios_release(release)
    _break_line(release / "ConceptTerms.txt", 20, "CN00000005|S0000020|ASA|XXX|AB")  # unknown language
    with (release / "ConceptTerms.txt").open("ab") as handle:
        handle.write(b"CN00000005|S0000099|Aspirin \xff\xfe|ENG|SY\n")
    rejects = tmp_path / "rejects.tsv"
    report = load_source(READERS.get("bios")(release), store, progress=False, on_error="skip", rejects=rejects)
    rows = [line.split("\t") for line in rejects.read_text(encoding="utf-8").splitlines()]
    reasons = {(row[0], int(row[1])): row[2] for row in rows}
    assert report.rejected == 2 == len(rows)
    assert "XXX" in reasons[("ConceptTerms.txt", 20)]
    assert "UTF-8" in reasons[("ConceptTerms.txt", expected["term_rows"] + 1)]
    counts = graph_counts(store, "BIOS")
    assert counts["relations"] == expected["relations"]
    assert counts["has_term"] == expected["has_term"] - 1  # the ASA abbreviation row was rejected


class InterruptingReader(SourceReader):
    """Wraps a reader and dies (like a killed process) after `limit` items."""

    def __init__(self, inner: SourceReader, limit: int) -> None:
        self.inner, self.limit, self.root = inner, limit, inner.root

    def source(self):  # type: ignore[no-untyped-def]
        return self.inner.source()

    def read(self) -> Iterator[Item]:
        for count, item in enumerate(self.inner.read(), start=1):
            if count > self.limit:
                raise KeyboardInterrupt
            yield item


def test_killed_load_resumes_and_completes(store: GraphStore, tmp_path: Path) -> None:
    release = tmp_path / "release"
    expected = write_bios_release(release)
    reader = READERS.get("bios")(release)
    with pytest.raises(KeyboardInterrupt):
        load_source(InterruptingReader(reader, 30), store, progress=False, batch_size=10)
    partial = store.source("BIOS")
    assert partial is not None and partial["status"] == "loading" and partial["checkpoint"] == 30
    report = load_source(reader, store, progress=False, batch_size=10)
    assert report.resumed_from == 30
    assert graph_counts(store, "BIOS") == expected_graph(expected)
    assert store.source("BIOS")["status"] == "loaded"  # type: ignore[index]


def test_constraints_refuse_duplicate_keys(store: GraphStore) -> None:
    store.run("CREATE (:Term {id: 'T1', text: 'Fit', norm: 'fit', lang: 'en'})")
    with pytest.raises(ConstraintError):
        store.run("CREATE (:Term {id: 'T2', text: 'FIT', norm: 'fit', lang: 'en'})")
    store.run("CREATE (:Concept {id: 'X:1'})")
    with pytest.raises(ConstraintError):
        store.run("CREATE (:Concept {id: 'X:1'})")


def test_stats_by_label_type_and_source(store: GraphStore, tmp_path: Path) -> None:
    bios = write_bios_release(tmp_path / "bios")
    umls = write_umls_subset(tmp_path / "umls")
    load_source(READERS.get("bios")(tmp_path / "bios"), store, progress=False)
    load_source(READERS.get("umls")(tmp_path / "umls"), store, progress=False)
    stats = store.stats()
    assert stats.labels["Concept"] == bios["concepts"] + umls["concepts"]
    assert stats.labels["Source"] == 2
    assert stats.relationship_types["HAS_TERM"] == bios["has_term"] + umls["has_term"]
    assert stats.by_source["BIOS"]["node:Concept"] == bios["concepts"]
    assert stats.by_source["UMLS"]["rel:HAS_TERM"] == umls["has_term"]


class RecordsReader(SourceReader):
    """A source given as a list of records (one per line of an imaginary file)."""

    def __init__(self, root: Path, source_id: str, records: list[Record]) -> None:
        self.root = root
        self.source_id = source_id
        self.records = records

    def source(self) -> Source:
        return Source(id=self.source_id, name=self.source_id, version="1", licence="test",
                      checksums={"records": str(hash(tuple(self.records)))})

    def read(self) -> Iterator[Item]:
        for line, record in enumerate(self.records, start=1):
            yield Parsed(record, "records", line)


def test_cross_references_join_whichever_source_comes_first(store: GraphStore, tmp_path: Path) -> None:
    (tmp_path / "records").write_text("")
    hpo = RecordsReader(tmp_path, "A", [
        Concept("HP:0001259", name="Coma", alt_ids=("HP:0000001",)), Xref("HP:0001259", "ICD-10:R40.2"),
        Xref("HP:0001259", "UMLS:C0009421"), Relation("HP:0001259", "HAS_FINDING", "HP:0001259", props=(("n", 1),))])
    icd = RecordsReader(tmp_path, "B", [Concept("ICD10:R40.2", name="Coma, unspecified"),
                                        Xref("ICD10:R40.2", "HP:0001259")])
    assert load_source(hpo, store, progress=False).xrefs_linked == 0  # ICD10:R40.2 is not in the graph yet
    assert load_source(icd, store, progress=False).xrefs_linked == 2  # both directions now
    rows = store.run("MATCH (a:Concept)-[:XREF]->(b:Concept) RETURN a.id AS a, b.id AS b ORDER BY a")
    assert rows == [{"a": "HP:0001259", "b": "ICD10:R40.2"}, {"a": "ICD10:R40.2", "b": "HP:0001259"}]
    (coma,) = store.run("MATCH (c:Concept {id: 'HP:0001259'})-[r:HAS_FINDING]->() "
                        "RETURN c.xrefs AS xrefs, c.alt_ids AS alt_ids, r.n AS n")
    assert coma == {"xrefs": ["ICD10:R40.2", "UMLS:C0009421"], "alt_ids": ["HP:0000001"], "n": 1}
    assert load_source(hpo, store, progress=False, force=True).xrefs_linked == 0  # idempotent
    (again,) = store.run("MATCH (c:Concept {id: 'HP:0001259'}) RETURN c.xrefs AS xrefs")
    assert again["xrefs"] == ["ICD10:R40.2", "UMLS:C0009421"]
