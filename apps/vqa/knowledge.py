"""Knowledge from the graph, linked once and kept in a file so that training and answering run offline.

`link_texts` links the word spans (1-3 words, not all stop words) of questions and captions to concepts with the
normalizer, keeping per text the longest non-overlapping spans whose best concept scores at least `min_score`;
`link_answers` normalizes each whole answer to a concept id. `bios vqa link` writes both to concepts.json in the
dataset folder; a model trained with `knowledge` on appends the concept names to its questions and to the
retrieved captions (`enrich`), and its answer vocabulary carries the answers' concept ids.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from bios_kg.apps.normalize.normalizer import Normalizer
from bios_kg.graph.errors import InputError

CONCEPTS_FILE = "concepts.json"
MAX_SPAN = 3
BATCH = 500
DEFAULT_MIN_SCORE = 0.9
STOP_WORDS = frozenset(
    "a an and any are as at be by can does do for from has have how in is it of on or shown seen the there this "
    "these those to was were what where which who with this image picture scan slice crop taken used".split())
Linked = list[tuple[str, str]]  # (concept id, name)


def spans(text: str) -> list[tuple[int, int, str]]:
    """(first word, end word, span) for every 1-3 word span that is not only stop words."""
    words = text.lower().split()
    out = []
    for start in range(len(words)):
        for end in range(start + 1, min(start + MAX_SPAN, len(words)) + 1):
            if any(word not in STOP_WORDS for word in words[start:end]):
                out.append((start, end, " ".join(words[start:end])))
    return out


def _best(normalizer: Normalizer, queries: Sequence[str], min_score: float) -> dict[str, tuple[str, str]]:
    """query -> (concept id, name) of its best candidate at min_score or above."""
    found: dict[str, tuple[str, str]] = {}
    for start in range(0, len(queries), BATCH):
        for result in normalizer.normalize_batch(queries[start:start + BATCH], k=1):
            if result.candidates and result.candidates[0].score >= min_score:
                top = result.candidates[0]
                found[result.query] = (top.concept_id, top.name or top.matched_term)
    return found


def link_texts(normalizer: Normalizer, texts: Iterable[str], min_score: float = DEFAULT_MIN_SCORE) -> dict[str, Linked]:
    """text -> concepts of its longest non-overlapping linked spans, in text order."""
    texts = list(dict.fromkeys(texts))
    by_text = {text: spans(text) for text in texts}
    best = _best(normalizer, sorted({span for found in by_text.values() for _, _, span in found}), min_score)
    linked: dict[str, Linked] = {}
    for text, found in by_text.items():
        taken: set[int] = set()
        chosen = []
        for start, end, span in sorted(found, key=lambda item: (item[0] - item[1], item[0])):
            if span in best and not taken & set(range(start, end)):
                taken |= set(range(start, end))
                chosen.append((start, best[span]))
        concepts = list(dict.fromkeys(concept for _, concept in sorted(chosen)))
        if concepts:
            linked[text] = concepts
    return linked


def link_answers(normalizer: Normalizer, answers: Iterable[str],
                 min_score: float = DEFAULT_MIN_SCORE) -> dict[str, str]:
    """answer -> concept id, for the answers that normalize to a concept."""
    return {answer: concept for answer, (concept, _) in _best(normalizer, sorted(set(answers)), min_score).items()}


def link_dataset(normalizer: Normalizer, data: Path, min_score: float = DEFAULT_MIN_SCORE) -> dict[str, Any]:
    """Link the questions, answers and captions of the dataset folder `data` (train.json, test.json,
    pretrain.json) into its concepts.json; returns counts and the linked answers."""
    from bios_kg.apps.vqa.data import read_examples, read_pairs

    examples = [e for name in ("train.json", "test.json") if (data / name).is_file()
                for e in read_examples(data / name)]
    pairs = read_pairs(data / "pretrain.json") if (data / "pretrain.json").is_file() else []
    if not examples and not pairs:
        raise InputError(str(data), None, "no train.json, test.json or pretrain.json to link")
    texts = link_texts(normalizer, [e.question for e in examples] + [p.caption for p in pairs], min_score)
    answers = link_answers(normalizer, [e.answer for e in examples], min_score)
    Knowledge(texts, answers).save(data / CONCEPTS_FILE)
    return {"file": str(data / CONCEPTS_FILE), "texts_linked": len(texts), "answers_linked": len(answers),
            "answers": answers}


class Knowledge:
    """Linked concepts read from concepts.json: {"texts": {text: [[id, name], ...]}, "answers": {answer: id}}."""

    def __init__(self, texts: dict[str, Linked] | None = None, answers: dict[str, str] | None = None) -> None:
        self.texts = texts or {}
        self.answers = answers or {}

    @classmethod
    def load(cls, path: Path) -> Knowledge:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            texts = {text: [(str(cid), str(name)) for cid, name in items] for text, items in data["texts"].items()}
            return cls(texts, {str(k): str(v) for k, v in data["answers"].items()})
        except OSError as error:
            raise InputError(str(path), None, f"cannot read ({error.strerror}); run `bios vqa link`") from None
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise InputError(str(path), None, f"not a concepts file ({error})") from None

    def save(self, path: Path) -> None:
        data: dict[str, Any] = {"texts": {text: [list(item) for item in items] for text, items in self.texts.items()},
                                "answers": self.answers}
        Path(path).write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    def enrich(self, text: str) -> str:
        """`text` followed by the names of its linked concepts."""
        concepts = self.texts.get(text)
        return f"{text} [concepts: {'; '.join(name for _, name in concepts)}]" if concepts else text
