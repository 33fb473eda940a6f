"""The hook through which clustering reaches a large language model: a registry of text generators by name.

The project's LLM backends (apps/llm, llm-backends.md) register themselves here with `register_llm_backend`;
nothing is registered by default and nothing here opens a network connection. Asking for a backend that is not
registered is a ConfigError that says which are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from bios_kg.graph.errors import ConfigError


class TextGenerator(Protocol):
    model_id: str  # recorded as provenance of what it generates

    def generate(self, prompt: str) -> str: ...


LLM_BACKENDS: dict[str, Callable[[], TextGenerator]] = {}


def register_llm_backend(name: str) -> Callable[[Callable[[], TextGenerator]], Callable[[], TextGenerator]]:
    """Decorator: `name` resolves to the generator the function builds (called when first asked for)."""
    def register(factory: Callable[[], TextGenerator]) -> Callable[[], TextGenerator]:
        LLM_BACKENDS[name] = factory
        return factory
    return register


def load_llm_backend(name: str) -> TextGenerator:
    if name not in LLM_BACKENDS:
        known = ", ".join(sorted(LLM_BACKENDS)) or "none"
        raise ConfigError(f"no LLM backend {name!r} is configured (registered: {known}); the LLM oracle and LLM "
                          "explanations need one registered with bios_kg.embed.cluster.llm.register_llm_backend")
    return LLM_BACKENDS[name]()
