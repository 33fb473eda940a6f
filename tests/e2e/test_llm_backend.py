"""The `openai` backend against a real OpenAI-compatible HTTP server started here (uvicorn on a free port, the
server of tests/support/llm.py), which generates with the tiny causal LM through the transformers backend, and
injects faults on request."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from bios_kg.embed.cluster.oracle import LLMOracle, OracleQuery, make_oracle
from bios_kg.embed.llm import LLMError, OpenAIBackend, TransformersBackend, configured_backend, get_backend
from bios_kg.graph.runtime import free_port
from tests.support.http import served
from tests.support.llm import SERVED, Faults, openai_server, tiny_causal_lm

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> TransformersBackend:
    folder: Path = tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))
    return TransformersBackend(str(folder), device="cpu")


@pytest.fixture(scope="module")
def server(local: TransformersBackend) -> Iterator[tuple[str, Faults]]:
    faults = Faults()
    with served(openai_server(local, faults)) as url:
        yield f"{url}/v1", faults


@pytest.fixture()
def faults(server: tuple[str, Faults]) -> Faults:
    faults = server[1]
    faults.fail, faults.delay = 0, 0.0
    faults.requests.clear()
    return faults


@pytest.fixture()
def base_url(server: tuple[str, Faults], faults: Faults) -> str:
    return server[0]


def test_completions_match_local_generation_in_order(base_url: str, local: TransformersBackend,
                                                     faults: Faults) -> None:
    backend = get_backend("openai", base_url=base_url, concurrency=4, api_key="secret")
    assert isinstance(backend, OpenAIBackend)
    assert (backend.model, backend.endpoint) == (SERVED, "completions")  # the server's only model
    prompts = ["The patient denies", "No pleural effusion", "Metformin", "History of", "Heart size", "中文"]
    got = backend.generate(prompts, max_tokens=6, stop=["\n"])
    expected = local.generate(prompts, max_tokens=6, stop=["\n"])
    assert [g.text for g in got] == [g.text for g in expected]
    assert [g.finish_reason for g in got] == [g.finish_reason for g in expected]
    assert {g.model for g in got} == {SERVED}
    posted = [body for path, body, _ in faults.requests if path == "/v1/completions"]
    assert sorted(body["prompt"] for body in posted) == sorted(prompts)
    assert all(body["stop"] == ["\n"] and body["temperature"] == 0.0 for body in posted)
    assert {auth for _, _, auth in faults.requests} == {"Bearer secret"}


def test_chat_endpoint_sends_system_and_user_messages(base_url: str, local: TransformersBackend,
                                                      faults: Faults) -> None:
    backend = get_backend("openai", base_url=base_url, model=SERVED, endpoint="chat", system="Be brief.")
    got = backend.generate(["chest pain"], max_tokens=5)
    path, body, _ = faults.requests[-1]
    assert path == "/v1/chat/completions"
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "chest pain"}]
    expected = local.generate(["system: Be brief.\nuser: chest pain\nassistant:"], max_tokens=5)[0]
    assert (got[0].text, got[0].finish_reason) == (expected.text, expected.finish_reason)


def test_retries_a_503_then_succeeds(base_url: str, faults: Faults) -> None:
    faults.fail = 2
    backend = get_backend("openai", base_url=base_url, model=SERVED, retries=3, backoff=0.01)
    assert backend.generate(["No pleural"], max_tokens=3)[0].finish_reason == "length"
    assert len(faults.requests) == 3
    faults.fail = 5
    with pytest.raises(LLMError, match=r"/completions: HTTP 503: server overloaded \(after 4 attempts\)"):
        backend.generate(["No pleural"], max_tokens=3)


def test_a_4xx_fails_at_once_with_the_servers_message(base_url: str, faults: Faults) -> None:
    backend = get_backend("openai", base_url=base_url, model="Qwen2.5-72B-Instruct", retries=3, backoff=0.01)
    assert isinstance(backend, OpenAIBackend) and backend.endpoint == "chat"  # a chat model in the registry
    with pytest.raises(LLMError, match="HTTP 404: The model `Qwen2.5-72B-Instruct` does not exist."):
        backend.generate(["NA"], max_tokens=3)
    assert len(faults.requests) == 1


def test_a_read_timeout_is_an_error_without_resend(base_url: str, faults: Faults) -> None:
    faults.delay = 1.5
    backend = get_backend("openai", base_url=base_url, model=SERVED, timeout=0.3, retries=3)
    started = time.monotonic()
    with pytest.raises(LLMError, match=r"no answer within 0.3 s \(timeout\)"):
        backend.generate(["x"], max_tokens=2)
    assert time.monotonic() - started < 1.2 and len(faults.requests) == 1


def test_connection_refused_is_retried_then_reported() -> None:
    backend = get_backend("openai", base_url=f"http://127.0.0.1:{free_port()}/v1", model=SERVED, retries=1,
                          backoff=0.01)
    with pytest.raises(LLMError, match=r"cannot connect: .* \(after 2 attempts\)"):
        backend.generate(["x"])


def test_require_stop_rejects_truncated_generations(base_url: str, faults: Faults) -> None:
    backend = get_backend("openai", base_url=base_url, model=SERVED, require_stop=True, retries=2, backoff=0.01)
    with pytest.raises(LLMError, match="rejected after 3 attempts \\(finish_reason 'length'\\)"):
        backend.generate(["The patient denies"], max_tokens=2)
    assert len(faults.requests) == 3


def test_environment_configures_the_backend_and_the_clustering_oracle(base_url: str, faults: Faults,
                                                                      local: TransformersBackend,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BIOS_LLM_BACKEND", "BIOS_LLM_MODEL", "BIOS_LLM_API_KEY", "BIOS_LLM_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BIOS_LLM_BASE_URL", base_url)
    monkeypatch.setenv("BIOS_LLM_TIMEOUT", "20")
    backend = configured_backend()
    assert isinstance(backend, OpenAIBackend) and (backend.model, backend.timeout) == (SERVED, 20.0)
    oracle = make_oracle("llm", (0.7, 0.9), "openai")
    assert isinstance(oracle, LLMOracle) and isinstance(oracle.backend, OpenAIBackend)
    assert oracle.backend.model == SERVED and oracle.backend.timeout == 20.0
    query = OracleQuery("fever", "pyrexia", 0.8)
    answer = oracle.judge(query)
    [(path, body, _)] = [request for request in faults.requests if request[0] != "/v1/models"]
    assert (path, body["prompt"]) == ("/v1/completions", oracle.prompt(query))  # the oracle's prompt, served
    in_process = LLMOracle(local)  # the same model without the server: the same verdict
    assert (in_process.judge(query), in_process.unparsed) == (answer, oracle.unparsed)
