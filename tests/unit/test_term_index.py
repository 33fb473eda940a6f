"""The faiss term index files (kind by size, meta round trip, currency against a fingerprint, cosine search) and
the term vector files they are built from."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import faiss
import numpy as np
import pytest

from bios_kg.embed.index import (
    FLAT_MAX,
    HNSW_MAX,
    IDS_FILE,
    IVF_NPROBE,
    META_FILE,
    FaissTermIndex,
    build_faiss,
    choose_kind,
    current_index,
    default_index_dir,
    normalized,
    read_meta,
    save_term_index,
)
from bios_kg.embed.vector_store import VECTOR_IDS_FILE, VECTORS_FILE, TermVectorStore
from bios_kg.graph.errors import GraphError, ParameterError
from bios_kg.graph.store import EmbeddingFingerprint

FINGERPRINT = EmbeddingFingerprint(database="db1", terms=300, min_id="T000", max_id="T299",
                                   sources=[["HPO", "2025-01-16", "2026-01-01T00:00:00Z"]])


def vectors(n: int = 300, dim: int = 16, seed: int = 0) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    return [f"T{i:03d}" for i in range(n)], (rng.standard_normal((n, dim)) * 3).astype(np.float32)


def test_kind_by_size() -> None:
    assert choose_kind(1) == "flat"
    assert choose_kind(FLAT_MAX) == "flat"
    assert choose_kind(FLAT_MAX + 1) == "hnsw"
    assert choose_kind(HNSW_MAX) == "hnsw"
    assert choose_kind(HNSW_MAX + 1) == "ivf-sq8"


def test_normalized_rows_and_zero_rows() -> None:
    out = normalized(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert out.dtype == np.float32
    assert np.allclose(out, [[0.6, 0.8], [0.0, 0.0]])
    assert normalized(np.array([1.0, 1.0])).shape == (1, 2)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf-sq8"])
def test_search_returns_cosine_best_first(tmp_path: Path, kind: str) -> None:
    ids, data = vectors()
    meta = save_term_index(tmp_path, "tiny@abc", ids, data, FINGERPRINT, kind=kind)  # type: ignore[arg-type]
    assert meta.kind == kind and meta.count == len(ids) and meta.dim == 16
    found, why = current_index(tmp_path, "tiny@abc", FINGERPRINT)
    assert found == meta and "current" in why
    index = FaissTermIndex.load(tmp_path, meta, why)
    queries = data[:5] + 0.01
    results = index.search(queries, 4)
    unit = normalized(data)
    for query, hits, term_id in zip(normalized(queries), results, ids[:5], strict=True):
        assert hits[0][0] == term_id
        scores = [score for _, score in hits]
        assert scores == sorted(scores, reverse=True)
        expected = sorted(unit @ query, reverse=True)[:4]
        # cosine, not the raw inner product (8-bit codes: about two decimals)
        assert np.allclose(scores, expected, atol=2e-2 if kind == "ivf-sq8" else 1e-5)
    everything = index.search(queries[:1], 1000)[0]  # k above the count: as many as the index finds
    assert len(everything) == len(ids) if kind == "flat" else 0 < len(everything) <= len(ids)
    with pytest.raises(ParameterError, match="k"):
        index.search(queries, 0)


def test_meta_round_trip_and_files(tmp_path: Path) -> None:
    ids, data = vectors()
    meta = save_term_index(tmp_path, "tiny@abc", ids, data, FINGERPRINT)
    assert read_meta(tmp_path) == meta
    assert (tmp_path / IDS_FILE).read_text().splitlines() == ids
    on_disk = json.loads((tmp_path / META_FILE).read_text())
    assert on_disk["fingerprint"] == asdict(FINGERPRINT) and on_disk["kind"] == "flat"
    assert not list(tmp_path.glob("*.tmp"))
    assert read_meta(tmp_path / "absent") is None


def test_stale_other_model_or_damaged_files_are_not_current(tmp_path: Path) -> None:
    ids, data = vectors()
    save_term_index(tmp_path, "tiny@abc", ids, data, FINGERPRINT)
    grown = replace(FINGERPRINT, terms=301)
    meta, why = current_index(tmp_path, "tiny@abc", grown)
    assert meta is None and "stale" in why and "301" in why
    meta, why = current_index(tmp_path, "other@def", FINGERPRINT)
    assert meta is None and "tiny@abc" in why
    (tmp_path / IDS_FILE).write_text("T999\n")
    meta, why = current_index(tmp_path, "tiny@abc", FINGERPRINT)
    assert meta is None and "disagree" in why
    meta, why = current_index(tmp_path / "absent", "tiny@abc", FINGERPRINT)
    assert meta is None and "no faiss file" in why
    save_term_index(tmp_path, "tiny@abc", ids, data, FINGERPRINT)
    meta, why = current_index(tmp_path, "tiny@abc", replace(FINGERPRINT, database="db2"))
    assert meta is None and "another database" in why


def test_ivf_sq8_keeps_its_nprobe_and_finds_near_duplicates(tmp_path: Path) -> None:
    ids, data = vectors(4000, 32, seed=2)
    meta = save_term_index(tmp_path, "tiny@abc", ids, data, FINGERPRINT, kind="ivf-sq8")
    index = FaissTermIndex.load(tmp_path, meta, "test")
    ivf = faiss.extract_index_ivf(index.index)
    assert ivf.nlist == 100 and ivf.nprobe == min(IVF_NPROBE, ivf.nlist)  # 4000 vectors: 40 a cell
    hits = index.search(data[:50] + 0.01, 1)
    assert np.mean([found[0][0] == term_id for found, term_id in zip(hits, ids, strict=False)]) >= 0.98


def test_vector_store_appends_cuts_partial_rows_and_compacts(tmp_path: Path) -> None:
    ids, data = vectors(10, 4)
    unit = normalized(data)
    store = TermVectorStore(tmp_path, 4)
    store.append(ids[:6], unit[:6])
    store.append(["T002"], unit[9:10])  # encoded again after a kill: the last row wins
    # a kill during the next append: a whole vector row and part of another, part of an id line
    with (tmp_path / VECTORS_FILE).open("ab") as handle:
        handle.write(unit[6].tobytes() + b"\x00\x01")
    with (tmp_path / VECTOR_IDS_FILE).open("ab") as handle:
        handle.write(b"T0")
    reopened = TermVectorStore(tmp_path, 4)
    assert reopened.ids() == [*ids[:6], "T002"] and len(reopened) == 7
    assert (tmp_path / VECTORS_FILE).stat().st_size == 7 * 16
    rows = reopened.compact(["T000", "T002", "T005"])
    assert np.array_equal(rows, unit[[0, 9, 5]])
    assert TermVectorStore(tmp_path, 4).ids() == ["T000", "T002", "T005"]
    with pytest.raises(GraphError, match="T009"):
        reopened.compact(["T000", "T009"])


def test_vector_store_finishes_a_compaction_killed_during_the_swap(tmp_path: Path) -> None:
    ids, data = vectors(3, 4)
    store = TermVectorStore(tmp_path, 4)
    store.append(ids, normalized(data))
    (tmp_path / "compact.f32").write_bytes(normalized(data)[2:].tobytes())
    (tmp_path / "compact.ids").write_text("T002\n")
    (tmp_path / "compact.done").write_bytes(b"")
    assert TermVectorStore(tmp_path, 4).ids() == ["T002"]
    (tmp_path / "compact.f32").write_bytes(b"partial")  # no done marker: the old files still hold
    assert TermVectorStore(tmp_path, 4).ids() == ["T002"] and not (tmp_path / "compact.f32").exists()


def test_hnsw_finds_the_exact_vector() -> None:
    _, data = vectors(2000, 32, seed=1)
    index = build_faiss(data, "hnsw")
    _, rows = index.search(normalized(data[:50]), 1)
    assert (rows[:, 0] == np.arange(50)).mean() >= 0.98


def test_index_folder_under_bios_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BIOS_HOME", str(tmp_path))
    assert default_index_dir("my model/v1@0123abcd") == tmp_path / "indexes" / "my_model_v1@0123abcd"


def test_rejects_misaligned_ids(tmp_path: Path) -> None:
    ids, data = vectors()
    with pytest.raises(ValueError, match="ids"):
        save_term_index(tmp_path, "tiny@abc", ids[:-1], data, FINGERPRINT)
