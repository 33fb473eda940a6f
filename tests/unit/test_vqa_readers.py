"""Readers of VQA-RAD, SLAKE and PMCPM-style pairs on small files in the released formats; normalization."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bios_kg.apps.vqa.data import (
    AnswerVocab,
    load_image,
    normalize_answer,
    normalize_question,
    read_examples,
    read_pairs,
    read_slake,
    read_vqarad,
)
from bios_kg.graph.errors import InputError


def image(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), 128, dtype=np.uint8)).save(path)


def dump(path: Path, records: object) -> Path:
    path.write_text(json.dumps(records), encoding="utf-8")
    return path


def test_normalization_follows_the_spec() -> None:
    assert normalize_answer(" Right-Sided, (X-ray)!") == "rightsided xray"
    assert normalize_answer("T1/T2") == "t1t2"
    assert normalize_question("Is the left-lung/right lung clear?") == "is the left lung right lung clear"
    long = " ".join(f"w{i}" for i in range(60))
    assert len(normalize_question(long).split()) == 30 and len(normalize_question(long, 50).split()) == 50


def test_vqarad_public_release(tmp_path: Path) -> None:
    image(tmp_path / "images" / "synpic1.jpg")
    records = [
        {"qid": "0", "image_name": "synpic1.jpg", "image_organ": "HEAD", "answer": "Yes", "answer_type": "CLOSED",
         "question_type": "PRES", "question": "Is there a fracture?", "phrase_type": "freeform"},
        {"qid": "1", "image_name": "synpic1.jpg", "image_organ": "HEAD", "answer": "Left temporal lobe",
         "answer_type": "OPEN", "question_type": "POS", "question": "Where is the lesion?",
         "phrase_type": "test_freeform"},
        {"qid": "2", "image_name": "synpic1.jpg", "answer": "no", "question": "Is it normal?"},
    ]
    path = dump(tmp_path / "VQA_RAD Dataset Public.json", records)
    examples = read_vqarad(path, tmp_path / "images")
    assert [(e.qid, e.answer, e.answer_type) for e in examples] == [
        ("0", "yes", "CLOSED"), ("1", "left temporal lobe", "OPEN"), ("2", "no", "CLOSED")]
    assert examples[0].image == tmp_path / "images" / "synpic1.jpg" and examples[0].image_id == "synpic1.jpg"
    assert examples[0].extra == {"image_organ": "HEAD", "question_type": "PRES", "phrase_type": "freeform"}
    assert [e.qid for e in read_vqarad(path, tmp_path / "images", split="test")] == ["1"]
    assert [e.qid for e in read_vqarad(path, tmp_path / "images", split="train")] == ["0", "2"]
    vocab = AnswerVocab.from_examples(examples)
    assert (vocab.closed, vocab.open) == (["no", "yes"], ["left temporal lobe"])
    assert vocab.index("OPEN", "left temporal lobe") == 0 and vocab.index("OPEN", "brain") == -1


def test_slake_keeps_english_questions(tmp_path: Path) -> None:
    image(tmp_path / "imgs" / "xmlab1" / "source.jpg")
    base = {"img_id": 1, "img_name": "xmlab1/source.jpg", "location": "Lung", "modality": "CT",
            "base_type": "vqa", "content_type": "Modality", "triple": ["vhead", "_", "_"]}
    records = [{**base, "qid": 5, "question": "Which modality is used?", "answer": "CT", "q_lang": "en",
                "answer_type": "OPEN"},
               {**base, "qid": 6, "question": "这是什么模态?", "answer": "CT", "q_lang": "zh", "answer_type": "OPEN"},
               {**base, "qid": 7, "question": "Is this a CT?", "answer": "Yes", "q_lang": "en",
                "answer_type": "CLOSED"}]
    path = dump(tmp_path / "train.json", records)
    examples = read_slake(path)
    assert [(e.qid, e.question, e.answer, e.answer_type) for e in examples] == [
        ("5", "which modality is used", "ct", "OPEN"), ("7", "is this a ct", "yes", "CLOSED")]
    assert examples[0].image_id == "1" and examples[0].extra["location"] == "Lung"
    assert [e.qid for e in read_examples(path)] == ["5", "7"]


def test_pairs_expand_caption_lists(tmp_path: Path) -> None:
    image(tmp_path / "figs" / "a.png")
    image(tmp_path / "figs" / "b.png")
    path = dump(tmp_path / "pmc_patients_multimodal_train.json", [
        {"image": "figs/a.png", "caption": ["CT of the chest.", "Axial slice."], "image_id": "PMC1_1"},
        {"image": "figs/b.png", "caption": "MRI of the knee."}])
    pairs = read_pairs(path)
    assert [(p.caption, p.image_id) for p in pairs] == [
        ("CT of the chest.", "PMC1_1"), ("Axial slice.", "PMC1_1"), ("MRI of the knee.", "figs/b.png")]
    assert pairs[2].image == tmp_path / "figs" / "b.png"


@pytest.mark.parametrize(("content", "message"), [
    ("{\"a\": 1}", "expected a JSON list"),
    ("[1, 2", "not JSON"),
    (json.dumps([{"image_name": "x.png", "answer": "yes"}]), "record 0: missing field 'question'"),
    (json.dumps([{"image_name": "missing.png", "question": "q", "answer": "yes"}]), "missing.png does not exist"),
    (json.dumps([{"image_name": "ok.png", "question": "q", "answer": "a", "answer_type": "MAYBE"}]),
     "answer_type 'MAYBE'"),
])
def test_bad_files_name_file_and_record(tmp_path: Path, content: str, message: str) -> None:
    image(tmp_path / "ok.png")
    image(tmp_path / "x.png")
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as error:
        read_vqarad(path, tmp_path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_bad_caption_and_unreadable_image(tmp_path: Path) -> None:
    image(tmp_path / "a.png")
    with pytest.raises(InputError, match="record 0: caption must be"):
        read_pairs(dump(tmp_path / "p.json", [{"image": "a.png", "caption": ["ok", 3]}]))
    (tmp_path / "fake.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="fake.png: not a readable image"):
        load_image(tmp_path / "fake.png", 16)
    tensor = load_image(tmp_path / "a.png", 16)
    assert tensor.shape == (3, 16, 16)
