"""Terminology files written by others (`../shared/realworld/` beside the repository, as CI checks it out)."""

from pathlib import Path

REALWORLD = Path(__file__).resolve().parents[2].parent / "shared" / "realworld"
