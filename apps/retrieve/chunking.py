"""Notes -> ~100-word chunks, as CliniQ's preprocess.py builds its corpus (DR.EHR splits the same way but cleans
more: runs of "___" and of repeated non-word characters, notes under 50 words dropped; not done here).

CliniQ splits with LangChain's `CharacterTextSplitter(separator=" ", chunk_size=100, chunk_overlap=10,
length_function=<word count>)` after cleaning. With a word-count length the separator counts 0, so the splitter
emits windows of `size` words that step by `size - overlap`, the last window ending at the last word; a note of at
most `size` words is one chunk. Chunk ids are `<note id>_<i>` from 0: the part before the first `_` names the note.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bios_kg.graph.errors import InputError, ParameterError
from bios_kg.ingest.jsonl import json_objects

DEFAULT_WORDS, DEFAULT_OVERLAP = 100, 10
_BRACKETS = re.compile(r"\[.*?\]")  # MIMIC de-identification brackets [** … **]
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Chunk:
    id: str
    text: str

    @property
    def note(self) -> str:
        return self.id.split("_", 1)[0]


def clean_note(text: str) -> str:
    """CliniQ's cleaning: drop [...] brackets (within a line), newlines to spaces, collapse spaces, strip; here tabs
    and carriage returns become spaces too (CliniQ's keeps them inside a chunk)."""
    return _SPACES.sub(" ", _BRACKETS.sub("", text)).strip()


def split_words(text: str, size: int = DEFAULT_WORDS, overlap: int = DEFAULT_OVERLAP) -> list[str]:
    """Windows of `size` words overlapping by `overlap` (module docstring); [] for a text without words."""
    if size < 1:
        raise ParameterError("chunk_words", f"{size} is not a positive integer")
    if not 0 <= overlap < size:
        raise ParameterError("overlap", f"{overlap} must be at least 0 and below chunk_words ({size})")
    words = text.split()
    chunks, start = [], 0
    while words:
        chunks.append(" ".join(words[start:start + size]))
        if start + size >= len(words):
            break
        start += size - overlap
    return chunks


def chunk_note(note_id: str, text: str, size: int = DEFAULT_WORDS, overlap: int = DEFAULT_OVERLAP) -> list[Chunk]:
    if "_" in note_id:
        raise ParameterError("note_id", f"{note_id!r} contains '_', which separates the note from the chunk index")
    return [Chunk(f"{note_id}_{i}", piece) for i, piece in enumerate(split_words(clean_note(text), size, overlap))]


def chunk_notes(notes: Iterable[tuple[str, str]], size: int = DEFAULT_WORDS,
                overlap: int = DEFAULT_OVERLAP) -> Iterator[Chunk]:
    for note_id, text in notes:
        yield from chunk_note(note_id, text, size, overlap)


def read_corpus(path: Path) -> list[Chunk]:
    """A BEIR/CliniQ corpus.jsonl: one {"_id", "text"} (optional "title", prepended) per line."""
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for number, row in json_objects(path, '{"_id": …, "text": "…"}'):
        if not isinstance(row.get("_id"), str | int) or not isinstance(row.get("text"), str):
            raise InputError(str(path), number, 'expected {"_id": …, "text": "…"}')
        doc_id = str(row["_id"])
        if doc_id in seen:
            raise InputError(str(path), number, f"duplicate _id {doc_id!r}")
        seen.add(doc_id)
        title = row.get("title") or ""
        chunks.append(Chunk(doc_id, f"{title} {row['text']}".strip() if isinstance(title, str) else row["text"]))
    if not chunks:
        raise InputError(str(path), None, "no documents")
    return chunks


def write_corpus(chunks: Iterable[Chunk], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for chunk in chunks:
            handle.write(json.dumps({"_id": chunk.id, "text": chunk.text}, ensure_ascii=False) + "\n")
            count += 1
    return count
