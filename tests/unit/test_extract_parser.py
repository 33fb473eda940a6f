"""GENIE output parsing, chunking, phrase location and the GENIE extractor over a scripted backend (a test double
for the LLM, answering handwritten GENIE-format outputs; docs/algorithms/genie.md §9)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from bios_kg.apps.extract.genie import GenieExtractor, chunk_spans, is_chinese, locate, parse_genie_output
from bios_kg.apps.extract.records import GENIE_KEYS, Entity
from bios_kg.embed.llm import Generation, LLMBackend
from bios_kg.graph.errors import ParameterError


def genie(phrase: str, **attributes: str) -> dict[str, str]:
    """A GENIE object with every key; attributes default to GENIE's markers."""
    base = {"semantic_type": "Sign, Symptom, or Finding", "assertion_status": "present", "body_location": "null",
            "modifier": "null", "value": "not applicable", "unit": "not applicable", "purpose": "not applicable"}
    return {"phrase": phrase, **base, **attributes}


OBJECTS = [genie("abdominal pain", body_location="Abdominal"),
           genie("metformin", semantic_type="Chemical or Drug", value="500", unit="mg", purpose="diabetes",
                 body_location="not applicable", modifier="not applicable")]


def test_plain_list_normalizes_markers_and_numbers() -> None:
    parsed = parse_genie_output(json.dumps(OBJECTS))
    assert not parsed.problems and not parsed.truncated
    pain, drug = parsed.objects
    assert pain["body_location"] == "Abdominal" and pain["modifier"] is None
    assert pain["value"] is None and pain["not_applicable"] == ["value", "unit", "purpose"]
    assert drug["value"] == 500.0 and isinstance(drug["value"], float) and drug["unit"] == "mg"
    assert drug["not_applicable"] == ["body_location", "modifier"]


def test_fenced_output_with_surrounding_text() -> None:
    text = "Here are the entities:\n```json\n" + json.dumps(OBJECTS, indent=2) + "\n```\nHope this helps!"
    parsed = parse_genie_output(text)
    assert [o["phrase"] for o in parsed.objects] == ["abdominal pain", "metformin"] and not parsed.problems


def test_truncated_list_keeps_complete_objects() -> None:
    text = json.dumps(OBJECTS)
    cut = text[:text.index('"metformin"') + 20]  # inside the second object, as when max_tokens runs out
    parsed = parse_genie_output(cut)
    assert [o["phrase"] for o in parsed.objects] == ["abdominal pain"]
    assert parsed.truncated and "truncated" in parsed.problems[0]["problem"]
    unclosed = parse_genie_output(text[:-1])  # every object complete, the list never closed
    assert len(unclosed.objects) == 2 and unclosed.truncated


def test_units_null_and_textual_values() -> None:
    parsed = parse_genie_output(json.dumps([genie("blood pressure", value="120/80", unit="units: null"),
                                            genie("temperature", value="37.5", unit="°C", modifier="NULL")]))
    bp, temperature = parsed.objects
    assert bp["value"] == "120/80" and bp["unit"] is None and "unit" not in bp["not_applicable"]
    assert temperature["value"] == 37.5 and temperature["modifier"] is None


def test_invalid_objects_go_to_the_problems() -> None:
    missing = {k: v for k, v in genie("cough").items() if k != "purpose"}
    parsed = parse_genie_output(json.dumps([missing, "cough", genie(" "), genie("fever")]))
    assert [o["phrase"] for o in parsed.objects] == ["fever"]
    assert [p["index"] for p in parsed.problems] == [0, 1, 2]
    assert "missing keys: purpose" in parsed.problems[0]["problem"]
    assert parsed.problems[0]["object"] == missing


def test_narrative_output_is_a_problem_not_a_crash() -> None:
    parsed = parse_genie_output("The patient has abdominal pain and should see a doctor.")
    assert parsed.objects == [] and parsed.problems[0]["problem"] == "no JSON list in the output"


def test_assertion_synonyms() -> None:
    parsed = parse_genie_output(json.dumps([genie("fever", assertion_status="Absent"),
                                            genie("allergies", assertion_status="title")]))
    assert [o["assertion_status"] for o in parsed.objects] == ["negated", "title"]


def test_entity_renders_back_to_genie_form() -> None:
    parsed = parse_genie_output(json.dumps(OBJECTS))
    drug = parsed.objects[1]
    entity = Entity(phrase=drug["phrase"], start=0, end=9, semantic_type=drug["semantic_type"],
                    assertion_status="present", value=drug["value"], unit="mg", purpose="diabetes",
                    not_applicable=tuple(drug["not_applicable"]))
    assert entity.genie() == OBJECTS[1]  # 500.0 written back as "500"
    assert tuple(entity.genie()) == GENIE_KEYS


# --- chunking and offsets -----------------------------------------------------------------------------------------
def test_chunks_cut_at_paragraphs_and_sentences_with_overlap() -> None:
    sentence = "The lungs are clear without focal consolidation. "
    text = sentence * 30 + "\n\n" + sentence * 30  # 2,942 characters
    spans = chunk_spans(text, max_chars=1000, overlap=100)
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (start, end), (next_start, _) in zip(spans, spans[1:], strict=False):
        assert end - start <= 1000
        assert text[end - 1] in ". \n"  # cut after a sentence end (or the blank line)
        assert end - 100 <= next_start < end and text[next_start] == "T"  # overlap starts a sentence
    assert chunk_spans("short note") == [(0, 10)]
    with pytest.raises(ParameterError, match="overlap"):
        chunk_spans(text, max_chars=1000, overlap=600)


def test_chinese_chunks_cut_at_full_stops() -> None:
    text = "患者无发热。" * 100
    spans = chunk_spans(text, max_chars=200, overlap=20)
    assert all(text[end - 1] == "。" for _, end in spans[:-1]) and spans[-1][1] == len(text)
    assert is_chinese(text) and not is_chinese("No fever. 无")


def test_locate_prefers_exact_then_later_untaken_occurrences() -> None:
    text = "Effusion on the left. Small effusion on the right."
    assert locate("effusion", text) == (28, 36)  # exact case first
    assert locate("Effusion", text) == (0, 8)
    assert locate("Effusion", text, taken={(0, 8)}) == (28, 36)  # an untaken occurrence before a taken exact one
    assert locate("Effusion", text, taken={(0, 8), (28, 36)}) == (0, 8)
    assert locate("EFFUSION", text, after=10) == (28, 36)
    assert locate("effusion  on the\nright", text) == (28, 49)  # white space runs differ
    assert locate("pneumothorax", text) is None


class ScriptedBackend:
    """An LLMBackend test double: answers each prompt from a table of fixed GENIE outputs."""

    name = "scripted"

    def __init__(self, answers: dict[str, str], model: str = "THUMedInfo/GENIE_en_8b") -> None:
        self.model = model
        self.answers = answers
        self.prompts: list[str] = []

    def generate(self, prompts: Sequence[str], *, max_tokens: int = 512, temperature: float = 0.0,
                 stop: Sequence[str] | None = None) -> list[Generation]:
        self.prompts += prompts
        out = []
        for prompt in prompts:
            key = next(key for key in self.answers if key in prompt)
            out.append(Generation(self.answers[key], "stop", self.model))
        return out


def test_genie_extractor_prompts_parses_locates_and_dedupes() -> None:
    first = "Severe abdominal pain since morning. " * 3
    second = "Metformin 500 mg for diabetes. No fever."
    note = first + second
    answers = {"Metformin": "```json\n" + json.dumps([  # the second chunk: the last sentence of `first`, `second`
                   genie("abdominal pain", modifier="severe"),
                   genie("metformin", semantic_type="Chemical or Drug", value="500", unit="mg", purpose="diabetes"),
                   genie("fever", assertion_status="absent"), genie("nausea")]),
               "Severe abdominal": json.dumps([genie("abdominal pain", modifier="severe")])}
    backend = ScriptedBackend(answers)
    assert isinstance(backend, LLMBackend)
    extractor = GenieExtractor(backend, max_chars=130, overlap=40)
    assert len(extractor.chunks(note)) == 2
    [result] = extractor.extract([note])
    assert backend.prompts[0].startswith("Human:\n") and backend.prompts[0].endswith("\n\n Assistant:")
    assert "Please" not in backend.prompts[0]  # the raw chunk, no instruction
    phrases = [(e.phrase, e.start, e.end) for e in result.entities]
    pain = first.index("abdominal pain")
    later_pain = first.rindex("abdominal pain")
    assert phrases[0] == ("abdominal pain", pain, pain + 14)
    assert ("abdominal pain", later_pain, later_pain + 14) in phrases  # the second chunk's, shifted into the note
    drug = next(e for e in result.entities if e.phrase == "metformin")
    assert note[drug.start:drug.end] == "Metformin" and drug.value == 500.0 and drug.purpose == "diabetes"
    fever = next(e for e in result.entities if e.phrase == "fever")
    assert fever.assertion_status == "negated" and note[fever.start:fever.end] == "fever"
    nausea = next(e for e in result.entities if e.phrase == "nausea")
    assert nausea.start is None and any(p["problem"] == "phrase not found in the text" for p in result.problems)


def test_genie_extractor_dedupes_overlap_duplicates() -> None:
    note = "Cough for two days. " * 8  # 160 characters, two chunks sharing a sentence
    backend = ScriptedBackend({"Cough": json.dumps([genie("Cough")] * 8)})
    extractor = GenieExtractor(backend, max_chars=100, overlap=30)
    [result] = extractor.extract([note])
    starts = [e.start for e in result.entities]
    assert len(starts) == len(set(starts)) == 8  # every occurrence once, though the overlap was read twice


def test_chinese_template_by_script_when_the_model_is_unknown() -> None:
    backend = ScriptedBackend({"发热": "[]", "Fever": "[]"}, model="my-genie")
    GenieExtractor(backend).extract(["患者发热三天。", "Fever for three days."])
    assert backend.prompts == ["Human:\n患者发热三天。\n\n Assistant:\n",
                               "Human:\nFever for three days.\n\n Assistant:"]
