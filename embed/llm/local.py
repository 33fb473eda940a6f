"""The `transformers` backend: a causal LM loaded in this process from a folder (or a hub id when online).

Prompts are generated in batches of `batch_size` with left padding; temperature 0 is greedy decoding. A chat model
(`chat=True`, default: the registry says so and the tokenizer has a chat template) gets the prompt as the user
message through the tokenizer's chat template; otherwise the prompt text is used as given, after the tokenizer's
special tokens (a BOS where the model has one, as servers add it). Generation ends at an EOS token ("stop"), at a
stop sequence ("stop", the sequence cut off) or at max_tokens ("length").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bios_kg.embed.llm.backends import BACKENDS, Generation, check_generate_args
from bios_kg.embed.llm.models import find_model
from bios_kg.graph.errors import ConfigError, ParameterError

BAICHUAN_IMPORT = "_flash_supports_window_size"


@BACKENDS.register("transformers")
class TransformersBackend:
    name = "transformers"

    def __init__(self, model: str | None = None, device: str = "auto", dtype: str = "auto", batch_size: int = 8,
                 chat: bool | None = None, system: str | None = None, trust_remote_code: bool = False) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from bios_kg.embed.encoders import resolve_device

        if not model:
            raise ConfigError("the transformers LLM backend needs a model folder: model= or BIOS_LLM_MODEL")
        if batch_size < 1:
            raise ParameterError("batch_size", f"{batch_size} is not a positive integer")
        self.model = model
        self.batch_size, self.system = batch_size, system
        self.device = resolve_device(device)
        remote = {"trust_remote_code": trust_remote_code}
        try:
            self.tokenizer: Any = AutoTokenizer.from_pretrained(model, **remote)
            lm: Any = AutoModelForCausalLM.from_pretrained(model, dtype=_dtype(dtype, self.device), **remote)
        except ImportError as exc:
            if BAICHUAN_IMPORT in str(exc):
                raise ConfigError(
                    f"{model}: the model's remote code imports {BAICHUAN_IMPORT} from "
                    "transformers.modeling_flash_attention_utils, which this transformers/flash-attn pair lacks "
                    "(Baichuan-M1-14B issues #3, #7). Serve it with Baichuan's vLLM fork (v0.6.6.post1, "
                    "`vllm serve baichuan-inc/Baichuan-M1-14B-Instruct --trust-remote-code`) and use the openai "
                    f"backend, or pin the transformers version its README names. ({exc})") from exc
            raise ConfigError(f"{model}: cannot load the model: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{model}: cannot load a causal LM and tokenizer: {exc}") from exc
        self.lm: Any = lm.to(self.device).eval()
        self.revision: str | None = getattr(self.lm.config, "_commit_hash", None)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        entry = find_model(model)
        has_template = getattr(self.tokenizer, "chat_template", None) is not None
        self.chat = chat if chat is not None else bool(entry is not None and entry.chat and has_template)
        eos = self.lm.generation_config.eos_token_id
        eos_ids = eos if isinstance(eos, list) else [eos] if eos is not None else []
        self._ends = {*eos_ids, self.tokenizer.eos_token_id, self.tokenizer.pad_token_id} - {None}

    def __repr__(self) -> str:
        return f"TransformersBackend({self.model!r}, device={str(self.device)!r}, chat={self.chat})"

    def generate(self, prompts: Sequence[str], *, max_tokens: int = 512, temperature: float = 0.0,
                 stop: Sequence[str] | None = None) -> list[Generation]:
        check_generate_args(prompts, max_tokens, temperature)
        texts = [self._render(prompt) for prompt in prompts]
        results: list[Generation] = []
        for start in range(0, len(texts), self.batch_size):
            results.extend(self._generate_batch(texts[start:start + self.batch_size], max_tokens, temperature, stop))
        return results

    def _render(self, prompt: str) -> str:
        if not self.chat:
            return prompt
        messages = [{"role": "system", "content": self.system}] if self.system else []
        rendered = self.tokenizer.apply_chat_template([*messages, {"role": "user", "content": prompt}],
                                                      tokenize=False, add_generation_prompt=True)
        return str(rendered)

    def _generate_batch(self, texts: list[str], max_tokens: int, temperature: float,
                        stop: Sequence[str] | None) -> list[Generation]:
        import torch

        encoded = self.tokenizer(texts, return_tensors="pt", padding=True,
                                 add_special_tokens=not self.chat).to(self.device)
        options: dict[str, Any] = {"max_new_tokens": max_tokens, "do_sample": temperature > 0,
                                   "pad_token_id": self.tokenizer.pad_token_id}
        if temperature > 0:
            options.update(temperature=temperature, top_p=1.0, top_k=0)
        if stop:
            options.update(stop_strings=list(stop), tokenizer=self.tokenizer)
        with torch.inference_mode():
            output = self.lm.generate(**encoded, **options)
        generations = []
        for row in output[:, encoded["input_ids"].shape[1]:].tolist():
            end = next((i for i, token in enumerate(row) if token in self._ends), None)
            text = self.tokenizer.decode(row[:end], skip_special_tokens=True)
            cut = min((i for i in (text.find(s) for s in stop or ()) if i >= 0), default=None)
            if cut is not None:
                text = text[:cut]
            finish = "stop" if end is not None or cut is not None else "length"
            generations.append(Generation(text=text, finish_reason=finish, model=self.model))
        return generations


def _dtype(name: str, device: Any) -> Any:
    """auto: bf16 on a GPU that supports it, else fp32; or a torch dtype name (float16, bfloat16, float32)."""
    import torch

    if name == "auto":
        cuda_bf16 = device.type == "cuda" and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if cuda_bf16 else torch.float32
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise ParameterError("dtype", f"{name!r} is not auto or a torch floating dtype (bfloat16, float16, float32)")
    return dtype
