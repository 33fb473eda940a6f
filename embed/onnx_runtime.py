"""ONNX Runtime inference for an Encoder: the same vectors as torch, about twice as fast on CPU.

The encoder's whole forward pass (transformer, pooling, normalization) is exported once per model id to
`$BIOS_HOME/onnx/<model_id>/encoder.onnx` (BIOS_ONNX_DIR overrides the folder) and run with onnxruntime's CPU
provider. Runtime "onnx-int8" runs `encoder-int8.onnx` beside it instead: dynamic int8 quantization of the
MatMul weights (per output channel; activations quantized per batch at run time), about twice as fast again on
CPUs with VNNI. Its vectors are close to, not equal to, the float ones (cosine ~0.99 for all-MiniLM-L6-v2), so
it is for queries against float term vectors (the normalizer), never for the vectors stored in the graph.

The model id digests the saved weights, tokenizer and settings, so a cached file always matches the
folder it came from; an encoder changed in memory (added tokens, training) drops its session and runs on torch.
Training always runs on torch; only inference uses this path.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from bios_kg.graph.errors import ConfigError
from bios_kg.graph.settings import load_settings

if TYPE_CHECKING:
    from bios_kg.embed.encoders import Encoder

OPSET = 17


def onnx_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


class _Pooled(torch.nn.Module):
    """The encoder's embed step as one module with tensor inputs, for export."""

    def __init__(self, encoder: Encoder, names: list[str]) -> None:
        super().__init__()
        self.encoder = encoder
        self.model = encoder.model  # registered, so export sees the parameters
        self.names = names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.encoder.pool(dict(zip(self.names, inputs, strict=True)))


def export_encoder(encoder: Encoder, path: Path) -> Path:
    """Write `encoder`'s forward pass to `path` (atomically) with dynamic batch and sequence axes."""
    sample = encoder.tokenize(["ONNX export sample", "a second, longer sample text"])
    names = encoder.input_names(sample)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    axes = {name: {0: "batch", 1: "sequence"} for name in names} | {"vectors": {0: "batch"}}
    was_training = encoder.model.training
    encoder.model.eval()
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the exporter's tracer warnings about Python control flow
            torch.onnx.export(_Pooled(encoder, names).cpu(), tuple(sample[name].cpu() for name in names), str(partial),
                              input_names=names, output_names=["vectors"], dynamic_axes=axes, opset_version=OPSET,
                              dynamo=False)
    finally:
        encoder.model.to(encoder.device)
        encoder.model.train(was_training)
    partial.replace(path)
    return path


class OnnxEncoderSession:
    """An onnxruntime session over an exported encoder with `threads` intra-op threads (0: one per core); `embed`
    takes tokenizer output as numpy arrays."""

    def __init__(self, path: Path, quantized: bool = False, threads: int = 0) -> None:
        import onnxruntime as ort

        self.quantized = quantized
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # idle worker threads sleep instead of spinning: the caller's Python and the graph need the cores between runs
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped errors for a damaged file
            raise ConfigError(f"{path}: not a loadable ONNX encoder ({error}); delete it to export again") from error
        self.names = [item.name for item in self.session.get_inputs()]

    def embed(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {name: batch[name].astype(np.int64) for name in self.names}
        return np.asarray(self.session.run(["vectors"], feeds)[0], dtype=np.float32)


def quantize_encoder(source: Path, path: Path) -> Path:
    """Write the int8 dynamic quantization of the exported encoder `source` to `path` (atomically)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    partial = path.with_name(path.stem + ".partial.onnx")
    quantize_dynamic(str(source), str(partial), weight_type=QuantType.QInt8, per_channel=True,
                     op_types_to_quantize=["MatMul"])
    partial.replace(path)
    return path


def open_session(encoder: Encoder, folder: Path | None = None, quantized: bool = False,
                 threads: int | None = None) -> OnnxEncoderSession:
    """The session for `encoder` (its int8 quantization when `quantized`), exporting and quantizing first when
    no file for its model id is cached. `folder` and `threads` left out come from the settings (BIOS_ONNX_DIR,
    else BIOS_HOME/onnx; BIOS_ONNX_THREADS)."""
    if not onnx_available():
        raise ConfigError("runtime 'onnx' needs onnxruntime and onnx: pip install -e '.[ml]'")
    if encoder.device.type != "cpu":
        raise ConfigError(f"the ONNX runtimes run on the CPU; the encoder is on {encoder.device}: use runtime 'torch'")
    if folder is None or threads is None:
        settings = load_settings()
        folder = folder or settings.onnx_dir
        threads = settings.onnx.threads if threads is None else threads
    path = folder / encoder.model_id / "encoder.onnx"
    if not path.is_file():
        export_encoder(encoder, path)
    if quantized:
        float_path, path = path, path.with_name("encoder-int8.onnx")
        if not path.is_file():
            quantize_encoder(float_path, path)
    return OnnxEncoderSession(path, quantized=quantized, threads=threads)
