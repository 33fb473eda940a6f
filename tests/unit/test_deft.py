"""DEFT's objectives (docs/algorithms/deft.md §2-§3) checked against their formulas: values, and gradients by autograd
and by central finite differences in float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bios_kg.apps.llm.deft import Objective, parse_objective, token_loss
from bios_kg.graph.errors import ParameterError

torch.set_num_threads(1)
N, V = 7, 11


def batch(scale: float = 3.0, seed: int = 0, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    logits = (torch.randn(N, V, generator=generator) * scale).to(dtype)
    labels = torch.randint(0, V, (N,), generator=generator)
    mask = torch.tensor([1, 1, 0, 1, 1, 0, 1])
    labels[mask == 0] = -100  # ignored positions carry the usual ignore index
    return logits, labels, mask


def gradient(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor, variant: str) -> torch.Tensor:
    z = logits.clone().requires_grad_(True)
    token_loss(z, labels, mask, variant).loss.backward()
    assert z.grad is not None
    return z.grad


def gate_times_error(logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor,
                     alpha: torch.Tensor) -> torch.Tensor:
    """docs/algorithms/deft.md §2.2: ∇_z L = −p^α (e_y − π) per valid token, divided by the number of valid tokens."""
    pi = logits.softmax(-1)
    onehot = F.one_hot(labels.clamp_min(0), V).to(logits.dtype)
    p = (pi * onehot).sum(-1)
    grad = -(p ** alpha)[:, None] * (onehot - pi)
    return grad * mask[:, None] / mask.sum()


def sum_p2_softmax(logits: torch.Tensor) -> torch.Tensor:
    return logits.softmax(-1).pow(2).sum(-1)  # the repository's form


def test_alpha_to_zero_reproduces_cross_entropy_value_and_gradient() -> None:
    logits, labels, mask = batch()
    ce = F.cross_entropy(logits, labels, ignore_index=-100)  # mean over the valid tokens
    assert token_loss(logits, labels, mask, "nll").loss.item() == pytest.approx(ce.item(), rel=1e-12)
    small = token_loss(logits, labels, mask, "q-1e-7").loss
    assert small.item() == pytest.approx(ce.item(), rel=1e-5)
    z = logits.clone().requires_grad_(True)
    F.cross_entropy(z, labels, ignore_index=-100).backward()
    assert z.grad is not None
    torch.testing.assert_close(gradient(logits, labels, mask, "q-1e-7"), z.grad, rtol=1e-5, atol=1e-9)
    torch.testing.assert_close(gradient(logits, labels, mask, "nll"), z.grad, rtol=1e-10, atol=1e-12)


def test_alpha_one_is_one_minus_p() -> None:
    logits, labels, mask = batch()
    p = logits.softmax(-1).gather(-1, labels.clamp_min(0)[:, None]).squeeze(-1)
    expected = ((1 - p) * mask).sum() / mask.sum()
    for variant in ("p", "q-1", "GeneralFamily-1"):
        assert token_loss(logits, labels, mask, variant).loss.item() == pytest.approx(expected.item(), rel=1e-12)


@pytest.mark.parametrize("variant", ["nll", "p", "q-0.3", "deft", "cayley"])
def test_gradient_is_gate_times_error(variant: str) -> None:
    logits, labels, mask = batch(seed=1)
    pi = logits.softmax(-1)
    p = pi.gather(-1, labels.clamp_min(0)[:, None]).squeeze(-1)
    if variant == "deft":
        alpha = sum_p2_softmax(logits)
    elif variant == "cayley":
        floor = 0.5 * p[mask.bool()].mean()
        alpha = (floor + (1 - floor) * p / (2 - p)).clamp(1e-3, 1)
    else:
        alpha = torch.full_like(p, {"nll": 0.0, "p": 1.0, "q-0.3": 0.3}[variant])
    expected = gate_times_error(logits, labels, mask, alpha)
    # the ε in DEFT's and Cayley's denominators scale the gradient by α/(α+ε)
    torch.testing.assert_close(gradient(logits, labels, mask, variant), expected, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("variant", ["q-0.3", "q-2", "p"])
def test_fixed_alpha_gradient_matches_finite_differences(variant: str) -> None:
    logits, labels, mask = batch(seed=2)
    analytic = gradient(logits, labels, mask, variant)
    numeric = torch.zeros_like(logits)
    h = 1e-6
    for i in range(N):
        for j in range(V):
            up, down = logits.clone(), logits.clone()
            up[i, j] += h
            down[i, j] -= h
            numeric[i, j] = (token_loss(up, labels, mask, variant).loss
                             - token_loss(down, labels, mask, variant).loss) / (2 * h)
    torch.testing.assert_close(analytic, numeric, rtol=1e-5, atol=1e-8)
    assert analytic[mask == 0].abs().max() == 0  # masked positions get no gradient


def test_deft_gradient_is_the_fixed_gate_derivative_by_finite_differences() -> None:
    """With α detached, DEFT's gradient at z0 is the derivative of L_α(p(z)) with α frozen at α(z0)."""
    logits, labels, mask = batch(seed=3)
    row, one = logits[:1], torch.ones(1, dtype=torch.long)
    label = labels[:1].clamp_min(0)
    alpha = sum_p2_softmax(row).item()
    analytic = gradient(row, label, one, "deft")
    numeric = torch.zeros_like(row)
    h = 1e-6

    def frozen(z: torch.Tensor) -> float:
        return token_loss(z, label, one, Objective("q", alpha)).loss.item() * alpha / (alpha + 1e-6)

    for j in range(V):
        up, down = row.clone(), row.clone()
        up[0, j] += h
        down[0, j] -= h
        numeric[0, j] = (frozen(up) - frozen(down)) / (2 * h)
    torch.testing.assert_close(analytic, numeric, rtol=1e-5, atol=1e-9)


def test_sum_p2_by_logsumexp_equals_the_softmax_form() -> None:
    logits, labels, _ = batch(scale=20.0, seed=4, dtype=torch.float32)
    everything = torch.ones(N, dtype=torch.long)
    via_softmax = sum_p2_softmax(logits)
    assert token_loss(logits, labels.clamp_min(0), everything, "deft").alpha.item() == pytest.approx(
        via_softmax.mean().item(), rel=1e-5)
    for i in range(N):  # row by row: the reported mean of one token is its α
        alpha = token_loss(logits[i:i + 1], labels[i:i + 1].clamp_min(0), everything[:1], "deft").alpha
        assert alpha.item() == pytest.approx(via_softmax[i].item(), rel=1e-5)
    many = torch.randn(2500, 5, generator=torch.Generator().manual_seed(9)) * 3  # several chunks of rows
    every = torch.ones(2500, dtype=torch.long)
    alpha = token_loss(many, torch.zeros(2500, dtype=torch.long), every, "deft").alpha
    assert alpha.item() == pytest.approx(sum_p2_softmax(many).mean().item(), rel=1e-5)
    flat = torch.zeros(1, V)
    peaked = torch.tensor([[50.0] + [0.0] * (V - 1)])
    label = torch.zeros(1, dtype=torch.long)
    assert token_loss(flat, label, everything[:1], "deft").alpha.item() == pytest.approx(1 / V)
    assert token_loss(peaked, label, everything[:1], "deft").alpha.item() == pytest.approx(1.0)


def test_deft_value_is_the_deformed_log_at_alpha_sum_p2() -> None:
    logits, labels, mask = batch(seed=5)
    p = logits.softmax(-1).gather(-1, labels.clamp_min(0)[:, None]).squeeze(-1)
    alpha = sum_p2_softmax(logits)
    per_token = -(p ** alpha - 1) / (alpha + 1e-6)
    expected = (per_token * mask).sum() / mask.sum()
    result = token_loss(logits, labels, mask, "deft")
    assert result.loss.item() == pytest.approx(expected.item(), rel=1e-10)
    assert result.alpha.item() == pytest.approx((alpha * mask).sum().item() / 5, rel=1e-10)
    assert result.p.item() == pytest.approx((p * mask).sum().item() / 5, rel=1e-10)
    assert result.tokens.item() == 5


def test_cayley_formula_value() -> None:
    logits = torch.log(torch.tensor([[0.8, 0.1, 0.1], [0.2, 0.5, 0.3], [0.6, 0.2, 0.2]], dtype=torch.float64))
    labels = torch.tensor([0, 1, 2])
    mask = torch.tensor([1, 1, 0])
    floor = 0.5 * (0.8 + 0.5) / 2
    expected = []
    for p in (0.8, 0.5):
        d = 1 - p
        alpha = floor + (1 - floor) * (1 - d) / (1 + d)
        expected.append((-(p ** alpha - 1) / alpha, alpha))
    result = token_loss(logits, labels, mask, "Cayley_Trans")
    assert result.loss.item() == pytest.approx(sum(v for v, _ in expected) / 2, rel=1e-6)
    assert result.alpha.item() == pytest.approx(sum(a for _, a in expected) / 2, rel=1e-6)


def test_only_top_and_bottom_keep_their_tokens() -> None:
    logits = torch.log(torch.tensor([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.7, 0.3]], dtype=torch.float64))
    labels = torch.tensor([0, 0, 1, 0])
    mask = torch.tensor([1, 1, 1, 0])  # p = 0.9, 0.4, 0.8 on the valid tokens
    top = token_loss(logits, labels, mask, "OnlyTopP-0.5")
    assert (top.loss.item(), top.tokens.item()) == (pytest.approx((0.1 + 0.2) / 2), 2)
    bottom = token_loss(logits, labels, mask, "only-bottom-logp-0.5")
    assert (bottom.loss.item(), bottom.tokens.item()) == (pytest.approx(-torch.log(torch.tensor(0.4)).item()), 1)
    assert token_loss(logits, labels, mask, "only-top-logp-0.95").loss.item() == 0.0  # none kept


def test_masking_and_dtypes() -> None:
    logits, labels, mask = batch(dtype=torch.bfloat16)
    result = token_loss(logits, labels, mask, "deft")
    assert result.loss.dtype == torch.float32  # fp32 math on bf16 logits
    reference = token_loss(logits.float(), labels, mask, "deft").loss
    assert result.loss.item() == pytest.approx(reference.item(), rel=1e-6)
    changed = logits.clone()
    changed[mask == 0] = 100.0  # what masked positions hold does not matter
    assert token_loss(changed, labels, mask, "deft").loss.item() == pytest.approx(result.loss.item(), rel=1e-6)
    assert token_loss(logits, labels, torch.zeros_like(mask), "cayley").loss.item() == 0.0
    batched = token_loss(logits.reshape(1, N, V), labels.reshape(1, N), mask.reshape(1, N), "deft")
    assert batched.loss.item() == pytest.approx(result.loss.item())
    with pytest.raises(ParameterError, match="^logits: shape"):
        token_loss(logits, labels[:3], mask, "deft")


def test_objective_names() -> None:
    assert parse_objective("original") == parse_objective("LOGP") == Objective("nll")
    assert parse_objective("GeneralFamily-0.5") == Objective("q", 0.5) and Objective("q", 0.5).name == "q-0.5"
    assert parse_objective("OnlyBottomLogP-0.2") == Objective("only-bottom-logp", 0.2)
    assert parse_objective("DEFT").name == "deft" and parse_objective("cayley_trans").name == "cayley"
    for bad in ("focal", "q-0", "q-x", "only-top-p-2", "deft-1"):
        with pytest.raises(ParameterError, match="^loss: "):
            parse_objective(bad)
