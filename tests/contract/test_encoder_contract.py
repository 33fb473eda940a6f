"""The contract every registered encoder passes: it loads by name, encodes English and Chinese terms to unit-norm
float32 vectors of its declared dimension, does so deterministically and whatever the order of the batch, and its
model id is stable across loads.

`EncoderContract` holds the checks; `TestRegisteredEncoders` runs them for every name in ENCODERS (entry points of
installed packages included), loading each encoder once. A package that ships an encoder can subclass
`EncoderContract` with its own `encoder` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from bios_kg.embed.encoders import ENCODERS, Encoder, EncoderSettings, load_encoder
from tests.support.models import tiny_model

torch.set_num_threads(1)
ENGLISH = ["myocardial infarction", "heart attack", "Type 2 diabetes mellitus", "fracture of the left femur"]
CHINESE = ["心肌梗死", "2型糖尿病", "高血压", "左股骨骨折"]
TEXTS = ENGLISH + CHINESE


class EncoderContract:
    """Checks for one encoder, given by the `encoder` fixture that a subclass defines (load the encoder once, in a
    module-scoped fixture)."""

    @pytest.fixture()
    def vectors(self, encoder: Encoder) -> np.ndarray:
        return encoder.encode(TEXTS)

    def test_unit_norm_vectors_of_the_declared_dimension(self, encoder: Encoder, vectors: np.ndarray) -> None:
        assert vectors.shape == (len(TEXTS), encoder.dim) and vectors.dtype == np.float32
        assert encoder.dim == encoder.record()["dim"] == encoder.model.config.hidden_size
        assert np.isfinite(vectors).all()
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    def test_distinct_terms_in_both_languages_get_distinct_vectors(self, vectors: np.ndarray) -> None:
        similarity = vectors @ vectors.T
        off_diagonal = similarity[~np.eye(len(TEXTS), dtype=bool)]
        assert off_diagonal.max() < 0.999, "two different terms encode to the same vector (all [UNK]?)"

    def test_deterministic_and_independent_of_batch_order(self, encoder: Encoder, vectors: np.ndarray) -> None:
        np.testing.assert_array_equal(encoder.encode(TEXTS), vectors)
        reordered = encoder.encode(TEXTS[::-1], batch_size=3)
        np.testing.assert_allclose(reordered[::-1], vectors, atol=1e-5)
        one = encoder.encode([CHINESE[0]])
        np.testing.assert_allclose(one[0], vectors[len(ENGLISH)], atol=1e-5)

    def test_model_id_is_stable(self, encoder: Encoder) -> None:
        name, digest = encoder.model_id.split("@")
        assert name == encoder.name and digest == encoder.checksum[:12] and len(encoder.checksum) == 64
        again = load_encoder(encoder.name if encoder.name in ENCODERS else encoder.path, settings=encoder.settings,
                             device="cpu")
        assert again.model_id == encoder.model_id


@pytest.fixture(scope="module", params=ENCODERS.names())
def registered_encoder(request: pytest.FixtureRequest) -> Iterator[Encoder]:
    yield load_encoder(request.param, device="cpu")


class TestRegisteredEncoders(EncoderContract):
    @pytest.fixture()
    def encoder(self, registered_encoder: Encoder) -> Encoder:
        return registered_encoder


def test_every_shipped_encoder_is_registered() -> None:
    assert {"minilm", "bios-default"} <= set(ENCODERS.names())


def test_the_contract_catches_vectors_that_are_not_unit_norm(tmp_path: Path) -> None:
    encoder = load_encoder(tiny_model(tmp_path / "tiny"), settings=EncoderSettings(normalize=False), device="cpu")
    with pytest.raises(AssertionError):
        EncoderContract().test_unit_norm_vectors_of_the_declared_dimension(encoder, encoder.encode(TEXTS))
