"""POST /vqa: a question about an uploaded medical image, answered by a fine-tuned RAMM model (bios_kg.apps.vqa).

The model folder comes from the app's settings (`api.vqa_model`, BIOS_VQA_MODEL); it is loaded on the first
request (torch is imported only then) and kept. Problems: 503 when no model is configured or it cannot be loaded,
413 for an image over MAX_IMAGE_BYTES or MAX_PIXELS, 415 for a type other than PNG or JPEG (declared or actual),
422 for a missing or empty field.
"""

from __future__ import annotations

import io
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, File, Form, Request, UploadFile
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bios_kg.apps.api.models import NON_BLANK, example
from bios_kg.apps.api.problems import problem, problem_responses
from bios_kg.apps.api.resources import resource, shared
from bios_kg.graph.errors import BiosError

MAX_IMAGE_BYTES = 1024 * 1024
MAX_PIXELS = 4096 * 4096
MAX_QUESTION = 500
TYPES = {"image/png": "PNG", "image/jpeg": "JPEG"}

router = APIRouter(tags=["vqa"])

_ANSWER = {"question": "Which window is used for this CT image?", "answer": "bone", "answer_type": "OPEN",
           "score": 0.91, "concept_id": None,
           "retrieved": [{"image_id": "head-ct-0012", "caption": "Axial ct image of the head in a bone window."}]}


class RetrievedOut(BaseModel):
    model_config = example({"image_id": "head-ct-0007", "caption": "Axial CT of the head in a brain window."})

    image_id: str
    caption: str


class VQAOut(BaseModel):
    model_config = example(_ANSWER)

    question: str
    answer: str = Field(description="The best answer of the head that the question-type head chose.")
    answer_type: str = Field(description="CLOSED (yes/no and other closed answers) or OPEN.")
    score: float = Field(ge=0, le=1, description="Softmax probability of the answer within its head.")
    concept_id: str | None = Field(description="The graph concept of the answer, when the model's answers were "
                                               "linked (bios vqa link).")
    retrieved: list[RetrievedOut] = Field(description="The image-text pairs retrieved for the image (ITC).")


class _Unavailable(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@resource("vqa_model")
def _open_model(app: FastAPI) -> Any:
    """The configured VQAModel (None when none is); _Unavailable when it cannot be loaded."""
    folder = app.state.settings.api.vqa_model
    if folder is None:
        return None
    from bios_kg.apps.vqa.train import VQAModel

    try:
        return VQAModel(folder, device="cpu")
    except (BiosError, OSError) as error:
        raise _Unavailable(f"the VQA model {folder.name} cannot be loaded: {error}") from None


def get_vqa_model(request: Request) -> Any:
    """The app's VQAModel, loaded once; _Unavailable when none is configured or it cannot be loaded."""
    model = shared(request.app, "vqa_model")
    if model is None:
        raise _Unavailable("no VQA model is configured: set BIOS_VQA_MODEL to a `bios vqa train` folder")
    return model


@router.post("/vqa", response_model=VQAOut, responses=problem_responses(408, 413, 415, 422, 503))
async def ask(
    request: Request,
    image: Annotated[UploadFile, File(description=f"A PNG or JPEG image of at most {MAX_IMAGE_BYTES} bytes.",
                                      examples=["head-ct-0001.png"])],
    question: Annotated[str, Form(min_length=1, max_length=MAX_QUESTION, pattern=NON_BLANK,
                                  description="The question, in English.",
                                  examples=["Which window is used for this CT image?"])],
) -> Any:
    """Answer a question about an image: retrieval of similar image-text pairs, fusion, closed/open heads."""
    declared = (image.content_type or "").split(";")[0].strip().lower()
    if declared not in TYPES:
        return problem(415, "Unsupported image type", f"image: {declared or 'no type'} is not one of "
                       f"{', '.join(TYPES)}", parameter="image")
    data = await image.read(MAX_IMAGE_BYTES + 1)
    if len(data) > MAX_IMAGE_BYTES:
        return problem(413, "Image too large", f"image: larger than {MAX_IMAGE_BYTES} bytes", parameter="image")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as opened:
            actual, pixels = opened.format, opened.width * opened.height
    except (UnidentifiedImageError, OSError):
        actual, pixels = None, 0
    if actual != TYPES[declared]:
        return problem(415, "Unsupported image type", f"image: the bytes are not a {TYPES[declared]} image",
                       parameter="image")
    if pixels > MAX_PIXELS:
        return problem(413, "Image too large", f"image: {pixels} pixels, more than {MAX_PIXELS}", parameter="image")
    try:
        answer = await run_in_threadpool(_answer, request, data, question)
    except _Unavailable as error:
        return problem(503, "VQA model unavailable", error.detail)
    return VQAOut.model_validate({"question": question, **answer})


def _answer(request: Request, data: bytes, question: str) -> dict[str, Any]:
    """Load the model if needed and answer (in a worker thread: torch blocks)."""
    model = get_vqa_model(request)
    from bios_kg.apps.vqa.data import load_image

    return model.ask(load_image(io.BytesIO(data), model.config.image_size, name="image"), question)  # type: ignore[no-any-return]
