"""The `bios` command: every job of the project as a subcommand, mounted here from two tables.

Command code lives in one `cli.py` per package, in the layer of the code it runs (bios_kg.graph.cli,
bios_kg.ingest.cli, bios_kg.embed.cli, bios_kg.apps.<feature>.cli); shared options come from
bios_kg.graph.cli_options. This module only mounts: GROUPS are Typer apps (`bios <group> …`), COMMANDS are
functions placed at a path (`bios <name>` or `bios <group> <name>`). The `eval` group lives here because its
commands come from several layers.

Project errors (bios_kg.graph.errors.BiosError) become one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import typer

from bios_kg.apps.api.cli import serve_command
from bios_kg.apps.extract.cli import eval_extract_command, extract_app
from bios_kg.apps.llm.cli import llm_app
from bios_kg.apps.normalize.cli import (
    eval_normalize_command,
    held_out_command,
    normalize_command,
    train_default_command,
)
from bios_kg.apps.normalize.sample import sample_load_command
from bios_kg.apps.retrieve.cli import eval_retrieve_command, retrieve_app
from bios_kg.apps.vqa.cli import vqa_app
from bios_kg.embed.cli import embed_app, types_app
from bios_kg.embed.cluster.cli import cluster_command, eval_cluster_command, explain_command, release_app
from bios_kg.embed.kge.cli import suggest_app
from bios_kg.graph.cli import cypher_app, export_app, graph_app, lookup_command, neo4j_app
from bios_kg.graph.errors import BiosError
from bios_kg.graph.settings import load_settings, settings_for_run
from bios_kg.ingest.cli import data_app, ingest_app, sample_app

eval_app = typer.Typer(help="Accuracy evaluations on benchmarks built from the graph.", no_args_is_help=True)

# `bios <name> …`, in the order `bios --help` lists them.
GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("neo4j", neo4j_app),
    ("graph", graph_app),
    ("ingest", ingest_app),
    ("sample", sample_app),
    ("data", data_app),
    ("export", export_app),
    ("embed", embed_app),
    ("eval", eval_app),
    ("cypher", cypher_app),
    ("release", release_app),
    ("retrieve", retrieve_app),
    ("types", types_app),
    ("suggest", suggest_app),
    ("vqa", vqa_app),
    ("llm", llm_app),
    ("extract", extract_app),
)

# `bios <name>` or `bios <group> <name>`: commands defined as functions, mounted where users look for them.
COMMANDS: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("lookup", lookup_command),
    ("serve", serve_command),
    ("normalize", normalize_command),
    ("cluster", cluster_command),
    ("explain", explain_command),
    ("sample load", sample_load_command),
    ("embed train-default", train_default_command),
    ("eval normalize", eval_normalize_command),
    ("eval held-out", held_out_command),
    ("eval cluster", eval_cluster_command),
    ("eval extract", eval_extract_command),
    ("eval retrieve", eval_retrieve_command),
)


def build_app() -> typer.Typer:
    """The `bios` Typer app: every group of GROUPS and every command of COMMANDS at its path."""
    root = typer.Typer(help="BIOS-KG: a biomedical knowledge graph in Neo4j and the tools around it.",
                       no_args_is_help=True, pretty_exceptions_enable=False)
    groups = dict(GROUPS)
    for path, function in COMMANDS:
        *group, name = path.split()
        (groups[group[0]] if group else root).command(name)(function)
    for name, group_app in GROUPS:
        root.add_typer(group_app, name=name)

    @root.callback()
    def read_settings(ctx: typer.Context) -> None:
        # the environment is read once, here; the whole command runs with these settings (docs/settings.md)
        ctx.with_resource(settings_for_run(load_settings()))

    return root


app = build_app()


def main() -> None:
    try:
        app()
    except BiosError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
