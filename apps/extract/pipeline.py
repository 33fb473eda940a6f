"""Notes in, entities out: choosing the extractor, the notes file job (resumable), write-back to the graph, and
distilled SFT pairs.

Input: JSON lines `{"id": "...", "text": "..."}`. Output: JSON lines `{"id", "entities": [Entity.as_dict()]}`, one
per note in input order; a run on an existing output keeps its complete lines and skips their notes. Problems
(GENIE objects that failed validation, phrases not found) go to `<output>.errors.jsonl`, one line each with the
note id.

Write-back (`write_mentions`): `(:Note {id})-[:MENTIONS {phrase, start, end, semantic_type, assertion,
body_location, modifier, value, unit, purpose, method}]->(:Concept)` for each linked entity; a note's earlier
mentions are deleted in the same transaction, so extracting a note again replaces them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bios_kg.apps.extract.genie import DEFAULT_MAX_CHARS, DEFAULT_OVERLAP, GenieExtractor, chunk_spans, is_chinese
from bios_kg.apps.extract.link import Linker
from bios_kg.apps.extract.offline import OfflineExtractor
from bios_kg.apps.extract.queries import CLEAR_MENTIONS, WRITE_MENTIONS
from bios_kg.apps.extract.records import Entity, Extraction, TypeMap
from bios_kg.embed.llm import configured_backend, get_backend, render_prompt
from bios_kg.graph.errors import InputError
from bios_kg.graph.settings import LlmSettings
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.jsonl import json_objects

OFFLINE = "offline"
DEFAULT_BATCH = 32


class Extractor(Protocol):
    name: str

    def extract(self, texts: Sequence[str]) -> list[Extraction]: ...


@dataclass(frozen=True)
class Note:
    id: str
    text: str


@dataclass
class NoteResult:
    id: str
    entities: list[Entity]
    problems: list[dict[str, Any]] = field(default_factory=list)

    def line(self) -> dict[str, Any]:
        return {"id": self.id, "entities": [entity.as_dict() for entity in self.entities]}


def open_extractor(store: GraphStore, backend: str | None = None, type_map: TypeMap | None = None,
                   languages: Sequence[str] = ("en", "zh"), llm: LlmSettings | None = None, **genie: Any) -> Extractor:
    """`offline`, an LLM backend by name (GENIE through bios_kg.embed.llm), or None: the configured LLM backend if
    there is one, else offline; `llm` configures the backend (default: the environment's BIOS_LLM_*). `genie`
    options (max_chars, overlap, max_tokens, batch_size) go to GenieExtractor."""
    if backend is None:
        llm_backend = configured_backend(llm)
        if llm_backend is not None:
            return GenieExtractor(llm_backend, **genie)
    elif backend != OFFLINE:
        return GenieExtractor(get_backend(backend, llm), **genie)
    return OfflineExtractor.open(store, languages=languages, type_map=type_map)


def read_notes(path: Path) -> list[Note]:
    """The notes of a JSON-lines file; InputError naming the line of a bad one or of a repeated id."""
    notes: list[Note] = []
    seen: set[str] = set()
    for number, row in json_objects(path, '{"id": ..., "text": ...}'):
        note_id, text = row.get("id"), row.get("text")
        if not isinstance(note_id, str | int) or isinstance(note_id, bool) or not str(note_id).strip():
            raise InputError(str(path), number, "field 'id' is missing or not a non-empty string or number")
        if not isinstance(text, str):
            raise InputError(str(path), number, "field 'text' is missing or not a string")
        if str(note_id) in seen:
            raise InputError(str(path), number, f"id {note_id!r} repeats an earlier line's")
        seen.add(str(note_id))
        notes.append(Note(str(note_id), text))
    return notes


def extract_notes(notes: Iterable[Note], extractor: Extractor, linker: Linker | None = None,
                  batch_size: int = DEFAULT_BATCH) -> Iterator[NoteResult]:
    """The entities of each note, in order, linked to concepts when a linker is given; notes go to the extractor
    and the linker `batch_size` at a time."""
    batch: list[Note] = []
    for note in notes:
        batch.append(note)
        if len(batch) == batch_size:
            yield from _extract_batch(batch, extractor, linker)
            batch = []
    if batch:
        yield from _extract_batch(batch, extractor, linker)


def _extract_batch(notes: Sequence[Note], extractor: Extractor, linker: Linker | None) -> list[NoteResult]:
    extractions = extractor.extract([note.text for note in notes])
    if linker is not None:
        linker.link([entity for extraction in extractions for entity in extraction.entities])
    return [NoteResult(note.id, extraction.entities, extraction.problems)
            for note, extraction in zip(notes, extractions, strict=True)]


def finished_ids(output: Path) -> set[str]:
    """The note ids of an earlier run's complete lines; a torn last line is cut off the file."""
    if not output.exists():
        return set()
    done: set[str] = set()
    kept = 0
    with output.open("rb") as handle:
        for raw in handle:
            try:
                row = json.loads(raw)
                note_id = row["id"]
            except (ValueError, KeyError, TypeError):
                break
            if not raw.endswith(b"\n"):
                break
            done.add(str(note_id))
            kept += len(raw)
    with output.open("r+b") as handle:
        handle.truncate(kept)
    return done


def errors_path(output: Path) -> Path:
    return output.with_name(output.name + ".errors.jsonl")


def extract_file(input_file: Path, output: Path, extractor: Extractor, linker: Linker | None = None,
                 store: GraphStore | None = None, batch_size: int = DEFAULT_BATCH,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Extract every note of `input_file` into `output` (module docstring), writing mentions to `store` when
    given; `progress(done, total)` after each batch. Returns counts."""
    notes = read_notes(input_file)
    done = finished_ids(output)
    todo = [note for note in notes if note.id not in done]
    counts = {"notes": len(notes), "skipped": len(notes) - len(todo), "extracted": 0, "entities": 0, "linked": 0,
              "problems": 0, "mentions": 0}
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("a", encoding="utf-8") as sink, errors_path(output).open("a", encoding="utf-8") as errors:
        for start in range(0, len(todo), batch_size):
            results = list(extract_notes(todo[start:start + batch_size], extractor, linker, batch_size))
            if store is not None:
                counts["mentions"] += write_mentions(store, results, extractor.name)
            for result in results:
                sink.write(json.dumps(result.line(), ensure_ascii=False) + "\n")
                errors.writelines(json.dumps({"id": result.id, **problem}, ensure_ascii=False) + "\n"
                                  for problem in result.problems)
                counts["entities"] += len(result.entities)
                counts["linked"] += sum(1 for entity in result.entities if entity.concept_id)
                counts["problems"] += len(result.problems)
            sink.flush()
            counts["extracted"] += len(results)
            if progress is not None:
                progress(counts["skipped"] + counts["extracted"], len(notes))
    if counts["problems"] == 0 and errors_path(output).stat().st_size == 0:
        errors_path(output).unlink()
    return counts


def write_mentions(store: GraphStore, results: Sequence[NoteResult], method: str) -> int:
    """Replace the mentions of these notes by their linked entities, in one transaction; returns how many."""
    mentions = [{"note": result.id, "concept": entity.concept_id, "props": {
        "phrase": entity.phrase, "start": entity.start, "end": entity.end, "semantic_type": entity.semantic_type,
        "assertion": entity.assertion_status, "body_location": entity.body_location, "modifier": entity.modifier,
        "value": entity.value, "unit": entity.unit, "purpose": entity.purpose, "method": method}}
        for result in results for entity in result.entities if entity.concept_id]
    with store.transaction() as tx:
        tx.run(CLEAR_MENTIONS, notes=[{"id": result.id, "method": method} for result in results]).consume()
        if mentions:
            tx.run(WRITE_MENTIONS, mentions=mentions).consume()
    return len(mentions)


def distil_sft_pairs(notes: Iterable[Note], extractor: Extractor, max_chars: int = DEFAULT_MAX_CHARS,
                     overlap: int = DEFAULT_OVERLAP) -> Iterator[dict[str, str]]:
    """SFT pairs for a GENIE-style model (bios_kg.apps.llm.sft): per chunk of each note (chunked as GenieExtractor
    does),
    {"id": "<note id>#<chunk>", "prompt": the chunk in GENIE's template, "completion": the extractor's entities as
    GENIE's JSON list}. The prompt is already rendered: train without a template."""
    for note in notes:
        chunks = [note.text[start:end] for start, end in chunk_spans(note.text, max_chars, overlap) if start < end]
        for number, (chunk, extraction) in enumerate(zip(chunks, extractor.extract(chunks), strict=True)):
            completion = json.dumps([entity.genie() for entity in extraction.entities], ensure_ascii=False)
            yield {"id": f"{note.id}#{number}", "prompt": render_prompt("genie-zh" if is_chinese(chunk) else "genie-en",
                                                                        chunk), "completion": completion}
