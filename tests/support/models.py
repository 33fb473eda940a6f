"""Tiny BERT encoders written to a folder in the Hugging Face format, for training and encoding tests."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import BertConfig, BertModel, BertTokenizerFast  # type: ignore[attr-defined]  # lazy alias in v5

from tests.support.bios_files import BIOS_TERMS, UMLS_CONSO

LETTERS = "abcdefghijklmnopqrstuvwxyz"

# every single letter is in the vocabulary, as in real WordPiece vocabularies; CJK characters are not
WORDS = [*LETTERS, "heart", "attack", "myocardial", "infarction", "fracture", "of", "femur", "pain", "back", "##s",
         "##ed", "##ing", "-", ",", "(", ")"]
TEXTS = ["heart attack", "myocardial infarction", "back pain", "fracture of femur, a b c (pain)", "a", "attacks",
         "heart", "back pains of a heart attack"]


def write_bert(folder: Path, words: list[str], *, seed: int = 0, pooler: bool = True, hidden: int = 32) -> Path:
    """A 2-layer BERT (`hidden` dimensions) and its WordPiece tokenizer over the special tokens and `words`."""
    folder.mkdir(parents=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizerFast.from_pretrained(folder).save_pretrained(folder)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=37, max_position_embeddings=64)
    torch.manual_seed(seed)
    BertModel(config, add_pooling_layer=pooler).save_pretrained(folder)
    return folder


def tiny_model(folder: Path, pooler: bool = True) -> Path:
    """A tiny BERT whose vocabulary holds whole medical words (TEXTS tokenize without [UNK])."""
    return write_bert(folder, WORDS, pooler=pooler)


def write_tiny_bert(folder: Path, seed: int = 0) -> Path:
    """A tiny BERT whose WordPiece vocabulary spells any lower-case word letter by letter."""
    return write_bert(folder, [*LETTERS, *(f"##{c}" for c in LETTERS)], seed=seed)


def fixture_bert(folder: Path, hidden: int, seed: int) -> Path:
    """A tiny BERT whose vocabulary holds every character of the BIOS and UMLS fixture terms (bios_files)."""
    chars = sorted({ch for text in [t[2] for t in BIOS_TERMS] + [row[9] for row in UMLS_CONSO]
                    for ch in text.lower() if not ch.isspace()})
    return write_bert(folder, [*chars, *(f"##{ch}" for ch in chars)], seed=seed, pooler=True, hidden=hidden)
