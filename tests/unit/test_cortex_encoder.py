"""CoRTEx's encoder convention: INSTRUCTOR's instruction before every term, left out of the mean."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from bios_kg.embed.encoders import PRESETS, EncoderSettings, load_encoder
from bios_kg.graph.errors import ParameterError
from tests.support.models import TEXTS, tiny_model

CORTEX_INSTRUCTION = "Represent the meaning of the biomedical term for retrieval: "


def test_cortex_preset_has_the_published_settings() -> None:
    cortex = PRESETS["cortex"]
    assert (cortex.instruction, cortex.max_length, cortex.pooling, cortex.attention_mask, cortex.normalize) == (
        CORTEX_INSTRUCTION, 96, "mean", True, True)
    assert "instruction" not in EncoderSettings().as_dict()  # model ids of encoders without one do not change


def test_instruction_is_read_but_left_out_of_the_mean(tmp_path: Path) -> None:
    folder = tiny_model(tmp_path / "tiny")
    settings = replace(PRESETS["cortex"], max_length=64, normalize=False)  # the tiny model has 64 positions
    encoder = load_encoder(folder, settings=settings, device="cpu")
    with torch.no_grad():
        got = encoder.embed_batch(TEXTS[:3])
    instruction = CORTEX_INSTRUCTION.strip()
    batch = encoder.tokenizer([instruction + text for text in TEXTS[:3]], padding=True, return_tensors="pt")
    skip = len(encoder.tokenizer(instruction)["input_ids"]) - 1  # [CLS] and the instruction's tokens
    with torch.no_grad():
        hidden = encoder.model(**batch).last_hidden_state
    mask = batch["attention_mask"].clone()
    mask[:, :skip] = 0
    expected = (hidden * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)
    torch.testing.assert_close(got, expected)
    plain = load_encoder(folder, settings=replace(settings, instruction=""), device="cpu")
    assert not torch.allclose(plain.embed_batch(TEXTS[:3]).detach(), got, atol=1e-3)
    assert plain.model_id != encoder.model_id
    with pytest.raises(ParameterError, match="runtime"):
        load_encoder(folder, settings=settings, device="cpu", runtime="onnx")
    assert load_encoder(folder, settings=settings, device="cpu", runtime="auto").runtime == "torch"
    with pytest.raises(ParameterError, match="instruction"):
        replace(settings, pooling="cls")
