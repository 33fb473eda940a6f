"""VQA and image-text pair records, the released file formats, normalization and the answer vocabulary.

Formats (docs/algorithms/ramm.md §2):
- VQA-RAD: a JSON list of {image_name, question, answer, qid[, answer_type]}; images in one folder. The public
  release (`VQA_RAD Dataset Public.json`) also has answer_type (OPEN / CLOSED) and phrase_type, whose values
  starting with `test` mark its test questions.
- SLAKE: train/validate/test JSON lists of {img_id, img_name, question, answer, q_lang, location, modality,
  answer_type, base_type, content_type, triple, qid}; English only (q_lang == "en"); images under imgs/.
- PMCPM-style pairs: a JSON list of {image, caption: str | list[str][, image_id]}; a list gives one pair per
  caption.
Answers: lowercased, `,.'!?"()*#:;~` stripped, `-` and `/` removed. Questions: the same strip, `-` and `/` ->
space, truncated to 30 words (train) or 50 (test).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import torch

from bios_kg.graph.errors import InputError, ParameterError

AnswerType = Literal["CLOSED", "OPEN"]
ANSWER_TYPES: tuple[AnswerType, ...] = ("CLOSED", "OPEN")
CLOSED_ANSWERS = frozenset({"yes", "no"})
TRAIN_WORDS, TEST_WORDS = 30, 50
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg"})
_STRIP = re.compile(r"[,.'!?\"()*#:;~]")


def normalize_answer(text: str) -> str:
    return _STRIP.sub("", str(text).lower()).replace("-", "").replace("/", "").strip()


def normalize_question(text: str, max_words: int = TRAIN_WORDS) -> str:
    words = _STRIP.sub("", str(text).lower()).replace("-", " ").replace("/", " ").split()
    return " ".join(words[:max_words])


@dataclass
class VQAExample:
    qid: str
    image: Path
    question: str  # normalized
    answer: str  # normalized
    answer_type: AnswerType
    image_id: str  # examples of one image share it (retrieval drops pairs of the same image)
    extra: dict[str, Any] = field(default_factory=dict)  # SLAKE's modality, location, content_type, ...

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "image": str(self.image)}


@dataclass
class Pair:
    image: Path
    caption: str
    image_id: str


def _load_json_list(path: Path) -> list[Any]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(str(path), None, f"cannot read ({error.strerror})") from None
    except ValueError as error:
        raise InputError(str(path), getattr(error, "lineno", None), f"not JSON ({error})") from None
    if not isinstance(data, list):
        raise InputError(str(path), None, f"expected a JSON list of records, got {type(data).__name__}")
    return data


def _field(path: Path, index: int, record: Any, name: str) -> Any:
    if not isinstance(record, dict):
        raise InputError(str(path), None, f"record {index}: expected an object, got {type(record).__name__}")
    value = record.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InputError(str(path), None, f"record {index}: missing field {name!r}")
    return value


def _image(path: Path, index: int, folder: Path, name: str) -> Path:
    image = folder / name
    if not image.is_file():
        raise InputError(str(path), None, f"record {index}: image {image} does not exist")
    return image


def _answer_type(path: Path, index: int, record: dict[str, Any], answer: str) -> AnswerType:
    given = record.get("answer_type")
    if given is None:
        return "CLOSED" if answer in CLOSED_ANSWERS else "OPEN"
    kind = str(given).strip().upper()
    if kind not in ANSWER_TYPES:
        raise InputError(str(path), None, f"record {index}: answer_type {given!r} is not OPEN or CLOSED")
    return kind  # type: ignore[return-value]


def read_vqarad(path: Path, image_dir: Path, split: Literal["all", "train", "test"] = "all",
                test: bool = False) -> list[VQAExample]:
    """A VQA-RAD JSON list; `split` train/test selects by phrase_type (test_freeform, test_para) when the file
    is the public release with both; `test` truncates questions at 50 words instead of 30."""
    path, image_dir = Path(path), Path(image_dir)
    examples = []
    for index, record in enumerate(_load_json_list(path)):
        name = str(_field(path, index, record, "image_name"))
        if split != "all" and str(record.get("phrase_type", "")).startswith("test") != (split == "test"):
            continue
        answer = normalize_answer(_field(path, index, record, "answer"))
        examples.append(VQAExample(
            qid=str(record.get("qid", index)), image=_image(path, index, image_dir, name),
            question=normalize_question(_field(path, index, record, "question"), TEST_WORDS if test else TRAIN_WORDS),
            answer=answer, answer_type=_answer_type(path, index, record, answer), image_id=name,
            extra={key: record[key] for key in ("image_organ", "question_type", "phrase_type") if key in record}))
    return examples


SLAKE_EXTRA = ("location", "modality", "base_type", "content_type", "triple")


def read_slake(path: Path, image_dir: Path | None = None, test: bool = False) -> list[VQAExample]:
    """A SLAKE split file (English questions only); images under `image_dir` (default: imgs/ beside it)."""
    path = Path(path)
    folder = Path(image_dir) if image_dir is not None else path.parent / "imgs"
    examples = []
    for index, record in enumerate(_load_json_list(path)):
        if _field(path, index, record, "q_lang") != "en":
            continue
        name = str(_field(path, index, record, "img_name"))
        answer = normalize_answer(_field(path, index, record, "answer"))
        examples.append(VQAExample(
            qid=str(record.get("qid", index)), image=_image(path, index, folder, name),
            question=normalize_question(_field(path, index, record, "question"), TEST_WORDS if test else TRAIN_WORDS),
            answer=answer, answer_type=_answer_type(path, index, record, answer),
            image_id=str(record.get("img_id", name)),
            extra={key: record[key] for key in SLAKE_EXTRA if key in record}))
    return examples


def read_pairs(path: Path, image_dir: Path | None = None) -> list[Pair]:
    """PMCPM-style {image, caption[, image_id]} records; relative image paths are read under `image_dir`
    (default: the file's folder)."""
    path = Path(path)
    folder = Path(image_dir) if image_dir is not None else path.parent
    pairs: list[Pair] = []
    for index, record in enumerate(_load_json_list(path)):
        image = _image(path, index, folder, str(_field(path, index, record, "image")))
        captions = _field(path, index, record, "caption")
        if isinstance(captions, str):
            captions = [captions]
        if not isinstance(captions, list) or not all(isinstance(c, str) and c.strip() for c in captions):
            raise InputError(str(path), None, f"record {index}: caption must be a string or a list of strings")
        image_id = str(record.get("image_id", record["image"]))
        pairs.extend(Pair(image, caption.strip(), image_id) for caption in captions)
    return pairs


def read_examples(path: Path, image_dir: Path | None = None, test: bool = False) -> list[VQAExample]:
    """A SLAKE-format file (records with q_lang) or a VQA-RAD one (records with image_name)."""
    records = _load_json_list(Path(path))
    if records and isinstance(records[0], dict) and "q_lang" in records[0]:
        return read_slake(path, image_dir, test=test)
    return read_vqarad(path, Path(image_dir) if image_dir is not None else Path(path).parent, test=test)


@dataclass
class AnswerVocab:
    """The answer list of each head: CLOSED answers (yes/no, ...) and OPEN ones; concept ids where linked."""

    closed: list[str]
    open: list[str]
    concepts: dict[str, str] = field(default_factory=dict)  # answer -> concept id

    @classmethod
    def from_examples(cls, examples: Iterable[VQAExample]) -> AnswerVocab:
        answers: dict[AnswerType, set[str]] = {"CLOSED": set(), "OPEN": set()}
        for example in examples:
            answers[example.answer_type].add(example.answer)
        return cls(sorted(answers["CLOSED"]), sorted(answers["OPEN"]))

    def answers(self, kind: AnswerType) -> list[str]:
        return self.closed if kind == "CLOSED" else self.open

    def index(self, kind: AnswerType, answer: str) -> int:
        """The answer's row in its head, or -1 when the vocabulary lacks it (counts as wrong)."""
        answers = self.answers(kind)
        try:
            return answers.index(answer)
        except ValueError:
            return -1

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerVocab:
        return cls(list(data["closed"]), list(data["open"]), dict(data.get("concepts", {})))


def load_image(source: Path | str | BinaryIO, size: int, name: str | None = None) -> torch.Tensor:
    """An image (file or stream) as a [3, size, size] float tensor normalized with CLIP's mean and std."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            rgb = image.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise InputError(name or str(source), None, f"not a readable image ({error})") from None
    return image_tensor(np.array(rgb))


def image_tensor(rgb: np.ndarray) -> torch.Tensor:
    """uint8 [H, W, 3] -> normalized float [3, H, W]."""
    tensor = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float() / 255.0
    mean = torch.tensor(CLIP_MEAN).view(3, 1, 1)
    std = torch.tensor(CLIP_STD).view(3, 1, 1)
    return (tensor - mean) / std


class ImageCache:
    """Images loaded once per path at one size (the sets here are small)."""

    def __init__(self, size: int) -> None:
        if size < 8:
            raise ParameterError("image_size", f"{size} is too small (at least 8)")
        self.size = size
        self._images: dict[Path, torch.Tensor] = {}

    def __call__(self, path: Path) -> torch.Tensor:
        if path not in self._images:
            self._images[path] = load_image(path, self.size)
        return self._images[path]

    def stack(self, paths: Sequence[Path]) -> torch.Tensor:
        return torch.stack([self(path) for path in paths])
