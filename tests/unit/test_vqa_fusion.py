"""The retrieval-attention fusion (V2), its V1 ablation and the ITC loss: shapes and masking."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bios_kg.apps.vqa.model import RetrievalFusion, StreamLayer, ViT, load_vision_weights
from bios_kg.graph.errors import ConfigError, ParameterError
from tests.support.vqa import tiny_config

B, R, T, P, DT = 2, 3, 5, 5, 12


def inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    text = torch.randn(B, R, T, DT, generator=generator)
    mask = torch.ones(B, R, T, dtype=torch.bool)
    mask[:, :, 4] = False  # one padding token everywhere
    image = torch.randn(B, R, P, 16, generator=generator)
    pairs = torch.tensor([[True, True, True], [True, True, False]])  # example 1 has one retrieved pair only
    return text, mask, image, pairs


def fusion(kind: str, n: int = R - 1) -> RetrievalFusion:
    torch.manual_seed(0)
    return RetrievalFusion(tiny_config("unused", fusion=kind, retrieval_count=n, hidden=16), DT).eval()


@pytest.mark.parametrize("kind", ["v2", "v1"])
def test_output_shapes(kind: str) -> None:
    text_cls, image_mean = fusion(kind)(*inputs())
    assert text_cls.shape == (B, 16) and image_mean.shape == (B, 16)
    assert torch.isfinite(text_cls).all() and torch.isfinite(image_mean).all()


@pytest.mark.parametrize("kind", ["v2", "v1"])
def test_masked_pairs_and_padding_do_not_count(kind: str) -> None:
    module = fusion(kind)
    text, mask, image, pairs = inputs()
    before = module(text, mask, image, pairs)
    text2, image2 = text.clone(), image.clone()
    text2[1, 2] += 100.0  # the missing pair of example 1
    image2[1, 2] -= 100.0
    text2[:, :, 4] = 7.0  # padding tokens
    after = module(text2, mask, image2, pairs)
    for old, new in zip(before, after, strict=True):
        assert torch.allclose(old, new, atol=1e-5)


@pytest.mark.parametrize("kind", ["v2", "v1"])
def test_retrieved_pairs_change_the_answer_input(kind: str) -> None:
    module = fusion(kind)
    text, mask, image, pairs = inputs()
    before = module(text, mask, image, pairs)
    image2 = image.clone()
    image2[0, 1] += 3.0  # a real retrieved pair of example 0
    after = module(text, mask, image2, pairs)
    assert not torch.allclose(before[0][0], after[0][0], atol=1e-4)
    assert torch.allclose(before[0][1], after[0][1], atol=1e-5)  # example 1 untouched


def test_v2_attends_over_cls_only_when_retrieving() -> None:
    with_retrieval = fusion("v2")
    assert all(isinstance(layer, StreamLayer) and layer.retrieval_attn is not None
               for layer in with_retrieval.text_layers)
    assert all(layer.retrieval_attn is None for layer in fusion("v2", n=0).text_layers)
    assert not hasattr(with_retrieval, "retrieve_id") and hasattr(fusion("v1"), "retrieve_id")


def test_v2_without_retrieval_ignores_nothing_but_the_query() -> None:
    module = fusion("v2", n=0)
    text, mask, image, _ = inputs()
    text_cls, image_mean = module(text[:, :1], mask[:, :1], image[:, :1], torch.ones(B, 1, dtype=torch.bool))
    assert text_cls.shape == (B, 16) and image_mean.shape == (B, 16)


def test_vit_tokens() -> None:
    tokens = ViT(tiny_config("unused"))(torch.zeros(3, 3, 16, 16))
    assert tokens.shape == (3, 1 + 4, 16)


@pytest.mark.parametrize(("changes", "parameter"), [
    ({"fusion": "v3"}, "fusion"), ({"image_size": 20}, "image_size"), ({"retrieval_count": 100}, "retrieval_count"),
    ({"hidden": 15}, "hidden")])
def test_config_errors_name_the_parameter(changes: dict[str, object], parameter: str) -> None:
    with pytest.raises(ParameterError) as error:
        tiny_config("unused", **changes)
    assert error.value.name == parameter


def test_vision_weights_load_from_a_local_file(tmp_path: Path) -> None:
    source = ViT(tiny_config("unused"))
    torch.save({f"vision.{key}": value for key, value in source.state_dict().items()}, tmp_path / "vit.pt")
    target = ViT(tiny_config("unused"))
    assert load_vision_weights(target, tmp_path / "vit.pt") == len(source.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(source.state_dict().values(), target.state_dict().values(),
                                                  strict=True))
    torch.save({"other.weight": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ConfigError, match="none of its 1 tensors fits"):
        load_vision_weights(target, tmp_path / "other.pt")
    (tmp_path / "broken.pt").write_bytes(b"nope")
    with pytest.raises(ConfigError, match="not a readable weights file"):
        load_vision_weights(target, tmp_path / "broken.pt")


@pytest.mark.parametrize("published", [False, True])
def test_v2_retrieval_attention_replaces_or_adds_to_cls(published: bool) -> None:
    # RAMM's code adds the attention block's output to CLS: cls + LN(cls + attn); the default replaces CLS
    torch.manual_seed(0)
    layer = StreamLayer(16, 2, 0.0, retrieval=True, add_retrieval=published).eval()
    seen: dict[str, torch.Tensor] = {}
    layer.norms[1].register_forward_hook(lambda _m, _i, out: seen.__setitem__("cross", out))
    layer.norms[3].register_forward_pre_hook(lambda _m, args: seen.__setitem__("before_ffn_norm", args[0]))
    with torch.no_grad():  # zero FFN: the last norm's input is the state after the retrieval attention
        last = layer.ffn[-1]
        assert isinstance(last, torch.nn.Linear)
        last.weight.zero_()
        last.bias.zero_()
        x, other = torch.randn(B * R, T, 16), torch.randn(B * R, P, 16)
        pair_pad = torch.tensor([[False, False, False], [False, False, True]])
        layer(x, torch.zeros(B * R, T, dtype=torch.bool), other, torch.zeros(B * R, P, dtype=torch.bool), pair_pad)
        cls = seen["cross"][:, 0].reshape(B, R, 16)
        assert layer.retrieval_attn is not None
        attended = layer.retrieval_attn(cls, cls, cls, key_padding_mask=pair_pad, need_weights=False)[0]
        block = layer.norms[2](cls + attended)
        expected = (cls + block) if published else block
    torch.testing.assert_close(seen["before_ffn_norm"][:, 0], expected.reshape(B * R, 16))
    torch.testing.assert_close(seen["before_ffn_norm"][:, 1:], seen["cross"][:, 1:])  # other tokens untouched
