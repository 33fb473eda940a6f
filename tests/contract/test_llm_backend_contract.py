"""The contract every registered LLM backend passes: generate() returns one Generation per prompt in order (batched
as one by one), honours max_tokens and stop sequences, decodes greedily at temperature 0, and a bad option or
argument is a ParameterError naming it.

`LLMBackendContract` holds the checks, run on a backend built by the `backend` fixture. `TestRegisteredBackends`
runs them for every name in BACKENDS (entry points of installed packages included) against a real small model:
SETUPS says how each backend is built for the test (`transformers`: the tiny causal LM of tests/support/llm.py;
`openai`: the loopback OpenAI-compatible server that generates with it). A registered backend without an entry
in SETUPS fails with a message saying what to add.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import torch

from bios_kg.embed.llm import BACKENDS, Generation, LLMBackend, TransformersBackend, get_backend
from bios_kg.graph.errors import ParameterError
from tests.support.http import served
from tests.support.llm import SERVED, Faults, openai_server, tiny_causal_lm

torch.set_num_threads(1)
PROMPTS = ["The patient denies", "No pleural effusion", "Metformin 500 mg", "History of", "胸痛"]
REPLACEMENT = "\ufffd"  # a token cut inside a UTF-8 sequence decodes to it


class LLMBackendContract:
    """Checks for one backend, given by the `backend` fixture that a subclass defines."""

    def test_one_generation_per_prompt_in_order(self, backend: LLMBackend) -> None:
        batch = backend.generate(PROMPTS, max_tokens=6)
        assert len(batch) == len(PROMPTS) and all(isinstance(g, Generation) for g in batch)
        assert all(g.model and g.finish_reason for g in batch)
        singles = [backend.generate([prompt], max_tokens=6)[0] for prompt in PROMPTS]
        assert [g.text for g in batch] == [g.text for g in singles]  # greedy at temperature 0, in prompt order
        assert backend.generate([], max_tokens=6) == []
        assert backend.name in BACKENDS and backend.model

    def test_max_tokens_bounds_the_generation(self, backend: LLMBackend) -> None:
        short = backend.generate(PROMPTS, max_tokens=1)
        long = backend.generate(PROMPTS, max_tokens=12)
        for one, more in zip(short, long, strict=True):
            assert more.text.startswith(one.text.rstrip(REPLACEMENT)), (one.text, more.text)
            assert one.finish_reason in ("length", "stop")
        assert any(g.finish_reason == "length" for g in short), "max_tokens=1 ended no generation"
        assert sum(len(g.text) for g in short) < sum(len(g.text) for g in long), "max_tokens changes nothing"

    def test_a_stop_sequence_ends_the_generation_before_it(self, backend: LLMBackend) -> None:
        for prompt in PROMPTS:
            full = backend.generate([prompt], max_tokens=16)[0].text
            stop = next((char for char in full[1:] if not char.isspace() and char != REPLACEMENT), None)
            if stop is None:
                continue
            stopped = backend.generate([prompt], max_tokens=16, stop=[stop])[0]
            assert (stopped.text, stopped.finish_reason) == (full[:full.index(stop)], "stop")
            return
        pytest.fail(f"no prompt of {PROMPTS} gave a generation to pick a stop sequence from")

    def test_bad_arguments_are_parameter_errors_naming_them(self, backend: LLMBackend) -> None:
        for arguments, name in (({"prompts": "one string"}, "prompts"),
                                ({"prompts": PROMPTS, "max_tokens": 0}, "max_tokens"),
                                ({"prompts": PROMPTS, "temperature": -1.0}, "temperature")):
            with pytest.raises(ParameterError) as raised:
                backend.generate(**arguments)  # type: ignore[arg-type]
            assert raised.value.name == name
        with pytest.raises(ParameterError) as raised:
            get_backend(backend.name, no_such_option=1)
        assert raised.value.name == "no_such_option" and f"the {backend.name!r} LLM backend" in str(raised.value)


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@contextmanager
def transformers_backend(tiny_lm: Path) -> Iterator[LLMBackend]:
    yield get_backend("transformers", model=str(tiny_lm), device="cpu")


@contextmanager
def openai_backend(tiny_lm: Path) -> Iterator[LLMBackend]:
    with served(openai_server(TransformersBackend(str(tiny_lm), device="cpu"), Faults())) as url:
        yield get_backend("openai", base_url=f"{url}/v1", model=SERVED, retries=0)


# backend name -> how the contract builds it on the tiny model; a new backend adds its own here
SETUPS: dict[str, Callable[[Path], AbstractContextManager[LLMBackend]]] = {
    "transformers": transformers_backend,
    "openai": openai_backend,
}


@pytest.fixture(scope="module", params=BACKENDS.names())
def registered_backend(request: pytest.FixtureRequest, tiny_lm: Path) -> Iterator[LLMBackend]:
    setup = SETUPS.get(request.param)
    if setup is None:
        pytest.fail(f"the LLM backend {request.param!r} is registered but has no test setup: add a function that "
                    f"builds it on the tiny model to SETUPS in {__name__.replace('.', '/')}.py")
    with setup(tiny_lm) as backend:
        yield backend


class TestRegisteredBackends(LLMBackendContract):
    @pytest.fixture()
    def backend(self, registered_backend: LLMBackend) -> LLMBackend:
        return registered_backend


def test_the_contract_catches_a_backend_that_ignores_max_tokens() -> None:
    class Verbose:
        """Answers every prompt with the same long text, whatever max_tokens says."""

        name, model = "verbose", "fixed-text"

        def generate(self, prompts: Sequence[str], *, max_tokens: int = 512, temperature: float = 0.0,
                     stop: Sequence[str] | None = None) -> list[Generation]:
            return [Generation("a long answer that ignores max_tokens", "length", self.model) for _ in prompts]

    with pytest.raises(AssertionError, match="max_tokens changes nothing"):
        LLMBackendContract().test_max_tokens_bounds_the_generation(Verbose())
