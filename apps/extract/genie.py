"""GENIE extraction (docs/algorithms/genie.md): raw note chunks through an LLM backend, the tolerant output parser,
and each generated phrase located in the note.

- Prompt: the chunk itself as `{query}` in the model's template (bios_kg.embed.llm.models.render_prompt), no instruction
  text. The template is the served model's when the registry knows it, else GENIE's English or Chinese one by the
  chunk's script (where those templates come from: bios_kg.embed.llm.models; GENIE has no code repository).
- Chunks: notes longer than `max_chars` (default 4,000) are split at a paragraph break, else a sentence end, else
  white space, with about `overlap` (200) characters shared by neighbours; entities found twice in an overlap
  are kept once.
- Parser (docs/algorithms/genie.md §4): code fences and surrounding text stripped; the list read object by object,
  so a list truncated by max_tokens keeps its complete objects; objects without the 8 keys go to the problems, not
  to the results; "null", "not applicable" and "units: null" become None (with `not_applicable` recording the
  second kind); `value` becomes a float when it reads as one.
- Offsets: each phrase is searched in its chunk (exact, then case- and space-insensitive), after the previous
  entity's start first, at an occurrence no earlier entity took; a phrase not found keeps None offsets and is
  reported as a problem.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from bios_kg.apps.extract.records import ASSERTIONS, ATTRIBUTES, GENIE_KEYS, Entity, Extraction
from bios_kg.embed.llm import LLMBackend, find_model, render_prompt
from bios_kg.embed.llm.models import ModelEntry, model_entry
from bios_kg.graph.errors import ParameterError

DEFAULT_MAX_CHARS = 4000
DEFAULT_OVERLAP = 200
DEFAULT_MAX_TOKENS = 4096
NULL_MARKERS = frozenset({"", "null", "none", "units: null", "unit: null"})
NOT_APPLICABLE_MARKERS = frozenset({"not applicable", "n/a", "na"})
# GENIE's and i2b2's assertion words onto this application's vocabulary; others are kept, lower-cased
ASSERTION_SYNONYMS = {"absent": "negated", "negative": "negated", "negation": "negated", "possibility": "possible",
                      "uncertain": "possible", "history": "historical", "past": "historical",
                      "not associated": "family", "associated with someone else": "family"}

_FENCE = re.compile(r"```[a-zA-Z]*[ \t]*\n?(.*?)(?:```|$)", re.DOTALL)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_SENTENCE = re.compile(r"[.!?;](?=\s)|[。！？；]|\n")
_SPACE = re.compile(r"\s")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_DECODER = json.JSONDecoder()


# --- chunking -----------------------------------------------------------------------------------------------------
def chunk_spans(text: str, max_chars: int = DEFAULT_MAX_CHARS, overlap: int = DEFAULT_OVERLAP) -> list[tuple[int, int]]:
    """(start, end) of the chunks of `text`: each at most `max_chars` long, cut at the last paragraph break, else
    sentence end, else white space in its second half; the next chunk starts at a sentence (else word) start about
    `overlap` characters before the cut."""
    if max_chars < 100:
        raise ParameterError("max_chars", f"must be at least 100, got {max_chars}")
    if not 0 <= overlap <= max_chars // 2:
        raise ParameterError("overlap", f"must be between 0 and max_chars / 2 ({max_chars // 2}), got {overlap}")
    spans: list[tuple[int, int]] = []
    start = 0
    while len(text) - start > max_chars:
        limit = start + max_chars
        end = _last_break(text, start + max_chars // 2, limit) or limit
        spans.append((start, end))
        start = max(_next_start(text, end - overlap, end) if overlap else end, start + 1)
    spans.append((start, len(text)))
    return spans


def _last_break(text: str, low: int, high: int) -> int | None:
    """The end of the last paragraph break, else sentence end, else white space, in text[low:high]."""
    window = text[low:high]
    for pattern in (_PARAGRAPH, _SENTENCE, _SPACE):
        found = [match.end() for match in pattern.finditer(window)]
        if found:
            return low + found[-1]
    return None


def _next_start(text: str, low: int, high: int) -> int:
    """The first sentence start, else word start, in text[low:high]; `low` when there is none."""
    for pattern in (_SENTENCE, _SPACE):
        match = pattern.search(text, low, high)
        if match:
            start = match.end()
            while start < high and text[start].isspace():
                start += 1
            return start
    return low


def is_chinese(text: str) -> bool:
    """Whether Han characters make up at least a fifth of the text's non-space characters."""
    letters = sum(1 for ch in text if not ch.isspace())
    return letters > 0 and len(_CJK.findall(text)) * 5 >= letters


# --- parsing ------------------------------------------------------------------------------------------------------
@dataclass
class ParsedOutput:
    """The valid GENIE objects of one generation, normalized (empty markers to None, value to float where
    numeric, `not_applicable` listing the attributes marked so), and the problems met."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    truncated: bool = False


def parse_genie_output(text: str) -> ParsedOutput:
    """Parse a GENIE generation tolerantly (module docstring)."""
    parsed = ParsedOutput()
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    start = _first_of(body, "[{")
    if start is None:
        parsed.problems.append({"problem": "no JSON list in the output", "text": text[:200]})
        return parsed
    position = start + 1 if body[start] == "[" else start
    index = 0
    while True:
        while position < len(body) and (body[position].isspace() or body[position] == ","):
            position += 1
        if position >= len(body):
            parsed.truncated = True  # the list never closed
            break
        if body[position] == "]":
            break
        try:
            item, position = _DECODER.raw_decode(body, position)
        except ValueError:
            parsed.truncated = True  # cut inside an object: keep the complete ones before it
            parsed.problems.append({"problem": "truncated output: an incomplete object was dropped",
                                    "text": body[position:position + 200]})
            break
        problem = _validate(item)
        if problem:
            parsed.problems.append({"problem": problem, "index": index, "object": item})
        else:
            parsed.objects.append(_normalize(item))
        index += 1
    return parsed


def _first_of(text: str, chars: str) -> int | None:
    positions = [p for p in (text.find(ch) for ch in chars) if p >= 0]
    return min(positions) if positions else None


def _validate(item: Any) -> str | None:
    if not isinstance(item, dict):
        return f"not an object: {type(item).__name__}"
    missing = [key for key in GENIE_KEYS if key not in item]
    if missing:
        return f"missing keys: {', '.join(missing)}"
    if not isinstance(item["phrase"], str) or not item["phrase"].strip():
        return "phrase is not a non-empty string"
    return None


def _normalize(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"phrase": item["phrase"].strip(), "not_applicable": []}
    semantic_type, _ = _empty(item["semantic_type"])
    assertion, _ = _empty(item["assertion_status"])
    out["semantic_type"] = semantic_type
    out["assertion_status"] = None if assertion is None else _assertion(assertion)
    for name in ATTRIBUTES:
        value, applicable = _empty(item[name])
        out[name] = _number(value) if name == "value" and value is not None else value
        if not applicable:
            out["not_applicable"].append(name)
    return out


def _empty(value: Any) -> tuple[str | None, bool]:
    """(the value as text or None, whether the attribute applies)."""
    if value is None:
        return None, True
    text = value.strip() if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    folded = text.casefold()
    if folded in NOT_APPLICABLE_MARKERS:
        return None, False
    return (None, True) if folded in NULL_MARKERS else (text, True)


def _number(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def _assertion(value: str) -> str:
    folded = value.casefold()
    return folded if folded in ASSERTIONS else ASSERTION_SYNONYMS.get(folded, folded)


# --- offsets ------------------------------------------------------------------------------------------------------
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """The phrase, case-insensitive, with any run of white space matching any other."""
    return re.compile(r"\s+".join(re.escape(word) for word in phrase.split()), re.IGNORECASE)


def locate(phrase: str, text: str, after: int = 0, taken: frozenset[tuple[int, int]] | set[tuple[int, int]]
           = frozenset()) -> tuple[int, int] | None:
    """Where `phrase` occurs in `text`: an exact occurrence before a case/space-insensitive one, at or after
    `after` before earlier ones, one not in `taken` before one that is."""
    exact = [(m.start(), m.start() + len(phrase)) for m in re.finditer(re.escape(phrase), text)]
    loose = [(m.start(), m.end()) for m in phrase_pattern(phrase).finditer(text)]
    spans = exact + [span for span in loose if span not in exact]
    if not spans:
        return None
    return min(spans, key=lambda s: (s in taken, s[0] < after, s not in exact, s[0]))


# --- the extractor ------------------------------------------------------------------------------------------------
class GenieExtractor:
    """Extraction by a GENIE model served by an LLM backend (bios_kg.embed.llm)."""

    def __init__(self, backend: LLMBackend, max_chars: int = DEFAULT_MAX_CHARS, overlap: int = DEFAULT_OVERLAP,
                 max_tokens: int = DEFAULT_MAX_TOKENS, batch_size: int = 8) -> None:
        chunk_spans("", max_chars, overlap)  # checks the parameters
        if max_tokens < 1:
            raise ParameterError("max_tokens", f"must be positive, got {max_tokens}")
        if batch_size < 1:
            raise ParameterError("batch_size", f"must be at least 1, got {batch_size}")
        self.backend = backend
        self.max_chars, self.overlap, self.max_tokens, self.batch_size = max_chars, overlap, max_tokens, batch_size
        entry = find_model(backend.model)
        self.model: ModelEntry | None = entry if entry is not None and entry.template is not None else None
        self.name = f"genie:{backend.name}:{backend.model}"

    def template(self, text: str) -> ModelEntry:
        """The served model's registry entry, else GENIE's for the script of `text`."""
        return self.model or model_entry("genie-zh" if is_chinese(text) else "genie-en")

    def chunks(self, text: str) -> list[tuple[int, int]]:
        return chunk_spans(text, self.max_chars, self.overlap)

    def extract(self, texts: Sequence[str]) -> list[Extraction]:
        jobs = [(i, start, end) for i, text in enumerate(texts) for start, end in self.chunks(text) if start < end]
        results = [Extraction([]) for _ in texts]
        for first in range(0, len(jobs), self.batch_size):
            batch = jobs[first:first + self.batch_size]
            prompts = [render_prompt(self.template(texts[i][s:e]), texts[i][s:e]) for i, s, e in batch]
            generations = self.backend.generate(prompts, max_tokens=self.max_tokens, temperature=0.0)
            for (i, start, end), generation in zip(batch, generations, strict=True):
                chunk = f"{start}-{end}"
                parsed = parse_genie_output(generation.text)
                if generation.finish_reason == "length" and not parsed.truncated:
                    parsed.truncated = True
                results[i].problems += [{**problem, "chunk": chunk} for problem in parsed.problems]
                if parsed.truncated:
                    results[i].problems.append({"problem": "output truncated at max_tokens", "chunk": chunk})
                entities = results[i].entities
                for entity in chunk_entities(parsed.objects, texts[i][start:end], start, results[i].problems, chunk):
                    if not any(_same(entity, other) for other in entities):
                        entities.append(entity)
        return results


def chunk_entities(objects: Sequence[dict[str, Any]], chunk: str, offset: int, problems: list[dict[str, Any]],
                   chunk_id: str) -> Iterator[Entity]:
    """Entities of the parsed objects of one chunk, located in it; offsets shifted by `offset` into the note."""
    after = 0
    taken: set[tuple[int, int]] = set()
    for item in objects:
        span = locate(item["phrase"], chunk, after, taken)
        if span is None:
            problems.append({"problem": "phrase not found in the text", "phrase": item["phrase"], "chunk": chunk_id})
            start = end = None
        else:
            taken.add(span)
            after = span[0]
            start, end = span[0] + offset, span[1] + offset
        yield Entity(phrase=item["phrase"], start=start, end=end, semantic_type=item["semantic_type"],
                     assertion_status=item["assertion_status"], **{name: item[name] for name in ATTRIBUTES},
                     not_applicable=tuple(item["not_applicable"]))


def _same(a: Entity, b: Entity) -> bool:
    """The same mention found in two overlapping chunks."""
    return (a.start, a.end, a.phrase.casefold(), a.semantic_type) == (b.start, b.end, b.phrase.casefold(),
                                                                      b.semantic_type)
