"""Generative LLMs: one backend interface, the registry of backends by name (`openai`, `transformers`), the model
registry (prompt templates, sampling defaults) and provenance. Clustering and the apps import them from here; SFT
and the `bios llm` commands are apps (bios_kg.apps.llm). torch is imported only when a local model is loaded."""

from bios_kg.embed.llm.backends import (
    BACKENDS,
    Generation,
    LLMBackend,
    LLMError,
    backend_id,
    configured_backend,
    generate_one,
    get_backend,
)
from bios_kg.embed.llm.local import TransformersBackend
from bios_kg.embed.llm.models import (
    MODELS,
    ModelEntry,
    Provenance,
    Sampling,
    find_model,
    model_entry,
    provenance,
    render_prompt,
)
from bios_kg.embed.llm.openai_compat import OpenAIBackend

__all__ = ["BACKENDS", "MODELS", "Generation", "LLMBackend", "LLMError", "ModelEntry", "OpenAIBackend", "Provenance",
           "Sampling", "TransformersBackend", "backend_id", "configured_backend", "find_model", "generate_one",
           "get_backend", "model_entry", "provenance", "render_prompt"]
