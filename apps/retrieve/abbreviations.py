"""DR.EHR's stage-1 abbreviation step: mine (abbreviation, full name) pairs per chunk, keep those the filter
accepts, and add the full names to the chunk's entities (then knowledge injection runs over them too).

Mining, by an LLM when one is configured (DR.EHR's `abbr.py`): its instruction (`PROMPT`, verbatim) as the user
message, temperature 0.1, 512 tokens, an answer cut by the token limit or an error retried, 3 tries; "NA" means
none; the answer's blank-line separated blocks give `###abbreviation` then `***full name`, the first full name
of an abbreviation kept. A chunk whose 3 tries all fail gets no pairs.
Without an LLM, rules (this project's, not DR.EHR's): definitions written in the chunk, "long form (SF)" with the
short form's letters found in order in the preceding words (Schwartz and Hearst's rule, the first letter at a
word start), and upper-case tokens (2-10 characters) that the graph holds as an abbreviation term (tty AB),
expanded to the preferred term of that concept.

Filter (DR.EHR's `clean_abbr.py`), on the lower-cased pair: the abbreviation has more than one character, is a
whole word of the lower-cased chunk (`\\b\\w+\\b` words), differs from the full name, and the full name with its
parenthesised parts removed (nested ones too; an unclosed "(" cuts the rest) is a term of the graph (DR.EHR:
its BIOS term list). The kept full name is added in that form.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bios_kg.apps.retrieve.knowledge import KnowledgeGraph
    from bios_kg.embed.llm import LLMBackend

PROMPT = """
Replace the abbreviations of medical entities with their full names in the clinical note below. For one abbreviation, only output once unless it refers to different full names in the note. If no abbreviation is found in the note, please output "NA". Otherwise, output in the following format (only output the terms and nothing else):
###[abbreviation]
***[full name]
...

For example:
###ct
***computed tomography

###wbc
***white blood cell

Now the task begins. Here is the note:
{note}
"""  # noqa: E501 - DR.EHR's instruction, verbatim
TEMPERATURE, MAX_TOKENS, TRIES = 0.1, 512, 3

# texts -> per text, {abbreviation: full name}
Miner = Callable[[Sequence[str]], list[dict[str, str]]]
_WORD = re.compile(r"\b\w+\b")
_DEFINITION = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9-]{1,9})\s*\)")
_UPPER_TOKEN = re.compile(r"\b(?=[A-Z0-9]*[A-Z])[A-Z0-9]{2,10}\b")


def parse_answer(answer: str) -> dict[str, str]:
    """{abbreviation: full name} from an answer in the prompt's block format; {} for "NA"."""
    pairs: dict[str, str] = {}
    if answer.strip() == "NA":
        return pairs
    for block in answer.split("\n\n"):
        lines = [line for line in block.split("\n") if line.strip()]
        if len(lines) < 2:
            continue
        short, full = lines[0].strip("# "), lines[1].strip("* ")
        if short and full and short not in pairs:
            pairs[short] = full
    return pairs


def llm_miner(backend: LLMBackend) -> Miner:
    """Mining by `backend` (module docstring)."""
    from bios_kg.embed.llm import LLMError

    def mine(texts: Sequence[str]) -> list[dict[str, str]]:
        answers: list[str | None] = [None] * len(texts)
        for _ in range(TRIES):
            pending = [i for i, answer in enumerate(answers) if answer is None]
            if not pending:
                break
            try:
                generations = backend.generate([PROMPT.format(note=texts[i]) for i in pending],
                                               max_tokens=MAX_TOKENS, temperature=TEMPERATURE)
            except LLMError:
                continue
            for i, generation in zip(pending, generations, strict=True):
                if generation.finish_reason == "stop":
                    answers[i] = generation.text
        return [parse_answer(answer) if answer is not None else {} for answer in answers]

    return mine


def long_form(before: str, short: str) -> str | None:
    """The long form that "(short)" defines, from the text before it (Schwartz and Hearst): the short form's
    letters and digits found right to left in the last min(|SF| + 5, 2|SF|) words, its first one at a word start."""
    words = before.split()
    candidate = " ".join(words[-min(len(short) + 5, 2 * len(short)):])
    text = candidate.lower()
    position = len(text)
    for index in range(len(short) - 1, -1, -1):
        char = short[index].lower()
        if not char.isalnum():
            continue
        position -= 1
        while position >= 0 and (text[position] != char
                                 or (index == 0 and position > 0 and text[position - 1].isalnum())):
            position -= 1
        if position < 0:
            return None
    found = candidate[position:]
    return found if len(found) > len(short) else None


def rule_miner(knowledge: KnowledgeGraph) -> Miner:
    """Mining without an LLM (module docstring): definitions in the text, graph abbreviation terms."""

    def mine(texts: Sequence[str]) -> list[dict[str, str]]:
        tokens = sorted({token for text in texts for token in _UPPER_TOKEN.findall(text)})
        expansions = knowledge.abbreviation_expansions(tokens)
        out = []
        for text in texts:
            pairs: dict[str, str] = {}
            for match in _DEFINITION.finditer(text):
                full = long_form(text[:match.start()], match.group(1))
                if full:
                    pairs.setdefault(match.group(1), full)
            for token in _UPPER_TOKEN.findall(text):
                if token in expansions:
                    pairs.setdefault(token, expansions[token])
            out.append(pairs)
        return out

    return mine


def without_parentheses(text: str) -> str:
    """`text` without its parenthesised parts (nested ones too); an unclosed "(" cuts the rest; the spaces around a
    removed part stay (DR.EHR's clean_abbr does the same)."""
    out: list[str] = []
    depth = 0
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
        elif depth == 0:
            out.append(char)
    return "".join(out)


def keep_pairs(text: str, pairs: dict[str, str], is_term: Callable[[str], bool]) -> list[str]:
    """The full names the filter accepts (module docstring), in the pairs' order, each once."""
    words = set(_WORD.findall(text.lower()))
    kept: list[str] = []
    for short, full in pairs.items():
        short = short.strip().lower()
        full = without_parentheses(full.strip().lower()).strip()
        if len(short) > 1 and short in words and short != full and is_term(full) and full not in kept:
            kept.append(full)
    return kept
