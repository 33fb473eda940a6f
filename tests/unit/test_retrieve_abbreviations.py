"""DR.EHR's abbreviation step: the LLM answer format, its retries, the rule-based definitions and the filter."""

from __future__ import annotations

from collections.abc import Sequence

from bios_kg.apps.retrieve.abbreviations import (
    PROMPT,
    keep_pairs,
    llm_miner,
    long_form,
    parse_answer,
    without_parentheses,
)
from bios_kg.embed.llm import Generation, LLMError


def test_answers_parse_as_blocks_and_na_means_none() -> None:
    answer = "###ct\n***computed tomography\n\n###WBC\n***white blood cell (count)\n\n###ct\n***other\n\n###lonely"
    assert parse_answer(answer) == {"ct": "computed tomography", "WBC": "white blood cell (count)"}
    assert parse_answer("  NA \n") == {}
    assert PROMPT.startswith("\nReplace the abbreviations of medical entities with their full names")
    assert PROMPT.rstrip().endswith("Here is the note:\n{note}")


class Scripted:
    """Fails as a whole on the first call, then cuts the CHF note's answer on the calls listed in `cut`."""

    name, model = "scripted", "s-1"

    def __init__(self, cut: set[int]) -> None:
        self.calls: list[int] = []
        self.cut = cut

    def generate(self, prompts: Sequence[str], *, max_tokens: int = 512, temperature: float = 0.0,
                 stop: Sequence[str] | None = None) -> list[Generation]:
        self.calls.append(len(prompts))
        assert (max_tokens, temperature) == (512, 0.1)
        if len(self.calls) == 1:
            raise LLMError("busy")
        reason = "length" if len(self.calls) in self.cut else "stop"
        return [Generation("###chf\n***congestive heart failure", reason, self.model) if "CHF" in p
                else Generation("NA", "stop", self.model) for p in prompts]


def test_llm_mining_retries_errors_and_cut_answers() -> None:
    backend = Scripted(cut={2})
    assert llm_miner(backend)(["Hx of CHF.", "No abbreviations."]) == [{"chf": "congestive heart failure"}, {}]
    assert backend.calls == [2, 2, 1]
    stubborn = Scripted(cut={2, 3})
    assert llm_miner(stubborn)(["Hx of CHF."]) == [{}]  # an error and two cut answers: no pairs after 3 tries
    assert stubborn.calls == [1, 1, 1]


def test_definitions_in_the_text() -> None:
    assert long_form("Pt with congestive heart failure", "CHF") == "congestive heart failure"
    assert long_form("white blood cell", "WBC") == "white blood cell"
    assert long_form("the patient", "CT") is None
    assert long_form("heart rate", "HR") == "heart rate"


def test_filter_keeps_whole_word_distinct_graph_terms() -> None:
    terms = {"congestive heart failure", "computed tomography", "white blood cell"}
    text = "CHF exacerbation; CT head negative; wbc 12; x-ray"
    pairs = {"CHF": "Congestive heart failure (disorder)", "CT": "computed tomography", "wbc": "wbc",
             "W": "white blood cell", "xr": "x-ray", "MI": "myocardial infarction", "ct": "computed tomography"}
    assert keep_pairs(text, pairs, terms.__contains__) == ["congestive heart failure", "computed tomography"]
    assert without_parentheses("a (b (c) d) e (f") == "a  e "
    assert without_parentheses("a) b") == "a) b"
