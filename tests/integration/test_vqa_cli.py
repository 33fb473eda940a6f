"""`bios vqa build-dataset | pretrain | train | eval | ask` as a user runs them (tiny sizes)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bios_kg.apps.cli import app
from tests.support.vqa import tiny_text_encoder

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, ["vqa", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_the_commands_end_to_end(tmp_path: Path) -> None:
    data, pre, model = tmp_path / "data", tmp_path / "pre", tmp_path / "model"
    built = json.loads(run("build-dataset", "--out", str(data), "--images", "8", "--size", "32",
                           "--source", "ct-small", "--source", "skimage"))
    assert built["by_source"] == {"ct-small": 4, "skimage": 5}
    sizes = ["--image-size", "16", "--patch-size", "8", "--vision-dim", "16", "--vision-layers", "1", "--hidden", "16"]
    run("pretrain", "--pairs", str(data / "pretrain.json"), "--out", str(pre), "--epochs", "1", "--batch-size", "4",
        "--text-encoder", str(tiny_text_encoder(tmp_path / "text")), "--device", "cpu", "--threads", "1", *sizes)
    trained = json.loads(run("train", "--data", str(data / "train.json"), "--pretrained", str(pre), "--out",
                             str(model), "--epochs", "1", "--batch-size", "4", "--retrieval-count", "1",
                             "--device", "cpu"))
    assert trained["stage"] == "finetune" and len(trained["log"]) == 1
    results = tmp_path / "results" / "vqa_eval.json"
    report = json.loads(run("eval", "--model", str(model), "--data", str(data / "test.json"), "--results",
                            str(results), "--prior", str(data / "train.json"), "--predictions",
                            str(tmp_path / "p.jsonl"), "--device", "cpu"))
    assert [row["model"] for row in report["models"]] == [str(model), "question prior (no image)"]
    assert json.loads(results.read_text()) == report
    table = results.with_suffix(".md").read_text()
    assert "| model | fusion |" in table and "question prior" in table
    assert len((tmp_path / "p.jsonl").read_text().splitlines()) == report["models"][0]["n"]
    image = sorted((data / "imgs").glob("ct-small-*.png"))[0]
    answer = json.loads(run("ask", str(image), "Which organ is shown in this image?", "--model", str(model),
                            "--device", "cpu"))
    assert answer["question"] == "Which organ is shown in this image?" and len(answer["retrieved"]) == 1
    failed = runner.invoke(app, ["vqa", "train", "--data", str(data / "missing.json"), "--out", str(tmp_path / "x")])
    assert failed.exit_code != 0 and "missing.json" in str(failed.exception)
