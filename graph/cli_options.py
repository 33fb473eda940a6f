"""What every `bios` command module shares: the consoles, the common options and the progress bar.

Command modules (`cli.py` in each package) import these instead of declaring their own, so an option reads
and behaves the same in every command: `as_json: JsonOption = False`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

console = Console(stderr=True, soft_wrap=True)  # messages, reports and progress for people: stderr
stdout = Console(soft_wrap=True)  # tables that are the command's output

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout (and no progress bar).")]
DeviceOption = Annotated[str, typer.Option(help="auto (GPU when present), cpu, cuda, cuda:1, …")]
HomeOption = Annotated[Path | None, typer.Option("--home", help="Local Neo4j instance folder (default: $BIOS_HOME/"
                                                                "neo4j/instances/default).")]

OnErrorOption = Annotated[str, typer.Option(help="stop: a bad row stops the load; skip: write it to --rejects.")]
RejectsOption = Annotated[Path | None, typer.Option(help="File for rejected lines (with --on-error skip).")]


def comma_list(text: str | None) -> list[str] | None:
    """A comma-separated option (`--sources HPO,ICD10`) as its items; None when not given."""
    return [item.strip() for item in text.split(",") if item.strip()] if text else None


def progress_bar(label: str, disable: bool = False) -> Progress:
    """A progress bar on stderr: `label`, bar, done/total, time left."""
    return Progress(TextColumn(f"[bold]{label}[/bold]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, disable=disable)
