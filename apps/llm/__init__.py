"""Generative LLMs for the apps (llm-backends.md): backends by name, the model registry, provenance; SFT with DEFT
in bios_kg.apps.llm.sft (torch is imported only there and when a local model is loaded)."""

from bios_kg.apps.llm.backends import (
    BACKENDS,
    Generation,
    LLMBackend,
    LLMError,
    configured_backend,
    get_backend,
    register_backend,
)
from bios_kg.apps.llm.local import TransformersBackend
from bios_kg.apps.llm.models import (
    MODELS,
    ModelEntry,
    Provenance,
    Sampling,
    find_model,
    model_entry,
    provenance,
    render_prompt,
)
from bios_kg.apps.llm.openai_compat import OpenAIBackend

__all__ = ["BACKENDS", "MODELS", "Generation", "LLMBackend", "LLMError", "ModelEntry", "OpenAIBackend", "Provenance",
           "Sampling", "TransformersBackend", "configured_backend", "find_model", "get_backend", "model_entry",
           "provenance", "register_backend", "render_prompt"]
