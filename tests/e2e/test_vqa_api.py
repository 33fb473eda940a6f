"""POST /vqa over real HTTP (uvicorn on loopback), with a tiny model trained on real packaged images."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image

from bios_kg.apps.api.app import create_app
from bios_kg.apps.api.vqa_routes import MAX_IMAGE_BYTES
from bios_kg.apps.vqa.train import read_meta
from bios_kg.graph.settings import ApiSettings, Neo4jSettings
from tests.support.http import served
from tests.support.vqa import tiny_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_model(tmp_path_factory.mktemp("vqa"), retrieval_count=2, epochs=1)


@pytest.fixture(scope="module")
def vqa_api(sample_settings: Neo4jSettings, model_dir: Path) -> Iterator[httpx.Client]:
    with served(create_app(sample_settings, ApiSettings(vqa_model=model_dir), vector=False)) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        yield client


def png(model_dir: Path) -> bytes:
    """A real rendered CT image of the tiny model's test split."""
    return (model_dir.parent / "data" / "imgs" / "ct-small-0003.png").read_bytes()


def test_answers_an_uploaded_image(vqa_api: httpx.Client, model_dir: Path) -> None:
    response = vqa_api.post("/vqa", files={"image": ("ct.png", png(model_dir), "image/png")},
                            data={"question": "Which window is used for this CT image?"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"question", "answer", "answer_type", "score", "concept_id", "retrieved"}
    vocab = read_meta(model_dir)["vocab"]
    assert body["answer"] in vocab[body["answer_type"].lower()] and 0 <= body["score"] <= 1
    assert len(body["retrieved"]) == 2 and all(pair["caption"] for pair in body["retrieved"])
    jpeg = io.BytesIO()
    Image.open(io.BytesIO(png(model_dir))).save(jpeg, format="JPEG")
    again = vqa_api.post("/vqa", files={"image": ("ct.jpg", jpeg.getvalue(), "image/jpeg")},
                         data={"question": "Is this a ct image?"})
    assert again.status_code == 200 and again.json()["question"] == "Is this a ct image?"


def problem_of(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    assert body["status"] == status
    return body


def test_type_size_and_field_problems(vqa_api: httpx.Client, model_dir: Path) -> None:
    question = {"question": "What modality is used?"}
    text = problem_of(vqa_api.post("/vqa", files={"image": ("a.txt", b"hello", "text/plain")}, data=question), 415)
    assert text["parameter"] == "image" and "text/plain" in str(text["detail"])
    fake = problem_of(vqa_api.post("/vqa", files={"image": ("a.png", b"GIF89a....", "image/png")}, data=question),
                      415)
    assert "not a PNG image" in str(fake["detail"])
    noise = np.random.default_rng(0).integers(0, 255, (700, 700, 3), dtype=np.uint8)
    big = io.BytesIO()
    Image.fromarray(noise).save(big, format="PNG")
    assert MAX_IMAGE_BYTES < len(big.getvalue()) < 2 * 1024 * 1024  # under the API's body limit
    large = problem_of(vqa_api.post("/vqa", files={"image": ("big.png", big.getvalue(), "image/png")},
                                    data=question), 413)
    assert large["parameter"] == "image"
    missing = problem_of(vqa_api.post("/vqa", files={"image": ("ct.png", png(model_dir), "image/png")}), 422)
    assert missing["parameter"] == "question"
    blank = problem_of(vqa_api.post("/vqa", files={"image": ("ct.png", png(model_dir), "image/png")},
                                    data={"question": "   "}), 422)
    assert blank["parameter"] == "question"
    no_image = problem_of(vqa_api.post("/vqa", data=question), 422)
    assert no_image["parameter"] == "image"


def test_no_model_configured_is_503(sample_settings: Neo4jSettings, model_dir: Path) -> None:
    with served(create_app(sample_settings, ApiSettings(), vector=False)) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        body = problem_of(client.post("/vqa", files={"image": ("ct.png", png(model_dir), "image/png")},
                                      data={"question": "What modality is used?"}), 503)
        assert "BIOS_VQA_MODEL" in str(body["detail"])  # the variable to set
    pretrained = ApiSettings(vqa_model=model_dir.parent / "pre")  # a pretrained folder has no answer heads
    with served(create_app(sample_settings, pretrained, vector=False)) as url, \
            httpx.Client(base_url=url, timeout=60) as client:
        body = problem_of(client.post("/vqa", files={"image": ("ct.png", png(model_dir), "image/png")},
                                      data={"question": "What modality is used?"}), 503)
        assert "not a fine-tuned VQA model" in str(body["detail"])
