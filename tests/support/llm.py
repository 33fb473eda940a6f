"""The tiny causal LM of the LLM tests: bios_kg.apps.llm.scratch on a few clinical sentences (a byte-level BPE
tokenizer, a 2-layer Llama with hidden size 32), and an OpenAI-compatible HTTP app that generates with it and
injects faults on request. Shared by the backend, SFT, HTTP backend and backend contract tests."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bios_kg.apps.llm.scratch import build_scratch_lm
from bios_kg.embed.llm import TransformersBackend

SERVED = "tiny-llama"  # the model id the app serves

SENTENCES = [
    "The patient denies chest pain and shortness of breath.",
    "No pleural effusion or pneumothorax. Heart size is normal.",
    'Human:\nmild cardiomegaly\n\n Assistant: [{"phrase": "cardiomegaly", "assertion_status": "present"}]',
    "Metformin 500 mg twice daily for type 2 diabetes mellitus.",
    "History of hypertension; mother had breast cancer.",
]


def tiny_causal_lm(folder: Path, seed: int = 0) -> Path:
    """Write the tiny model and tokenizer into `folder` (created) and return it."""
    return build_scratch_lm(folder, SENTENCES, seed=seed)


class Faults:
    """What the server does next: fail `fail` requests with 503, wait `delay` seconds; what it saw."""

    def __init__(self) -> None:
        self.fail = 0
        self.delay = 0.0
        self.requests: list[tuple[str, dict[str, Any], str | None]] = []


def openai_server(local: TransformersBackend, faults: Faults) -> FastAPI:
    app = FastAPI()
    lock = threading.Lock()

    def answer(request: Request, body: dict[str, Any], prompt: str) -> dict[str, Any] | JSONResponse:
        with lock:
            faults.requests.append((request.url.path, body, request.headers.get("authorization")))
            failing = faults.fail > 0
            faults.fail -= failing
        if failing:
            return JSONResponse({"error": {"message": "server overloaded"}}, status_code=503)
        if body.get("model") != SERVED:
            return JSONResponse({"error": {"message": f"The model `{body.get('model')}` does not exist."}},
                                status_code=404)
        time.sleep(faults.delay)
        with lock:
            generation = local.generate([prompt], max_tokens=body["max_tokens"], temperature=body["temperature"],
                                        stop=body.get("stop"))[0]
        return {"model": SERVED, "text": generation.text, "finish_reason": generation.finish_reason}

    @app.get("/v1/models")
    def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": SERVED, "object": "model"}]}

    @app.post("/v1/completions", response_model=None)
    def completions(request: Request, body: dict[str, Any]) -> dict[str, Any] | JSONResponse:
        result = answer(request, body, body["prompt"])
        if isinstance(result, JSONResponse):
            return result
        return {"object": "text_completion", "model": SERVED,
                "choices": [{"index": 0, "text": result["text"], "finish_reason": result["finish_reason"]}]}

    @app.post("/v1/chat/completions", response_model=None)
    def chat(request: Request, body: dict[str, Any]) -> dict[str, Any] | JSONResponse:
        prompt = "".join(f"{m['role']}: {m['content']}\n" for m in body["messages"]) + "assistant:"
        result = answer(request, body, prompt)
        if isinstance(result, JSONResponse):
            return result
        message = {"role": "assistant", "content": result["text"]}
        return {"object": "chat.completion", "model": SERVED,
                "choices": [{"index": 0, "message": message, "finish_reason": result["finish_reason"]}]}

    return app
