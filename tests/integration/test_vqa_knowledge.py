"""Questions, answers and captions linked to concepts of the real sample graph; training with that knowledge."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bios_kg.apps.normalize.normalizer import Normalizer
from bios_kg.apps.vqa.data import read_examples
from bios_kg.apps.vqa.knowledge import CONCEPTS_FILE, Knowledge, link_answers, link_dataset, link_texts, spans
from bios_kg.apps.vqa.train import TrainArgs, VQAModel, train
from bios_kg.graph.errors import InputError
from bios_kg.graph.store import GraphStore
from tests.support.vqa import tiny_config, tiny_dataset, tiny_text_encoder

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def normalizer(sample_store: GraphStore) -> Normalizer:
    return Normalizer(sample_store)


def test_spans_skip_stop_words() -> None:
    assert [span for _, _, span in spans("is the seizure focal")] == [
        "is the seizure", "the seizure", "the seizure focal", "seizure", "seizure focal", "focal"]


def test_links_terms_and_answers(normalizer: Normalizer) -> None:
    linked = link_texts(normalizer, ["is there a seizure in this image", "xqzvkw qqq"])
    assert linked == {"is there a seizure in this image": [("HP:0001250", "Seizure")]}
    assert link_answers(normalizer, ["seizure", "xqzvkw"]) == {"seizure": "HP:0001250"}


def test_link_a_dataset_and_train_with_its_knowledge(normalizer: Normalizer, tmp_path: Path) -> None:
    data = tiny_dataset(tmp_path / "data")
    report = link_dataset(normalizer, data)
    stored = json.loads((data / CONCEPTS_FILE).read_text())
    assert report["answers_linked"] == len(stored["answers"]) and stored["answers"].get("ct") == "CMEKG:CT"
    knowledge = Knowledge.load(data / CONCEPTS_FILE)
    caption = next(text for text in knowledge.texts if text.lower().startswith("axial ct"))
    assert knowledge.enrich(caption).startswith(caption + " [concepts: ") and "CT" in knowledge.enrich(caption)
    assert knowledge.enrich("no concepts here") == "no concepts here"
    config = tiny_config(tiny_text_encoder(tmp_path / "text"))
    train(data / "train.json", tmp_path / "model", None, TrainArgs(epochs=1, batch_size=4), retrieval_count=0,
          knowledge=True, config=config, device="cpu", progress=False)
    model = VQAModel(tmp_path / "model")
    assert model.config.knowledge and model.vocab.concepts.get("ct") == "CMEKG:CT"
    test = read_examples(data / "test.json", test=True)
    assert model.batcher.text(test[0].question) == knowledge.enrich(test[0].question)
    with pytest.raises(InputError, match="no train.json"):
        link_dataset(normalizer, tmp_path)
