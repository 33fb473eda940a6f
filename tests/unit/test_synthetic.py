"""The generated BIOS release: reads back cleanly, has BIOS v2's proportions, is deterministic, and
`bios sample synthetic --no-load` only writes files."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bios_kg.apps.cli import app
from bios_kg.graph.records import Concept, Definition, Relation, TermRecord
from bios_kg.graph.runtime import free_port
from bios_kg.ingest.readers import READERS
from bios_kg.ingest.synthetic import (
    DEFINITION_SHARE,
    HUBS,
    TERMS_PER_CONCEPT,
    TRIPLES_PER_CONCEPT,
    ZH_SHARE,
    SyntheticSize,
    write_change_release,
    write_synthetic_bios_release,
)
from tests.support.bios_files import records, rejected


def test_synthetic_release_reads_back(tmp_path: Path) -> None:
    written = write_synthetic_bios_release(tmp_path, SyntheticSize(concepts=300, terms=800, relations=500))
    items = list(READERS.get("bios")(tmp_path).read())
    assert rejected(items) == []
    terms = records(items, TermRecord)
    assert len(terms) == written["concept_terms"]
    assert 700 < len(terms) < 900  # about the requested 800
    assert len(records(items, Relation)) == written["relations"] == 500
    assert len(records(items, Definition)) == written["definitions"]
    assert {term.lang for term in terms} == {"en", "zh"}


def test_bios_v2_proportions(tmp_path: Path) -> None:
    concepts = 20_000
    written = write_synthetic_bios_release(tmp_path, SyntheticSize.bios_v2_shaped(concepts), seed=1)
    items = list(READERS.get("bios")(tmp_path).read())
    assert rejected(items) == []
    terms = records(items, TermRecord)
    assert written["concept_terms"] / concepts == pytest.approx(TERMS_PER_CONCEPT, rel=0.03)
    assert written["relations"] / concepts == pytest.approx(TRIPLES_PER_CONCEPT, rel=0.01)
    assert written["definitions"] / concepts == pytest.approx(DEFINITION_SHARE, abs=0.01)
    zh = [term for term in terms if term.lang == "zh"]
    en = [term for term in terms if term.lang == "en"]
    assert len(zh) / len(terms) == pytest.approx(ZH_SHARE, abs=0.01)
    # Lengths follow the measured distributions: medians 28 (English) and 6 (Chinese), long names kept.
    en_lengths, zh_lengths = sorted(len(t.text) for t in en), sorted(len(t.text) for t in zh)
    assert 24 <= en_lengths[len(en_lengths) // 2] <= 32 and en_lengths[-1] > 100
    assert 5 <= zh_lengths[len(zh_lengths) // 2] <= 7 and zh_lengths[-1] > 30
    # Every concept has one type; hubs are the parents of far more relations than other concepts.
    assert sum(1 for line in (tmp_path / "SemanticTypes.txt").open()) == concepts
    tails = Counter(rel.tail for rel in records(items, Relation) if rel.type == "IS_A")
    hub_in = [tails[f"BIOS:CN{n:08d}"] for n in range(HUBS)]
    assert min(hub_in[:3]) > 20 * (sum(tails.values()) / concepts)
    # One preferred term per concept and language at most.
    preferred = Counter((t.concept_id, t.lang) for t in terms if t.preferred)
    assert max(preferred.values()) == 1


def test_same_seed_same_release(tmp_path: Path) -> None:
    size = SyntheticSize.bios_v2_shaped(500)
    write_synthetic_bios_release(tmp_path / "a", size, seed=3)
    write_synthetic_bios_release(tmp_path / "b", size, seed=3)
    write_synthetic_bios_release(tmp_path / "c", size, seed=4)
    for name in ("ConceptTerms.txt", "Relations.txt", "Definitions.txt", "SemanticTypes.txt"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert (tmp_path / "a" / "ConceptTerms.txt").read_bytes() != (tmp_path / "c" / "ConceptTerms.txt").read_bytes()


def test_change_release_adds_terms_concepts_relations_and_retires(tmp_path: Path) -> None:
    size = SyntheticSize.bios_v2_shaped(5000)
    write_synthetic_bios_release(tmp_path / "base", size)
    written = write_change_release(tmp_path / "base", tmp_path / "delta", size)
    base_terms = {line.split("|")[1] for line in (tmp_path / "base" / "ConceptTerms.txt").open(encoding="utf-8")}
    items = list(READERS.get("bios")(tmp_path / "delta").read())
    assert rejected(items) == []
    terms = records(items, TermRecord)
    assert len(terms) == written["concept_terms"] and not {t.source_id for t in terms} & base_terms
    new = {t.concept_id for t in terms if int(t.concept_id[-8:]) >= size.concepts}
    assert len(new) == written["new_concepts"] == 25
    retired = [c for c in records(items, Concept) if c.obsolete]
    assert len(retired) == written["retired"] >= 1
    total = written["concept_terms"] + written["relations"] + written["new_concepts"]
    base_lines = size.concepts + size.terms + size.relations
    assert 0.005 < total / base_lines < 0.02  # about 1 % of the release


def test_no_load_writes_the_release_and_touches_no_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEO4J_URI", f"bolt://127.0.0.1:{free_port()}")  # nothing listens there
    out = tmp_path / "release"
    result = CliRunner().invoke(app, ["sample", "synthetic", "--concepts", "300", "--out", str(out), "--no-load",
                                      "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["concepts"] == 300 and report["folder"] == str(out)
    assert sum(1 for _ in (out / "SemanticTypes.txt").open()) == 300
    loaded = CliRunner().invoke(app, ["sample", "synthetic", "--concepts", "300", "--out", str(out)])
    assert loaded.exit_code != 0  # without --no-load it does try the (absent) database


def test_unknown_preset_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sample", "synthetic", "--preset", "huge", "--out", str(tmp_path), "--no-load"])
    assert result.exit_code != 0 and "bios-v2" in result.output
