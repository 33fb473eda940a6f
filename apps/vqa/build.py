"""A small VQA set and pretraining captions rendered from real medical images that ship in packages
(docs/algorithms/data.md §5).

Sources (each optional; the default takes those installed, and names the install command of a missing one asked
for by name), registered in SOURCES (entry-point group `bios_kg.vqa_sources` for other packages' sources):
- `head-ct`: the head CT volume "ProMED CT 0051" of the Debian package invesalius-examples (108 × 256 × 256 HU):
  axial, coronal and sagittal slices in brain, bone or soft-tissue windows, and left/right halves of axial slices;
- `ct-small`, `mr-small`: pydicom's CT_small.dcm (axial CT at the thoracic spine) and MR_small.dcm (MR; its
  plane from ImageOrientationPatient) in crops and windows;
- `skimage`: scikit-image's fundus photograph (retina), retina patch (microaneurysms), immunohistochemistry of
  colonic glands (ihc), a phase image of a cell, and the Shepp-Logan head phantom, in crops.
Each render is flipped left-right or not. Every answer follows from how the image was made: modality, plane,
organ, CT window, which half of a slice a crop shows, and whether it was flipped.

Output (the SLAKE layout, so `read_slake` reads it): imgs/*.png, train.json and test.json (records with img_id,
img_name, question, answer, q_lang "en", location, modality, answer_type, base_type, content_type, triple, qid),
and pretrain.json (PMCPM-style {image, caption: [two captions], image_id}) for the train images only. A random
fourth of each source's renders (seeded) are test images: other slices and crops of the same few sources, never
images seen in training or pretraining.
"""

from __future__ import annotations

import json
import plistlib
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from bios_kg.graph.errors import ConfigError, ParameterError
from bios_kg.graph.registry import Registry

INVESALIUS = Path("/usr/share/doc/invesalius-examples/examples/Cranium.inv3")
HEAD_WINDOWS = {"brain": (40, 80), "bone": (500, 2000), "soft tissue": (40, 400)}  # name: (level, width) HU
SPINE_WINDOWS = {"bone": (500, 2000), "soft tissue": (40, 400), "lung": (-600, 1500)}
MODALITIES = ("ct", "mri", "fundus photography", "histology", "microscopy", "phantom")
PLANES = ("axial", "coronal", "sagittal")
TEST_EVERY = 4  # one test image in four


@dataclass
class Render:
    image: np.ndarray  # uint8 [S, S, 3]
    source: str
    modality: str
    organ: str | None
    plane: str | None = None
    window: str | None = None
    half: str | None = None  # left / right: the half of a slice a crop shows
    flipped: bool = False
    description: str = ""  # words for the captions
    facts: dict[str, Any] = field(default_factory=dict)


def _window(values: np.ndarray, level: float, width: float) -> np.ndarray:
    return (np.clip((values - (level - width / 2)) / width, 0, 1) * 255).astype(np.uint8)


def _gray(values: np.ndarray) -> np.ndarray:
    low, high = np.percentile(values, (0.5, 99.5))
    return (np.clip((values - low) / max(high - low, 1e-6), 0, 1) * 255).astype(np.uint8)


def _square(image: np.ndarray, size: int, aspect: float = 1.0) -> np.ndarray:
    """uint8 [H, W] or [H, W, 3] -> [size, size, 3]: rows scaled by `aspect` (pixel height / width), padded black."""
    rgb = np.repeat(image[..., None], 3, -1) if image.ndim == 2 else image
    height, width = rgb.shape[0] * aspect, rgb.shape[1]
    scale = size / max(height, width)
    new = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(Image.fromarray(rgb).resize(new, Image.Resampling.BICUBIC))
    out = np.zeros((size, size, 3), dtype=np.uint8)
    top, left = (size - new[1]) // 2, (size - new[0]) // 2
    out[top:top + new[1], left:left + new[0]] = resized
    return out


def _crop(image: np.ndarray, rng: np.random.Generator, low: float = 0.6) -> np.ndarray:
    scale = rng.uniform(low, 1.0)
    height, width = int(image.shape[0] * scale), int(image.shape[1] * scale)
    top, left = rng.integers(0, image.shape[0] - height + 1), rng.integers(0, image.shape[1] - width + 1)
    return image[top:top + height, left:left + width]


def read_invesalius(path: Path = INVESALIUS) -> tuple[np.ndarray, tuple[float, float, float]]:
    """The CT volume (int16 HU, [slices, rows, columns]) and its spacing (x, y, z mm) from an .inv3 file."""
    if not path.is_file():
        raise ConfigError(f"{path} is missing: install the Debian package (apt-get install -y invesalius-examples)")
    with tarfile.open(path, "r:gz") as archive:
        members = {Path(member.name).name: member for member in archive.getmembers()}
        meta = plistlib.loads(_read(archive, members, path, "main.plist"))
        shape = tuple(meta["matrix"]["shape"])
        raw = _read(archive, members, path, meta["matrix"]["filename"])
    count = int(np.prod(shape))
    volume = np.frombuffer(raw[-count * 2:], dtype=np.dtype(meta["matrix"]["dtype"])).reshape(shape)
    spacing = tuple(float(value) for value in meta["spacing"])
    return volume, (spacing[0], spacing[1], spacing[2])


def _read(archive: tarfile.TarFile, members: dict[str, tarfile.TarInfo], path: Path, name: str) -> bytes:
    handle = archive.extractfile(members[name]) if name in members else None
    if handle is None:
        raise ConfigError(f"{path}: no {name} inside")
    return handle.read()


def head_ct(count: int, size: int, rng: np.random.Generator) -> Iterator[Render]:
    volume, (sx, _, sz) = read_invesalius()
    slices, rows, columns = volume.shape
    windows = list(HEAD_WINDOWS)
    for index in range(count):
        plane = PLANES[index % 3] if index % 4 != 3 else "axial"
        window = windows[(index // 3) % len(windows)]
        position = 0.3 + 0.4 * ((index * 0.618) % 1.0)  # spread over the middle 40 % of the head
        if plane == "axial":
            values, aspect = volume[int(position * slices)], 1.0
        elif plane == "coronal":
            values, aspect = np.flipud(volume[:, int(position * rows), :]), sz / sx
        else:
            values, aspect = np.flipud(volume[:, :, int(position * columns)]), sz / sx
        image = _window(values, *HEAD_WINDOWS[window])
        half = None
        if index % 4 == 3:  # a half of an axial slice
            half = "left" if index % 8 == 3 else "right"
            image = image[:, : columns // 2] if half == "left" else image[:, columns // 2:]
        yield Render(_square(image, size, aspect), "head-ct", "ct", "head", plane, window, half,
                     description="head CT (ProMED CT 0051)")


def _dicom(name: str) -> Any:
    try:
        import pydicom
        from pydicom.data import get_testdata_file
    except ImportError:
        raise ConfigError("pydicom is needed for the DICOM sources: pip install pydicom") from None
    path = get_testdata_file(name)
    if not isinstance(path, str):
        raise ConfigError(f"pydicom's test file {name} is missing")
    return pydicom.dcmread(path)


def _plane(orientation: Any) -> str:
    """The plane of a slice from DICOM ImageOrientationPatient (row and column direction cosines)."""
    normal = np.abs(np.cross(np.array(orientation[:3], dtype=float), np.array(orientation[3:], dtype=float)))
    return ("sagittal", "coronal", "axial")[int(np.argmax(normal))]


def ct_small(count: int, size: int, rng: np.random.Generator) -> Iterator[Render]:
    data = _dicom("CT_small.dcm")
    values = data.pixel_array * float(data.RescaleSlope) + float(data.RescaleIntercept)
    windows = list(SPINE_WINDOWS)
    for index in range(count):
        window = windows[index % len(windows)]
        image = _window(_crop(values, rng, 0.7), *SPINE_WINDOWS[window])
        yield Render(_square(image, size), "ct-small", "ct", "spine", _plane(data.ImageOrientationPatient), window,
                     description="CT at the thoracic spine")


def mr_small(count: int, size: int, rng: np.random.Generator) -> Iterator[Render]:
    data = _dicom("MR_small.dcm")
    values = data.pixel_array.astype(float)
    for _ in range(count):
        yield Render(_square(_gray(_crop(values, rng, 0.7)), size), "mr-small", "mri", None,
                     _plane(data.ImageOrientationPatient), description="MR image")


def skimage_images(count: int, size: int, rng: np.random.Generator) -> Iterator[Render]:
    try:
        from skimage import data
    except ImportError:
        raise ConfigError("scikit-image is needed for the skimage source: pip install scikit-image") from None
    sources: list[tuple[Callable[[], np.ndarray], str, str | None, str]] = [
        (data.retina, "fundus photography", "eye", "colour fundus photograph of the retina"),
        (data.microaneurysms, "fundus photography", "eye", "retina patch with microaneurysms"),
        (data.immunohistochemistry, "histology", "colon", "immunohistochemistry of colonic glands"),
        (data.cell, "microscopy", None, "quantitative phase image of a cell"),
        (data.shepp_logan_phantom, "phantom", "head", "Shepp-Logan head phantom"),
    ]
    for index in range(count):
        load, modality, organ, description = sources[index % len(sources)]
        image = load()
        image = image if image.dtype == np.uint8 else _gray(image)
        yield Render(_square(_crop(image, rng, 0.5), size), "skimage", modality, organ,
                     description=description)


@dataclass(frozen=True)
class ImageSource:
    """A plug-in source of images: `render(count, size, rng)` yields `count` Renders of size x size pixels, `share`
    weighs it when the images are split between the sources, `available()` says whether what it reads is installed
    (a source asked for by name that is not raises a ConfigError naming the install command)."""

    render: Callable[[int, int, np.random.Generator], Iterator[Render]]
    share: float
    available: Callable[[], bool]


def _installed(module: str) -> Callable[[], bool]:
    import importlib.util

    return lambda: importlib.util.find_spec(module) is not None


SOURCES: Registry[ImageSource] = Registry("VQA image source", entry_point_group="bios_kg.vqa_sources")
SOURCES.add("head-ct", ImageSource(head_ct, 0.5, INVESALIUS.is_file))
SOURCES.add("ct-small", ImageSource(ct_small, 0.15, _installed("pydicom")))
SOURCES.add("mr-small", ImageSource(mr_small, 0.1, _installed("pydicom")))
SOURCES.add("skimage", ImageSource(skimage_images, 0.25, _installed("skimage")))


def available_sources() -> list[str]:
    """The sources whose package is installed."""
    return [name for name, source in SOURCES.items() if source.available()]


def questions(render: Render, rng: np.random.Generator) -> list[tuple[str, str, str, str]]:
    """(question, answer, answer_type, content_type) whose answers follow from how the image was made."""
    out = [("What modality is used to take this image?", render.modality, "OPEN", "Modality")]
    other = str(rng.choice([m for m in MODALITIES if m != render.modality]))
    asked = render.modality if rng.random() < 0.5 else other
    out.append((f"Is this a {asked} image?", "yes" if asked == render.modality else "no", "CLOSED", "Modality"))
    if render.plane:
        out.append(("In which plane is this image taken?", render.plane, "OPEN", "Plane"))
        asked = render.plane if rng.random() < 0.5 else str(rng.choice([p for p in PLANES if p != render.plane]))
        out.append((f"Is this an {asked} slice?" if asked == "axial" else f"Is this a {asked} slice?",
                    "yes" if asked == render.plane else "no", "CLOSED", "Plane"))
    if render.organ:
        out.append(("Which organ is shown in this image?", render.organ, "OPEN", "Organ"))
    if render.window:
        out.append(("Which window is used for this CT image?", render.window, "OPEN", "Window"))
    if render.half:
        out.append(("Which half of the slice does this crop show?", render.half, "OPEN", "Position"))
    out.append(("Is this image flipped left to right?", "yes" if render.flipped else "no", "CLOSED", "Position"))
    return out


def captions(render: Render) -> list[str]:
    """Two captions stating what the image is, in different words."""
    plane = f"{render.plane} " if render.plane else ""
    window = f" in a {render.window} window" if render.window else ""
    half = f", the {render.half} half of the slice" if render.half else ""
    flip = " The image is mirrored left to right." if render.flipped else ""
    organ = f" of the {render.organ}" if render.organ else ""
    first = f"{plane}{render.modality} image{organ}{window}{half}: {render.description}.{flip}"
    second = (f"{render.description.capitalize()}, {render.modality}" + (f", {render.plane} plane" if render.plane
              else "") + (f", {render.window} window" if render.window else "") + half
              + (", flipped horizontally." if render.flipped else ", not flipped."))
    return [first[0].upper() + first[1:], second]


def build_dataset(out: Path, images: int = 160, size: int = 128, sources: list[str] | None = None,
                  seed: int = 0) -> dict[str, Any]:
    """Render `images` images (split over the sources) with their questions and captions into `out`."""
    names = sources or available_sources()
    if not names:
        raise ParameterError("sources", f"none is installed: choose from {', '.join(SOURCES)}")
    chosen = {name: SOURCES.get(name) for name in names}  # an unknown name: ConfigError listing the known ones
    if images < TEST_EVERY * len(names):
        raise ParameterError("images", f"at least {TEST_EVERY} per source ({TEST_EVERY * len(names)}), got {images}")
    if size < 16:
        raise ParameterError("size", f"at least 16, got {size}")
    rng = np.random.default_rng(seed)
    out = Path(out)
    (out / "imgs").mkdir(parents=True, exist_ok=True)
    total = sum(source.share for source in chosen.values())
    splits: dict[str, list[dict[str, Any]]] = {"train": [], "test": []}
    pretrain: list[dict[str, Any]] = []
    counts: dict[str, int] = {}
    for name, source in chosen.items():
        count = max(TEST_EVERY, round(images * source.share / total))
        test = set(rng.choice(count, count // TEST_EVERY, replace=False).tolist())
        for variant, render in enumerate(source.render(count, size, rng)):
            render.flipped = bool(rng.random() < 0.5)
            pixels = render.image[:, ::-1] if render.flipped else render.image
            image_id = f"{name}-{variant:04d}"
            file_name = f"{image_id}.png"
            Image.fromarray(np.ascontiguousarray(pixels)).save(out / "imgs" / file_name)
            split = "test" if variant in test else "train"
            for question, answer, answer_type, content in questions(render, rng):
                splits[split].append({
                    "img_id": image_id, "img_name": file_name, "question": question, "answer": answer,
                    "q_lang": "en", "location": render.organ or "", "modality": render.modality,
                    "answer_type": answer_type, "base_type": "vqa", "content_type": content,
                    "triple": ["vhead", "_", "_"], "qid": len(splits["train"]) + len(splits["test"])})
            if split == "train":
                pretrain.append({"image": f"imgs/{file_name}", "caption": captions(render), "image_id": image_id})
            counts[name] = counts.get(name, 0) + 1
    for split, records in splits.items():
        (out / f"{split}.json").write_text(json.dumps(records, indent=1) + "\n", encoding="utf-8")
    (out / "pretrain.json").write_text(json.dumps(pretrain, indent=1) + "\n", encoding="utf-8")
    summary = {"out": str(out), "images": sum(counts.values()), "by_source": counts, "size": size, "seed": seed,
               "train_questions": len(splits["train"]), "test_questions": len(splits["test"]),
               "pretrain_pairs": sum(len(record["caption"]) for record in pretrain)}
    (out / "dataset.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary
