"""The bulk path (neo4j-admin import) builds the same graph as the transactional loader.

The transactional load goes into the session's test database (`store`); the bulk load into a second
local instance started here in a temporary folder, emptied before each test.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bios_kg.graph.errors import GraphError, InputError
from bios_kg.graph.runtime import LocalNeo4j, ServerOptions, free_port
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.bulk import bulk_load
from bios_kg.ingest.loader import load_source
from bios_kg.ingest.readers import READERS
from bios_kg.ingest.synthetic import SyntheticSize, write_synthetic_bios_release
from tests.support.bios_files import BIOS_RELATIONS, write_bios_release
from tests.support.realworld import REALWORLD

pytestmark = pytest.mark.integration

# Source properties that differ between two loads of the same files.
VOLATILE_SOURCE_KEYS = {"loaded_at"}


@pytest.fixture(scope="module")
def bulk_instance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNeo4j]:
    instance = LocalNeo4j(tmp_path_factory.mktemp("bulk") / "instance")
    instance.start(ServerOptions(bolt_port=free_port(), http=False, heap="512m", pagecache="128m"))
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture()
def bulk(bulk_instance: LocalNeo4j) -> Iterator[LocalNeo4j]:
    """The bulk instance, running, with an empty database."""
    if not bulk_instance.status().running:
        bulk_instance.start(ServerOptions(bolt_port=free_port(), http=False, heap="512m", pagecache="128m"))
    with _store(bulk_instance) as store:
        store.clear()
    yield bulk_instance


def _store(instance: LocalNeo4j) -> GraphStore:
    uri = instance.status().uri
    assert uri, "the bulk instance is not running"
    return GraphStore.connect(Neo4jSettings(uri=uri, username=None, password=None, database="neo4j"))


def _dump(store: GraphStore) -> dict[str, Any]:
    """The whole graph in a comparable form: nodes by (label, id), edges as sorted lists."""
    nodes: dict[tuple[str, str], dict[str, Any]] = {}
    for row in store.run("MATCH (n) RETURN labels(n) AS labels, properties(n) AS props"):
        props = dict(row["props"])
        if "Source" in row["labels"]:
            props = {k: v for k, v in props.items() if k not in VOLATILE_SOURCE_KEYS}
        nodes[(":".join(sorted(row["labels"])), props["id"])] = props
    edges = sorted(
        (row["type"], row["a"], row["b"], sorted(row["props"].items()))
        for row in store.run("MATCH (a)-[r]->(b) RETURN type(r) AS type, a.id AS a, b.id AS b, "
                             "properties(r) AS props")
    )
    return {"nodes": nodes, "edges": edges}


def _counts(store: GraphStore) -> dict[str, int]:
    stats = store.stats()
    return {**stats.labels, **stats.relationship_types}


def _assert_same_graph(transactional: GraphStore, instance: LocalNeo4j) -> dict[str, Any]:
    expected = _dump(transactional)
    with _store(instance) as bulk_store:
        actual = _dump(bulk_store)
        assert _counts(bulk_store) == _counts(transactional)
        constraints = {row["name"] for row in bulk_store.run("SHOW CONSTRAINTS YIELD name")}
        assert {"concept_id", "term_id", "term_lang_norm"} <= constraints
    missing = {k: v for k, v in expected["nodes"].items() if actual["nodes"].get(k) != v}
    extra = {k: v for k, v in actual["nodes"].items() if expected["nodes"].get(k) != v}
    assert not missing and not extra, f"nodes differ:\ntransactional {list(missing.items())[:5]}\n" \
                                      f"bulk {list(extra.items())[:5]}"
    assert actual["edges"] == expected["edges"]
    return actual


def test_fixture_release_same_graph_as_transactional(tmp_path: Path, store: GraphStore, bulk: LocalNeo4j) -> None:
    root = tmp_path / "bios"
    expected = write_bios_release(root, "2022")
    reader = READERS.get("bios")(root, version="fixture")
    tx_report = load_source(reader, store, progress=False)
    report = bulk_load(reader, bulk, progress=False)

    assert report.records == tx_report.records
    assert report.rejected == 0
    assert bulk.status().running  # it was running before the load
    assert not (bulk.home / "import" / "bulk-BIOS").exists()
    graph = _assert_same_graph(store, bulk)

    with _store(bulk) as bulk_store:
        counts = _counts(bulk_store)
    assert counts["Concept"] == expected["concepts"]
    assert counts["Term"] == expected["terms"]
    assert counts["HAS_TERM"] == expected["has_term"]
    assert counts["HAS_TYPE"] == expected["type_assignments"]
    assert counts["SemanticType"] == expected["types"]
    assert counts["RelationType"] == expected["relation_types"]
    assert sum(counts.get(t, 0) for t in ("IS_A", "MAY_TREAT", "MAY_CAUSE")) == expected["relations"]

    nodes = graph["nodes"]
    diabetes = nodes[("Concept", "BIOS:CN00000001")]
    assert diabetes["name"] == "Diabetes mellitus" and diabetes["name_zh"] == "糖尿病"
    assert diabetes["sources"] == ["BIOS"]
    assert diabetes["definitions"] == [
        "A group of metabolic disorders characterized by high blood sugar over a prolonged period.",
        "一组以长期高血糖为特征的代谢性疾病。"]
    assert diabetes["definition"] == diabetes["definitions"][0]
    assert nodes[("Concept", "BIOS:CN00000005")]["definition"] == \
        "A salicylate used to reduce pain, fever or inflammation."  # commas survive the CSV
    fits = [props for (label, _), props in nodes.items() if label == "Term" and props["norm"] == "fit"]
    assert [f["text"] for f in fits] == ["Fit"]  # first spelling kept, shared by two concepts
    assert nodes[("Source", "BIOS")]["status"] == "loaded"


def test_synthetic_release_with_scattered_rows(tmp_path: Path, store: GraphStore, bulk: LocalNeo4j) -> None:
    """Concept rows out of order, small sort buffers (several runs) and small transactional batches."""
    root = tmp_path / "synthetic"
    write_synthetic_bios_release(root, SyntheticSize(concepts=300, terms=1000, relations=700), seed=3)
    terms = (root / "ConceptTerms.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(5).shuffle(terms)
    (root / "ConceptTerms.txt").write_text("".join(terms), encoding="utf-8")
    with (root / "ConceptTerms.txt").open("a", encoding="utf-8") as handle:  # quotes, commas, a preferred
        handle.write('CN00000007|S900000001|"Quoted", comma; semi \\ back|ENG|PT\n')  # name set late
        handle.write("CN00000007|S900000002|双引号“中文”，逗号|CHS|SY\n")
    reader = READERS.get("bios")(root, version="synthetic")
    tx_report = load_source(reader, store, batch_size=97, progress=False)
    report = bulk_load(reader, bulk, progress=False, sort_buffer=250)

    assert report.records == tx_report.records
    graph = _assert_same_graph(store, bulk)
    assert graph["nodes"][("Concept", "BIOS:CN00000007")]["name"] == '"Quoted", comma; semi \\ back'


def _bad_relation_release(root: Path) -> int:
    """The fixture release plus one relation to a concept that does not exist; returns its line."""
    write_bios_release(root, "2022")
    with (root / "Relations.txt").open("a", encoding="utf-8") as handle:
        handle.write("R99|CN00000001|CN99999999|1|is_a\n")
    return len(BIOS_RELATIONS) + 1


def test_relation_to_missing_concept_is_kept_pending(tmp_path: Path, store: GraphStore, bulk: LocalNeo4j) -> None:
    root = tmp_path / "bios"
    _bad_relation_release(root)
    reader = READERS.get("bios")(root)
    report = bulk_load(reader, bulk, progress=False)
    tx_report = load_source(reader, store, progress=False)
    assert report.relations_pending == tx_report.relations_pending == 1
    assert report.records == tx_report.records and report.rejected == 0
    with _store(bulk) as bulk_store:
        assert bulk_store.run("MATCH (p:PendingRelation) RETURN p.head AS head, p.tail AS tail, p.rid AS rid") == [
            {"head": "BIOS:CN00000001", "tail": "BIOS:CN99999999", "rid": "R99"}]
    _assert_same_graph(store, bulk)


def test_bad_rows_skipped_go_to_the_rejects_file(tmp_path: Path, store: GraphStore, bulk: LocalNeo4j) -> None:
    root = tmp_path / "bios"
    _bad_relation_release(root)
    with (root / "ConceptTerms.txt").open("a", encoding="utf-8") as handle:
        handle.write("CN00000001|S9|Unreadable language|XXX|SY\n")
    reader = READERS.get("bios")(root)
    rejects = tmp_path / "rejects.tsv"
    report = bulk_load(reader, bulk, on_error="skip", rejects=rejects, progress=False)
    tx_rejects = tmp_path / "tx-rejects.tsv"
    tx_report = load_source(reader, store, on_error="skip", rejects=tx_rejects, progress=False)

    assert report.rejected == 1 and report.records == tx_report.records
    rows = [row.split("\t") for row in rejects.read_text(encoding="utf-8").splitlines()]
    assert sorted(rows) == sorted(row.split("\t") for row in tx_rejects.read_text(encoding="utf-8").splitlines())
    assert any(row[0] == "ConceptTerms.txt" and "unknown language code 'XXX'" in row[2] for row in rows)
    _assert_same_graph(store, bulk)


def test_reader_rejection_stops_before_anything_is_imported(tmp_path: Path, bulk: LocalNeo4j) -> None:
    root = tmp_path / "bios"
    write_bios_release(root, "2022")
    with (root / "ConceptTerms.txt").open("a", encoding="utf-8") as handle:
        handle.write("CN00000001|S9|too|few\n")
    with pytest.raises(InputError, match=r"/bios/ConceptTerms\.txt:44: expected 5 columns"):
        bulk_load(READERS.get("bios")(root), bulk, progress=False)
    assert bulk.status().running
    with _store(bulk) as bulk_store:
        assert bulk_store.count("MATCH (n) RETURN count(n) AS n") == 0


def test_refuses_a_database_with_data(tmp_path: Path, bulk: LocalNeo4j) -> None:
    with _store(bulk) as bulk_store:
        bulk_store.run("CREATE (:Probe {id: 'x'})")
    root = tmp_path / "bios"
    write_bios_release(root, "2022")
    with pytest.raises(GraphError, match="holds 1 nodes; the bulk path imports only into an empty database"):
        bulk_load(READERS.get("bios")(root), bulk, progress=False)
    with _store(bulk) as bulk_store:
        assert bulk_store.count("MATCH (n:Probe) RETURN count(n) AS n") == 1


def test_stopped_instance_is_loaded_and_left_stopped(tmp_path: Path, bulk: LocalNeo4j) -> None:
    root = tmp_path / "bios"
    expected = write_bios_release(root, "2022")
    bulk.stop()
    try:
        report = bulk_load(READERS.get("bios")(root), bulk, progress=False)
        assert not bulk.status().running
        assert report.records["TermRecord"] == expected["term_rows"]
        options = bulk.read_options()
        assert options is not None
        bulk.start(options)
        with _store(bulk) as bulk_store:
            assert _counts(bulk_store)["Concept"] == expected["concepts"]
            assert bulk_store.source("BIOS")["count_TermRecord"] == expected["term_rows"]  # type: ignore[index]
    finally:
        if not bulk.status().running:
            bulk.start(ServerOptions(bolt_port=free_port(), http=False, heap="512m", pagecache="128m"))


REAL_OBO = REALWORLD / "obo" / "doid-DO_cancer_slim.obo"


@pytest.mark.skipif(not REAL_OBO.exists(), reason=f"needs the real OBO file {REAL_OBO}")
def test_obo_through_bulk_cli_same_graph_as_transactional(store: GraphStore, bulk: LocalNeo4j) -> None:
    """Another reader through `bios ingest obo --bulk`: synonyms, definitions, is_a, alt ids and xrefs."""
    from typer.testing import CliRunner

    from bios_kg.apps.cli import app

    load_source(READERS.get("obo")(REAL_OBO), store, progress=False)
    result = CliRunner().invoke(app, ["ingest", "obo", str(REAL_OBO), "--bulk", "--home", str(bulk.home), "--json"])
    assert result.exit_code == 0, result.output
    graph = _assert_same_graph(store, bulk)
    concepts = [props for (label, _), props in graph["nodes"].items() if label == "Concept"]
    assert len(concepts) > 400
    assert any(props.get("alt_ids") for props in concepts) and any(props.get("xrefs") for props in concepts)


def test_change_release_after_bulk_load_is_idempotent(tmp_path: Path, bulk: LocalNeo4j) -> None:
    """A generated release bulk-loaded, then its 1 % change release loaded transactionally twice:
    the second load changes nothing, and the retired concepts are kept but marked obsolete."""
    from bios_kg.ingest.synthetic import write_change_release

    size = SyntheticSize.bios_v2_shaped(2000)
    write_synthetic_bios_release(tmp_path / "base", size)
    written = write_change_release(tmp_path / "base", tmp_path / "delta", size)
    bulk_load(READERS.get("bios")(tmp_path / "base"), bulk, progress=False)
    with _store(bulk) as bulk_store:
        before = _counts(bulk_store)
        load_source(READERS.get("bios")(tmp_path / "delta"), bulk_store, progress=False)
        once = _dump(bulk_store)
        load_source(READERS.get("bios")(tmp_path / "delta"), bulk_store, progress=False, force=True)
        twice = _dump(bulk_store)
        after = _counts(bulk_store)
        obsolete = bulk_store.count("MATCH (c:Concept) WHERE c.obsolete RETURN count(c) AS n")
    assert once == twice
    assert after["Concept"] == before["Concept"] + written["new_concepts"]
    assert after["Term"] > before["Term"]
    assert obsolete == written["retired"]
