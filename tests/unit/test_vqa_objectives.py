"""RAMM's pretraining objectives (bios_kg.apps.vqa.objectives): momentum model, queues, soft targets, ITM
negatives, MLM masking, training through `pretrain(published)` and its resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer

import bios_kg.apps.vqa.train as training
from bios_kg.apps.vqa.data import ImageCache, read_pairs
from bios_kg.apps.vqa.model import RAMM
from bios_kg.apps.vqa.objectives import IGNORE, Objectives, Pretrainer, hard_negatives, mask_tokens, soft_targets
from bios_kg.apps.vqa.train import CHECKPOINT_FILE, MODEL_FILE, TrainArgs, VQAModel, pretrain, train
from bios_kg.graph.errors import ConfigError, ParameterError
from tests.support.vqa import tiny_config, tiny_dataset, tiny_text_encoder


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("vqa-objectives")
    tiny_dataset(folder / "data")
    tiny_text_encoder(folder / "text")
    return folder


def pretrainer(root: Path, queue_size: int = 8, momentum: float = 0.9, **changes: object) -> Pretrainer:
    torch.manual_seed(0)
    config = tiny_config(root / "text", published=True, **changes)
    return Pretrainer(RAMM(config, fused=True), Objectives(queue_size=queue_size, momentum=momentum))


def batch(root: Path, size: int = 6) -> tuple[torch.Tensor, list[str], list[str]]:
    pairs = read_pairs(root / "data" / "pretrain.json")[:size]
    return ImageCache(16).stack([p.image for p in pairs]), [p.caption for p in pairs], [p.image_id for p in pairs]


@pytest.mark.parametrize("train_text", [False, True])
def test_momentum_model_is_an_ema_of_the_online_modules(root: Path, train_text: bool) -> None:
    trainer = pretrainer(root, train_text=train_text)
    assert set(trainer.momentum) == {"vision", "vision_proj", "text_proj", "fusion", "token_type", "mlm_head"} | (
        {"text"} if train_text else set())
    online = dict(trainer.named_parameters())
    averaged = dict(trainer.momentum.named_parameters())
    assert all(not p.requires_grad for p in averaged.values())
    assert torch.equal(averaged["vision.patch.weight"], online["model.vision.patch.weight"])  # starts as a copy
    with torch.no_grad():
        for name, parameter in online.items():
            if not name.startswith("momentum."):
                parameter.add_(1.0)
    before = {name: value.clone() for name, value in averaged.items()}
    trainer.momentum_update()
    for name, value in averaged.items():
        source = online[f"model.{name}" if not name.startswith(("token_type.", "mlm_head.")) else name]
        torch.testing.assert_close(value, 0.9 * before[name] + 0.1 * source)
    if not train_text:  # a frozen text encoder is shared, not copied
        assert not any(name.startswith("momentum.text.") for name in trainer.state_dict())


def test_queue_enqueues_in_order_and_wraps(root: Path) -> None:
    trainer = pretrainer(root, queue_size=5)
    first, second = torch.arange(24.0).view(3, 8), -torch.arange(24.0).view(3, 8)
    untouched = trainer.image_queue[3:].clone()
    trainer.enqueue(first, first + 100)
    assert torch.equal(trainer.image_queue[:3], first) and torch.equal(trainer.text_queue[:3], first + 100)
    assert torch.equal(trainer.image_queue[3:], untouched) and int(trainer.queue_ptr) == 3
    trainer.enqueue(second, second + 100)  # rows 3, 4, then 0: the oldest feature goes first
    assert torch.equal(trainer.image_queue[3:], second[:2]) and torch.equal(trainer.image_queue[0], second[2])
    assert torch.equal(trainer.image_queue[1:3], first[1:]) and int(trainer.queue_ptr) == 1
    with pytest.raises(ParameterError, match="queue_size"):
        trainer.enqueue(torch.zeros(6, 8), torch.zeros(6, 8))


def test_soft_targets_mix_momentum_softmax_and_positives() -> None:
    similarity = torch.tensor([[2.0, 0.0, 1.0, -1.0], [0.5, 0.5, 0.0, 3.0]])  # 2 in batch, 2 queued
    positives = torch.tensor([[1.0, 0.0], [1.0, 1.0]])  # row 1: two captions of one image
    targets = soft_targets(similarity, positives, 0.4)
    expected = 0.4 * similarity.softmax(-1) + 0.6 * torch.tensor([[1.0, 0, 0, 0], [0.5, 0.5, 0, 0]])
    torch.testing.assert_close(targets, expected)
    torch.testing.assert_close(targets.sum(-1), torch.ones(2))
    torch.testing.assert_close(soft_targets(similarity, positives, 0.0)[0], torch.tensor([1.0, 0, 0, 0]))


def test_itm_negatives_never_pick_a_positive() -> None:
    similarity = torch.tensor([[5.0, 4.0, 0.0, -3.0], [1.0, 1.0, 1.0, 1.0], [0.0, 9.0, 2.0, 0.0],
                               [1.0, 1.0, 1.0, 1.0]])
    positives = torch.eye(4, dtype=torch.bool)
    positives[1, 3] = positives[3, 1] = True  # pairs 1 and 3 show the same image
    positives[2] = True  # every column a positive: no negative to draw
    generator = torch.Generator().manual_seed(0)
    draws = torch.stack([hard_negatives(similarity, positives, generator) for _ in range(400)])
    assert (draws[:, 2] == -1).all()
    for row in (0, 1, 3):
        assert not positives[row, draws[:, row]].any()
    counts = torch.bincount(draws[:, 0], minlength=4)
    assert counts[1] > 300 and counts[3] < 20  # ∝ softmax: the hardest negative most often


def test_mlm_masks_15_percent_as_80_10_10_and_labels_the_rest_ignored(root: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(root / "text")
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 2000, (400, 50), generator=generator)
    ids[:, 0], ids[:, -5:] = tokenizer.cls_token_id, tokenizer.pad_token_id
    masked, labels = mask_tokens(ids, tokenizer, tokenizer.vocab_size, 0.15, generator)
    chosen = labels != IGNORE
    assert torch.equal(labels[chosen], ids[chosen])
    assert not chosen[:, 0].any() and not chosen[:, -5:].any() and torch.equal(masked[~chosen], ids[~chosen])
    assert chosen[:, 1:-5].float().mean() == pytest.approx(0.15, abs=0.01)
    share = {"mask": (masked[chosen] == tokenizer.mask_token_id).float().mean(),
             "kept": (masked[chosen] == ids[chosen]).float().mean()}
    assert share["mask"] == pytest.approx(0.8, abs=0.03)
    assert share["kept"] == pytest.approx(0.1, abs=0.03)  # a random token equal to the original is rare here
    assert 1 - share["mask"] - share["kept"] == pytest.approx(0.1, abs=0.03)
    again, _ = mask_tokens(ids, tokenizer, tokenizer.vocab_size, 0.15, torch.Generator().manual_seed(1))
    assert not torch.equal(again, masked)


def test_every_loss_trains_its_modules_and_not_the_momentum_model(root: Path) -> None:
    trainer = pretrainer(root).train()
    losses = trainer(*batch(root), alpha=0.4, generator=torch.Generator().manual_seed(0))
    assert all(torch.isfinite(value) and value > 0 for value in losses)
    for name, loss in losses._asdict().items():
        trainer.zero_grad()
        loss.backward(retain_graph=True)
        grads = {key for key, p in trainer.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
        assert not any(key.startswith("momentum.") for key in grads), name
        assert any(key.startswith("model.vision.") for key in grads), name
        trained = {"itc": ("model.temp", "model.text_proj."), "itm": ("itm_head.", "model.fusion.", "token_type."),
                   "mlm": ("mlm_head.", "model.fusion.text_layers.", "token_type.")}[name]
        assert all(any(key.startswith(prefix) for key in grads) for prefix in trained), name
    assert int(trainer.queue_ptr) == 6  # the batch's momentum features were enqueued


def test_losses_decrease_on_a_tiny_set(root: Path, tmp_path: Path) -> None:
    config = tiny_config(root / "text", published=True)
    report = pretrain(root / "data" / "pretrain.json", tmp_path / "pre", config, TrainArgs(epochs=8, batch_size=6,
                      lr=1e-3, vision_lr=1e-3), device="cpu", progress=False, objectives=Objectives(queue_size=12))
    log = report["log"]
    assert set(log[0]) == {"epoch", "itc_loss", "itm_loss", "mlm_loss"} and report["objectives"]["queue_size"] == 12
    for name in ("itc_loss", "itm_loss", "mlm_loss"):
        assert np.mean([row[name] for row in log[-2:]]) < np.mean([row[name] for row in log[:2]]), name
    state = torch.load(tmp_path / "pre" / MODEL_FILE, weights_only=True)
    assert any(key.startswith("fusion.text_layers.") for key in state) and "text_pooler.0.weight" in state
    assert not any(key.startswith(("momentum.", "itm_head.", "mlm_head.", "token_type.", "image_queue"))
                   for key in state)  # pretraining-only parts stay out of the model file
    assert not any("retrieval_attn" in key for key in state)
    out = tmp_path / "vqa"  # fine-tuning starts from the pretrained fusion (retrieval attention new)
    train(root / "data" / "train.json", out, tmp_path / "pre", TrainArgs(epochs=1, batch_size=4), retrieval_count=1,
          device="cpu", progress=False, published=True)
    assert VQAModel(out).config.published


def test_resume_gives_the_same_weights(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tiny_config(root / "text", published=True)
    args, objectives = TrainArgs(epochs=3, batch_size=6), Objectives(queue_size=12)
    pairs = root / "data" / "pretrain.json"
    full = pretrain(pairs, tmp_path / "full", config, args, device="cpu", progress=False, objectives=objectives)
    per_epoch = -(-len(read_pairs(pairs)) // 6)
    real_step, calls = training._step, []

    def dies_in_epoch_two(*step_args: object) -> None:
        calls.append(1)
        if len(calls) > per_epoch + 1:
            raise KeyboardInterrupt
        real_step(*step_args)  # type: ignore[arg-type]

    monkeypatch.setattr(training, "_step", dies_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        pretrain(pairs, tmp_path / "cut", config, args, device="cpu", progress=False, objectives=objectives)
    monkeypatch.setattr(training, "_step", real_step)
    saved = torch.load(tmp_path / "cut" / CHECKPOINT_FILE, weights_only=False)
    assert saved["epoch"] == 1 and {"image_queue", "queue_ptr", "momentum.vision.patch.weight"} <= set(saved["model"])
    with pytest.raises(ConfigError, match="different arguments"):
        pretrain(pairs, tmp_path / "cut", config, args, device="cpu", progress=False,
                 objectives=Objectives(queue_size=18))
    resumed = pretrain(pairs, tmp_path / "cut", config, args, device="cpu", progress=False, objectives=objectives)
    assert [row["itc_loss"] for row in resumed["log"]] == pytest.approx([row["itc_loss"] for row in full["log"]])
    first = torch.load(tmp_path / "full" / MODEL_FILE, weights_only=True)
    second = torch.load(tmp_path / "cut" / MODEL_FILE, weights_only=True)
    assert first.keys() == second.keys()
    assert all(torch.allclose(first[key], second[key], atol=1e-4) for key in first)  # summation order (see
    # test_vqa_training); a resume without the momentum model or queues moves them far more
    assert json.loads((tmp_path / "cut" / training.META_FILE).read_text())["report"]["objectives"] == {
        "queue_size": 12, "momentum": 0.995, "alpha": 0.4, "mlm_probability": 0.15}


def test_bad_sizes_name_the_option(root: Path, tmp_path: Path) -> None:
    for sizes, name in (({"queue_size": 0}, "queue_size"), ({"momentum": 1.5}, "momentum"), ({"alpha": -0.1}, "alpha"),
                        ({"mlm_probability": 0.0}, "mlm_probability")):
        with pytest.raises(ParameterError, match=name):
            Objectives(**sizes)  # type: ignore[arg-type]
    pairs = root / "data" / "pretrain.json"
    with pytest.raises(ParameterError, match="--published"):
        pretrain(pairs, tmp_path / "a", tiny_config(root / "text"), TrainArgs(epochs=1), progress=False,
                 objectives=Objectives())
    with pytest.raises(ParameterError, match="queue_size"):
        pretrain(pairs, tmp_path / "b", tiny_config(root / "text", published=True), TrainArgs(epochs=1, batch_size=8),
                 progress=False, objectives=Objectives(queue_size=4))
