"""The model registry (docs/algorithms/llm-backends.md §1.1): prompt templates and sampling defaults per model, and
provenance.

A model is looked up by its Hugging Face id, its last path part (`GENIE_en_8b`, as servers started on a local
folder report it) or a short alias (`genie-en`), case-insensitively. Raw-template models (GENIE) are called through
a completions endpoint with `render_prompt`'s text; chat models get the query as the user message and the server
applies their chat template.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from bios_kg.graph.errors import ParameterError


@dataclass(frozen=True)
class Sampling:
    """Sampling defaults of a model; None where the sources give none (the caller's defaults apply)."""

    temperature: float | None = None
    max_tokens: int | None = None
    retries: int = 3
    require_stop: bool = False  # reject a generation whose finish_reason is not "stop"


@dataclass(frozen=True)
class ModelEntry:
    id: str  # Hugging Face id
    used_by: str
    template: str | None = None  # raw prompt with "{query}"; None: a chat model
    sampling: Sampling = field(default_factory=Sampling)
    context_length: int | None = None
    aliases: tuple[str, ...] = ()

    @property
    def chat(self) -> bool:
        return self.template is None


# GENIE's templates: there is no GENIE code repository. The English one is the template of the model card's vLLM
# example as recorded in the project's notes and of every third-party vLLM script found (several, independent);
# the Chinese one (a trailing newline) rests on its model card alone. Neither card could be re-read offline.
# Temperature 0 and 4096 new tokens are this project's defaults (truncated JSON below ~2k), not GENIE's.
MODELS: dict[str, ModelEntry] = {entry.id: entry for entry in (
    ModelEntry("THUMedInfo/GENIE_en_8b", "GENIE extraction, English", template="Human:\n{query}\n\n Assistant:",
               sampling=Sampling(temperature=0.0, max_tokens=4096), context_length=8192, aliases=("genie-en",)),
    ModelEntry("THUMedInfo/GENIE_zh_7b", "GENIE extraction, Chinese", template="Human:\n{query}\n\n Assistant:\n",
               sampling=Sampling(temperature=0.0, max_tokens=4096), context_length=8192, aliases=("genie-zh",)),
    ModelEntry("Qwen/Qwen2.5-72B-Instruct", "DR.EHR abbreviation mining",
               sampling=Sampling(temperature=0.1, max_tokens=512, retries=3, require_stop=True),
               aliases=("qwen2.5-72b",)),
    ModelEntry("meta-llama/Meta-Llama-3.1-8B-Instruct", "DR.EHR stage-2 entity generation",
               sampling=Sampling(temperature=0.1, max_tokens=512), aliases=("llama-3.1-8b",)),
    # chat template with a system prompt whose text the sources do not give: pass one as the backend's `system`
    ModelEntry("baichuan-inc/Baichuan-M1-14B-Instruct", "medical QA, clustering oracle, explanations",
               aliases=("baichuan-m1",)),
)}


def find_model(name: str) -> ModelEntry | None:
    """The registry entry for a model id, its last path part or an alias (case-insensitive); None if unknown."""
    key = name.strip().rstrip("/").lower()
    for entry in MODELS.values():
        names = {entry.id.lower(), entry.id.rsplit("/", 1)[-1].lower(), *entry.aliases}
        if key in names or key.rsplit("/", 1)[-1] in names:
            return entry
    return None


def model_entry(name: str) -> ModelEntry:
    """find_model, or a ParameterError that lists the registry."""
    entry = find_model(name)
    if entry is None:
        known = ", ".join(f"{e.id} ({'/'.join(e.aliases)})" for e in MODELS.values())
        raise ParameterError("model", f"{name!r} is not in the model registry ({known})")
    return entry


def render_prompt(model: str | ModelEntry, query: str) -> str:
    """The prompt text for `query`: the model's raw template filled in (no instruction text added), or the query
    itself for a chat model. `{query}` is replaced literally, so braces in notes are safe."""
    entry = model if isinstance(model, ModelEntry) else model_entry(model)
    return query if entry.template is None else entry.template.replace("{query}", query)


@dataclass(frozen=True)
class Provenance:
    """What produced a generated artefact (docs/algorithms/llm-backends.md §1.2): store `as_dict()` beside it."""

    backend: str
    model: str
    revision: str | None
    template: str | None
    sampling: dict[str, Any]
    date: str  # ISO 8601, UTC

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def provenance(backend: Any, *, template: str | None = None, **sampling: Any) -> Provenance:
    """Provenance of generations by `backend` (an LLMBackend) with these sampling parameters; the template
    defaults to the registry's for the backend's model."""
    entry = find_model(backend.model)
    if template is None and entry is not None:
        template = entry.template
    return Provenance(backend=backend.name, model=backend.model, revision=getattr(backend, "revision", None),
                      template=template, sampling=dict(sampling), date=datetime.now(UTC).isoformat(timespec="seconds"))
