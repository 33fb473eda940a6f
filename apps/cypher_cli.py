"""`bios cypher list|show|run`: the curated query library (cypher/library/) from the command line."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bios_kg.graph.errors import ParameterError
from bios_kg.graph.library import DEFAULT_LIMIT, DEFAULT_TIMEOUT_S, MAX_LIMIT, Library
from bios_kg.graph.store import GraphStore

cypher_app = typer.Typer(help="The curated, read-only Cypher query library (cypher/library/).",
                         no_args_is_help=True)
console = Console(soft_wrap=True)


@cypher_app.command("list")
def list_command(as_json: Annotated[bool, typer.Option("--json", help="Print the library as JSON.")] = False) -> None:
    """Every query of the library with its parameters."""
    queries = list(Library())
    if as_json:
        print(json.dumps([{"name": q.name, "description": q.description, "params": [p.as_dict() for p in q.params],
                           "example": q.example, "unbounded": q.unbounded, "timeout_s": q.timeout_s}
                          for q in queries], ensure_ascii=False))
        return
    table = Table("query", "parameters", "description")
    for query in queries:
        params = ", ".join(f"{p.name}{'' if p.required else '?'}: {p.type}" for p in query.params)
        cost = f" Unbounded: {query.unbounded} (timeout {query.timeout_s:g} s)." if query.unbounded else ""
        table.add_row(query.name, params, query.description + cost)
    console.print(table)


@cypher_app.command("show")
def show_command(name: Annotated[str, typer.Argument(help="A query name (see `bios cypher list`).")]) -> None:
    """Print a query's file: its header (description, parameters) and its Cypher."""
    print(Library().get(name).path.read_text(encoding="utf-8"), end="")


@cypher_app.command("run")
def run_command(
    name: Annotated[str, typer.Argument(help="A query name (see `bios cypher list`).")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE (repeatable; lists "
                                                                          "comma-separated).")] = None,
    limit: Annotated[int, typer.Option(help=f"Rows to show (1-{MAX_LIMIT}).")] = DEFAULT_LIMIT,
    offset: Annotated[int, typer.Option(help="Rows to skip first.")] = 0,
    timeout: Annotated[float | None, typer.Option(help="Seconds before the server stops the query (default: the "
                                                      "query's timeout: header, else "
                                                      f"{DEFAULT_TIMEOUT_S:g}).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the page of rows as JSON.")] = False,
) -> None:
    """Run a library query in a read transaction against NEO4J_URI, e.g.
    `bios cypher run ancestors --param id=HP:0001250`."""
    values: dict[str, str] = {}
    for item in param or []:
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise ParameterError("--param", f"expected NAME=VALUE, got {item!r}")
        values[key.strip()] = value
    library = Library()
    with GraphStore.connect() as store:
        page = library.run(store, name, values, as_text=True, offset=offset, limit=limit, timeout_s=timeout)
    if as_json:
        print(json.dumps(page.as_dict(), ensure_ascii=False))
        return
    table = Table(*page.columns)
    for row in page.rows:
        table.add_row(*(_cell(row[column]) for column in page.columns))
    console.print(table)
    more = f"; more with --offset {offset + len(page.rows)}" if page.has_more else ""
    console.print(f"{len(page.rows)} rows from row {offset}{more}")


def _cell(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
