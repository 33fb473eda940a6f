"""Token-level SFT objectives of DEFT (docs/algorithms/deft.md §2-§3): the deformed-log family L_α(p) = −(p^α − 1)/α
with a detached gate exponent α, whose gradient is the gate p^α times the error (e_y − π).

Objectives (`--loss`; luludus/DEFT's `objective_trans` names are accepted too, case-insensitively):

| name                          | repository name    | per-token loss                                           |
|-------------------------------|--------------------|----------------------------------------------------------|
| nll                           | original, logp     | −log p                                                   |
| p                             | p                  | 1 − p                                                    |
| q-<q>                         | GeneralFamily-<q>  | −(p^q − 1)/q, fixed q > 0                                |
| cayley                        | Cayley_Trans       | α = f + (1 − f)·(1 − d)/(1 + d), d = 1 − p, f = ½·mean p |
| deft                          | DEFT               | α = Σ_v π_v² = exp(−H₂(π)), the Rényi-2 concentration    |
| only-top-p-<τ>, -bottom-      | OnlyTopP-τ, ...    | 1 − p on the tokens with p ≥ τ (top) or p ≤ τ (bottom)   |
| only-top-logp-<τ>, -bottom-   | OnlyTopLogP-τ, ... | −log p on those tokens                                   |

The math runs in fp32 (fp64 stays fp64) whatever the logits' dtype, from one log_softmax (the only [N, V] tensor
autograd keeps); Σπ² is exp(logsumexp(2·log π)), computed in row chunks. The reduction is the mean over the tokens
the mask keeps (the only-* objectives keep only their selected tokens, as the repository narrows its loss mask); no
token gives 0. (p^α − 1) is computed as expm1(α·log p), equal in value and exact for small α.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import torch

from bios_kg.graph.errors import ParameterError

Kind = Literal["nll", "p", "q", "cayley", "deft", "only-top-p", "only-bottom-p", "only-top-logp", "only-bottom-logp"]
DEFT_EPS, CAYLEY_EPS = 1e-6, 1e-8  # the repository's denominators
ALPHA_ROWS = 1024  # tokens per chunk of the Σπ² computation
_ALIASES: dict[str, Kind] = {"nll": "nll", "original": "nll", "logp": "nll", "p": "p", "cayley": "cayley",
                             "cayley_trans": "cayley", "deft": "deft"}
_PARAMETRIC: dict[str, Kind] = {"q": "q", "generalfamily": "q", "only-top-p": "only-top-p",
                                "onlytopp": "only-top-p", "only-bottom-p": "only-bottom-p",
                                "onlybottomp": "only-bottom-p", "only-top-logp": "only-top-logp",
                                "onlytoplogp": "only-top-logp", "only-bottom-logp": "only-bottom-logp",
                                "onlybottomlogp": "only-bottom-logp"}
OBJECTIVES = ("nll", "p", "q-<q>", "cayley", "deft", "only-top-p-<τ>", "only-bottom-p-<τ>", "only-top-logp-<τ>",
              "only-bottom-logp-<τ>")


@dataclass(frozen=True)
class Objective:
    kind: Kind
    value: float | None = None  # q, or the threshold τ

    @property
    def name(self) -> str:
        return self.kind if self.value is None else f"{self.kind}-{self.value:g}"


def parse_objective(name: str) -> Objective:
    """An objective by name (module docstring); ParameterError('loss', ...) for anything else."""
    key = name.strip().lower()
    if key in _ALIASES:
        return Objective(_ALIASES[key])
    match = re.fullmatch(r"(.+?)-([0-9.eE+-]+)", key)
    if match is None or match.group(1) not in _PARAMETRIC:
        raise ParameterError("loss", f"{name!r} is not an objective ({', '.join(OBJECTIVES)})")
    kind = _PARAMETRIC[match.group(1)]
    try:
        value = float(match.group(2))
    except ValueError:
        raise ParameterError("loss", f"{name!r}: {match.group(2)!r} is not a number") from None
    if kind == "q" and not value > 0:
        raise ParameterError("loss", f"{name!r}: q must be > 0 (q → 0 is nll)")
    if kind != "q" and not 0 <= value <= 1:
        raise ParameterError("loss", f"{name!r}: the threshold must be in [0, 1]")
    return Objective(kind, value)


@dataclass(frozen=True)
class TokenLoss:
    loss: torch.Tensor  # scalar, differentiable: mean per-token loss over the kept tokens
    alpha: torch.Tensor  # mean gate exponent α over the valid tokens, detached (nll 0, p 1)
    p: torch.Tensor  # mean target probability over the valid tokens, detached
    tokens: torch.Tensor  # number of tokens the loss averages over


def token_loss(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor,
               variant: str | Objective = "deft") -> TokenLoss:
    """The objective `variant` on already shifted `logits` [..., V], `labels` [...] and `mask` [...] (1 where the
    token is trained; labels under mask 0 may be anything, e.g. -100)."""
    objective = variant if isinstance(variant, Objective) else parse_objective(variant)
    if logits.shape[:-1] != labels.shape or labels.shape != mask.shape:
        raise ParameterError("logits", f"shape {tuple(logits.shape)} does not match labels "
                             f"{tuple(labels.shape)} and mask {tuple(mask.shape)} as [..., V], [...], [...]")
    z = logits.reshape(-1, logits.shape[-1])
    # fp32 math without an fp32 copy of the logits: autograd keeps only log π
    logpi = torch.log_softmax(z, -1, dtype=torch.promote_types(z.dtype, torch.float32))
    valid = mask.reshape(-1).to(logpi.dtype)
    logp = logpi.gather(-1, labels.reshape(-1, 1).clamp_min(0)).squeeze(-1)
    p = logp.detach().exp()
    count = valid.sum().clamp_min(1)
    kept = valid
    kind, value = objective.kind, objective.value
    if kind in ("nll", "only-top-logp", "only-bottom-logp"):
        alpha, tok = torch.zeros_like(p), -logp
    elif kind in ("p", "only-top-p", "only-bottom-p"):
        alpha, tok = torch.ones_like(p), -torch.expm1(logp)
    elif kind == "q":
        assert value is not None
        alpha = torch.full_like(p, value)
        tok = -torch.expm1(alpha * logp) / alpha
    elif kind == "deft":
        # Σπ² = exp(logsumexp(2 log π)), in row chunks so that no second [N, V] tensor is held
        alpha = torch.cat([(2 * rows).logsumexp(-1).exp() for rows in logpi.detach().split(ALPHA_ROWS)])
        tok = -torch.expm1(alpha * logp) / (alpha + DEFT_EPS)
    else:  # cayley
        floor = 0.5 * (p * valid).sum() / count
        distance = 1 - p + CAYLEY_EPS
        local = (1 - distance) / (1 + distance + CAYLEY_EPS)
        alpha = (floor + (1 - floor) * local).clamp(1e-3, 1.0)
        tok = -torch.expm1(alpha * logp) / (alpha + CAYLEY_EPS)
    if kind.startswith("only-"):
        assert value is not None
        kept = valid * ((p >= value) if "-top-" in kind else (p <= value)).to(valid.dtype)
    tokens = kept.sum()
    total = torch.where(kept > 0, tok, 0.0).sum()  # where, not a product: no 0·inf from an unused position
    return TokenLoss(loss=total / tokens.clamp_min(1), alpha=(alpha * valid).sum() / count,
                     p=(p * valid).sum() / count, tokens=tokens)
