"""`bios vqa …`: build the packaged-image VQA set, link it to the graph, pretrain, fine-tune, evaluate, ask."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from bios_kg.graph.cli_options import DeviceOption, console
from bios_kg.graph.errors import ParameterError

vqa_app = typer.Typer(help="Retrieval-augmented medical VQA (RAMM): data, pretraining, fine-tuning, answers.",
                      no_args_is_help=True)

DEFAULT_RESULTS = Path("benchmarks/results/vqa_eval.json")
Threads = Annotated[int | None, typer.Option(help="torch CPU threads (default: torch's choice).")]
Epochs = Annotated[int, typer.Option(help="Passes over the data.")]
BatchSize = Annotated[int, typer.Option(help="Examples per step.")]
Lr = Annotated[float, typer.Option(help="Learning rate of the fusion, heads and projections.")]
VisionLr = Annotated[float, typer.Option(help="Learning rate of the image encoder.")]
Seed = Annotated[int, typer.Option(help="Seed of the initialization and the data order.")]
Resume = Annotated[bool, typer.Option(help="Go on from the folder's checkpoint.pt when there is one.")]
ImageDir = Annotated[Path | None, typer.Option(help="Image folder (default: the format's own: imgs/ beside a SLAKE "
                                                    "file, the file's folder otherwise).")]


def _threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise ParameterError("threads", f"must be at least 1, got {threads}")
        import torch

        torch.set_num_threads(threads)


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@vqa_app.command("build-dataset")
def build_dataset_command(
    out: Annotated[Path, typer.Option(help="Folder for imgs/, train.json, test.json, pretrain.json.")],
    images: Annotated[int, typer.Option(help="Images to render, shared out over the sources.")] = 160,
    size: Annotated[int, typer.Option(help="Rendered image side in pixels.")] = 128,
    source: Annotated[list[str] | None, typer.Option(help="head-ct, ct-small, mr-small, skimage (repeatable; "
                                                          "default: every installed one).")] = None,
    seed: Seed = 0,
) -> None:
    """A small VQA set (SLAKE layout) and pretraining captions rendered from the medical images in packages."""
    from bios_kg.apps.vqa.build import build_dataset

    _print(build_dataset(out, images=images, size=size, sources=source, seed=seed))


@vqa_app.command("link")
def link_command(
    data: Annotated[Path, typer.Option(help="Dataset folder with train.json, test.json and pretrain.json.")],
    min_score: Annotated[float, typer.Option(help="Least calibrated normalizer score of a link.")] = 0.9,
    vector: Annotated[bool, typer.Option(help="Use the vector stage of the normalizer too.")] = False,
) -> None:
    """Link the questions, answers and captions of a dataset to graph concepts into its concepts.json."""
    from bios_kg.apps.normalize.normalizer import open_normalizer
    from bios_kg.apps.vqa.knowledge import link_dataset
    from bios_kg.graph.store import GraphStore

    with GraphStore.connect() as store:
        _print(link_dataset(open_normalizer(store, vector=vector), data, min_score))


@vqa_app.command("pretrain")
def pretrain_command(
    pairs: Annotated[Path, typer.Option(help="PMCPM-style JSON: [{image, caption, image_id}].")],
    out: Annotated[Path, typer.Option(help="Folder for the pretrained model and its retrieval index.")],
    image_dir: ImageDir = None,
    text_encoder: Annotated[str, typer.Option(help="A registered encoder (minilm) or a HF model folder.")] = "minilm",
    image_size: Annotated[int, typer.Option(help="Model input side in pixels.")] = 64,
    patch_size: Annotated[int, typer.Option(help="ViT patch side.")] = 8,
    vision_dim: Annotated[int, typer.Option(help="ViT width.")] = 128,
    vision_layers: Annotated[int, typer.Option(help="ViT blocks.")] = 3,
    hidden: Annotated[int, typer.Option(help="Fusion width.")] = 128,
    train_text: Annotated[bool, typer.Option(help="Train the text encoder too.")] = False,
    vision_weights: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Start the ViT from this state dict (.pt/.pth/.safetensors; keys as in "
        "bios_kg.apps.vqa.model.ViT, optionally under vision.).")] = None,
    published: Annotated[bool, typer.Option("--published", help="RAMM's pretraining objectives: ITC with a momentum "
                                            "model, queues and soft targets, ITM with hard negatives, MLM with "
                                            "distillation; trains the fusion layers too.")] = False,
    queue_size: Annotated[int | None, typer.Option(help="--published: features per ITC queue [default: 65536].")]
    = None,
    momentum: Annotated[float | None, typer.Option(help="--published: EMA factor of the momentum model "
                                                        "[default: 0.995].")] = None,
    alpha: Annotated[float | None, typer.Option(help="--published: weight of the momentum model's soft targets "
                                                     "(ITC and MLM), reached after the first epoch [default: 0.4].")]
    = None,
    mlm_probability: Annotated[float | None, typer.Option(help="--published: share of caption tokens masked "
                                                               "[default: 0.15].")] = None,
    epochs: Epochs = 10, batch_size: BatchSize = 32, lr: Lr = 1e-4, vision_lr: VisionLr = 1e-4, seed: Seed = 0,
    device: DeviceOption = "auto", threads: Threads = None, resume: Resume = True,
) -> None:
    """Image-text contrastive pretraining (or RAMM's ITC + ITM + MLM with --published), then faiss image and text
    indexes of the pairs."""
    from bios_kg.apps.vqa.model import ModelConfig
    from bios_kg.apps.vqa.objectives import Objectives
    from bios_kg.apps.vqa.train import TrainArgs, pretrain

    _threads(threads)
    given = {"queue_size": queue_size, "momentum": momentum, "alpha": alpha, "mlm_probability": mlm_probability}
    sizes: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    if sizes and not published:
        raise ParameterError(next(iter(sizes)), "sizes RAMM's pretraining: pass --published too")
    config = ModelConfig(image_size=image_size, patch_size=patch_size, vision_dim=vision_dim,
                         vision_layers=vision_layers, hidden=hidden, text_encoder=text_encoder, train_text=train_text,
                         published=published)
    args = TrainArgs(epochs=epochs, batch_size=batch_size, lr=lr, vision_lr=vision_lr, seed=seed)
    _print(pretrain(pairs, out, config, args, image_dir=image_dir, vision_weights=vision_weights, device=device,
                    resume=resume, objectives=Objectives(**sizes) if published else None))


@vqa_app.command("train")
def train_command(
    data: Annotated[Path, typer.Option(help="Training questions: a VQA-RAD or SLAKE JSON file.")],
    out: Annotated[Path, typer.Option(help="Folder for the fine-tuned model.")],
    pretrained: Annotated[Path | None, typer.Option(help="A `bios vqa pretrain` folder (weights and index).")] = None,
    image_dir: ImageDir = None,
    fusion: Annotated[str | None, typer.Option(help="v2 (retrieval attention over CLS) or v1 (concatenation).")] = None,
    retrieval_count: Annotated[int | None, typer.Option(help="Retrieved pairs per question (0: no retrieval).")] = None,
    knowledge: Annotated[bool, typer.Option(help="Enrich questions and captions with the concepts of "
                                                 "concepts.json beside --data (bios vqa link).")] = False,
    published: Annotated[bool, typer.Option("--published", help="RAMM's released code: V2 retrieval attention "
                                            "added to CLS (cls + LN(cls + attn)), one classifier over all answers, "
                                            "n + 1 hits per index with the top one dropped (`bios vqa pretrain "
                                            "--published` for RAMM's pretraining too).")] = False,
    epochs: Epochs = 10, batch_size: BatchSize = 16, lr: Lr = 1e-4, vision_lr: VisionLr = 1e-4, seed: Seed = 0,
    device: DeviceOption = "auto", threads: Threads = None, resume: Resume = True,
) -> None:
    """Fine-tune for VQA with retrieved image-text pairs (closed and open answer heads, or RAMM's one classifier
    with --published)."""
    from bios_kg.apps.vqa.train import TrainArgs, train

    _threads(threads)
    args = TrainArgs(epochs=epochs, batch_size=batch_size, lr=lr, vision_lr=vision_lr, seed=seed)
    _print(train(data, out, pretrained, args, fusion=fusion, retrieval_count=retrieval_count, knowledge=knowledge,
                 image_dir=image_dir, device=device, resume=resume, published=published))


@vqa_app.command("eval")
def eval_command(
    model: Annotated[list[Path], typer.Option(help="A fine-tuned model folder (repeatable: one row each).")],
    data: Annotated[Path, typer.Option(help="Test questions: a VQA-RAD or SLAKE JSON file.")],
    image_dir: ImageDir = None,
    results: Annotated[Path | None, typer.Option(help="Write the figures as JSON here and a table beside it "
                                                      f"(e.g. {DEFAULT_RESULTS}).")] = None,
    predictions: Annotated[Path | None, typer.Option(help="Write every prediction (JSON lines) here.")] = None,
    prior: Annotated[Path | None, typer.Option(help="Training questions: add the question-prior baseline (the "
                                                    "most frequent training answer of each question, no image).")]
    = None,
    device: DeviceOption = "auto", threads: Threads = None,
) -> None:
    """Accuracy overall, closed and open (and by content type) of each model on the test questions."""
    from bios_kg.apps.vqa.data import read_examples
    from bios_kg.apps.vqa.train import VQAModel, evaluate, question_prior, read_meta
    from bios_kg.graph.results import write_results

    _threads(threads)
    examples = read_examples(data, image_dir, test=True)
    rows, lines = [], []
    for folder in model:
        result = evaluate(VQAModel(folder, device=device), examples)
        meta = read_meta(folder)
        lines += [json.dumps({"model": str(folder), **row}, ensure_ascii=False) + "\n"
                  for row in result.pop("predictions")]
        rows.append({"model": str(folder), "fusion": meta["config"]["fusion"],
                     "retrieval_count": meta["config"]["retrieval_count"],
                     "knowledge": meta["config"]["knowledge"], "train": meta["report"], **result})
    if prior is not None:
        rows.append({"model": "question prior (no image)", "fusion": "–", "retrieval_count": 0, "knowledge": False,
                     **question_prior(read_examples(prior, image_dir), examples)})
    if predictions is not None:
        predictions.write_text("".join(lines), encoding="utf-8")
    report = {"data": str(data), "models": rows}
    if results is not None:
        paths = write_results(report, results, results_table(report))
        console.print(f"wrote {paths[0]} and {paths[1]}")
    _print(report)


def results_table(report: dict[str, Any]) -> str:
    contents = sorted({name for row in report["models"] for name in row.get("by_content", {})})
    head = ["model", "fusion", "n retrieved", "knowledge", "overall", "closed", "open", "question type", *contents]
    lines = [f"# VQA accuracy on {report['data']}", "", "| " + " | ".join(head) + " |",
             "|" + "---|" * len(head)]
    for row in report["models"]:
        cells = [Path(row["model"]).name, row["fusion"], str(row["retrieval_count"]), str(row["knowledge"]),
                 *(_cell(row[key]) for key in ("overall", "closed", "open", "question_type")),
                 *(_cell(row["by_content"].get(name)) for name in contents)]
        lines.append("| " + " | ".join(cells) + " |")
    counts = report["models"][0] if report["models"] else {}
    lines += ["", f"{counts.get('n', 0)} questions ({counts.get('n_closed', 0)} closed, {counts.get('n_open', 0)} "
              "open); accuracy = the predicted answer equals the gold one."]
    return "\n".join(lines) + "\n"


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


@vqa_app.command("ask")
def ask_command(
    image: Annotated[Path, typer.Argument(help="A PNG or JPEG image.", exists=True, dir_okay=False)],
    question: Annotated[str, typer.Argument(help="The question, in English.")],
    model: Annotated[Path, typer.Option(help="A fine-tuned model folder.")],
    device: DeviceOption = "auto",
) -> None:
    """Answer one question about one image, with the retrieved captions."""
    from bios_kg.apps.vqa.data import load_image
    from bios_kg.apps.vqa.train import VQAModel

    if not question.strip():
        raise ParameterError("question", "empty")
    vqa = VQAModel(model, device=device)
    _print({"question": question, **vqa.ask(load_image(image, vqa.config.image_size), question)})
