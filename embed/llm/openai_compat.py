"""The `openai` backend: an OpenAI-compatible HTTP server (vLLM, SGLang, llama.cpp, Baichuan's vLLM fork).

- Endpoint: `/completions` with the prompt text as given (raw templates such as GENIE's, see models.render_prompt)
  or `/chat/completions` with the prompt as the user message (chat models; the server applies their template).
  Default: chat for models the registry marks as chat models, completions otherwise; `endpoint=` overrides.
- Batching: one request per prompt, at most `concurrency` in flight; results keep the prompts' order.
- Retries (`retries`, exponential `backoff` from 0.5 s): on connection errors, HTTP 5xx and 429, and, with
  `require_stop`, on a finish_reason other than "stop" (DR.EHR's rejection rule). Other 4xx fail at once with
  the server's message. A read timeout fails at once too: the server is busy generating, and a resend would add
  load rather than an answer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal, get_args

import httpx

from bios_kg.embed.llm.backends import BACKENDS, Generation, LLMError, check_generate_args
from bios_kg.embed.llm.models import find_model
from bios_kg.graph.errors import ConfigError, ParameterError

Endpoint = Literal["completions", "chat"]
RETRY_STATUS = 429  # and every 5xx


@BACKENDS.register("openai")
class OpenAIBackend:
    name = "openai"

    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout: float | str = 300.0, retries: int = 3, backoff: float = 0.5, concurrency: int = 8,
                 endpoint: Endpoint | None = None, system: str | None = None, require_stop: bool = False,
                 revision: str | None = None) -> None:
        if not base_url:
            raise ConfigError("the openai LLM backend needs a server URL: base_url or BIOS_LLM_BASE_URL "
                              "(e.g. http://127.0.0.1:8000/v1)")
        try:
            self.timeout = float(timeout)
        except ValueError:
            raise ParameterError("timeout", f"{timeout!r} is not a number of seconds") from None
        if not self.timeout > 0:
            raise ParameterError("timeout", f"{timeout} is not positive")
        if retries < 0 or concurrency < 1 or backoff < 0:
            raise ParameterError("retries" if retries < 0 else "concurrency" if concurrency < 1 else "backoff",
                                 "retries and backoff must be >= 0, concurrency >= 1")
        if endpoint is not None and endpoint not in get_args(Endpoint):
            raise ParameterError("endpoint", f"{endpoint!r} is not one of {', '.join(get_args(Endpoint))}")
        self.base_url = base_url.rstrip("/")
        self.retries, self.backoff, self.concurrency = retries, backoff, concurrency
        self.system, self.require_stop, self.revision = system, require_stop, revision
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(base_url=self.base_url, headers=headers,
                                    timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)))
        self.model = model or self._only_served_model()
        entry = find_model(self.model)
        self.endpoint: Endpoint = endpoint or ("chat" if entry is not None and entry.chat else "completions")

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.base_url!r}, model={self.model!r}, endpoint={self.endpoint!r})"

    def close(self) -> None:
        self._client.close()

    def served_models(self) -> list[str]:
        """The model ids the server lists at /models."""
        body = self._request("GET", "/models", None)
        return [str(item["id"]) for item in body.get("data", [])]

    def generate(self, prompts: Sequence[str], *, max_tokens: int = 512, temperature: float = 0.0,
                 stop: Sequence[str] | None = None) -> list[Generation]:
        check_generate_args(prompts, max_tokens, temperature)
        payload: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "temperature": temperature}
        if stop:
            payload["stop"] = list(stop)
        if not prompts:
            return []
        with ThreadPoolExecutor(min(self.concurrency, len(prompts)), thread_name_prefix="bios-llm") as pool:
            return list(pool.map(lambda prompt: self._generate_one(prompt, payload), prompts))

    def _generate_one(self, prompt: str, payload: dict[str, Any]) -> Generation:
        if self.endpoint == "chat":
            messages = [{"role": "system", "content": self.system}] if self.system else []
            body = {**payload, "messages": [*messages, {"role": "user", "content": prompt}]}
            path = "/chat/completions"
        else:
            body, path = {**payload, "prompt": prompt}, "/completions"
        rejected = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            answer = self._request("POST", path, body)
            generation = self._parse(path, answer)
            if not self.require_stop or generation.finish_reason == "stop":
                return generation
            rejected = f"finish_reason {generation.finish_reason!r}"
        raise LLMError(f"{self.base_url}{path}: generation rejected after {self.retries + 1} attempts ({rejected}); "
                       "raise max_tokens or check the stop sequences")

    def _request(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """One call with retries on connection errors, 5xx and 429; the decoded JSON object."""
        url = f"{self.base_url}{path}"
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(self.backoff * 2 ** (attempt - 1))
            try:
                response = self._client.request(method, path, json=body)
            except httpx.TimeoutException as exc:
                if not isinstance(exc, httpx.ConnectTimeout):
                    raise LLMError(f"{url}: no answer within {self.timeout:g} s (timeout)") from exc
                problem = f"cannot connect: {exc}"
                continue
            except httpx.TransportError as exc:
                problem = f"cannot connect: {exc or type(exc).__name__}"
                continue
            if response.status_code == RETRY_STATUS or response.status_code >= 500:
                problem = f"HTTP {response.status_code}: {_server_message(response)}"
                continue
            if response.status_code >= 400:
                raise LLMError(f"{url}: HTTP {response.status_code}: {_server_message(response)}")
            try:
                answer = response.json()
            except ValueError as exc:
                raise LLMError(f"{url}: the answer is not JSON: {response.text[:200]!r}") from exc
            if not isinstance(answer, dict):
                raise LLMError(f"{url}: the answer is not a JSON object: {response.text[:200]!r}")
            return answer
        raise LLMError(f"{url}: {problem} (after {self.retries + 1} attempts)")

    def _parse(self, path: str, answer: dict[str, Any]) -> Generation:
        try:
            choice = answer["choices"][0]
            text = choice["message"]["content"] if self.endpoint == "chat" else choice["text"]
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError(f"{self.base_url}{path}: no choice in the answer ({exc!r}): {str(answer)[:200]}") from exc
        return Generation(text=text or "", finish_reason=str(choice.get("finish_reason") or "unknown"),
                          model=str(answer.get("model") or self.model))

    def _only_served_model(self) -> str:
        models = self.served_models()
        if len(models) != 1:
            raise ConfigError(f"{self.base_url}/models lists {len(models)} models ({', '.join(models) or 'none'}); "
                              "name one with model= or BIOS_LLM_MODEL")
        return models[0]


def _server_message(response: httpx.Response) -> str:
    """The error message of an OpenAI-style error body ({"error": {"message"}}, {"detail"}), else the text."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error", body.get("detail", body.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error:
            return str(error)[:500]
    return str(body)[:500]

