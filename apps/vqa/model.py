"""The RAMM model (docs/algorithms/ramm.md §3, §4, §6), sized by a config so that it trains on a CPU.

- Image encoder: a ViT (patch embedding, CLS token, pre-norm transformer blocks) built in torch; pretrained
  weights load from a local state-dict file (.pt/.pth/.safetensors) when given.
- Text encoder: a model of embed/ (default the packaged MiniLM) returning token states.
- ITC: z_v = norm(W_v · CLS_img), z_t = norm(W_t · mean of text tokens) (MiniLM's pooling), learnable temperature
  clamped to [0.001, 0.5]; pairs of the same image are all positives.
- Fusion: both streams projected to `hidden` (Linear -> LayerNorm -> Dropout), then `fusion_layers` two-stream
  layers, each self-attention -> cross-attention to the other stream -> FFN (post-norm, BERT style).
  V2 (default): every pair is processed on its own, and after the cross-attention a retrieval attention over
  the n+1 CLS vectors (query pair first, missing pairs masked) is added residually to each CLS position.
  V1 (ablation): the n+1 pairs are concatenated along the sequence with token-type and retrieve-id embeddings.
  With retrieval_count 0 the model sees the query pair only (no retrieval).
- Heads: text pooler (CLS -> dense -> tanh) and image pooler (mean of the query image tokens -> dense -> tanh),
  concatenated; a CLOSED head and an OPEN head over their answer lists, and a question-type head choosing which
  one answers.
- `published` (RAMM's released code, `model/meter_fusion.py`): V2's retrieval attention is a BERT attention block
  (LN(cls + attention)) whose output is *added* to the CLS state, cls + LN(cls + attention), where the default
  replaces the CLS state with LN(cls + attention); one classifier over all answers (CLOSED then OPEN) on
  [text pooler; image pooler] instead of the two heads and the type head; and the retrieval of
  apps/vqa/retrieval.py as published (n + 1 hits per index, the top one dropped).
- RAMM's pretraining (docs/algorithms/ramm.md §4; apps/vqa/objectives.py): `RAMM(fused=True)` holds the fusion and
  poolers without answer heads; `RetrievalFusion.pairs` fuses one pair per row with token-type embeddings and no
  retrieval attention, which fine-tuning then adds.
"""

from __future__ import annotations

import pickle
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple, get_args

import torch
import torch.nn.functional as F
from torch import nn

from bios_kg.embed.encoders import Encoder, load_encoder
from bios_kg.graph.errors import ConfigError, ParameterError

Fusion = Literal["v2", "v1"]
MAX_PAIRS = 100  # rows of V1's retrieve-id embedding
TEXT_CACHE = 20_000  # token states of a frozen text encoder kept per (text, length)


@dataclass(frozen=True)
class ModelConfig:
    image_size: int = 64
    patch_size: int = 8
    vision_dim: int = 128
    vision_layers: int = 3
    vision_heads: int = 4
    text_encoder: str = "minilm"  # a registered encoder name or a local HF folder
    train_text: bool = False  # fine-tune the text encoder too (slow on a CPU)
    question_tokens: int = 32
    caption_tokens: int = 40
    hidden: int = 128
    fusion_layers: int = 2
    fusion_heads: int = 4
    fusion: Fusion = "v2"
    retrieval_count: int = 2
    embed_dim: int = 128
    dropout: float = 0.1
    knowledge: bool = False  # captions and questions enriched with linked concept names (concepts.json)
    published: bool = False  # RAMM's code: V2 residual added, one classifier, its retrieval (module docstring)

    def __post_init__(self) -> None:
        if self.fusion not in get_args(Fusion):
            raise ParameterError("fusion", f"{self.fusion!r} is not one of {', '.join(get_args(Fusion))}")
        if self.image_size % self.patch_size:
            raise ParameterError("image_size", f"{self.image_size} is not a multiple of patch_size {self.patch_size}")
        if not 0 <= self.retrieval_count < MAX_PAIRS:
            raise ParameterError("retrieval_count", f"{self.retrieval_count} is not between 0 and {MAX_PAIRS - 1}")
        for name in ("vision_dim", "hidden"):
            heads = self.vision_heads if name == "vision_dim" else self.fusion_heads
            if getattr(self, name) % heads:
                raise ParameterError(name, f"{getattr(self, name)} is not divisible by its {heads} heads")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        known = {item.name for item in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ParameterError("config", f"unknown keys {', '.join(unknown)}")
        return cls(**data)


class ViT(nn.Module):
    """[B, 3, S, S] -> [B, 1 + (S/patch)^2, vision_dim] tokens, CLS first."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        dim, patches = config.vision_dim, (config.image_size // config.patch_size) ** 2
        self.patch = nn.Conv2d(3, dim, config.patch_size, config.patch_size)
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos = nn.Parameter(torch.randn(1, patches + 1, dim) * 0.02)
        block = nn.TransformerEncoderLayer(dim, config.vision_heads, 4 * dim, config.dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, config.vision_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        tokens = self.patch(images).flatten(2).transpose(1, 2)
        tokens = torch.cat([self.cls.expand(len(tokens), -1, -1), tokens], 1) + self.pos
        return self.norm(self.blocks(tokens))  # type: ignore[no-any-return]


def load_vision_weights(vit: ViT, path: Path) -> int:
    """Load a state dict (torch or safetensors file, keys as in ViT, optionally under `vision.`) into `vit`;
    returns how many tensors were loaded; ConfigError when none fits."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, pickle.UnpicklingError) as error:
        raise ConfigError(f"{path}: not a readable weights file ({str(error).splitlines()[0]})") from None
    state = {key.removeprefix("vision."): value for key, value in state.items()}
    own = vit.state_dict()
    fitting = {key: value for key, value in state.items() if key in own and own[key].shape == value.shape}
    if not fitting:
        raise ConfigError(f"{path}: none of its {len(state)} tensors fits this ViT (keys such as patch.weight, "
                          "blocks.layers.0.self_attn.in_proj_weight, with the config's sizes)")
    vit.load_state_dict(fitting, strict=False)
    return len(fitting)


def itc_image(vision: ViT, projection: nn.Linear, images: torch.Tensor) -> torch.Tensor:
    return cls_vector(projection, vision(images))


def cls_vector(projection: nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """ITC z_v of ViT tokens [N, P, Dv]: the projected CLS, unit length."""
    return F.normalize(projection(tokens[:, 0]), dim=-1)


def itc_text(projection: nn.Module, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """ITC z_t of text token states [N, T, Dt] with mask [N, T] (True = token): the projected mean, unit length."""
    weights = mask.unsqueeze(-1).to(states.dtype)
    return F.normalize(projection((states * weights).sum(1) / weights.sum(1)), dim=-1)


class Retriever(nn.Module):
    """The pretrained image side of ITC (its state keys are RAMM's vision.* and vision_proj.*): it embeds query
    images for retrieval after fine-tuning has changed the model's own image encoder."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.vision = ViT(config)
        self.vision_proj = nn.Linear(config.vision_dim, config.embed_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return itc_image(self.vision, self.vision_proj, images)

    @staticmethod
    def state_of(model: nn.Module) -> dict[str, torch.Tensor]:
        return {key: value.detach().clone() for key, value in model.state_dict().items()
                if key.startswith(("vision.", "vision_proj."))}  # copies: fine-tuning changes the model's


class StreamLayer(nn.Module):
    """Self-attention -> cross-attention to the other stream -> [retrieval attention over CLS] -> FFN."""

    def __init__(self, hidden: int, heads: int, dropout: float, retrieval: bool, add_retrieval: bool = False) -> None:
        super().__init__()
        self.add_retrieval = add_retrieval  # RAMM's code: cls + LN(cls + attention); else LN(cls + attention)
        self.self_attn = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True)
        self.retrieval_attn = nn.MultiheadAttention(hidden, heads, dropout=dropout, batch_first=True) \
            if retrieval else None
        self.norms = nn.ModuleList(nn.LayerNorm(hidden, eps=1e-12) for _ in range(4))
        self.ffn = nn.Sequential(nn.Linear(hidden, 4 * hidden), nn.GELU(), nn.Dropout(dropout),
                                 nn.Linear(4 * hidden, hidden))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor, other: torch.Tensor, other_pad: torch.Tensor,
                pair_pad: torch.Tensor | None = None) -> torch.Tensor:
        """x [N, L, H] with pad [N, L] (True = padding); `pair_pad` [B, R] when N = B·R pairs attend by CLS."""
        x = self.norms[0](x + self.drop(self.self_attn(x, x, x, key_padding_mask=pad, need_weights=False)[0]))
        x = self.norms[1](x + self.drop(self.cross_attn(x, other, other, key_padding_mask=other_pad,
                                                        need_weights=False)[0]))
        if self.retrieval_attn is not None and pair_pad is not None:
            batch, pairs = pair_pad.shape
            cls = x[:, 0].reshape(batch, pairs, -1)
            attended = self.retrieval_attn(cls, cls, cls, key_padding_mask=pair_pad, need_weights=False)[0]
            block = self.norms[2](cls + self.drop(attended))
            cls = (cls + block if self.add_retrieval else block).reshape(batch * pairs, 1, -1)
            x = torch.cat([cls, x[:, 1:]], 1)
        return self.norms[3](x + self.drop(self.ffn(x)))  # type: ignore[no-any-return]


class RetrievalFusion(nn.Module):
    """Text and image tokens of the query pair and its retrieved pairs -> (text CLS, image mean) of the query."""

    def __init__(self, config: ModelConfig, text_dim: int) -> None:
        super().__init__()
        hidden, self.mode = config.hidden, config.fusion
        retrieval = config.fusion == "v2" and config.retrieval_count > 0

        def project(dim: int) -> nn.Sequential:
            return nn.Sequential(nn.Linear(dim, hidden), nn.LayerNorm(hidden, eps=1e-12), nn.Dropout(config.dropout))

        self.text_fc, self.visual_fc = project(text_dim), project(config.vision_dim)
        self.text_layers = nn.ModuleList(StreamLayer(hidden, config.fusion_heads, config.dropout, retrieval,
                                                     config.published) for _ in range(config.fusion_layers))
        self.image_layers = nn.ModuleList(StreamLayer(hidden, config.fusion_heads, config.dropout, retrieval,
                                                      config.published) for _ in range(config.fusion_layers))
        if self.mode == "v1":
            self.token_type = nn.Embedding(2, hidden)
            self.retrieve_id = nn.Embedding(MAX_PAIRS, hidden)

    def forward(self, text: torch.Tensor, text_mask: torch.Tensor, image: torch.Tensor,
                pair_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """text [B, R, T, Dt], text_mask [B, R, T] (True = token), image [B, R, P, Dv], pair_mask [B, R]
        (True = a pair; pair 0, the query, always is) -> ([B, H], [B, H])."""
        batch, pairs, length, _ = text.shape
        patches = image.shape[2]
        t, v = self.text_fc(text), self.visual_fc(image)
        if self.mode == "v1":
            ids = self.retrieve_id.weight[:pairs].view(1, pairs, 1, -1)
            t = (t + self.token_type.weight[0] + ids).reshape(batch, pairs * length, -1)
            v = (v + self.token_type.weight[1] + ids).reshape(batch, pairs * patches, -1)
            t_pad = ~(text_mask & pair_mask[..., None]).reshape(batch, pairs * length)
            v_pad = ~pair_mask[..., None].expand(batch, pairs, patches).reshape(batch, pairs * patches)
            t, v = self._layers(t, t_pad, v, v_pad)
            keep = (~v_pad).unsqueeze(-1).to(v.dtype)
            return t[:, 0], (v * keep).sum(1) / keep.sum(1)
        t, v = t.reshape(batch * pairs, length, -1), v.reshape(batch * pairs, patches, -1)
        t_pad = ~text_mask.reshape(batch * pairs, length)
        v_pad = torch.zeros(batch * pairs, patches, dtype=torch.bool, device=v.device)
        t, v = self._layers(t, t_pad, v, v_pad, ~pair_mask)
        return t.reshape(batch, pairs, length, -1)[:, 0, 0], v.reshape(batch, pairs, patches, -1)[:, 0].mean(1)

    def pairs(self, text: torch.Tensor, text_mask: torch.Tensor, image: torch.Tensor,
              token_type: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """RAMM's pretraining fusion (docs/algorithms/ramm.md §4): one image-text pair per row, no retrieval
        attention, token-type rows 0 (text) and 1 (image) of `token_type` [2, H] added after the projections.
        text [N, T, Dt], text_mask [N, T] (True = token), image [N, P, Dv] -> token states ([N, T, H], [N, P, H])."""
        t, v = self.text_fc(text) + token_type[0], self.visual_fc(image) + token_type[1]
        v_pad = torch.zeros(v.shape[:2], dtype=torch.bool, device=v.device)
        return self._layers(t, ~text_mask, v, v_pad)

    def _layers(self, t: torch.Tensor, t_pad: torch.Tensor, v: torch.Tensor, v_pad: torch.Tensor,
                pair_pad: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        for text_layer, image_layer in zip(self.text_layers, self.image_layers, strict=True):
            t, v = text_layer(t, t_pad, v, v_pad, pair_pad), image_layer(v, v_pad, t, t_pad, pair_pad)
        return t, v


class Answers(NamedTuple):
    closed: torch.Tensor  # [B, closed answers]
    open: torch.Tensor  # [B, open answers]
    closed_type: torch.Tensor  # [B]: logit that the question is CLOSED
    single: bool = False  # one classifier: closed and open are slices of one softmax (RAMM's code)


class Saved(nn.Module):
    """saved_state / load_saved of a module whose text encoder (under `text_prefix`) may be frozen."""

    config: ModelConfig
    text_prefix = "text."

    def saved_state(self) -> dict[str, torch.Tensor]:
        """The state to save: without the text encoder's weights when it is frozen (they reload by name)."""
        state = self.state_dict()
        if self.config.train_text:
            return state
        return {key: value for key, value in state.items() if not key.startswith(self.text_prefix)}

    def load_saved(self, state: dict[str, torch.Tensor], source: str, optional: tuple[str, ...] = ()) -> None:
        """Load a saved state; keys under `optional` (and a frozen text encoder's) may be missing from it."""
        allowed = optional + (() if self.config.train_text else (self.text_prefix,))
        missing, unexpected = self.load_state_dict(state, strict=False)
        wrong = [key for key in missing if not key.startswith(allowed)] + list(unexpected)
        if wrong:
            raise ConfigError(f"{source} does not fit this model configuration ({', '.join(wrong[:4])}, ...)")


class RAMM(Saved):
    """Image encoder + text encoder + ITC projections (+ fusion and answer heads once `answers` is given; fusion
    and poolers alone with `fused`, for RAMM's pretraining, docs/algorithms/ramm.md §4)."""

    def __init__(self, config: ModelConfig, answers: tuple[int, int] | None = None, device: str = "cpu",
                 encoder: Encoder | None = None, fused: bool = False) -> None:
        super().__init__()
        self.config = config
        encoder = encoder or load_encoder(config.text_encoder, device="cpu")
        self.tokenizer = encoder.tokenizer
        self.text = encoder.model
        self.text.requires_grad_(config.train_text)
        self._text_cache: dict[tuple[str, int], torch.Tensor] = {}
        text_dim = encoder.dim
        self.vision = ViT(config)
        self.vision_proj = nn.Linear(config.vision_dim, config.embed_dim)
        self.text_proj = nn.Linear(text_dim, config.embed_dim)
        self.temp = nn.Parameter(torch.tensor(0.07))
        self.answers = answers
        hidden = config.hidden
        if answers is not None or fused:  # pretraining fuses single pairs: no retrieval attention, no V1 embeddings
            self.fusion = RetrievalFusion(config if answers is not None else
                                          replace(config, fusion="v2", retrieval_count=0), text_dim)
            self.text_pooler = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh())
            self.image_pooler = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh())
        if answers is not None:
            if config.published:
                self.classifier = nn.Linear(2 * hidden, max(answers[0] + answers[1], 1))
            else:
                self.closed_head = nn.Linear(2 * hidden, max(answers[0], 1))
                self.open_head = nn.Linear(2 * hidden, max(answers[1], 1))
                self.type_head = nn.Linear(2 * hidden, 1)
        self.to(torch.device(device))

    @property
    def device(self) -> torch.device:
        return self.temp.device

    def train(self, mode: bool = True) -> RAMM:
        super().train(mode)
        if not self.config.train_text:
            self.text.eval()  # frozen: no dropout, so its token states can be cached
        return self

    def encode_text(self, texts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Token states [N, T, Dt] and mask [N, T] (True = token); a frozen encoder's states are cached."""
        if self.config.train_text:
            return self._run_text(texts, max_length)
        missing = list(dict.fromkeys(text for text in texts if (text, max_length) not in self._text_cache))
        if missing:
            if len(self._text_cache) + len(missing) > TEXT_CACHE:
                self._text_cache.clear()
            with torch.no_grad():
                hidden, mask = self._run_text(missing, max_length)
            for text, states, keep in zip(missing, hidden, mask, strict=True):
                self._text_cache[(text, max_length)] = states[keep]
        states = [self._text_cache[(text, max_length)] for text in texts]
        lengths = torch.tensor([len(item) for item in states], device=self.device)
        padded = nn.utils.rnn.pad_sequence(states, batch_first=True)
        return padded, torch.arange(padded.shape[1], device=self.device)[None] < lengths[:, None]

    def _run_text(self, texts: list[str], max_length: int) -> tuple[torch.Tensor, torch.Tensor]:
        batch = self.tokenizer(texts, padding="longest", truncation=True, max_length=max_length, return_tensors="pt")
        batch = {key: value.to(self.device) for key, value in batch.items()}
        return self.text(**batch).last_hidden_state, batch["attention_mask"].bool()

    def image_embedding(self, images: torch.Tensor) -> torch.Tensor:
        """ITC z_v [N, embed_dim] (unit length)."""
        return itc_image(self.vision, self.vision_proj, images)

    def text_embedding(self, texts: list[str]) -> torch.Tensor:
        """ITC z_t [N, embed_dim] (unit length)."""
        return itc_text(self.text_proj, *self.encode_text(texts, self.config.caption_tokens))

    def itc_loss(self, images: torch.Tensor, texts: list[str], image_ids: list[str]) -> torch.Tensor:
        """½ (CE(image -> text) + CE(text -> image)) with every pair of the same image a positive."""
        z_v, z_t = self.image_embedding(images), self.text_embedding(texts)
        logits = z_v @ z_t.T / self.temp.clamp(0.001, 0.5)
        codes = {image_id: index for index, image_id in enumerate(dict.fromkeys(image_ids))}
        labels = torch.tensor([codes[image_id] for image_id in image_ids], device=logits.device)
        positive = (labels[:, None] == labels[None, :]).float()
        targets = positive / positive.sum(1, keepdim=True)
        return (soft_cross_entropy(logits, targets) + soft_cross_entropy(logits.T, targets)) / 2

    def forward(self, images: torch.Tensor, texts: list[str], pair_mask: torch.Tensor) -> Answers:
        """images [B, R, 3, S, S]; texts: B·R strings, per example the question then R-1 captions; pair_mask
        [B, R] (True = a pair)."""
        if self.answers is None:
            raise ConfigError("this model has no answer heads: fine-tune it first (bios vqa train)")
        batch, pairs = pair_mask.shape
        questions = [texts[index] for index in range(0, len(texts), pairs)]
        q_states, q_mask = self.encode_text(questions, self.config.question_tokens)
        if pairs > 1:
            captions = [text for index, text in enumerate(texts) if index % pairs]
            c_states, c_mask = self.encode_text(captions, self.config.caption_tokens)
            length = max(q_states.shape[1], c_states.shape[1])
            q_states, q_mask = _pad_to(q_states, length), _pad_to(q_mask, length)
            c_states, c_mask = _pad_to(c_states, length), _pad_to(c_mask, length)
            states = torch.cat([q_states[:, None], c_states.reshape(batch, pairs - 1, length, -1)], 1)
            mask = torch.cat([q_mask[:, None], c_mask.reshape(batch, pairs - 1, length)], 1)
        else:
            states, mask = q_states[:, None], q_mask[:, None]
        vision = self.vision(images.flatten(0, 1))
        vision = vision.view(batch, pairs, *vision.shape[1:])
        text_cls, image_mean = self.fusion(states, mask, vision, pair_mask)
        pooled = self.pool(text_cls, image_mean)
        if self.config.published:
            assert self.answers is not None
            logits = self.classifier(pooled)
            closed, opened = logits[:, :self.answers[0]], logits[:, self.answers[0]:]
            return Answers(closed, opened, closed.logsumexp(-1) - opened.logsumexp(-1), single=True)
        return Answers(self.closed_head(pooled), self.open_head(pooled), self.type_head(pooled).squeeze(-1))

    def pool(self, text_cls: torch.Tensor, image_mean: torch.Tensor) -> torch.Tensor:
        """[text pooler; image pooler] of fused states [N, H], [N, H] -> [N, 2H]: the input of the answer
        classifier and of pretraining's ITM head."""
        return torch.cat([self.text_pooler(text_cls), self.image_pooler(image_mean)], -1)


def _pad_to(tensor: torch.Tensor, length: int) -> torch.Tensor:
    """Pad dim 1 of [N, T, ...] with zeros (False for masks) to `length`."""
    extra = length - tensor.shape[1]
    if extra == 0:
        return tensor
    padding = [0, 0] * (tensor.dim() - 2) + [0, extra]
    return F.pad(tensor, padding)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """-Σ_a y_a log softmax(logits)_a, averaged over rows (multi-hot gold answers normalized to sum 1)."""
    return -(targets * F.log_softmax(logits, -1)).sum(-1).mean()
