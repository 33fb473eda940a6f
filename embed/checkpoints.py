"""Resumable training runs, shared by every trainer (CODER/CoRTEx, DR.EHR retrieval, SFT with DEFT).

`out/checkpoints/step-N/` holds the trainer's model folder (written by its own save function) and `trainer.pt`
(optimizer, scheduler, sampler, RNG states, step, log, arguments, data fingerprint). Each checkpoint is written to
`step-N.tmp` and renamed, so a kill during a save leaves the previous one intact; the newest KEEP_CHECKPOINTS stay.
A run resumes only under the arguments and data it was started with.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from bios_kg.graph.errors import ConfigError

CHECKPOINTS = "checkpoints"
TRAINER_STATE = "trainer.pt"
KEEP_CHECKPOINTS = 2


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_steps(out: Path) -> list[int]:
    """The steps of the complete checkpoints under out/checkpoints, oldest first."""
    folder = Path(out) / CHECKPOINTS
    names = (path.name.removeprefix("step-") for path in folder.glob("step-*")) if folder.is_dir() else ()
    return sorted(int(name) for name in names if name.isdigit() and (folder / f"step-{name}" / TRAINER_STATE).is_file())


def latest_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint folder under out/checkpoints, if any."""
    steps = checkpoint_steps(out)
    return Path(out) / CHECKPOINTS / f"step-{steps[-1]}" if steps else None


def load_state(checkpoint: Path) -> dict[str, Any]:
    return torch.load(checkpoint / TRAINER_STATE, map_location="cpu", weights_only=True)


def write_checkpoint(out: Path, step: int, save_model: Callable[[Path], None], state: dict[str, Any]) -> None:
    """`save_model(folder)` writes the model; `state` goes to trainer.pt beside it."""
    folder = Path(out) / CHECKPOINTS
    final, partial = folder / f"step-{step}", folder / f"step-{step}.tmp"
    for stale in folder.glob("*.tmp"):  # left by a run killed while saving
        shutil.rmtree(stale, ignore_errors=True)
    save_model(partial / "model")
    torch.save(state, partial / TRAINER_STATE)
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    for old in checkpoint_steps(out)[:-KEEP_CHECKPOINTS]:
        shutil.rmtree(folder / f"step-{old}", ignore_errors=True)


def check_resumable(checkpoint: Path, state: dict[str, Any], arguments: dict[str, Any], fingerprint: Any,
                    data: str = "the training data") -> None:
    """Refuse to resume under other arguments (`state["config"]`) or other data (`state["fingerprint"]`)."""
    saved = state["config"]
    changed = sorted(key for key, value in arguments.items() if saved.get(key) != value)
    if changed:
        details = ", ".join(f"{key}: {saved.get(key)!r} -> {arguments[key]!r}" for key in changed)
        raise ConfigError(f"{checkpoint}: cannot resume with different arguments ({details}); "
                          "rerun with the checkpoint's arguments or use a new --out")
    if state["fingerprint"] != fingerprint:
        raise ConfigError(f"{checkpoint}: {data} changed since this checkpoint; use a new --out")
