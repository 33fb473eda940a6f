"""POST /extract: clinical notes -> entities with assertion, attributes, offsets and linked concepts
(bios_kg.apps.extract).

The extractor runs in a worker process at lower CPU priority (bios_kg.apps.api.extract_worker), opened on the first
request and kept as `app.state.extractor`: the configured LLM backend (GENIE) if any, else the offline dictionary
extractor over the graph (its dictionary is built on that first request, a few seconds on the sample graph, or at
start-up with `bios serve --preload`). At most extract_worker.SLOTS requests are in flight; beyond, 503 with
Retry-After. Linking runs here, with the app's normalizer (bios_kg.apps.api.normalize_routes.get_normalizer).
Limits: at most MAX_NOTES notes of at most MAX_NOTE_CHARS characters each and MAX_REQUEST_CHARS in all per request
(413 beyond); a malformed body or repeated note ids are 422. The request's deadline is checked while it waits for
the worker, between notes (in the worker) and before linking each note (504).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from bios_kg.apps.api.extract_worker import RETRY_AFTER_S, SLOTS, ExtractionWorker, ExtractorBusy, ExtractorUnavailable
from bios_kg.apps.api.limits import Deadline, stopping
from bios_kg.apps.api.models import NON_BLANK, example
from bios_kg.apps.api.normalize_routes import get_normalizer
from bios_kg.apps.api.problems import problem, problem_responses
from bios_kg.apps.api.resources import resource, shared
from bios_kg.apps.extract.link import Linker
from bios_kg.apps.extract.pipeline import NoteResult

MAX_NOTES = 64
MAX_NOTE_CHARS = 20_000
MAX_REQUEST_CHARS = 100_000  # the work budget of one request: extraction and linking grow with the characters

router = APIRouter(tags=["extract"])

_ENTITY = {"phrase": "pleural effusion", "start": 3, "end": 19, "semantic_type": "Disease, Syndrome or Pathologic "
           "Function", "assertion_status": "negated", "body_location": None, "modifier": None, "value": None,
           "unit": None, "purpose": None, "concept_id": "CMEKG:胸腔积液", "concept_name": "pleural effusion",
           "body_location_concept_id": None, "not_applicable": ["value", "unit", "purpose"]}


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NON_BLANK)] = Field(examples=["n1"])
    text: str = Field(description=f"The note, at most {MAX_NOTE_CHARS} characters.",
                      examples=["No pleural effusion. Possible pneumonia in the right lower lobe."])


class ExtractIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra={"examples": [
        {"notes": [{"id": "n1", "text": "No pleural effusion. Possible pneumonia in the right lower lobe."}]}]})

    notes: list[NoteIn] = Field(min_length=1, description=f"At most {MAX_NOTES} notes, {MAX_REQUEST_CHARS} "
                                                          "characters in all.")
    link: bool = Field(True, description="Link phrases and body locations to concepts (consistent semantic type).")


class EntityOut(BaseModel):
    model_config = example(_ENTITY)

    phrase: str
    start: int | None = Field(description="Character offset in the note; null when a generated phrase was not found.")
    end: int | None = Field(description="End offset (exclusive).")
    semantic_type: str | None = Field(description="GENIE's type name.")
    assertion_status: str | None = Field(description="present, negated, possible, historical or family.")
    body_location: str | None
    modifier: str | None
    value: float | str | None
    unit: str | None
    purpose: str | None
    concept_id: str | None = Field(description="The linked concept; null when none of a consistent type is found.")
    concept_name: str | None
    body_location_concept_id: str | None
    not_applicable: list[str] = Field(description="Attributes that do not apply to this entity's type.")


class NoteOut(BaseModel):
    model_config = example({"id": "n1", "entities": [_ENTITY], "problems": []})

    id: str
    entities: list[EntityOut]
    problems: list[dict[str, Any]] = Field(description="GENIE output that failed validation, phrases not found.")


class ExtractOut(BaseModel):
    model_config = example({"extractor": "offline", "results": [{"id": "n1", "entities": [_ENTITY], "problems": []}]})

    extractor: str = Field(description="offline, or genie:<backend>:<model>.")
    results: list[NoteOut] = Field(description="One per note, in order.")


@resource("extractor")
def _open_extractor(app: FastAPI) -> ExtractionWorker:
    settings = app.state.settings
    return ExtractionWorker(settings.connection, settings.llm, stop=stopping(app))


def get_extractor(request: Request) -> ExtractionWorker:
    return shared(request.app, "extractor")  # type: ignore[no-any-return]


_RESPONSES = problem_responses(400, 408, 413, 503, 504)
_RESPONSES[503] |= {"description": f"Service Unavailable (problem document): {SLOTS} extraction requests are already "
                                   "in flight, or the extractor cannot be opened; try again after Retry-After seconds.",
                    "headers": {"Retry-After": {"description": "Seconds to wait before trying again.",
                                                "schema": {"type": "integer"}}}}


@router.post("/extract", response_model=ExtractOut, responses=_RESPONSES)
def extract(request: Request, body: ExtractIn) -> Any:
    """Entities of up to MAX_NOTES (64) notes: GENIE's 8 keys (phrase, semantic_type, assertion_status,
    body_location, modifier, value, unit, purpose) with character offsets and linked concepts."""
    if len(body.notes) > MAX_NOTES:
        return problem(413, "Too many notes", f"at most {MAX_NOTES} notes per request, got {len(body.notes)}",
                       parameter="notes")
    for index, note in enumerate(body.notes):
        if len(note.text) > MAX_NOTE_CHARS:
            return problem(413, "Note too long", f"notes[{index}] ({note.id!r}) has {len(note.text)} characters, at "
                           f"most {MAX_NOTE_CHARS} are allowed", parameter="text")
    characters = sum(len(note.text) for note in body.notes)
    if characters > MAX_REQUEST_CHARS:
        return problem(413, "Request too large", f"the notes hold {characters} characters in all, at most "
                       f"{MAX_REQUEST_CHARS} per request: send them in several requests", parameter="notes")
    ids = [note.id for note in body.notes]
    repeated = sorted({note_id for note_id in ids if ids.count(note_id) > 1})
    if repeated:
        return problem(422, "Invalid parameter", f"id: repeated note ids {', '.join(map(repr, repeated))}",
                       parameter="id")
    try:
        extractor = get_extractor(request)
        deadline = Deadline.of(request)  # for the work, not for opening the extractor (bios serve --preload)
        extractions = extractor.extract([note.text for note in body.notes], deadline)
    except ExtractorBusy as busy:
        return problem(503, "Extractor busy", str(busy), headers={"Retry-After": str(busy.retry_after_s)})
    except ExtractorUnavailable as error:
        return problem(503, "Extractor unavailable", str(error), headers={"Retry-After": str(RETRY_AFTER_S)})
    linker = Linker(get_normalizer(request)) if body.link else None
    results = [NoteResult(note.id, extraction.entities, extraction.problems)
               for note, extraction in zip(body.notes, extractions, strict=True)]
    for index, result in enumerate(results):
        if linker is not None:
            deadline.check(f"linking notes[{index}]")
            linker.link(result.entities)
    return ExtractOut(extractor=extractor.name, results=[NoteOut(**result.line(), problems=result.problems)
                                                         for result in results])
