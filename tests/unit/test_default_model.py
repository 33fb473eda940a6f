"""The shipped default encoder's packing: int8 deltas against the base MiniLM rebuild the trained model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bios_kg.apps.normalize.default_encoder import add_traditional_tokens
from bios_kg.embed.default_model import materialize, pack
from bios_kg.embed.encoders import load_encoder
from bios_kg.graph.errors import ConfigError


@pytest.fixture(scope="module")
def fine_tuned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """MiniLM with two added Chinese characters and every weight moved a little, as training would."""
    encoder = load_encoder("minilm", device="cpu", runtime="torch")
    assert encoder.add_tokens(["肺炎"]) == 2
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for parameter in encoder.model.parameters():
            parameter.add_(1e-3 * torch.randn(parameter.shape, generator=generator))
    out = tmp_path_factory.mktemp("trained") / "model"
    encoder.save(out, name="bios-default")
    return out


def test_pack_and_rebuild_match_the_trained_model(fine_tuned: Path, tmp_path: Path) -> None:
    packed = tmp_path / "bios-default.npz"
    manifest = pack(fine_tuned, packed, command="test")
    assert manifest["added_tokens"] == 2
    assert json.loads(packed.with_suffix(".json").read_text())["sha256"] == manifest["sha256"]
    folder = materialize(packed, home=tmp_path / "home")
    assert materialize(packed, home=tmp_path / "home") == folder  # cached
    texts = ["肺炎", "pneumonia of the lung", "fever"]
    trained = load_encoder(fine_tuned, device="cpu", runtime="torch").encode(texts)
    rebuilt = load_encoder(folder, device="cpu", runtime="torch").encode(texts)
    assert np.min(np.sum(trained * rebuilt, axis=1)) > 0.9999
    base = load_encoder("minilm", device="cpu", runtime="torch").encode(texts[1:])
    assert np.max(np.sum(base * rebuilt[1:], axis=1)) < 0.9999  # the deltas were applied


def test_damaged_file_is_refused(fine_tuned: Path, tmp_path: Path) -> None:
    packed = tmp_path / "bios-default.npz"
    pack(fine_tuned, packed, command="test")
    packed.write_bytes(packed.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ConfigError, match="does not match its manifest"):
        materialize(packed, home=tmp_path / "home")


def test_traditional_characters_share_their_simplified_rows() -> None:
    encoder = load_encoder("minilm", device="cpu", runtime="torch")
    encoder.add_tokens(["肺炎发热"])
    added = add_traditional_tokens(encoder)
    assert added >= 1  # 發 (of 发)
    weight = encoder.model.get_input_embeddings().weight
    ids = encoder.tokenizer.convert_tokens_to_ids(["發", "发"])
    assert isinstance(ids, list)
    assert torch.equal(weight[ids[0]], weight[ids[1]])
    traditional, simplified = encoder.encode(["肺炎發熱", "肺炎发热"])
    assert float(traditional @ simplified) > 0.9999
