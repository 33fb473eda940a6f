"""One interface for every generative LLM of the project, and the registry of backends by name.

Backends: `openai` (any OpenAI-compatible server: vLLM, SGLang, llama.cpp, Baichuan's vLLM fork;
embed/llm/openai_compat.py) and `transformers` (a local causal LM folder; embed/llm/local.py). Add one with
`@BACKENDS.register(name)` on its class or factory, or from another package through the entry-point group
`bios_kg.llm_backends`. Clustering (the LLM oracle, term explanations) and the apps (extraction, retrieval,
`bios llm`) all take a backend from here.

Configuration (`LlmSettings`, the `llm` group of the project's settings), used when `get_backend` is given no name
or leaves an option out:
- BIOS_LLM_BACKEND   backend name (default `openai` when BIOS_LLM_BASE_URL is set)
- BIOS_LLM_BASE_URL  server URL including /v1, e.g. http://127.0.0.1:8000/v1 (openai)
- BIOS_LLM_MODEL     served model id (openai; default: the server's only model) or a model folder (transformers)
- BIOS_LLM_API_KEY   bearer token (openai)
- BIOS_LLM_TIMEOUT   seconds per request (openai)
- BIOS_LLM_ENDPOINT  `completions` or `chat` (openai; default from the model registry)
With none of BIOS_LLM_BACKEND and BIOS_LLM_BASE_URL set no LLM is configured: `configured_backend()` is None and
callers use their offline path (the dictionary extractor).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from bios_kg.graph.errors import BiosError, ConfigError, ParameterError
from bios_kg.graph.registry import Registry
from bios_kg.graph.settings import LlmSettings, load_settings


class LLMError(BiosError):
    """A generation failed: the server refused or was unreachable, or the output was rejected."""


@dataclass(frozen=True)
class Generation:
    text: str
    finish_reason: str  # "stop" | "length" | whatever the server reports
    model: str


@runtime_checkable
class LLMBackend(Protocol):
    name: str  # backend name, e.g. "openai"
    model: str  # model id served

    def generate(self, prompts: Sequence[str], *, max_tokens: int = 512, temperature: float = 0.0,
                 stop: Sequence[str] | None = None) -> list[Generation]: ...


# name -> a class or factory: `get_backend(name, **options)` calls it with those options (and the settings' ones)
BACKENDS: Registry[Callable[..., LLMBackend]] = Registry("LLM backend", entry_point_group="bios_kg.llm_backends")


def get_backend(name: str | None = None, llm_settings: LlmSettings | None = None, **options: Any) -> LLMBackend:
    """The backend `name` (None: the settings' backend, or `openai` when they name a base URL) built with
    `options`; options left out come from `llm_settings` (default: the environment's BIOS_LLM_*, read now) where the
    backend takes them. ConfigError when nothing is configured or the name is unknown; ParameterError for an option
    the backend does not take."""
    configured = llm_settings if llm_settings is not None else load_settings().llm
    if name is None:
        name = configured.backend or ("openai" if configured.base_url else None)
        if name is None:
            raise ConfigError("no LLM backend is configured: set BIOS_LLM_BACKEND (or BIOS_LLM_BASE_URL for an "
                              f"OpenAI-compatible server) or name one of: {', '.join(BACKENDS.names())}")
    factory = BACKENDS.get(name)
    accepted = inspect.signature(factory).parameters
    for option in options:
        if option not in accepted:
            raise ParameterError(option, f"not an option of the {name!r} LLM backend "
                                 f"(options: {', '.join(accepted)})")
    for option, value in configured.options().items():
        if option in accepted and options.get(option) is None:
            options[option] = value
    return factory(**options)


def check_generate_args(prompts: Sequence[str], max_tokens: int, temperature: float) -> None:
    """The argument checks every backend's generate makes."""
    if isinstance(prompts, str):
        raise ParameterError("prompts", "a sequence of prompts, not one string")
    if max_tokens < 1:
        raise ParameterError("max_tokens", f"{max_tokens} is not a positive integer")
    if temperature < 0:
        raise ParameterError("temperature", f"{temperature} is negative")


def configured_backend(llm_settings: LlmSettings | None = None) -> LLMBackend | None:
    """The backend `llm_settings` (default: the environment's) configure, or None when they configure no LLM."""
    configured = llm_settings if llm_settings is not None else load_settings().llm
    return get_backend(llm_settings=configured) if configured.configured else None


def generate_one(backend: LLMBackend, prompt: str, **sampling: Any) -> str:
    """The text `backend` generates for one prompt (the oracle's and the explanations' use)."""
    return backend.generate([prompt], **sampling)[0].text


def backend_id(backend: LLMBackend) -> str:
    """`name:model`, recorded as the provenance of what a backend generates."""
    return f"{backend.name}:{backend.model}"
