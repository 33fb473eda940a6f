"""Encoders: pooling, padding and mask conventions, normalization, save/load, vocabulary extension, model ids."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import BertTokenizerFast  # type: ignore[attr-defined]  # lazy alias in v5

from bios_kg.embed import encoders
from bios_kg.embed.encoders import (
    DEFAULT_ENCODER,
    ENCODERS,
    PRESETS,
    Encoder,
    EncoderSettings,
    EncoderSource,
    encoder_source,
    load_encoder,
)
from bios_kg.graph.errors import ConfigError, ParameterError
from bios_kg.graph.registry import Registry
from tests.support.models import TEXTS, tiny_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("encoders") / "tiny")


def load(path: Path, **changes: object) -> Encoder:
    return load_encoder(path, settings=replace(EncoderSettings(), **changes), device="cpu")  # type: ignore[arg-type]


def manual(encoder: Encoder, texts: list[str]) -> torch.Tensor:
    """Pooled vectors computed directly from the HF model, mirroring the settings."""
    s = encoder.settings
    batch = encoder.tokenizer(texts, padding=s.padding, truncation=True, max_length=s.max_length, return_tensors="pt")
    with torch.no_grad():
        out = encoder.model(**batch) if s.attention_mask else encoder.model(input_ids=batch["input_ids"])
    if s.pooling == "cls":
        vectors = out.last_hidden_state[:, 0]
    elif s.pooling == "pooler":
        vectors = out.pooler_output
    elif s.attention_mask:
        mask = batch["attention_mask"].unsqueeze(-1).float()
        vectors = (out.last_hidden_state * mask).sum(1) / mask.sum(1)
    else:
        vectors = out.last_hidden_state.mean(1)
    return torch.nn.functional.normalize(vectors, dim=-1) if s.normalize else vectors


@pytest.mark.parametrize("pooling", ["cls", "mean", "pooler"])
@pytest.mark.parametrize("mask", [True, False])
def test_pooling_matches_a_manual_computation(model_dir: Path, pooling: str, mask: bool) -> None:
    encoder = load(model_dir, pooling=pooling, attention_mask=mask, normalize=False)
    with torch.no_grad():
        got = encoder.embed_batch(TEXTS)
    assert got.shape == (len(TEXTS), 32)
    torch.testing.assert_close(got, manual(encoder, TEXTS))


def test_padding_modes_and_mask(model_dir: Path) -> None:
    coderpp = load_encoder(model_dir, preset="coderpp", device="cpu")
    assert coderpp.tokenize(["a"])["input_ids"].shape == (1, 32)
    longest = load(model_dir, attention_mask=True)
    assert longest.tokenize(["a", "heart attack"])["input_ids"].shape == (2, 4)
    assert load(model_dir, max_length=3).tokenize(["heart attack of a femur"])["input_ids"].shape == (1, 3)
    unmasked = manual(load(model_dir, pooling="mean", attention_mask=False, padding="max_length"), ["a"])
    masked = manual(load(model_dir, pooling="mean", attention_mask=True, padding="max_length"), ["a"])
    assert not torch.allclose(unmasked, masked, atol=1e-3)  # without a mask the padding takes part


@pytest.mark.parametrize("preset", ["coder", "coderpp"])
def test_max_length_without_mask_is_deterministic_across_batches(model_dir: Path, preset: str) -> None:
    encoder = load_encoder(model_dir, preset=preset, device="cpu")
    alone = np.stack([encoder.encode([text])[0] for text in TEXTS])
    np.testing.assert_allclose(encoder.encode(TEXTS, batch_size=3), alone, atol=1e-6)
    np.testing.assert_allclose(encoder.encode(TEXTS[::-1], batch_size=5)[::-1], alone, atol=1e-6)


def test_longest_padding_without_mask_depends_on_the_batch(model_dir: Path) -> None:
    loose = load(model_dir, padding="longest", attention_mask=False)
    alone = loose.encode(["a"])[0]
    assert not np.allclose(loose.encode(["a", "back pains of a heart attack"])[0], alone, atol=1e-4)
    masked = load(model_dir, padding="longest", attention_mask=True)
    np.testing.assert_allclose(masked.encode(["a", "back pains of a heart attack"])[0], masked.encode(["a"])[0],
                               atol=1e-5)


def test_normalize(model_dir: Path) -> None:
    normalized = load(model_dir).encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(normalized, axis=1), 1.0, atol=1e-5)
    raw = load(model_dir, normalize=False).encode(TEXTS)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0, atol=1e-3)
    np.testing.assert_allclose(raw / np.linalg.norm(raw, axis=1, keepdims=True), normalized, atol=1e-5)


def test_encode_restores_order_dtype_and_training_mode(model_dir: Path) -> None:
    encoder = load_encoder(model_dir, preset="coderpp", device="cpu")
    vectors = encoder.encode(TEXTS, batch_size=2, progress=True)
    assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), encoder.dim)
    np.testing.assert_allclose(vectors, manual(encoder, TEXTS).numpy(), atol=1e-6)
    assert encoder.encode([]).shape == (0, encoder.dim)
    encoder.model.train()
    encoder.encode(TEXTS[:2])
    assert encoder.model.training
    assert encoder.embed_batch(TEXTS[:2]).requires_grad
    with pytest.raises(ParameterError, match="batch_size"):
        encoder.encode(TEXTS, batch_size=0)


def test_save_and_load_round_trip(model_dir: Path, tmp_path: Path) -> None:
    encoder = load_encoder(model_dir, preset="coder", device="cpu")
    encoder.save(tmp_path / "coder-tiny")
    again = load_encoder(tmp_path / "coder-tiny", device="cpu")
    assert again.settings == PRESETS["coder"] and again.name == "coder-tiny"
    np.testing.assert_array_equal(again.encode(TEXTS), encoder.encode(TEXTS))
    assert load_encoder(tmp_path / "coder-tiny", preset="coderpp", device="cpu").settings == PRESETS["coderpp"]
    record = again.record()
    assert record["id"] == again.model_id and record["dim"] == 32 and record["pooling"] == "pooler"
    assert record["attention_mask"] is False and record["checksum"].startswith(again.model_id.split("@")[1])


def test_add_tokens_for_chinese_then_save_and_load(model_dir: Path, tmp_path: Path) -> None:
    encoder = load_encoder(model_dir, preset="coderpp", device="cpu")
    size = len(encoder.tokenizer)
    assert encoder.tokenizer.tokenize("癫痫") == ["[UNK]", "[UNK]"]
    assert encoder.add_tokens(["癫痫发作", "heart attack", "癫痫"]) == 4
    assert encoder.add_tokens(["癫痫"]) == 0
    assert len(encoder.tokenizer) == size + 4 == encoder.model.get_input_embeddings().weight.shape[0]
    ids = encoder.tokenizer("癫痫", add_special_tokens=False)["input_ids"]
    assert len(ids) == 2 and encoder.tokenizer.unk_token_id not in ids and ids[0] != ids[1]
    assert encoder.tokenizer.tokenize("heart癫痫attack") == ["heart", "癫", "痫", "attack"]
    encoder.save(tmp_path / "zh")
    again = load_encoder(tmp_path / "zh", device="cpu")
    assert isinstance(again.tokenizer, BertTokenizerFast)
    assert again.tokenizer("癫痫", add_special_tokens=False)["input_ids"] == ids
    texts = ["癫痫", "癫痫发作", "heart attack"]
    np.testing.assert_array_equal(again.encode(texts), encoder.encode(texts))
    # new rows are deterministic per character, whatever else is added and in which order
    other = load_encoder(model_dir, preset="coderpp", device="cpu")
    assert other.add_tokens(["作", "痫"]) == 2
    rows = encoder.model.get_input_embeddings().weight
    other_rows = other.model.get_input_embeddings().weight
    vocab, other_vocab = encoder.tokenizer.get_vocab(), other.tokenizer.get_vocab()
    torch.testing.assert_close(rows[vocab["痫"]], other_rows[other_vocab["痫"]])
    assert not torch.allclose(rows[vocab["癫"]], rows[vocab["痫"]])


def test_model_id_follows_settings_and_weights(model_dir: Path, tmp_path: Path) -> None:
    base = load_encoder(model_dir, preset="coderpp", device="cpu")
    assert base.model_id.startswith("tiny@") and len(base.model_id.split("@")[1]) == 12
    assert load_encoder(model_dir, preset="coderpp", device="cpu").model_id == base.model_id
    assert load_encoder(model_dir, preset="coder", device="cpu").model_id != base.model_id
    copy = tmp_path / "tiny"
    shutil.copytree(model_dir, copy)
    assert load_encoder(copy, preset="coderpp", device="cpu").model_id == base.model_id
    with torch.no_grad():
        base.model.get_input_embeddings().weight[5] += 1.0
    base.model.save_pretrained(copy)
    assert load_encoder(copy, preset="coderpp", device="cpu").model_id != base.model_id


def test_pooler_needs_a_pooler(tmp_path: Path) -> None:
    folder = tiny_model(tmp_path / "nopooler", pooler=False)
    with pytest.raises(ConfigError, match="pooler"):
        load_encoder(folder, preset="coder", device="cpu")
    assert load_encoder(folder, preset="coderpp", device="cpu").dim == 32


def test_bad_names_and_parameters(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(ConfigError, match=r"no-such-model.*minilm"):
        load_encoder("no-such-model")
    with pytest.raises(ConfigError, match="empty"):
        load_encoder(tmp_path / "empty")
    with pytest.raises(ParameterError, match="preset"):
        load_encoder(model_dir, preset="sapbert")
    with pytest.raises(ParameterError, match="preset"):
        load_encoder(model_dir, settings=EncoderSettings(), preset="coder")
    with pytest.raises(ParameterError, match="pooling"):
        EncoderSettings(pooling="max")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="settings"):
        EncoderSettings.from_dict({"pooling": "cls", "lang": "en"})
    with pytest.raises(ParameterError, match="max_length"):
        load(model_dir, max_length=65)
    assert EncoderSettings.from_dict(PRESETS["coder"].as_dict()) == PRESETS["coder"]


def test_registered_folders_and_factories_load_by_name(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    registry: Registry[EncoderSource] = Registry("encoder")
    registry.add("tiny", model_dir)  # a folder: the settings it declares (none here: the defaults)
    registry.register("tiny-cls")(lambda: (model_dir, replace(EncoderSettings(), pooling="cls")))
    monkeypatch.setattr(encoders, "ENCODERS", registry)
    folder, factory = load_encoder("tiny", device="cpu"), load_encoder("tiny-cls", device="cpu")
    assert (folder.name, folder.settings, factory.name, factory.settings.pooling) == (
        "tiny", EncoderSettings(), "tiny-cls", "cls")
    assert folder.model_id.startswith("tiny@") and folder.model_id != factory.model_id  # the settings count
    assert encoder_source("tiny-cls") == (model_dir, factory.settings)
    with pytest.raises(ConfigError, match=r"^unknown encoder 'tiny-mean'; known: tiny, tiny-cls \(or a model folder "
                                          r"with a config.json\)$"):
        load_encoder("tiny-mean")


def test_packaged_minilm() -> None:
    assert DEFAULT_ENCODER in ENCODERS
    encoder = load_encoder("minilm", device="cpu")
    assert encoder.name == "minilm" and encoder.dim == 384 and encoder.settings == PRESETS["sentence-transformers"]
    mi, attack, femur = encoder.encode(["myocardial infarction", "heart attack", "fracture of femur"])
    assert float(mi @ attack) > float(mi @ femur) + 0.2
    by_path = load_encoder(encoder.path, device="cpu")  # a sentence-transformers folder: its 1_Pooling settings
    assert by_path.settings == encoder.settings and by_path.model_id.split("@")[1] == encoder.model_id.split("@")[1]
    assert encoder.add_tokens(["癫痫"]) == 2 and encoder.tokenizer.tokenize("癫痫") == ["癫", "痫"]


@pytest.mark.parametrize(("preset", "pooler"), [("sentence-transformers", False), ("coder", True), ("coderpp", False)])
def test_onnx_runtime_gives_the_torch_vectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, preset: str,
                                              pooler: bool) -> None:
    monkeypatch.setenv("BIOS_ONNX_DIR", str(tmp_path / "onnx"))
    folder = tiny_model(tmp_path / "tiny", pooler=pooler)
    torch_encoder = load_encoder(folder, preset=preset, device="cpu")
    onnx_encoder = load_encoder(folder, preset=preset, device="cpu", runtime="onnx")
    assert (torch_encoder.runtime, onnx_encoder.runtime) == ("torch", "onnx")
    exported = tmp_path / "onnx" / onnx_encoder.model_id / "encoder.onnx"
    assert exported.is_file()
    for batch_size in (1, 3, 256):  # batches of other sizes and lengths than the export sample
        np.testing.assert_allclose(onnx_encoder.encode(TEXTS, batch_size=batch_size), torch_encoder.encode(TEXTS),
                                   atol=1e-5)
    stamp = exported.stat().st_mtime_ns
    assert load_encoder(folder, preset=preset, device="cpu", runtime="auto").runtime == "onnx"
    assert exported.stat().st_mtime_ns == stamp  # the cached export is reused
    onnx_encoder.add_tokens(["癫痫"])  # the model changed in memory: back to torch
    assert onnx_encoder.runtime == "torch"
    exported.write_bytes(b"not onnx")
    with pytest.raises(ConfigError, match="not a loadable ONNX encoder"):
        load_encoder(folder, preset=preset, device="cpu", runtime="onnx")
    with pytest.raises(ParameterError, match="runtime"):
        load_encoder(folder, device="cpu", runtime="tensorrt")


def test_int8_runtime_approximates_the_float_vectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOS_ONNX_DIR", str(tmp_path / "onnx"))
    folder = tiny_model(tmp_path / "tiny", pooler=False)
    exact = load_encoder(folder, device="cpu", runtime="onnx")
    quantized = load_encoder(folder, device="cpu", runtime="onnx-int8")
    assert (exact.runtime, quantized.runtime, quantized.model_id) == ("onnx", "onnx-int8", exact.model_id)
    assert (tmp_path / "onnx" / exact.model_id / "encoder-int8.onnx").is_file()
    expected, vectors = exact.encode(TEXTS), quantized.encode(TEXTS, batch_size=3)
    cosines = (expected * vectors).sum(1)
    assert cosines.min() > 0.95 and not np.allclose(vectors, expected, atol=1e-5)  # close, not equal
    assert np.argmax(vectors @ expected.T, axis=1).tolist() == list(range(len(TEXTS)))  # each finds itself


def test_onnx_snapshot_runs_the_weights_as_they_are_now(model_dir: Path) -> None:
    encoder = load_encoder(model_dir, device="cpu")
    with torch.no_grad():
        encoder.model.get_input_embeddings().weight.mul_(1.5)  # changed in memory, as in training
    expected = encoder.encode(TEXTS)
    with encoder.onnx_snapshot():
        assert encoder.runtime == "onnx"
        np.testing.assert_allclose(encoder.encode(TEXTS), expected, atol=1e-5)
    assert encoder.runtime == "torch"
