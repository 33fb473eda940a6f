"""CODER training against the real Neo4j: data read from a small loaded graph, training, resume, CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from bios_kg.embed.cli import embed_app
from bios_kg.embed.coder.sampler import TrainingData
from bios_kg.embed.coder.trainer import train_coder
from bios_kg.embed.encoders import load_encoder
from bios_kg.graph.records import (
    Concept,
    Record,
    Relation,
    RelationType,
    SemanticType,
    Source,
    TermRecord,
    TypeAssignment,
)
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.loader import load_source
from bios_kg.ingest.readers import Item, Parsed, SourceReader
from tests.support.models import write_tiny_bert

pytestmark = pytest.mark.integration

# Eight concepts with lexically unrelated synonyms: the model can only learn them by training.
SYNONYMS = {
    "SYN:1": ["heart attack", "myocardial infarction", "cardiac infarct"],
    "SYN:2": ["back pain", "dorsalgia", "lumbago"],
    "SYN:3": ["fever", "pyrexia", "high temperature"],
    "SYN:4": ["headache", "cephalalgia", "head pain"],
    "SYN:5": ["ibuprofen", "advil", "brufen"],
    "SYN:6": ["femur fracture", "broken thigh bone", "fractured femur"],
    "SYN:7": ["coma", "unconscious state", "unresponsiveness"],
    "SYN:8": ["nausea", "queasiness", "sick stomach"],
}
RELATIONS = [("SYN:5", "MAY_TREAT", "SYN:2"), ("SYN:5", "MAY_TREAT", "SYN:4"), ("SYN:5", "MAY_TREAT", "SYN:3"),
             ("SYN:6", "HAS_SYMPTOM", "SYN:2"), ("SYN:1", "HAS_SYMPTOM", "SYN:8"), ("SYN:4", "HAS_SYMPTOM", "SYN:8")]


class RecordsReader(SourceReader):
    def __init__(self, root: Path, source_id: str, records: list[Record]) -> None:
        self.root, self.source_id, self.records = root, source_id, records

    def source(self) -> Source:
        return Source(id=self.source_id, name=self.source_id, version="1", licence="test",
                      checksums={"records": str(len(self.records))})

    def read(self) -> Iterator[Item]:
        for line, record in enumerate(self.records, start=1):
            yield Parsed(record, "records", line)


@pytest.fixture()
def graph(store: GraphStore, tmp_path: Path) -> GraphStore:
    (tmp_path / "records").write_text("")
    records: list[Record] = [SemanticType("T047", "Disease or Syndrome"), SemanticType("T121", "Drug"),
                             RelationType("MAY_TREAT", "may treat"), RelationType("HAS_SYMPTOM", "has symptom")]
    for concept, texts in SYNONYMS.items():
        records.append(Concept(concept))
        records += [TermRecord(concept, text, "en", preferred=i == 0) for i, text in enumerate(texts)]
        records.append(TypeAssignment(concept, "T121" if concept == "SYN:5" else "T047"))
    records += [TermRecord("SYN:1", "心肌梗死", "zh"), TermRecord("SYN:3", "发热", "zh")]
    records += [Relation(head, rel, tail) for head, rel, tail in RELATIONS]
    load_source(RecordsReader(tmp_path, "SYN", records), store, progress=False)
    other: list[Record] = [TermRecord("SYN:2", "backache", "en"), Relation("SYN:7", "MAY_TREAT", "SYN:3")]
    load_source(RecordsReader(tmp_path, "OTHER", other), store, progress=False)
    store.run("MATCH (a:Concept {id: 'SYN:1'}), (b:Concept {id: 'SYN:2'}) CREATE (a)-[:XREF]->(b)")
    return store


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("coder-graph") / "tiny-bert")


def test_training_data_from_the_graph_with_filters(graph: GraphStore) -> None:
    data = TrainingData.from_graph(graph)
    assert data.concept_ids == sorted(SYNONYMS)
    assert len(data.texts) == 24 + 2 + 1  # the two Chinese terms and OTHER's backache
    assert data.summary()["triples"] == 7 and data.relation_ids == ["HAS_SYMPTOM", "MAY_TREAT"]  # no XREF
    assert data.type_ids == ["T047", "T121"]

    english = TrainingData.from_graph(graph, languages=["en"])
    assert "心肌梗死" not in english.texts and len(english.texts) == 25
    syn_only = TrainingData.from_graph(graph, sources=["SYN"])
    assert "backache" not in syn_only.texts and syn_only.summary()["triples"] == 6
    held_out = TrainingData.from_graph(graph, exclude_concepts={"SYN:8"})
    assert "SYN:8" not in held_out.concept_ids and "nausea" not in held_out.texts
    assert held_out.summary()["triples"] == 5


def synonym_margin(out: Path | str) -> float:
    """Mean cosine between synonyms minus mean cosine between terms of different concepts."""
    encoder = load_encoder(out, device="cpu")
    texts = [text for texts in SYNONYMS.values() for text in texts]
    owner = np.repeat(np.arange(len(SYNONYMS)), 3)
    vectors = encoder.encode(texts)
    sim = vectors @ vectors.T
    same = (owner[:, None] == owner[None, :]) & ~np.eye(len(texts), dtype=bool)
    return float(sim[same].mean() - sim[owner[:, None] != owner[None, :]].mean())


def test_training_learns_checkpoints_and_resumes(graph: GraphStore, tiny_bert: Path, tmp_path: Path) -> None:
    args = {"base": str(tiny_bert), "steps": 30, "batch_size": 36, "lr": 3e-3, "warmup": 3, "device": "cpu",
            "checkpoint_every": 10, "languages": ["en"], "progress": False}
    report = train_coder(graph, tmp_path / "straight", **args)  # type: ignore[arg-type]
    losses = report.losses
    assert len(losses) == 30 and all(np.isfinite(losses))
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])
    assert synonym_margin(tmp_path / "straight") > synonym_margin(tiny_bert) + 0.1

    def crash(step: int, _: dict[str, float]) -> None:
        if step == 12:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_coder(graph, tmp_path / "resumed", on_step=crash, **args)  # type: ignore[arg-type]
    resumed = train_coder(graph, tmp_path / "resumed", **args)  # type: ignore[arg-type]
    assert resumed.resumed_from == 10 and resumed.log == report.log
    vectors = load_encoder(tmp_path / "resumed", device="cpu").encode(["fever", "pyrexia"])
    assert vectors.shape == (2, 32) and np.allclose(vectors, load_encoder(tmp_path / "straight", device="cpu")
                                                    .encode(["fever", "pyrexia"]))


def test_train_coder_command(graph_env: GraphStore, graph: GraphStore, tiny_bert: Path, tmp_path: Path) -> None:
    bios = typer.Typer()
    bios.add_typer(embed_app, name="embed")  # as apps/cli.py wires it
    out = tmp_path / "cli"
    result = CliRunner().invoke(bios, [
        "embed", "train-coder", "--out", str(out), "--base", str(tiny_bert), "--steps", "2", "--batch-size", "12",
        "--warmup", "1", "--device", "cpu", "--languages", "en,zh", "--sources", "SYN", "--add-tokens", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["steps"] == 2 and report["added_tokens"] == 6 and report["data"]["concepts"] == 8
    meta = json.loads((out / "bios_encoder.json").read_text())
    assert meta["training"]["args"]["sources"] == ["SYN"] and meta["training"]["args"]["add_tokens"] is True
    coder = CliRunner().invoke(bios, [  # CODER's settings, numbers given explicitly override the preset's
        "embed", "train-coder", "--out", str(tmp_path / "coder"), "--base", str(tiny_bert), "--preset", "coder",
        "--steps", "4", "--grad-accum", "2", "--batch-size", "12", "--warmup", "1", "--device", "cpu",
        "--sources", "SYN", "--json"])
    assert coder.exit_code == 0, coder.output
    assert json.loads(coder.stdout.strip().splitlines()[-1])["steps"] == 4  # batches: 2 optimizer updates
    meta = json.loads((tmp_path / "coder" / "bios_encoder.json").read_text())
    assert meta["training"]["method"] == "coder" and meta["training"]["args"]["lr"] == 2e-5
    assert meta["settings"] == {"pooling": "pooler", "max_length": 32, "padding": "max_length",
                                "attention_mask": False, "normalize": True}
    bad = CliRunner().invoke(bios, ["embed", "train-coder", "--out", str(tmp_path / "x"), "--relation-loss", "rotate"])
    assert bad.exit_code != 0 and "relation" in str(bad.exception or bad.output)
