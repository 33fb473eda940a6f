"""RAMM's pretraining objectives, as its released code computes them (docs/algorithms/ramm.md §4).

RAMM (`model/meter_fusion.py`, `MeterFusionVisualTextPretraining`, built on ALBEF's `models/model_pretrain.py`)
pretrains with L = L_itc + L_itm + L_mlm:
- ITC against a momentum model (an EMA of the image and text encoders, projections, fusion, token-type embeddings
  and MLM head, updated before each step) and two queues of its past features; targets mix the momentum model's
  softmax with the in-batch positives: alpha · softmax(S_m) + (1 − alpha) · Y; temperature clamped in place to
  [0.001, 0.5]; the momentum features are enqueued after the loss.
- ITM: every pair, plus one negative image per text and one negative text per image sampled ∝ softmax of the
  online in-batch similarities with the positives masked, fused; a 2-way head on [text pooler; image pooler].
- MLM: 15 % of the caption tokens (not padding, not CLS) masked 80/10/10, fused with the image tokens; a head
  (dense → GELU → LayerNorm) scored against the text encoder's word embeddings; the loss mixes CE with the
  momentum model's soft predictions: (1 − alpha) · CE + alpha · distillation, over the masked tokens.
Here Y counts every pair of the same image as a positive (RAMM's diagonal when the image ids are unique), ITM never
samples a pair of the same image as a negative, and the text vector of ITC is the mean of the tokens (model.py).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from bios_kg.apps.vqa.model import RAMM, RetrievalFusion, Saved, cls_vector, itc_text, soft_cross_entropy
from bios_kg.graph.errors import ConfigError, ParameterError

IGNORE = -100  # label of a token that is not predicted


@dataclass(frozen=True)
class Objectives:
    """Sizes of RAMM's pretraining; defaults as ALBEF's Pretrain.yaml, which RAMM's code takes them from."""

    queue_size: int = 65_536
    momentum: float = 0.995
    alpha: float = 0.4  # reached after the first epoch (linear warm-up, as both codes do)
    mlm_probability: float = 0.15

    def __post_init__(self) -> None:
        if self.queue_size < 1:
            raise ParameterError("queue_size", f"must be at least 1, got {self.queue_size}")
        for name in ("momentum", "alpha"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ParameterError(name, f"must be in [0, 1], got {getattr(self, name)}")
        if not 0.0 < self.mlm_probability < 1.0:
            raise ParameterError("mlm_probability", f"must be in (0, 1), got {self.mlm_probability}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Losses(NamedTuple):
    itc: torch.Tensor
    itm: torch.Tensor
    mlm: torch.Tensor


def soft_targets(similarity_m: torch.Tensor, positives: torch.Tensor, alpha: float) -> torch.Tensor:
    """alpha · softmax(similarity_m) + (1 − alpha) · Y: similarity_m [B, B + Q] of the momentum model, positives
    [B, B] in-batch (a row's positives share its mass), the queue columns never positive."""
    hard = torch.zeros_like(similarity_m)
    hard[:, :positives.shape[1]] = positives / positives.sum(1, keepdim=True)
    return alpha * similarity_m.softmax(-1) + (1 - alpha) * hard


def hard_negatives(similarity: torch.Tensor, positives: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One column per row drawn ∝ softmax(similarity) with the positives' weight set to 0; -1 for a row whose
    columns are all positives."""
    weights = similarity.detach().softmax(-1).masked_fill(positives, 0.0).cpu()
    picked = torch.full((len(weights),), -1, dtype=torch.long)
    rows = weights.sum(-1) > 0
    if rows.any():
        picked[rows] = torch.multinomial(weights[rows], 1, generator=generator).squeeze(1)
    return picked


def mask_tokens(ids: torch.Tensor, tokenizer: Any, vocab_size: int, probability: float,
                generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking as RAMM's `mask`: each token but padding and CLS is chosen with `probability`; of those 80 %
    become [MASK], 10 % a random token, 10 % stay. ids [N, T] (CPU) -> (masked ids, labels: the original id where
    chosen, IGNORE elsewhere)."""
    if tokenizer.mask_token_id is None:
        raise ConfigError(f"the text encoder's tokenizer ({type(tokenizer).__name__}) has no [MASK] token: MLM needs "
                          "a BERT-style encoder")

    def draw(p: float) -> torch.Tensor:
        return torch.bernoulli(torch.full(ids.shape, p), generator=generator).bool()

    chosen = draw(probability) & (ids != tokenizer.pad_token_id) & (ids != tokenizer.cls_token_id)
    labels = ids.masked_fill(~chosen, IGNORE)
    replaced = draw(0.8) & chosen
    randomized = draw(0.5) & chosen & ~replaced
    masked = ids.masked_fill(replaced, tokenizer.mask_token_id)
    masked = torch.where(randomized, torch.randint(vocab_size, ids.shape, generator=generator), masked)
    return masked, labels


class Pretrainer(Saved):
    """A RAMM built with `fused`, its pretraining heads, momentum model and queues; calling it on a batch of
    pairs returns the three losses. Its state (momentum model and queues too) is what a checkpoint holds."""

    text_prefix = "model.text."

    def __init__(self, model: RAMM, objectives: Objectives) -> None:
        super().__init__()
        if not hasattr(model, "fusion"):
            raise ConfigError("RAMM's pretraining needs the fusion layers: build the model with fused=True")
        self.model, self.config, self.objectives = model, model.config, objectives
        hidden, text_dim = model.config.hidden, model.text_proj.in_features
        self.token_type = nn.Embedding(2, hidden)
        self.itm_head = nn.Linear(2 * hidden, 2)
        self.mlm_head = nn.Sequential(nn.Linear(hidden, text_dim), nn.GELU(), nn.LayerNorm(text_dim, eps=1e-12))
        self.momentum = nn.ModuleDict({name: copy.deepcopy(module) for name, module in self._online().items()})
        self.momentum.requires_grad_(False)
        size, dim = objectives.queue_size, model.config.embed_dim
        self.image_queue: torch.Tensor
        self.text_queue: torch.Tensor
        self.queue_ptr: torch.Tensor
        self.register_buffer("image_queue", F.normalize(torch.randn(size, dim), dim=-1))
        self.register_buffer("text_queue", F.normalize(torch.randn(size, dim), dim=-1))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))
        self.to(model.device)

    def _online(self) -> dict[str, nn.Module]:
        """The modules that the momentum model averages (RAMM's model_pairs); a frozen text encoder is its own."""
        model = self.model
        modules: dict[str, nn.Module] = {"vision": model.vision, "vision_proj": model.vision_proj,
                                         "text_proj": model.text_proj, "fusion": model.fusion,
                                         "token_type": self.token_type, "mlm_head": self.mlm_head}
        if self.config.train_text:
            modules["text"] = model.text
        return modules

    @torch.no_grad()
    def momentum_update(self) -> None:
        """θ_m ← m · θ_m + (1 − m) · θ for every averaged module."""
        m = self.objectives.momentum
        for name, module in self._online().items():
            for online, averaged in zip(module.parameters(), self.momentum[name].parameters(), strict=True):
                averaged.mul_(m).add_(online.detach(), alpha=1 - m)

    @torch.no_grad()
    def enqueue(self, image_feat: torch.Tensor, text_feat: torch.Tensor) -> None:
        """Write [N, D] features at the pointer, wrapping around, over the oldest ones; N ≤ the queue size."""
        size = len(self.image_queue)
        if len(image_feat) > size:
            raise ParameterError("queue_size", f"{size} is smaller than a batch of {len(image_feat)} pairs")
        rows = (int(self.queue_ptr) + torch.arange(len(image_feat), device=self.queue_ptr.device)) % size
        self.image_queue[rows] = image_feat
        self.text_queue[rows] = text_feat
        self.queue_ptr.fill_((int(self.queue_ptr) + len(image_feat)) % size)

    def forward(self, images: torch.Tensor, captions: list[str], image_ids: list[str], alpha: float,
                generator: torch.Generator) -> Losses:
        """images [B, 3, S, S] and their captions -> the ITC, ITM and MLM losses; `generator` (CPU) draws the ITM
        negatives and the MLM masks."""
        model, momentum = self.model, self.momentum
        device = model.device
        with torch.no_grad():
            model.temp.clamp_(0.001, 0.5)
        tokens = model.vision(images)
        states, mask = model.encode_text(captions, self.config.caption_tokens)
        image_feat, text_feat = cls_vector(model.vision_proj, tokens), itc_text(model.text_proj, states, mask)
        ids = model.tokenizer(captions, padding="longest", truncation=True, max_length=self.config.caption_tokens,
                              return_tensors="pt")["input_ids"]
        codes = {image_id: index for index, image_id in enumerate(dict.fromkeys(image_ids))}
        labels = torch.tensor([codes[image_id] for image_id in image_ids], device=device)
        positives = labels[:, None] == labels[None, :]
        with torch.no_grad():
            self.momentum_update()
            tokens_m = momentum["vision"](images)
            image_feat_m = cls_vector(momentum["vision_proj"], tokens_m)
            states_m = self._text(momentum["text"], ids.to(device), mask) if self.config.train_text else states
            text_feat_m = itc_text(momentum["text_proj"], states_m, mask)
            image_all = torch.cat([image_feat_m, self.image_queue.clone()])
            text_all = torch.cat([text_feat_m, self.text_queue.clone()])
            i2t_targets = soft_targets(image_feat_m @ text_all.T / model.temp, positives.float(), alpha)
            t2i_targets = soft_targets(text_feat_m @ image_all.T / model.temp, positives.float(), alpha)
        sim_i2t, sim_t2i = image_feat @ text_all.T / model.temp, text_feat @ image_all.T / model.temp
        itc = (soft_cross_entropy(sim_i2t, i2t_targets) + soft_cross_entropy(sim_t2i, t2i_targets)) / 2
        self.enqueue(image_feat_m, text_feat_m)

        count = len(captions)
        batch = torch.arange(count)
        negative_image = hard_negatives(sim_t2i[:, :count], positives, generator)  # per text
        negative_text = hard_negatives(sim_i2t[:, :count], positives, generator)  # per image
        with_image, with_text = negative_image >= 0, negative_text >= 0
        text_rows = torch.cat([batch, batch[with_image], negative_text[with_text]]).to(device)
        image_rows = torch.cat([batch, negative_image[with_image], batch[with_text]]).to(device)
        t, v = model.fusion.pairs(states[text_rows], mask[text_rows], tokens[image_rows], self.token_type.weight)
        itm_labels = (torch.arange(len(text_rows), device=device) < count).long()
        itm = F.cross_entropy(self.itm_head(model.pool(t[:, 0], v.mean(1))), itm_labels)

        text_m = momentum["text"] if self.config.train_text else model.text
        masked, mlm_labels = mask_tokens(ids, model.tokenizer, self._words(model.text).shape[0],
                                         self.objectives.mlm_probability, generator)
        masked, mlm_labels = masked.to(device), mlm_labels.to(device)
        predicted = mlm_labels != IGNORE  # only these tokens are scored (both codes score all, then ignore the rest)
        if not predicted.any():  # nothing masked in this batch (both codes would give NaN)
            return Losses(itc, itm, itc.new_zeros(()))
        masked_states = self._text(model.text, masked, mask)
        with torch.no_grad():
            masked_m = self._text(text_m, masked, mask) if self.config.train_text else masked_states
            fusion_m: RetrievalFusion = momentum["fusion"]  # type: ignore[assignment]
            token_type_m: nn.Embedding = momentum["token_type"]  # type: ignore[assignment]
            fused_m = fusion_m.pairs(masked_m, mask, tokens_m, token_type_m.weight)[0]
            soft = (momentum["mlm_head"](fused_m[predicted]) @ self._words(text_m).T).softmax(-1)
        fused = model.fusion.pairs(masked_states, mask, tokens, self.token_type.weight)[0]
        logits = self.mlm_head(fused[predicted]) @ self._words(model.text).T
        distill = -(soft * logits.log_softmax(-1)).sum(-1).mean()
        mlm = (1 - alpha) * F.cross_entropy(logits, mlm_labels[predicted]) + alpha * distill
        return Losses(itc, itm, mlm)

    def _text(self, encoder: nn.Module, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Token states [N, T, Dt] of `ids` (gradients only into a trained text encoder)."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.config.train_text):
            return encoder(input_ids=ids, attention_mask=mask.long()).last_hidden_state  # type: ignore[no-any-return]

    @staticmethod
    def _words(encoder: nn.Module) -> torch.Tensor:
        """The word-embedding matrix [V, Dt] that MLM scores against (tied, as RAMM's code does)."""
        return encoder.get_input_embeddings().weight  # type: ignore[operator,no-any-return]
