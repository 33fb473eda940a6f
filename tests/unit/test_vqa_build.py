"""The VQA set built from real packaged images: answers follow from how each image was made."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bios_kg.apps.vqa import build
from bios_kg.apps.vqa.build import INVESALIUS, ImageSource, Render, build_dataset, captions, questions, read_invesalius
from bios_kg.apps.vqa.data import read_pairs, read_slake
from bios_kg.graph.errors import ConfigError, ParameterError
from bios_kg.graph.registry import Registry


def test_one_real_ct_image(tmp_path: Path) -> None:
    summary = build_dataset(tmp_path, images=4, size=32, sources=["ct-small"], seed=3)
    assert summary["by_source"] == {"ct-small": 4} and summary["images"] == 4
    train, test = read_slake(tmp_path / "train.json"), read_slake(tmp_path / "test.json")
    assert {e.image_id for e in test} == {"ct-small-0003"}  # every fourth render is a test image
    assert {e.image_id for e in train} == {"ct-small-0000", "ct-small-0001", "ct-small-0002"}
    by_content: dict[str, set[str]] = {}
    for example in train + test:
        by_content.setdefault(example.question, set()).add(example.answer)
        assert example.extra["modality"] == "ct" and example.extra["location"] == "spine"
    assert by_content["what modality is used to take this image"] == {"ct"}
    assert by_content["in which plane is this image taken"] == {"axial"}  # from ImageOrientationPatient
    assert by_content["which organ is shown in this image"] == {"spine"}
    windows = by_content["which window is used for this ct image"]
    assert windows <= {"bone", "soft tissue", "lung"} and len(windows) == 3
    for example in train + test:
        if example.question.startswith("is this a ") and example.question.endswith(" image"):
            asked = example.question.removeprefix("is this a ").removesuffix(" image")
            assert example.answer == ("yes" if asked == "ct" else "no")
    with Image.open(train[0].image) as rendered:
        assert rendered.size == (32, 32) and rendered.mode == "RGB"
    pairs = read_pairs(tmp_path / "pretrain.json")
    assert {p.image_id for p in pairs} == {e.image_id for e in train} and len(pairs) == 6  # no test image
    assert all("ct" in p.caption.lower() for p in pairs)
    assert json.loads((tmp_path / "dataset.json").read_text())["test_questions"] == len(test)


def test_flip_answer_matches_the_pixels(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    build_dataset(first, images=4, size=32, sources=["skimage"], seed=1)
    build_dataset(second, images=4, size=32, sources=["skimage"], seed=1)
    same = np.asarray(Image.open(first / "imgs" / "skimage-0000.png"))
    assert np.array_equal(same, np.asarray(Image.open(second / "imgs" / "skimage-0000.png")))  # seeded
    flipped = {e.image_id: e.answer for e in read_slake(first / "train.json") + read_slake(first / "test.json")
               if e.question == "is this image flipped left to right"}
    assert set(flipped.values()) <= {"yes", "no"} and len(flipped) == 4


def test_questions_and_captions_of_a_render() -> None:
    render = Render(np.zeros((8, 8, 3), np.uint8), "head-ct", "ct", "head", "sagittal", "bone", None, True,
                    "head CT")
    asked = {q: a for q, a, _, _ in questions(render, np.random.default_rng(0))}
    assert asked["In which plane is this image taken?"] == "sagittal"
    assert asked["Which window is used for this CT image?"] == "bone"
    assert asked["Is this image flipped left to right?"] == "yes"
    assert all("sagittal" in caption.lower() and "bone" in caption for caption in captions(render))


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="unknown VQA image source 'xray'; known: ct-small, head-ct, mr-small, sk"):
        build_dataset(Path("/nonexistent"), sources=["xray"])
    with pytest.raises(ParameterError, match="images"):
        build_dataset(Path("/nonexistent"), images=3, sources=["skimage"])


@pytest.mark.skipif(not INVESALIUS.is_file(), reason="apt-get install -y invesalius-examples")
def test_invesalius_head_ct_volume() -> None:
    volume, spacing = read_invesalius()
    assert volume.shape == (108, 256, 256) and volume.dtype == np.int16
    assert volume.min() == -1024 and spacing[2] == pytest.approx(1.5)


def test_a_registered_source_is_rendered_like_the_shipped_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def stripes(count: int, size: int, rng: np.random.Generator) -> Iterator[Render]:
        for index in range(count):
            image = np.zeros((size, size, 3), np.uint8)
            image[:, : size // 2 if index % 2 else size // 4] = 255
            yield Render(image, "stripes", "phantom", None, description="striped test card")

    sources: Registry[ImageSource] = Registry("VQA image source")
    sources.add("stripes", ImageSource(stripes, 1.0, lambda: True))
    sources.add("ct-small", build.SOURCES.get("ct-small"))
    monkeypatch.setattr(build, "SOURCES", sources)
    assert build.available_sources() == ["ct-small", "stripes"]
    summary = build_dataset(tmp_path, images=8, size=16, sources=["stripes"], seed=0)
    assert summary["by_source"] == {"stripes": 8}
    records = read_slake(tmp_path / "train.json") + read_slake(tmp_path / "test.json")
    assert {e.extra["modality"] for e in records} == {"phantom"} and len({e.image_id for e in records}) == 8
