"""The model registry, backend selection by name and environment, and the transformers backend on a tiny LM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bios_kg.embed.llm import (
    Generation,
    LLMBackend,
    TransformersBackend,
    configured_backend,
    find_model,
    get_backend,
    model_entry,
    provenance,
    render_prompt,
)
from bios_kg.graph.errors import ConfigError, ParameterError
from tests.support.llm import tiny_causal_lm

torch.set_num_threads(1)
ENV = ("BIOS_LLM_BACKEND", "BIOS_LLM_BASE_URL", "BIOS_LLM_MODEL", "BIOS_LLM_API_KEY", "BIOS_LLM_TIMEOUT",
       "BIOS_LLM_ENDPOINT")


@pytest.fixture(autouse=True)
def no_llm_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="module")
def local(model_dir: Path) -> TransformersBackend:
    return TransformersBackend(str(model_dir), device="cpu", batch_size=3)


def test_genie_templates_are_the_cards_exactly() -> None:
    assert render_prompt("THUMedInfo/GENIE_en_8b", "Chest pain.") == "Human:\nChest pain.\n\n Assistant:"
    assert render_prompt("THUMedInfo/GENIE_zh_7b", "胸痛。") == "Human:\n胸痛。\n\n Assistant:\n"
    # braces in a note are text, not format fields
    assert render_prompt("genie-en", 'BP {120/80} "x"') == 'Human:\nBP {120/80} "x"\n\n Assistant:'
    assert render_prompt("Qwen2.5-72B-Instruct", "abbr?") == "abbr?"  # chat: the server applies the template


def test_registry_lookup_and_sampling_defaults() -> None:
    genie = model_entry("genie-en")
    assert find_model("/models/GENIE_EN_8B/") is genie and find_model("THUMedInfo/GENIE_en_8b") is genie
    assert (genie.sampling.temperature, genie.sampling.max_tokens, genie.context_length) == (0.0, 4096, 8192)
    qwen = model_entry("Qwen2.5-72B-Instruct")
    assert qwen.chat and (qwen.sampling.temperature, qwen.sampling.max_tokens) == (0.1, 512)
    assert qwen.sampling.retries == 3 and qwen.sampling.require_stop
    assert model_entry("Meta-Llama-3.1-8B-Instruct").sampling.temperature == 0.1
    assert model_entry("baichuan-inc/Baichuan-M1-14B-Instruct").chat
    assert find_model("gpt-2") is None
    with pytest.raises(ParameterError, match="'gpt-2' is not in the model registry"):
        render_prompt("gpt-2", "x")


def test_backend_selection_errors() -> None:
    assert configured_backend() is None
    with pytest.raises(ConfigError, match="no LLM backend is configured"):
        get_backend()
    with pytest.raises(ConfigError, match="unknown LLM backend 'vllm'; known: openai, transformers"):
        get_backend("vllm")
    with pytest.raises(ParameterError, match="^temperatur: not an option of the 'openai'"):
        get_backend("openai", base_url="http://127.0.0.1:9/v1", temperatur=0.1)
    with pytest.raises(ConfigError, match="needs a server URL"):
        get_backend("openai", model="m")
    with pytest.raises(ConfigError, match="needs a model folder"):
        get_backend("transformers")


def test_environment_configures_the_transformers_backend(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIOS_LLM_BACKEND", "transformers")
    monkeypatch.setenv("BIOS_LLM_MODEL", str(model_dir))
    backend = configured_backend()
    assert isinstance(backend, TransformersBackend) and isinstance(backend, LLMBackend)
    assert (backend.name, backend.model) == ("transformers", str(model_dir))
    with pytest.raises(ConfigError, match="cannot load a causal LM"):
        get_backend("transformers", model=str(model_dir / "missing"))


def test_batched_left_padded_greedy_equals_one_by_one(local: TransformersBackend) -> None:
    prompts = ["The patient denies chest pain", "No", "Metformin 500 mg twice daily for", "中文 {x}"]
    batched = local.generate(prompts, max_tokens=12)
    single = [local.generate([prompt], max_tokens=12)[0] for prompt in prompts]
    assert batched == single
    assert all(g.finish_reason == "length" and g.model == local.model for g in batched)
    assert all(len(g.text) > len(s.text) for g, s in zip(batched, local.generate(prompts, max_tokens=4), strict=True))
    assert local.generate([], max_tokens=5) == []


def test_stop_sequences_and_eos(local: TransformersBackend) -> None:
    full = local.generate(["The patient denies"], max_tokens=30)[0].text
    stop = next(ch for ch in full[3:] if ch.strip())
    cut = local.generate(["The patient denies"], max_tokens=30, stop=[stop])[0]
    assert cut == Generation(full[:full.index(stop)], "stop", local.model)
    vocab = len(local.tokenizer)
    head = local.lm.lm_head
    always_eos = torch.nn.Linear(head.in_features, vocab, bias=True)
    with torch.no_grad():
        always_eos.weight.zero_()
        always_eos.bias.zero_()
        always_eos.bias[local.tokenizer.eos_token_id] = 10.0
    local.lm.lm_head = always_eos
    try:
        assert local.generate(["x", "y z"], max_tokens=8) == [Generation("", "stop", local.model)] * 2
    finally:
        local.lm.lm_head = head


def test_sampling_and_argument_checks(local: TransformersBackend) -> None:
    sampled = local.generate(["a", "b", "c", "d"], max_tokens=6, temperature=1.0)
    assert len(sampled) == 4 and all(g.finish_reason in ("stop", "length") for g in sampled)
    with pytest.raises(ParameterError, match="^prompts:"):
        local.generate("one string", max_tokens=4)
    with pytest.raises(ParameterError, match="^max_tokens:"):
        local.generate(["x"], max_tokens=0)
    with pytest.raises(ParameterError, match="^temperature:"):
        local.generate(["x"], temperature=-1)


def test_chat_mode_renders_the_tokenizer_template(model_dir: Path) -> None:
    chat = TransformersBackend(str(model_dir), device="cpu", chat=True, system="Be brief.")
    chat.tokenizer.chat_template = ("{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
                                    "{% if add_generation_prompt %}assistant:{% endif %}")
    raw = TransformersBackend(str(model_dir), device="cpu")
    expected = raw.generate(["system: Be brief.\nuser: chest pain\nassistant:"], max_tokens=8)
    assert chat.generate(["chest pain"], max_tokens=8) == expected


def test_provenance_records_model_template_and_sampling(local: TransformersBackend) -> None:
    record = provenance(local, template=model_entry("genie-en").template, temperature=0.0, max_tokens=4096)
    data = record.as_dict()
    assert data["backend"] == "transformers" and data["model"] == local.model
    assert data["template"] == "Human:\n{query}\n\n Assistant:"
    assert data["sampling"] == {"temperature": 0.0, "max_tokens": 4096} and data["date"].endswith("+00:00")
    json.dumps(data)


def test_baichuan_flash_import_error_is_explained(model_dir: Path, tmp_path: Path) -> None:
    """A remote-code model that imports `_flash_supports_window_size`, as Baichuan-M1's modeling file does."""
    folder = tmp_path / "baichuan-like"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (folder / name).write_bytes((model_dir / name).read_bytes())
    config = json.loads((model_dir / "config.json").read_text())
    config.update(model_type="bios_baichuan_probe", architectures=["ProbeForCausalLM"],
                  auto_map={"AutoConfig": "configuration_probe.ProbeConfig",
                            "AutoModelForCausalLM": "modeling_probe.ProbeForCausalLM"})
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "configuration_probe.py").write_text(
        "from transformers import LlamaConfig\n\n\nclass ProbeConfig(LlamaConfig):\n"
        "    model_type = 'bios_baichuan_probe'\n")
    (folder / "modeling_probe.py").write_text(
        "from transformers.modeling_flash_attention_utils import _flash_supports_window_size\n"
        "from transformers import LlamaForCausalLM\n\n\nclass ProbeForCausalLM(LlamaForCausalLM):\n    pass\n")
    with pytest.raises(ConfigError, match="imports _flash_supports_window_size .* Baichuan's vLLM fork"):
        TransformersBackend(str(folder), device="cpu", trust_remote_code=True)
