"""Tiny VQA models for tests: a one-layer BERT with MiniLM's tokenizer, a small ViT, a few real images."""

from __future__ import annotations

from pathlib import Path

from transformers import AutoTokenizer, BertConfig, BertModel

from bios_kg.apps.vqa.build import build_dataset
from bios_kg.apps.vqa.model import ModelConfig
from bios_kg.apps.vqa.train import TrainArgs, pretrain, train
from bios_kg.embed.encoders import encoder_source


def tiny_text_encoder(folder: Path) -> Path:
    """A randomly initialized 1-layer, 32-wide BERT saved with all-MiniLM-L6-v2's tokenizer."""
    if not (folder / "config.json").is_file():
        tokenizer = AutoTokenizer.from_pretrained(encoder_source("minilm")[0])
        config = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                            num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
        BertModel(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return folder


def tiny_config(text_encoder: Path | str, **changes: object) -> ModelConfig:
    settings: dict[str, object] = dict(
        image_size=16, patch_size=8, vision_dim=16, vision_layers=1, vision_heads=2, text_encoder=str(text_encoder),
        question_tokens=16, caption_tokens=16, hidden=16, fusion_layers=1, fusion_heads=2, embed_dim=8, dropout=0.0)
    settings.update(changes)
    return ModelConfig(**settings)  # type: ignore[arg-type]


def tiny_dataset(folder: Path) -> Path:
    """9 rendered images (4 of pydicom's CT_small, 5 of scikit-image's photos): 7 train, 2 test."""
    if not (folder / "train.json").is_file():
        build_dataset(folder, images=8, size=32, sources=["ct-small", "skimage"])
    return folder


def tiny_model(root: Path, retrieval_count: int = 2, epochs: int = 2) -> Path:
    """Pretrain and fine-tune a tiny model on the tiny dataset under `root`; returns the fine-tuned folder."""
    data = tiny_dataset(root / "data")
    config = tiny_config(tiny_text_encoder(root / "text"))
    args = TrainArgs(epochs=epochs, batch_size=4)
    pretrain(data / "pretrain.json", root / "pre", config, args, device="cpu", progress=False)
    out = root / f"vqa-{retrieval_count}"
    train(data / "train.json", out, root / "pre", args, retrieval_count=retrieval_count, device="cpu", progress=False)
    return out
