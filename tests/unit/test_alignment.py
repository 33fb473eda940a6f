"""Character embeddings initialised from English translations: IBM Model 1 and the rows it sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from bios_kg.embed.alignment import (
    align_character_embeddings,
    has_ideographs,
    is_ideograph,
    translation_pairs,
    translation_table,
)
from bios_kg.embed.encoders import load_encoder
from tests.support.models import tiny_model

# 心 heart, 痛 pain, 背 back: every English word is one token of the tiny vocabulary
PAIRS = [("心痛", "heart pain"), ("背痛", "back pain"), ("心", "heart"), ("背", "back"), ("心背", "heart back"),
         ("痛", "pain")]


def test_scripts_and_pairs() -> None:
    assert is_ideograph("痫") and is_ideograph("カ") and is_ideograph("한") and not is_ideograph("a")
    assert not is_ideograph("，") and has_ideographs("Type 2 糖尿病") and not has_ideographs("naïve")
    sets = [["癫痫", "epilepsy", "seizure disorder", "てんかん"], ["fever"], ["发热"], ["a", "b", "c", "d", "e", "甲"]]
    assert translation_pairs(sets) == [
        ("癫痫", "epilepsy"), ("癫痫", "seizure disorder"), ("てんかん", "epilepsy"), ("てんかん", "seizure disorder"),
        ("甲", "a"), ("甲", "b"), ("甲", "c"), ("甲", "d")]


def test_model_1_finds_the_translations() -> None:
    corpus = [(sorted(set(zh)), en.split()) for zh, en in PAIRS]
    table = translation_table(corpus)  # type: ignore[arg-type]  # words stand in for token ids
    best = {char: max(row.items(), key=lambda item: item[1]) for char, row in table.items()}
    assert {char: word for char, (word, _) in best.items()} == {"心": "heart", "痛": "pain", "背": "back"}
    assert all(p > 0.9 for _, p in best.values())
    assert all(sum(row.values()) == pytest.approx(1.0) for row in table.values())


def test_rows_start_at_their_translations(tmp_path: Path) -> None:
    encoder = load_encoder(tiny_model(tmp_path / "tiny"), device="cpu")
    assert encoder.add_tokens([zh for zh, _ in PAIRS]) == 3
    weight = encoder.model.get_input_embeddings().weight
    before = weight.detach().clone()
    assert align_character_embeddings(encoder, PAIRS) == 3
    vocab = encoder.tokenizer.get_vocab()
    base = before[: len(vocab) - 3].numpy()
    mean = base.mean(0)
    typical = np.median(np.linalg.norm(base - mean, axis=1))
    for char, word in (("心", "heart"), ("痛", "pain"), ("背", "back")):
        offset = weight[vocab[char]].detach().numpy() - mean
        target = before[vocab[word]].numpy() - mean
        assert float(offset @ target) / (np.linalg.norm(offset) * np.linalg.norm(target)) > 0.95
        assert np.linalg.norm(offset) == pytest.approx(typical, rel=1e-4)
    untouched = [i for i in range(len(vocab)) if i not in {vocab["心"], vocab["痛"], vocab["背"]}]
    torch.testing.assert_close(weight[untouched], before[untouched])
    assert align_character_embeddings(encoder, [("心", "heart")]) == 0  # one pair is not enough evidence
