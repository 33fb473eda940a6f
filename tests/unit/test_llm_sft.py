"""SFT on a tiny causal LM: the loss falls under NLL and DEFT, only completion tokens are trained, a killed run
resumes from its checkpoint to the same weights, bad data and changed arguments are clear errors; and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from bios_kg.apps.cli import app
from bios_kg.apps.llm.sft import Pair, collate, encode, read_pairs, train_sft
from bios_kg.embed.llm import TransformersBackend
from bios_kg.graph.errors import ConfigError, InputError, ParameterError
from tests.support.llm import tiny_causal_lm

torch.set_num_threads(1)
NOTES = ["No pleural effusion.", "Mild cardiomegaly.", "No pneumothorax.", "Heart size is normal.",
         "Denies chest pain.", "Possible pneumonia.", "History of hypertension.", "Metformin 500 mg daily."]


class Interrupted(Exception):
    pass


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_causal_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    path = tmp_path / "pairs.jsonl"
    rows = [{"prompt": note, "completion": json.dumps([{"phrase": note.split()[-1].strip("."),
                                                         "assertion_status": "present"}])} for note in NOTES]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


@pytest.mark.parametrize("loss", ["nll", "deft"])
def test_loss_falls_and_the_model_is_saved(base: Path, data: Path, tmp_path: Path, loss: str) -> None:
    out = tmp_path / loss
    report = train_sft(data, str(base), out, loss=loss, steps=30, batch_size=4, lr=5e-3, template="genie-en",
                       device="cpu", progress=False)
    losses = report.losses
    assert report.steps == 30 and len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.6 * sum(losses[:5]) / 5
    summary = report.as_dict()["summary"]
    assert summary["p_mean_last_10pct"] > 3 * summary["p_mean_first_10pct"]
    if loss == "nll":
        assert {row["alpha"] for row in report.log} == {0.0}
    else:  # DEFT's gate: the mean Σπ² rises with the model's confidence
        assert 0 < summary["alpha_mean_first_10pct"] < summary["alpha_mean_last_10pct"] < 1
    record = json.loads((out / "sft.json").read_text())
    assert record["objective"] == loss and record["args"]["template"] == "genie-en"
    assert record["data"] == report.data and report.data["pairs"] == 8 and report.data["truncated"] == 0
    assert len((out / "train_log.jsonl").read_text().splitlines()) == 30
    lr = [row["lr"] for row in report.log]  # warmup over 3 steps (ratio 0.1), then cosine decay
    assert lr[0] == 0 and lr[3] == pytest.approx(5e-3) and lr[-1] < 1e-4
    tuned = TransformersBackend(str(out), device="cpu")
    assert tuned.generate(["Human:\nMild cardiomegaly.\n\n Assistant:"], max_tokens=3)[0].text


def test_only_completion_tokens_are_trained(base: Path) -> None:
    tokenizer = TransformersBackend(str(base), device="cpu").tokenizer
    pair = Pair("No effusion.", '[{"phrase": "effusion"}]', 1)
    example = encode(tokenizer, pair, 64, "genie-en", "x.jsonl")
    prompt_ids = tokenizer("Human:\nNo effusion.\n\n Assistant:")["input_ids"]
    assert example.ids[:example.prompt_tokens] == prompt_ids
    assert tokenizer.decode(example.ids[example.prompt_tokens:]) == pair.completion + tokenizer.eos_token
    short = encode(tokenizer, Pair("ab", "cd", 1), 64, None, "x.jsonl")
    batch = collate([example, short], tokenizer.pad_token_id)
    assert batch["loss_mask"][0].tolist() == [0] * example.prompt_tokens + [1] * (len(example.ids) -
                                                                                example.prompt_tokens)
    assert batch["loss_mask"][1].sum() == len(short.ids) - short.prompt_tokens
    assert batch["attention_mask"][1].sum() == len(short.ids)
    truncated = encode(tokenizer, pair, example.prompt_tokens + 2, "genie-en", "x.jsonl")
    assert truncated.truncated and len(truncated.ids) == example.prompt_tokens + 2
    with pytest.raises(InputError, match=r"^x.jsonl:7: the prompt is \d+ tokens"):
        encode(tokenizer, Pair("a long prompt " * 20, "c", 7), 16, None, "x.jsonl")


def test_resume_continues_from_the_checkpoint_to_the_same_weights(base: Path, data: Path, tmp_path: Path) -> None:
    args: dict[str, Any] = {"loss": "deft", "steps": 6, "batch_size": 3, "lr": 3e-3, "device": "cpu", "progress": False,
            "checkpoint_every": 2}
    straight = train_sft(data, str(base), tmp_path / "straight", **args)

    def stop_at_5(step: int, row: dict[str, float]) -> None:
        if step == 5:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_sft(data, str(base), tmp_path / "resumed", on_step=stop_at_5, **args)
    kept = sorted(path.name for path in (tmp_path / "resumed" / "checkpoints").iterdir())
    assert kept == ["step-2", "step-4"]
    resumed = train_sft(data, str(base), tmp_path / "resumed", **args)
    assert (resumed.resumed_from, resumed.steps, len(resumed.log)) == (4, 6, 6)
    assert resumed.losses == pytest.approx(straight.losses, rel=1e-5)
    first, second = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert all(torch.allclose(first[name], second[name], atol=1e-6) for name in first)
    assert not torch.equal(first["lm_head.weight"], weights(base)["lm_head.weight"])
    with pytest.raises(ConfigError, match=r"cannot resume with different arguments \(lr: 0.003 -> 0.001\)"):
        train_sft(data, str(base), tmp_path / "resumed", **{**args, "lr": 1e-3})
    data.write_text(data.read_text() + json.dumps({"prompt": "x", "completion": "y"}) + "\n")
    with pytest.raises(ConfigError, match="the data file changed"):
        train_sft(data, str(base), tmp_path / "resumed", **args)


def test_bad_data_and_arguments(base: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    for content, problem in [('{"prompt": "a", "completion": "b"}\n\n{"prompt": "a"\n', r":3: not JSON"),
                             ('{"prompt": "a", "target": "b"}\n', r":1: field 'completion' is missing"),
                             ('{"prompt": "a", "completion": ""}\n', r":1: field 'completion' is empty"),
                             ('["a", "b"]\n', r":1: expected an object"), ("\n", r"no prompt/completion pairs")]:
        path.write_text(content)
        with pytest.raises(InputError, match=problem):
            read_pairs(path)
    with pytest.raises(InputError, match="no such file"):
        read_pairs(tmp_path / "missing.jsonl")
    path.write_text('{"prompt": "a", "completion": "b"}\n')
    with pytest.raises(ParameterError, match="^loss: 'focal' is not an objective"):
        train_sft(path, str(base), tmp_path / "o", loss="focal", progress=False)
    with pytest.raises(ParameterError, match="^batch_size:"):
        train_sft(path, str(base), tmp_path / "o", batch_size=0, progress=False)
    with pytest.raises(ParameterError, match="^model: 'gpt-9' is not in the model registry"):
        train_sft(path, str(base), tmp_path / "o", template="gpt-9", progress=False)


def test_cli_sft_and_generate(base: Path, data: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    result = runner.invoke(app, ["llm", "sft", "--data", str(data), "--model", str(base), "--out", str(out),
                                 "--loss", "nll", "--steps", "3", "--batch-size", "4", "--lr", "1e-3",
                                 "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.strip().splitlines()[-1])["steps"] == 3
    result = runner.invoke(app, ["llm", "generate", "--backend", "transformers", "--model", str(out),
                                 "--template", "genie-en", "--max-tokens", "4", "--json", "No effusion."])
    assert result.exit_code == 0, result.output
    line = json.loads(result.stdout.strip().splitlines()[-1])
    assert line["provenance"]["template"] == "Human:\n{query}\n\n Assistant:"
    assert line["provenance"]["sampling"]["max_tokens"] == 4 and line["finish_reason"] in ("stop", "length")
    result = runner.invoke(app, ["llm", "sft", "--data", str(data), "--model", str(base), "--out", str(out),
                                 "--loss", "deft-x"])
    assert result.exit_code != 0 and "not an objective" in str(result.exception)
