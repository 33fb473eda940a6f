"""The semantic-type classifier without a database: fitting, the saved weights, the split, the metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bios_kg.embed.semantic_types import TypeModel, evaluate, fit_type_model, split_by_concept
from bios_kg.graph.errors import ConfigError, GraphError, ParameterError


def clusters(per_class: int, classes: list[str], dim: int = 8, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Unit vectors around one centre per class."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(classes), dim)) * 3
    x = np.concatenate([centre + rng.normal(scale=0.3, size=(per_class, dim)) for centre in centres])
    return x / np.linalg.norm(x, axis=1, keepdims=True), [c for c in classes for _ in range(per_class)]


@pytest.mark.parametrize("classifier", ["logreg", "mlp"])
def test_fit_predict_save_load(classifier: str, tmp_path: Path) -> None:
    x, labels = clusters(30, ["T047", "T121", "T184"])
    model = fit_type_model(x, labels, classifier, seed=1, hidden=16)  # type: ignore[arg-type]
    probabilities = model.predict_proba(x)
    assert probabilities.shape == (90, 3) and np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    assert [model.classes[i] for i in probabilities.argmax(axis=1)] == labels
    model.save(tmp_path / "m")
    loaded = TypeModel.load(tmp_path / "m")
    assert loaded.model_id == model.model_id and loaded.model_id.startswith(f"sty-{classifier}@")
    assert np.allclose(loaded.predict_proba(x), probabilities)
    assert fit_type_model(x, labels, classifier, seed=1, hidden=16).model_id == model.model_id  # type: ignore[arg-type]


def test_two_classes_give_two_probabilities() -> None:
    x, labels = clusters(20, ["T047", "T184"])
    model = fit_type_model(x, labels)
    probabilities = model.predict_proba(x)
    assert probabilities.shape == (40, 2)
    assert [model.classes[i] for i in probabilities.argmax(axis=1)] == labels


def test_load_refuses_edited_weights_and_missing_files(tmp_path: Path) -> None:
    x, labels = clusters(10, ["T047", "T184", "T121"])
    fit_type_model(x, labels).save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    meta["classes"] = list(reversed(meta["classes"]))
    (tmp_path / "m" / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="do not match the model id"):
        TypeModel.load(tmp_path / "m")
    with pytest.raises(ConfigError, match="not a semantic-type model folder"):
        TypeModel.load(tmp_path / "nothing")


def test_fit_needs_two_types_and_a_known_classifier() -> None:
    x, _ = clusters(5, ["T047"])
    with pytest.raises(GraphError, match="at least two"):
        fit_type_model(x, ["T047"] * 5)
    with pytest.raises(ParameterError, match="classifier"):
        fit_type_model(x, ["T047", "T184"] * 2 + ["T047"], "svm")  # type: ignore[arg-type]


def test_split_by_concept_is_seeded_disjoint_and_order_free() -> None:
    ids = [f"C{i:03d}" for i in range(100)]
    train, test = split_by_concept(ids, 0.2, seed=3)
    assert len(test) == 20 and not set(train) & set(test) and sorted(train + test) == ids
    assert split_by_concept(list(reversed(ids)), 0.2, seed=3) == (train, test)
    assert split_by_concept(ids, 0.2, seed=4) != (train, test)
    with pytest.raises(ParameterError, match="test_fraction"):
        split_by_concept(ids, 1.5, seed=3)


def test_evaluate_counts_any_gold_type_and_reports_per_type_and_source() -> None:
    predicted = ["A", "B", "A", "C"]
    gold = [["A"], ["A", "B"], ["B"], ["C"]]
    result = evaluate(predicted, gold, [["S1"], ["S1"], ["S2"], ["S2"]], train_labels=["B", "B", "A"])
    assert result["accuracy"] == 0.75
    per_type = {entry["type"]: entry for entry in result["per_type"]}
    assert per_type["A"]["precision"] == 0.5 and per_type["A"]["recall"] == 1.0  # truth: A, B, B, C
    assert per_type["B"]["recall"] == 0.5 and per_type["C"]["f1"] == 1.0
    assert result["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert result["accuracy_by_source"] == {"S1": {"n": 2, "accuracy": 1.0}, "S2": {"n": 2, "accuracy": 0.5}}
    assert result["majority_baseline"] == {"type": "B", "accuracy": 0.5}
