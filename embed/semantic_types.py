"""`bios types train|predict`: semantic types for concepts, predicted from concept vectors.

Features are concept vectors: the graph's own (`Concept.embedding`, written by `bios embed terms`) or, when the
graph holds none or an encoder is named, made here the way the embedding job makes them: the normalized mean of
the normalized vectors of the concept's terms (every language; its preferred name when it has no term).

Labels are the asserted types of typed concepts (graph/queries.py: a type a model predicted is not a label). The
few concepts with several types train on the smallest type id, as CODER does; a prediction counts as right when it
is any of the concept's types.

Training splits the typed concepts by concept (seeded) into train and test, fits a multinomial logistic
regression or a one-hidden-layer MLP (scikit-learn) on the train concepts and evaluates it on the test concepts:
accuracy, macro-F1, per-type precision/recall/F1 and accuracy per source, beside the majority-type baseline. The
saved model is the one evaluated: its weights as arrays (`model.npz`, no pickle) and `model.json`.

Prediction scores every concept without an asserted type and writes the best `top_k` types whose probability is
at least `min_score` as `HAS_TYPE {source: model id, model, score}`; a rerun first removes what the model predicted
for those concepts, so running it twice leaves the same edges.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bios_kg.embed.encoders import DEFAULT_ENCODER, Encoder, load_encoder
from bios_kg.embed.index import normalized
from bios_kg.embed.queries import (
    CLEAR_PREDICTED_TYPES,
    CONCEPT_TEXTS,
    CONCEPT_VECTORS,
    COUNT_UNTYPED_CONCEPTS,
    SEMANTIC_TYPE_NAMES,
    TYPED_CONCEPTS,
    UNTYPED_CONCEPTS,
    WRITE_PREDICTED_TYPES,
)
from bios_kg.graph.errors import ConfigError, GraphError, ParameterError
from bios_kg.graph.queries.embeddings import MERGE_PREDICTION_MODEL
from bios_kg.graph.store import GraphStore

Classifier = Literal["logreg", "mlp"]
MODEL_FILE, META_FILE = "model.npz", "model.json"
READ_BATCH = 1000  # concepts whose texts or vectors one query reads
console = Console(stderr=True, soft_wrap=True)


# --- features ------------------------------------------------------------------------------------------------
class ConceptFeatures:
    """Concept vectors from the graph (`features` "graph") or from an encoder (a registered name or model folder);
    "auto": the graph's when it holds concept vectors, else the default encoder's."""

    def __init__(self, store: GraphStore, features: str = "auto", *, device: str = "auto",
                 encoder: Encoder | None = None) -> None:
        self.store = store
        self.encoder = encoder
        if encoder is None and features == "auto":
            features = "graph" if store.embedding_models() else DEFAULT_ENCODER
        if encoder is None and features == "graph":
            models = [model["id"] for model in store.embedding_models()]
            if len(models) != 1:
                raise GraphError(f"features 'graph' need the vectors of one embedding model; the graph holds "
                                 f"{len(models)} ({', '.join(models) or 'none'}): run `bios embed terms` or name "
                                 "an encoder")
            self.kind, self.model_id, self.source = "graph", models[0], "graph"
        else:
            self.encoder = encoder or load_encoder(features, device=device)
            self.kind, self.model_id, self.source = "encoder", self.encoder.model_id, str(features)

    def describe(self) -> dict[str, str]:
        return {"kind": self.kind, "model_id": self.model_id, "source": self.source}

    def vectors(self, ids: list[str], advance: Callable[[int], None] | None = None) -> tuple[list[str], np.ndarray]:
        """The ids that have a vector (in the order given) and their unit vectors; `advance(n)` after each page."""
        found: list[str] = []
        chunks: list[np.ndarray] = []
        for start in range(0, len(ids), READ_BATCH):
            page = ids[start:start + READ_BATCH]
            got_ids, got = self._graph_vectors(page) if self.encoder is None else self._encoded(page)
            found += got_ids
            chunks.append(got)
            if advance:
                advance(len(page))
        dim = chunks[0].shape[1] if chunks else 0
        return found, np.concatenate(chunks) if chunks else np.zeros((0, dim), dtype=np.float32)

    def _graph_vectors(self, ids: list[str]) -> tuple[list[str], np.ndarray]:
        got = {row["id"]: row["v"] for row in self.store.run(CONCEPT_VECTORS, ids=ids, model=self.model_id)}
        kept = [concept_id for concept_id in ids if concept_id in got]
        return kept, normalized(np.asarray([got[concept_id] for concept_id in kept], dtype=np.float32))

    def _encoded(self, ids: list[str]) -> tuple[list[str], np.ndarray]:
        assert self.encoder is not None
        rows = {row["id"]: row["texts"] or ([row["name"]] if row["name"] else [])
                for row in self.store.run(CONCEPT_TEXTS, ids=ids)}
        kept = [concept_id for concept_id in ids if rows.get(concept_id)]
        texts = sorted({text for concept_id in kept for text in rows[concept_id]})
        row_of = {text: row for row, text in enumerate(texts)}
        encoded = normalized(self.encoder.encode(texts)) if texts else np.zeros((0, self.encoder.dim), np.float32)
        means = [encoded[[row_of[text] for text in rows[concept_id]]].mean(axis=0) for concept_id in kept]
        return kept, normalized(np.asarray(means, dtype=np.float32).reshape(len(kept), self.encoder.dim))


# --- the model -----------------------------------------------------------------------------------------------
@dataclass
class TypeModel:
    """Dense layers (W [in, out], b [out]) with ReLU between them and a softmax over `classes` after the last."""

    classes: list[str]
    layers: list[tuple[np.ndarray, np.ndarray]]
    classifier: str
    features: dict[str, str]
    meta: dict[str, Any] = field(default_factory=dict)  # split, counts, metrics: written to model.json

    @property
    def model_id(self) -> str:
        digest = hashlib.sha256(json.dumps([self.classes, self.classifier, self.features]).encode())
        for weight, bias in self.layers:
            digest.update(np.ascontiguousarray(weight, dtype=np.float32).tobytes())
            digest.update(np.ascontiguousarray(bias, dtype=np.float32).tobytes())
        return f"sty-{self.classifier}@{digest.hexdigest()[:12]}"

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        out = np.asarray(x, dtype=np.float32)
        for index, (weight, bias) in enumerate(self.layers):
            out = out @ weight + bias
            if index < len(self.layers) - 1:
                out = np.maximum(out, 0)
        out = np.exp(out - out.max(axis=1, keepdims=True))
        return out / out.sum(axis=1, keepdims=True)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {f"{kind}{index}": array for index, layer in enumerate(self.layers)
                  for kind, array in zip(("w", "b"), layer, strict=True)}
        np.savez(folder / MODEL_FILE, **arrays)  # type: ignore[arg-type]
        meta = {"id": self.model_id, "classifier": self.classifier, "classes": self.classes,
                "features": self.features, "layers": len(self.layers), **self.meta}
        (folder / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TypeModel:
        try:
            meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
            with np.load(folder / MODEL_FILE, allow_pickle=False) as arrays:
                layers = [(arrays[f"w{index}"], arrays[f"b{index}"]) for index in range(meta["layers"])]
        except (OSError, ValueError, KeyError) as error:
            raise ConfigError(f"{folder}: not a semantic-type model folder ({MODEL_FILE} + {META_FILE}): "
                              f"{error}") from error
        extra = {key: value for key, value in meta.items()
                 if key not in ("id", "classifier", "classes", "features", "layers")}
        model = cls(meta["classes"], layers, meta["classifier"], meta["features"], extra)
        if model.model_id != meta["id"]:
            raise ConfigError(f"{folder}: the weights do not match the model id {meta['id']} in {META_FILE}")
        return model


def fit_type_model(x: np.ndarray, labels: list[str], classifier: Classifier = "logreg", *, seed: int = 72,
                   hidden: int = 256, features: dict[str, str] | None = None) -> TypeModel:
    """A scikit-learn classifier fitted on unit vectors `x` and one label per row, as a TypeModel."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    _check_classifier(classifier)
    if len(set(labels)) < 2:
        raise GraphError(f"training needs concepts of at least two semantic types; got {sorted(set(labels))}")
    if classifier == "logreg":
        logreg = LogisticRegression(C=10.0, max_iter=1000, random_state=seed).fit(x, labels)
        weights = [(logreg.coef_.T, logreg.intercept_)]
        classes = logreg.classes_
    else:
        mlp = MLPClassifier(hidden_layer_sizes=(hidden,), early_stopping=len(labels) >= 1000, max_iter=300,
                            random_state=seed).fit(x, labels)
        weights = list(zip(mlp.coefs_, mlp.intercepts_, strict=True))
        classes = mlp.classes_
    last_w, last_b = weights[-1]
    if last_w.shape[1] == 1:  # two classes: one logit z for the second; softmax([0, z]) = sigmoid(z)
        weights[-1] = (np.hstack([np.zeros_like(last_w), last_w]), np.concatenate([np.zeros_like(last_b), last_b]))
    layers = [(np.asarray(w, dtype=np.float32), np.asarray(b, dtype=np.float32)) for w, b in weights]
    return TypeModel([str(c) for c in classes], layers, classifier, features or {})


def _check_classifier(classifier: str) -> None:
    if classifier not in get_args(Classifier):
        raise ParameterError("classifier", f"{classifier!r} is not one of {', '.join(get_args(Classifier))}")


# --- training and evaluation -----------------------------------------------------------------------------------
def split_by_concept(ids: list[str], test_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """Seeded split of concept ids (sorted first, so the same ids give the same split)."""
    if not 0 < test_fraction < 1:
        raise ParameterError("test_fraction", f"{test_fraction} is not between 0 and 1")
    ordered = sorted(ids)
    order = np.random.default_rng(seed).permutation(len(ordered))
    cut = len(ordered) - max(1, round(len(ordered) * test_fraction))
    return sorted(ordered[i] for i in order[:cut]), sorted(ordered[i] for i in order[cut:])


def evaluate(predicted: list[str], gold: list[list[str]], sources: list[list[str]] | None = None,
             train_labels: list[str] | None = None) -> dict[str, Any]:
    """Accuracy (the prediction is one of the gold types), macro-F1 and per-type scores over the gold types
    (a right prediction counts as its own type, a wrong one against the smallest gold type), accuracy per
    source, and the majority-type baseline (the train split's most frequent type)."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    truth = [pred if pred in types else min(types) for pred, types in zip(predicted, gold, strict=True)]
    labels = sorted(set(truth))
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, labels=labels,
                                                                     zero_division=0)
    right = [pred in types for pred, types in zip(predicted, gold, strict=True)]
    result: dict[str, Any] = {
        "n": len(predicted), "accuracy": float(np.mean(right)) if right else 0.0,
        "macro_f1": float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0)),
        "per_type": [{"type": label, "support": int(n), "precision": float(p), "recall": float(r), "f1": float(f)}
                     for label, p, r, f, n in zip(labels, precision, recall, f1, support, strict=True)],
    }
    if sources is not None:
        by_source: dict[str, list[bool]] = defaultdict(list)
        for ok, concept_sources in zip(right, sources, strict=True):
            for source in concept_sources:
                by_source[source].append(ok)
        result["accuracy_by_source"] = {source: {"n": len(oks), "accuracy": float(np.mean(oks))}
                                        for source, oks in sorted(by_source.items())}
    if train_labels:
        majority = Counter(train_labels).most_common(1)[0][0]
        result["majority_baseline"] = {"type": majority,
                                       "accuracy": float(np.mean([majority in types for types in gold]))}
    return result


def train_semantic_types(store: GraphStore, out: Path, *, features: str = "auto", classifier: Classifier = "logreg",
                         test_fraction: float = 0.2, max_concepts: int | None = None,
                         sources: list[str] | None = None, seed: int = 72, device: str = "auto",
                         encoder: Encoder | None = None, progress: bool = True) -> dict[str, Any]:
    """Train on the typed concepts' train split, evaluate on the test split, save to `out`; returns the report
    (also in `out/model.json`). Reads the graph only: `predict_semantic_types` records the model there."""
    _check_classifier(classifier)
    if max_concepts is not None and max_concepts < 2:
        raise ParameterError("max_concepts", f"{max_concepts} is not an integer >= 2")
    started = time.perf_counter()
    rows = store.run(TYPED_CONCEPTS, sources=sources)
    if len(rows) < 2:
        raise GraphError(f"{len(rows)} concepts with an asserted semantic type"
                         f"{' of ' + ', '.join(sources) if sources else ''}: too few to train on")
    typed = {row["id"]: row for row in rows}
    ids = sorted(typed)
    if max_concepts is not None and len(ids) > max_concepts:
        ids = sorted(np.random.default_rng(seed).choice(ids, size=max_concepts, replace=False).tolist())
    train_ids, test_ids = split_by_concept(ids, test_fraction, seed)
    concept_features = ConceptFeatures(store, features, device=device, encoder=encoder)
    with _progress(progress) as bar:
        task = bar.add_task(f"concept vectors ({concept_features.source})", total=len(ids))
        train_ids, x_train = concept_features.vectors(train_ids, lambda n: bar.advance(task, n))
        test_ids, x_test = concept_features.vectors(test_ids, lambda n: bar.advance(task, n))
    seconds = {"features": time.perf_counter() - started}
    train_labels = [min(typed[concept_id]["types"]) for concept_id in train_ids]
    model = fit_type_model(x_train, train_labels, classifier, seed=seed, features=concept_features.describe())
    seconds["fit"] = time.perf_counter() - started - seconds["features"]
    predicted = [model.classes[i] for i in model.predict_proba(x_test).argmax(axis=1)] if test_ids else []
    metrics = evaluate(predicted, [typed[c]["types"] for c in test_ids], [typed[c]["sources"] for c in test_ids],
                       train_labels)
    names = {row["id"]: row["name"] for row in store.run(SEMANTIC_TYPE_NAMES, ids=model.classes)}
    for entry in metrics["per_type"]:
        entry["name"] = names.get(entry["type"])
    model.meta = {"seed": seed, "test_fraction": test_fraction, "sources": sources, "max_concepts": max_concepts,
                  "typed_concepts": len(rows), "train": len(train_ids), "test": len(test_ids),
                  "without_vector": len(ids) - len(train_ids) - len(test_ids), "metrics": metrics,
                  "seconds": {k: round(v, 2) for k, v in seconds.items()}}
    model.save(out)
    return {"id": model.model_id, "classifier": classifier, "features": model.features, **model.meta}


@dataclass
class PredictReport:
    model_id: str
    concepts: int = 0  # untyped concepts scored
    without_vector: int = 0
    edges: int = 0  # HAS_TYPE edges written
    by_type: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def predict_semantic_types(store: GraphStore, model_dir: Path, *, min_score: float = 0.5, top_k: int = 1,
                           sources: list[str] | None = None, batch_size: int = 2000, device: str = "auto",
                           encoder: Encoder | None = None, progress: bool = True) -> PredictReport:
    """Type the concepts without an asserted type (of `sources`); see the module docstring."""
    if not 0 <= min_score <= 1:
        raise ParameterError("min_score", f"{min_score} is not between 0 and 1")
    if top_k < 1:
        raise ParameterError("top_k", f"{top_k} is not a positive integer")
    if batch_size < 1:
        raise ParameterError("batch_size", f"{batch_size} is not a positive integer")
    started = time.perf_counter()
    model = TypeModel.load(model_dir)
    wanted = model.features
    concept_features = ConceptFeatures(store, "graph" if wanted["kind"] == "graph" else wanted["source"],
                                       device=device, encoder=encoder)
    if concept_features.model_id != wanted["model_id"]:
        raise ConfigError(f"{model_dir}: the model was trained on vectors of {wanted['model_id']}, but "
                          f"{concept_features.source} gives {concept_features.model_id}")
    report = PredictReport(model.model_id)
    metrics = model.meta.get("metrics", {})
    store.run(MERGE_PREDICTION_MODEL, id=model.model_id, props={
        "task": "semantic_types", "classifier": model.classifier, "features": concept_features.model_id,
        "path": str(model_dir), "classes": model.classes, "test_accuracy": metrics.get("accuracy"),
        "test_macro_f1": metrics.get("macro_f1")})
    total = store.count(COUNT_UNTYPED_CONCEPTS, sources=sources)
    by_type: Counter[str] = Counter()
    with _progress(progress) as bar:
        task = bar.add_task(f"typing with {model.model_id}", total=total)
        after = ""
        while page := [row["id"] for row in store.run(UNTYPED_CONCEPTS, after=after, limit=batch_size,
                                                      sources=sources)]:
            kept, x = concept_features.vectors(page)
            rows = []
            if kept:
                scores = model.predict_proba(x)
                for concept_id, row in zip(kept, scores, strict=True):
                    for index in np.argsort(-row, kind="stable")[:top_k]:
                        if row[index] >= min_score:
                            rows.append({"concept": concept_id, "type": model.classes[index],
                                         "score": float(row[index])})
                            by_type[model.classes[index]] += 1
            with store.transaction() as tx:
                tx.run(CLEAR_PREDICTED_TYPES, ids=page, source=model.model_id).consume()
                tx.run(WRITE_PREDICTED_TYPES, rows=rows, source=model.model_id).consume()
            report.concepts += len(page)
            report.without_vector += len(page) - len(kept)
            report.edges += len(rows)
            after = page[-1]
            bar.advance(task, len(page))
    report.by_type = dict(by_type.most_common())
    report.seconds = round(time.perf_counter() - started, 2)
    return report


def markdown(report: dict[str, Any]) -> str:
    """The evaluation of a training report as a Markdown section."""
    metrics = report["metrics"]
    lines = [f"### Semantic types: {report['id']}", "",
             f"Features: {report['features']['kind']} vectors of `{report['features']['model_id']}`; classifier "
             f"{report['classifier']}; {report['typed_concepts']:,} typed concepts"
             + (f", {report['max_concepts']:,} sampled" if report.get("max_concepts") else "")
             + f"; split by concept (seed {report['seed']}): {report['train']:,} train, {report['test']:,} test"
             + (f", {report['without_vector']:,} without a vector left out" if report["without_vector"] else "")
             + f". Features {report['seconds']['features']} s, fit {report['seconds']['fit']} s.", "",
             "| metric | value |", "|---|---:|",
             f"| accuracy | {metrics['accuracy']:.3f} |", f"| macro-F1 | {metrics['macro_f1']:.3f} |"]
    if "majority_baseline" in metrics:
        base = metrics["majority_baseline"]
        lines.append(f"| majority-type baseline accuracy ({base['type']}) | {base['accuracy']:.3f} |")
    if metrics.get("accuracy_by_source"):
        lines += ["", "| source | test concepts | accuracy |", "|---|---:|---:|"]
        lines += [f"| {source} | {entry['n']:,} | {entry['accuracy']:.3f} |"
                  for source, entry in metrics["accuracy_by_source"].items()]
    lines += ["", "| type | name | support | precision | recall | F1 |", "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {e['type']} | {e.get('name') or ''} | {e['support']:,} | {e['precision']:.3f} | {e['recall']:.3f} "
              f"| {e['f1']:.3f} |" for e in metrics["per_type"]]
    return "\n".join(lines) + "\n"


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, disable=not enabled)
