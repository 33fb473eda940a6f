"""PyKEEN training, vectors and link suggestions on hand-made triples (no database; a few epochs, CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bios_kg.embed.kge.export import read_tsv, write_tsv
from bios_kg.embed.kge.train import (
    KgeConfig,
    KgeFit,
    entity_vectors,
    fit_kge,
    model_id_for,
    suggest_links,
    suggestion_id,
)
from bios_kg.graph.errors import GraphError, InputError, ParameterError


def hand_made() -> np.ndarray:
    """A 3-level IS_A tree of 26 concepts and a PART_OF chain over the same concepts."""
    ids = [f"X:{i:02d}" for i in range(26)]
    rows = {(ids[i], "IS_A", ids[(i - 1) // 5]) for i in range(1, 26)}
    rows |= {(ids[i], "PART_OF", ids[i + 1]) for i in range(25)}
    return np.asarray(sorted(rows), dtype=str)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, KgeFit]:
    out = tmp_path_factory.mktemp("kge")
    return out, fit_kge(hand_made(), KgeConfig(dim=8, epochs=3, batch_size=16, seed=5), out, device="cpu",
                        progress=False)


def test_fit_evaluates_and_checkpoints(fitted: tuple[Path, KgeFit]) -> None:
    out, fit = fitted
    assert fit.model_id == model_id_for(fit.config, hand_made()) and fit.model_id.startswith("transe@")
    assert set(fit.metrics) == {"mrr", "hits_at_1", "hits_at_3", "hits_at_10", "mean_rank"}
    assert 0 < fit.metrics["mrr"] <= 1 and 0 <= fit.metrics["hits_at_10"] <= 1
    assert fit.test_triples == 5 and fit.training.num_triples == 45 and len(fit.losses) == 3
    assert not fit.resumed and (out / "checkpoints" / f"{fit.model_id.split('@')[1]}.pt").is_file()
    again = fit_kge(hand_made(), fit.config, out, device="cpu", progress=False)
    assert again.resumed and again.metrics == fit.metrics  # finished: loaded, not trained again


def test_entity_vectors_cover_every_concept(fitted: tuple[Path, KgeFit]) -> None:
    _, fit = fitted
    labels, vectors = entity_vectors(fit)
    assert sorted(labels) == sorted(set(hand_made()[:, [0, 2]].ravel())) and vectors.shape == (26, 8)


def test_suggestions_are_new_links_best_first(fitted: tuple[Path, KgeFit]) -> None:
    _, fit = fitted
    known = {tuple(row) for row in hand_made().tolist()}
    rows = suggest_links(fit, top_k=4, progress=False)
    assert [row["relation"] for row in rows] == ["IS_A"] * 4 + ["PART_OF"] * 4
    for row in rows:
        assert (row["head"], row["relation"], row["tail"]) not in known and row["head"] != row["tail"]
        assert row["id"] == suggestion_id(fit.model_id, row["head"], row["relation"], row["tail"])
    for relation in ("IS_A", "PART_OF"):
        scores = [row["score"] for row in rows if row["relation"] == relation]
        assert scores == sorted(scores, reverse=True)
        assert [row["rank"] for row in rows if row["relation"] == relation] == [1, 2, 3, 4]
        heads = {h for h, r, _ in known if r == relation}
        tails = {t for _, r, t in known if r == relation}
        assert all(row["head"] in heads and row["tail"] in tails for row in rows if row["relation"] == relation)
    assert suggest_links(fit, top_k=4, progress=False) == rows


def test_complex_models_give_real_vectors(tmp_path: Path) -> None:
    fit = fit_kge(hand_made(), KgeConfig(model="RotatE", dim=4, epochs=1, batch_size=16), tmp_path, device="cpu",
                  progress=False)
    assert entity_vectors(fit)[1].shape == (26, 8)


def test_config_and_split_errors(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="model: 'NoSuchModel' is not a PyKEEN model"):
        KgeConfig(model="NoSuchModel")
    with pytest.raises(ParameterError, match="epochs"):
        KgeConfig(epochs=0)
    with pytest.raises(ParameterError, match="test_fraction"):
        KgeConfig(test_fraction=0.7)
    with pytest.raises(GraphError, match="too few"):
        fit_kge(hand_made()[:2], KgeConfig(epochs=1), tmp_path, device="cpu", progress=False)


def test_tsv_round_trip_and_errors(tmp_path: Path) -> None:
    triples = hand_made()
    assert write_tsv(triples, tmp_path / "t.tsv") == 50
    assert (read_tsv(tmp_path / "t.tsv") == triples).all()
    (tmp_path / "bad.tsv").write_text("head\trelation\ttail\nX:1\tIS_A\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.tsv:2: expected 3 non-empty"):
        read_tsv(tmp_path / "bad.tsv")
    (tmp_path / "nohead.tsv").write_text("X:1\tIS_A\tX:2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"nohead.tsv:1: expected the header"):
        read_tsv(tmp_path / "nohead.tsv")
