"""DR.EHR loss, positive sampling, stage-2 parsing and the resumable trainer on a tiny BERT (no database)."""

from __future__ import annotations

import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from bios_kg.apps.retrieve.chunking import Chunk
from bios_kg.apps.retrieve.training import (
    STAGE2_FILE,
    Example,
    TrainConfig,
    drehr_loss,
    parse_entity_list,
    prepare_stage2,
    read_examples,
    sample_positives,
    stage_config,
    train_retriever,
)
from bios_kg.embed.encoders import load_encoder
from bios_kg.embed.llm import Generation, LLMError
from bios_kg.graph.errors import ConfigError, ParameterError
from tests.support.models import write_tiny_bert


def test_loss_with_every_pair_masked_keeps_the_constant_terms() -> None:
    chunks = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    entities = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # s = [[1, .707], [0, .707]]: no pair is hard
    expected = (math.log(1 + 2 * math.e) / 2 + math.log(1 + 2 * math.exp(-25)) / 50) / 2
    assert float(drehr_loss(chunks, entities, torch.tensor([0, 1]))) == pytest.approx(expected, rel=1e-6)


def test_loss_on_hard_pairs_runs_over_the_whole_batch() -> None:
    chunks = torch.tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    entities = torch.tensor([[0.6, 0.8], [0.8, 0.6]])  # positives .6, negatives .8: every pair is mined
    loss = drehr_loss(chunks, entities, torch.tensor([0, 1]))
    expected = (math.log(1 + 2 * math.exp(-0.2)) / 2 + math.log(1 + 2 * math.exp(15)) / 50) / 2
    assert float(loss.detach()) == pytest.approx(expected, rel=1e-6)
    loss.backward()
    assert chunks.grad is not None and chunks.grad.abs().sum() > 0


def test_positives_are_repeated_then_sampled_in_order() -> None:
    import random

    picked = sample_positives(["a", "b", "c"], 5, random.Random(0))
    assert len(picked) == 5 and set(picked) == {"a", "b", "c"}
    assert sample_positives(["a"], 3, random.Random(0)) == ["a", "a", "a"]


def test_stage2_list_parser_as_dr_ehr_parses() -> None:
    text = ("Here you go:\n- Heart failure (CHF).\n  ** aspirin\n1) NA\n2. Pneumonia;\n•• aspirin\nplain line\n"
            "- Sepsis!\n-  Renal failure (AKI) .\n3 Fever")
    # repeated bullets accepted, "!" kept, the space left by a removed (…) kept, "3 Fever" is no list item
    assert parse_entity_list(text) == ["Heart failure ", "aspirin", "Pneumonia", "aspirin", "Sepsis!",
                                       "Renal failure  "]


def test_stage_defaults_are_dr_ehr_smalls() -> None:
    one, two = stage_config(1), stage_config(2, num_pos=8, epochs=None)
    assert (one.num_pos, one.epochs, one.batch_size, one.lr, one.weight_decay) == (128, 3, 32, 1e-4, 0.0)
    assert (one.max_length, one.max_entity_length, one.warmup_ratio, one.seed) == (160, 16, 0.1, 42)
    assert (two.num_pos, two.epochs) == (8, 1)
    with pytest.raises(ParameterError, match="stage"):
        stage_config(3)
    with pytest.raises(ParameterError, match="pooling"):
        TrainConfig(pooling="max")  # type: ignore[arg-type]


class ScriptedBackend:
    """An LLM backend answering from a script: the first call truncated, then a list per prompt."""

    name, model = "scripted", "script-1"

    def __init__(self) -> None:
        self.calls = 0
        self.prompts: list[str] = []

    def generate(self, prompts: Sequence[str], *, max_tokens: int = 512, temperature: float = 0.0,
                 stop: Sequence[str] | None = None) -> list[Generation]:
        self.calls += 1
        self.prompts += prompts
        if self.calls == 1:
            return [Generation("- cut", "length", self.model) for _ in prompts]
        return [Generation(f"- {'aspirin' if 'prescription' in p else 'chest pain'}\n", "stop", self.model)
                for p in prompts]


def test_stage2_asks_per_entity_type_retries_truncated_answers_and_resumes(tmp_path: Path) -> None:
    chunks = [Chunk("n1_0", "chest pain, given aspirin"), Chunk("n2_0", "no complaints")]
    backend = ScriptedBackend()
    path = prepare_stage2(chunks[:1], tmp_path, backend, progress=False)
    assert [e.entities for e in read_examples(path)] == [["chest pain", "aspirin"]]
    assert backend.calls == 2  # one truncated round, one retry
    assert backend.prompts[0] == ("chest pain, given aspirin\n\nBriefly summarize the diagnosis explicitly mentioned "
                                  "or that can be implicitly inferred from the medical record above. Only output the "
                                  "entity names (in their standardized terms) in a list. Do not output the reasons."
                                  "\n\nOutput format:\n- Entity 1\n- Entity 2\n...")
    assert [p.split("Briefly summarize the ")[1].split(" ")[0] for p in backend.prompts[:3]] == [
        "diagnosis", "procedure", "prescription"]
    with path.open("a", encoding="utf-8") as handle:
        handle.write('{"idx": "torn"')  # a killed run's last line
    prepare_stage2(chunks, tmp_path, backend, progress=False)
    assert [e.idx for e in read_examples(tmp_path / STAGE2_FILE)] == ["n1_0", "n2_0"]
    with pytest.raises(ParameterError, match="backend"):
        prepare_stage2(chunks, tmp_path, None)


class FailingBackend:
    """Procedure prompts always cut by the token limit; the first call fails as a whole."""

    name, model = "failing", "fail-1"

    def __init__(self) -> None:
        self.calls = 0

    def generate(self, prompts: Sequence[str], *, max_tokens: int = 512, temperature: float = 0.0,
                 stop: Sequence[str] | None = None) -> list[Generation]:
        self.calls += 1
        if self.calls == 1:
            raise LLMError("connection refused")
        return [Generation("- cut", "length", self.model) if "summarize the procedure" in p
                else Generation("- Fever", "stop", self.model) for p in prompts]


def test_a_type_failing_three_times_gives_an_empty_list(tmp_path: Path) -> None:
    backend = FailingBackend()
    path = prepare_stage2([Chunk("n1_0", "febrile")], tmp_path, backend, progress=False)
    assert backend.calls == 3  # an error, then two rounds where only the procedure prompt is still pending
    assert [e.entities for e in read_examples(path)] == [["Fever"]]


EXAMPLES = [Example(f"n{i}_0", text, entities) for i, (text, entities) in enumerate([
    ("heart size is enlarged", ["cardiomegaly", "enlarged heart"]), ("small pleural effusion", ["pleural effusion"]),
    ("left basilar atelectasis", ["atelectasis", "lung collapse"]), ("no pneumothorax seen", ["pneumothorax"]),
    ("mild scoliosis of the spine", ["scoliosis"]), ("calcified granuloma", ["granuloma", "calcinosis"])])]


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_trainer_saves_an_hf_model_and_resumes_to_the_same_weights(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    base = write_tiny_bert(tmp_path / "tiny")
    config = TrainConfig(base=str(base), epochs=2, batch_size=3, num_pos=2, max_length=32, max_entity_length=8)
    straight = train_retriever(EXAMPLES, tmp_path / "a", config, device="cpu", checkpoint_every=100, progress=False)
    assert straight.steps == 4 and straight.resumed_from == 0 and len(straight.log) == 4
    train_retriever(EXAMPLES, tmp_path / "b", config, device="cpu", checkpoint_every=2, progress=False)
    assert sorted(p.name for p in (tmp_path / "b" / "checkpoints").iterdir()) == ["step-2", "step-4"]
    shutil.rmtree(tmp_path / "b" / "checkpoints" / "step-4")  # as if killed after step 3
    resumed = train_retriever(EXAMPLES, tmp_path / "b", config, device="cpu", checkpoint_every=2, progress=False)
    assert resumed.resumed_from == 2 and resumed.steps == 4
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert all(torch.allclose(a[key], b[key]) for key in a)
    assert not all(torch.equal(a[key], weights(base)[key]) for key in a)  # it trained
    model = load_encoder(tmp_path / "a", device="cpu")
    assert model.encode(["enlarged heart"]).shape == (1, 32)
    with pytest.raises(ConfigError, match="different arguments"):
        train_retriever(EXAMPLES, tmp_path / "b", TrainConfig(base=str(base), epochs=3, batch_size=3, num_pos=2,
                                                              max_length=32, max_entity_length=8),
                        device="cpu", progress=False)
    with pytest.raises(ParameterError, match="batch_size"):
        TrainConfig(batch_size=1)


def test_cls_pooling_and_no_weight_decay_as_dr_ehr_small(tmp_path: Path) -> None:
    from bios_kg.embed.checkpoints import latest_checkpoint, load_state

    torch.set_num_threads(1)
    base = write_tiny_bert(tmp_path / "tiny")
    config = TrainConfig(base=str(base), epochs=1, batch_size=3, num_pos=2, max_length=32, max_entity_length=8,
                         pooling="cls")
    train_retriever(EXAMPLES, tmp_path / "m", config, device="cpu", progress=False)
    checkpoint = latest_checkpoint(tmp_path / "m")
    assert checkpoint is not None
    assert {group["weight_decay"] for group in load_state(checkpoint)["optimizer"]["param_groups"]} == {0.0}
    model = load_encoder(tmp_path / "m", device="cpu")
    assert model.settings.pooling == "cls"
    with torch.no_grad():
        first = model.model(**model.tokenizer(["enlarged heart"], return_tensors="pt")).last_hidden_state[:, 0]
    expected = torch.nn.functional.normalize(first, dim=-1).numpy()
    assert model.encode(["enlarged heart"]) == pytest.approx(expected, abs=1e-5)
