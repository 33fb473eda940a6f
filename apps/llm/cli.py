"""`bios llm`: generate with a backend, check a served or local model, list the registry, fine-tune (SFT)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from bios_kg.embed.llm.backends import BACKENDS, LLMBackend, get_backend
from bios_kg.embed.llm.models import MODELS, model_entry, provenance, render_prompt
from bios_kg.graph.cli_options import JsonOption, console, stdout
from bios_kg.graph.settings import LlmSettings

llm_app = typer.Typer(help="Generative LLM backends (OpenAI-compatible server, local transformers) and SFT.",
                      no_args_is_help=True)

BackendOption = Annotated[str | None, typer.Option(
    "--backend", help="A registered LLM backend: openai, transformers or a plug-in's (default: BIOS_LLM_BACKEND, or "
                      "openai when BIOS_LLM_BASE_URL is set).")]
ModelOption = Annotated[str | None, typer.Option(
    "--model", help="Served model id (openai) or model folder (transformers); default BIOS_LLM_MODEL.")]
BaseUrlOption = Annotated[str | None, typer.Option(
    "--base-url", help="OpenAI-compatible server URL with /v1; default BIOS_LLM_BASE_URL.")]


def _backend(name: str | None, model: str | None, base_url: str | None) -> LLMBackend:
    options: dict[str, Any] = {"model": model}
    if base_url is not None:
        options["base_url"] = base_url
    backend = get_backend(name, **{k: v for k, v in options.items() if v is not None})
    console.print(f"backend {backend.name}, model {backend.model}")
    return backend


@llm_app.command("generate")
def generate_command(
    prompts: Annotated[list[str], typer.Argument(help="Prompt texts (one generation each).")],
    backend: BackendOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    template: Annotated[str | None, typer.Option(
        help="Render each prompt with this registry model's template first (e.g. genie-en).")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Default: the template model's, else 512.")] = None,
    temperature: Annotated[float | None, typer.Option(help="Default: the template model's, else 0.")] = None,
    stop: Annotated[list[str] | None, typer.Option(help="Stop sequence (repeatable).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Generate a completion for each prompt."""
    sampling = model_entry(template).sampling if template else None
    if max_tokens is None:
        max_tokens = sampling.max_tokens if sampling and sampling.max_tokens is not None else 512
    if temperature is None:
        temperature = sampling.temperature if sampling and sampling.temperature is not None else 0.0
    llm = _backend(backend, model, base_url)
    texts = [render_prompt(template, prompt) for prompt in prompts] if template else list(prompts)
    generations = llm.generate(texts, max_tokens=max_tokens, temperature=temperature, stop=stop)
    record = provenance(llm, template=model_entry(template).template if template else None,
                        max_tokens=max_tokens, temperature=temperature, stop=stop).as_dict()
    for prompt, generation in zip(prompts, generations, strict=True):
        if as_json:
            print(json.dumps({"prompt": prompt, "text": generation.text, "finish_reason": generation.finish_reason,
                              "provenance": record}, ensure_ascii=False))
        else:
            if generation.finish_reason != "stop":
                console.print(f"[yellow]finish_reason {generation.finish_reason}[/yellow]")
            print(generation.text)


@llm_app.command("check")
def check_command(
    backend: BackendOption = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    prompt: Annotated[str, typer.Option(help="The smoke-test prompt.")] = "The chest X-ray shows",
) -> None:
    """Start-up smoke test: load or reach the model, generate a few tokens, report the time. A Baichuan-M1 remote
    code that fails on `_flash_supports_window_size` is reported as such."""
    started = time.perf_counter()
    llm = _backend(backend, model, base_url)
    loaded = time.perf_counter()
    generation = llm.generate([prompt], max_tokens=16)[0]
    done = time.perf_counter()
    console.print(f"ok: loaded in {loaded - started:.1f} s, 16 tokens in {done - loaded:.2f} s, "
                  f"finish_reason {generation.finish_reason}")
    print(json.dumps({"backend": llm.name, "model": generation.model, "text": generation.text}, ensure_ascii=False))


@llm_app.command("models")
def models_command() -> None:
    """The model registry (templates and sampling defaults) and the registered backends."""
    table = Table("model", "aliases", "used by", "template", "temperature", "max tokens")
    for entry in MODELS.values():
        table.add_row(entry.id, ", ".join(entry.aliases), entry.used_by,
                      "chat" if entry.template is None else repr(entry.template), str(entry.sampling.temperature),
                      str(entry.sampling.max_tokens))
    stdout.print(table)
    console.print(f"backends: {', '.join(BACKENDS.names())}")
    console.print(f"configuration: {', '.join(LlmSettings.variable(name) for name in LlmSettings.model_fields)}")


@llm_app.command("sft")
def sft_command(
    data: Annotated[Path, typer.Option(help='JSON lines {"prompt": ..., "completion": ...}.')],
    model: Annotated[str, typer.Option(help="Base causal LM: a folder or a hub id.")],
    out: Annotated[Path, typer.Option(help="Output folder (HF format); resumes from its checkpoints.")],
    loss: Annotated[str, typer.Option(help="deft | nll | p | cayley | q-<q> | only-top-p-<t> | ... "
                                           "(apps/llm/deft.py).")] = "deft",
    steps: Annotated[int, typer.Option(help="Optimizer steps (0: one epoch).")] = 0,
    batch_size: Annotated[int, typer.Option(help="Pairs per micro-batch.")] = 8,
    grad_accum: Annotated[int, typer.Option(help="Micro-batches per step.")] = 1,
    lr: Annotated[float, typer.Option(help="Peak learning rate (DEFT: 5e-5 up to 7B, 2e-5 for 8B).")] = 5e-5,
    warmup_ratio: Annotated[float, typer.Option(help="Share of the steps spent warming up.")] = 0.1,
    max_length: Annotated[int, typer.Option(help="Tokens per pair (prompt + completion).")] = 1024,
    template: Annotated[str | None, typer.Option(
        help="Render prompts with this registry model's template (e.g. genie-en).")] = None,
    seed: Annotated[int, typer.Option()] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda | cuda:N.")] = "auto",
    precision: Annotated[str, typer.Option(help="auto (bf16 autocast on a GPU) | fp32 | bf16.")] = "auto",
    checkpoint_every: Annotated[int, typer.Option(help="Steps between checkpoints.")] = 100,
) -> None:
    """Supervised fine-tuning on prompt → completion pairs with NLL, DEFT or another token objective."""
    from bios_kg.apps.llm.sft import train_sft

    report = train_sft(data, model, out, loss=loss, steps=steps, batch_size=batch_size, grad_accum=grad_accum,
                       lr=lr, warmup_ratio=warmup_ratio, max_length=max_length, template=template, seed=seed,
                       device=device, precision=precision,  # type: ignore[arg-type]  # checked by train_sft
                       checkpoint_every=checkpoint_every)
    summary = report.as_dict()
    console.print(f"{report.steps} steps (resumed from {report.resumed_from}) in {report.seconds:.1f} s -> {out}")
    print(json.dumps(summary, ensure_ascii=False))
