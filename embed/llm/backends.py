"""One interface for every generative LLM of the project, and the registry of backends by name.

Backends: `openai` (any OpenAI-compatible server: vLLM, SGLang, llama.cpp, Baichuan's vLLM fork;
embed/llm/openai_compat.py) and `transformers` (a local causal LM folder; embed/llm/local.py). Add one with
`@BACKENDS.register(name)` on its class or factory, or from another package through the entry-point group
`bios_kg.llm_backends`. Clustering (the LLM oracle, term explanations) and the apps (extraction, retrieval,
`bios llm`) all take a backend from here.

Configuration, read when `get_backend` is given no name or leaves an option out:
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
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from bios_kg.graph.errors import BiosError, ConfigError, ParameterError
from bios_kg.graph.registry import Registry

ENV_PREFIX = "BIOS_LLM_"
ENV_OPTIONS = ("model", "base_url", "api_key", "timeout", "endpoint")  # BIOS_LLM_<OPTION> fills an option left out


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


# name -> a class or factory: `get_backend(name, **options)` calls it with those options (and BIOS_LLM_* ones)
BACKENDS: Registry[Callable[..., LLMBackend]] = Registry("LLM backend", entry_point_group="bios_kg.llm_backends")


def get_backend(name: str | None = None, **options: Any) -> LLMBackend:
    """The backend `name` (None: BIOS_LLM_BACKEND, or `openai` when BIOS_LLM_BASE_URL is set) built with
    `options`; options left out come from BIOS_LLM_<OPTION> where the backend takes them. ConfigError when nothing
    is configured or the name is unknown; ParameterError for an option the backend does not take."""
    if name is None:
        name = os.environ.get(f"{ENV_PREFIX}BACKEND") or ("openai" if os.environ.get(f"{ENV_PREFIX}BASE_URL") else None)
        if name is None:
            raise ConfigError("no LLM backend is configured: set BIOS_LLM_BACKEND (or BIOS_LLM_BASE_URL for an "
                              f"OpenAI-compatible server) or name one of: {', '.join(BACKENDS.names())}")
    factory = BACKENDS.get(name)
    accepted = inspect.signature(factory).parameters
    for option in options:
        if option not in accepted:
            raise ParameterError(option, f"not an option of the {name!r} LLM backend "
                                 f"(options: {', '.join(accepted)})")
    for option in ENV_OPTIONS:
        value = os.environ.get(f"{ENV_PREFIX}{option.upper()}")
        if option in accepted and options.get(option) is None and value:
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


def configured_backend() -> LLMBackend | None:
    """The backend the environment configures, or None when no LLM is configured."""
    if not (os.environ.get(f"{ENV_PREFIX}BACKEND") or os.environ.get(f"{ENV_PREFIX}BASE_URL")):
        return None
    return get_backend()


def generate_one(backend: LLMBackend, prompt: str, **sampling: Any) -> str:
    """The text `backend` generates for one prompt (the oracle's and the explanations' use)."""
    return backend.generate([prompt], **sampling)[0].text


def backend_id(backend: LLMBackend) -> str:
    """`name:model`, recorded as the provenance of what a backend generates."""
    return f"{backend.name}:{backend.model}"
