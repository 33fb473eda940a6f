"""POST /extract: clinical notes -> entities with assertion, attributes, offsets and linked concepts (apps.extract).

The extractor is the app's `app.state.extractor` when set, else opened on the first request and kept: the
configured LLM backend (GENIE) if any, else the offline dictionary extractor over the graph (its dictionary is
built on that first request, a few seconds on the sample graph). Linking uses the app's normalizer
(apps.api.normalize_routes.get_normalizer). Limits: at most MAX_NOTES notes of at most MAX_NOTE_CHARS characters
each per request (413 beyond); a malformed body or repeated note ids are 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from apps.api.models import example
from apps.api.normalize_routes import get_normalizer
from apps.api.problems import problem, problem_responses
from apps.api.resources import shared
from apps.extract.link import Linker
from apps.extract.pipeline import Extractor, Note, extract_notes, open_extractor

MAX_NOTES = 64
MAX_NOTE_CHARS = 20_000

router = APIRouter(tags=["extract"])

_ENTITY = {"phrase": "pleural effusion", "start": 3, "end": 19, "semantic_type": "Disease, Syndrome or Pathologic "
           "Function", "assertion_status": "negated", "body_location": None, "modifier": None, "value": None,
           "unit": None, "purpose": None, "concept_id": "CMEKG:胸腔积液", "concept_name": "pleural effusion",
           "body_location_concept_id": None, "not_applicable": ["value", "unit", "purpose"]}


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")] = Field(examples=["n1"])
    text: str = Field(description=f"The note, at most {MAX_NOTE_CHARS} characters.",
                      examples=["No pleural effusion. Possible pneumonia in the right lower lobe."])


class ExtractIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"notes": [{"id": "n1", "text": "No pleural effusion. Possible pneumonia in the right lower lobe."}]}]})

    notes: list[NoteIn] = Field(min_length=1, description=f"At most {MAX_NOTES} notes.")
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


def get_extractor(request: Request) -> Extractor:
    return shared(request, "extractor", lambda: open_extractor(request.app.state.store))


@router.post("/extract", response_model=ExtractOut, responses=problem_responses(400, 413))
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
    ids = [note.id for note in body.notes]
    repeated = sorted({note_id for note_id in ids if ids.count(note_id) > 1})
    if repeated:
        return problem(422, "Invalid parameter", f"id: repeated note ids {', '.join(map(repr, repeated))}",
                       parameter="id")
    extractor = get_extractor(request)
    linker = Linker(get_normalizer(request)) if body.link else None
    results = extract_notes([Note(note.id, note.text) for note in body.notes], extractor, linker)
    return ExtractOut(extractor=extractor.name, results=[NoteOut(**result.line(), problems=result.problems)
                                                         for result in results])
