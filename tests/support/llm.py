"""The tiny causal LM of the LLM tests: bios_kg.apps.llm.scratch on a few clinical sentences (a byte-level BPE
tokenizer,
a 2-layer Llama with hidden size 32). Shared by the backend, SFT and HTTP backend tests."""

from __future__ import annotations

from pathlib import Path

from bios_kg.apps.llm.scratch import build_scratch_lm

SENTENCES = [
    "The patient denies chest pain and shortness of breath.",
    "No pleural effusion or pneumothorax. Heart size is normal.",
    'Human:\nmild cardiomegaly\n\n Assistant: [{"phrase": "cardiomegaly", "assertion_status": "present"}]',
    "Metformin 500 mg twice daily for type 2 diabetes mellitus.",
    "History of hypertension; mother had breast cancer.",
]


def tiny_causal_lm(folder: Path, seed: int = 0) -> Path:
    """Write the tiny model and tokenizer into `folder` (created) and return it."""
    return build_scratch_lm(folder, SENTENCES, seed=seed)
