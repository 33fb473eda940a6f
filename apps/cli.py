"""The `bios` command: every job of the project as a subcommand.

Project errors (bios_kg.graph.errors.BiosError) become one line on stderr and exit code 2.
"""

from __future__ import annotations

import sys

import typer

from bios_kg.apps.cypher_cli import cypher_app
from bios_kg.apps.extract.cli import extract_app
from bios_kg.apps.extract.evaluate import eval_extract_command
from bios_kg.apps.llm.cli import llm_app
from bios_kg.apps.lookup_cli import lookup_command, serve_command
from bios_kg.apps.normalize.cli import eval_app, normalize_command, train_default_command
from bios_kg.apps.normalize.sample import sample_load_command
from bios_kg.apps.retrieve.cli import eval_retrieve_command, retrieve_app
from bios_kg.apps.vqa.cli import vqa_app
from bios_kg.embed.cli import embed_app
from bios_kg.embed.cluster.cli import cluster_command, eval_cluster_command, explain_command, release_app
from bios_kg.embed.kge.cli import suggest_app
from bios_kg.embed.types_cli import types_app
from bios_kg.graph.cli import export_app, graph_app, neo4j_app
from bios_kg.graph.errors import BiosError
from bios_kg.ingest.cli import data_app, ingest_app, sample_app

app = typer.Typer(help="BIOS-KG: a biomedical knowledge graph in Neo4j and the tools around it.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(neo4j_app, name="neo4j")
app.add_typer(graph_app, name="graph")
app.add_typer(ingest_app, name="ingest")
app.add_typer(sample_app, name="sample")
sample_app.command("load")(sample_load_command)
app.add_typer(data_app, name="data")
app.add_typer(export_app, name="export")
app.command("lookup")(lookup_command)
app.command("serve")(serve_command)
app.command("normalize")(normalize_command)
app.add_typer(embed_app, name="embed")
embed_app.command("train-default")(train_default_command)
app.add_typer(eval_app, name="eval")
app.add_typer(cypher_app, name="cypher")
app.command("cluster")(cluster_command)
app.command("explain")(explain_command)
app.add_typer(release_app, name="release")
eval_app.command("cluster")(eval_cluster_command)
eval_app.command("extract")(eval_extract_command)
app.add_typer(retrieve_app, name="retrieve")
eval_app.command("retrieve")(eval_retrieve_command)
app.add_typer(types_app, name="types")
app.add_typer(suggest_app, name="suggest")
app.add_typer(vqa_app, name="vqa")
app.add_typer(llm_app, name="llm")
app.add_typer(extract_app, name="extract")


def main() -> None:
    try:
        app()
    except BiosError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
