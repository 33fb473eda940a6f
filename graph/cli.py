"""The graph layer's commands: `bios neo4j …` (the local runtime), `bios graph …` (schema and statistics),
`bios export …`, `bios lookup` and `bios cypher list|show|run` (the curated query library)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from bios_kg.graph.cli_options import HomeOption, JsonOption, console, stdout
from bios_kg.graph.errors import ParameterError
from bios_kg.graph.library import DEFAULT_LIMIT, DEFAULT_TIMEOUT_S, MAX_LIMIT, Library
from bios_kg.graph.lookup import lookup
from bios_kg.graph.runtime import LocalNeo4j, ServerOptions
from bios_kg.graph.settings import DEFAULT_BOLT_PORT, DEFAULT_HTTP_PORT, default_instance_home
from bios_kg.graph.store import GraphStore

neo4j_app = typer.Typer(help="Run a local Neo4j 5.26 (jars from Maven Central, Java 17, no Docker).",
                        no_args_is_help=True)
graph_app = typer.Typer(help="Schema and statistics of the graph at NEO4J_URI.", no_args_is_help=True)
export_app = typer.Typer(help="Write the graph out in standard formats.", no_args_is_help=True)
cypher_app = typer.Typer(help="The curated, read-only Cypher query library (cypher/library/).",
                         no_args_is_help=True)

# Printed by `bios neo4j start` for the Neo4j Browser (on the sample graph); more in README.md.
BROWSER_STARTERS = (
    "MATCH (c:Concept {id: 'ICD10:G40'})-[h:HAS_TERM]->(t:Term) RETURN c, h, t",
    "MATCH (c:Concept {id: 'HP:0001250'})-[r]-(o:Concept) RETURN c, r, o LIMIT 40",
    "MATCH p = (:Concept)-[:MAY_TREAT]->(:Concept {id: 'CMEKG:癫痫病'}) RETURN p LIMIT 30",
    "MATCH (a:Concept {id: 'ICD10:G40'}), (b:Concept {id: 'HP:0001250'}) "
    "MATCH p = shortestPath((a)-[*..8]-(b)) WHERE all(n IN nodes(p) WHERE n:Concept) RETURN p",
)

def _instance(home: Path | None) -> LocalNeo4j:
    return LocalNeo4j(home or default_instance_home())


@neo4j_app.command("start")
def neo4j_start(
    home: HomeOption = None,
    bolt_port: Annotated[int, typer.Option(help="Bolt port on 127.0.0.1.")] = DEFAULT_BOLT_PORT,
    http_port: Annotated[int, typer.Option(help="HTTP port (Neo4j Browser) on 127.0.0.1.")] = DEFAULT_HTTP_PORT,
    no_http: Annotated[bool, typer.Option("--no-http", help="Do not start the HTTP connector.")] = False,
    heap: Annotated[str, typer.Option(help="JVM heap, e.g. 2g.")] = "2g",
    pagecache: Annotated[str, typer.Option(help="Page cache, e.g. 2g.")] = "2g",
) -> None:
    """Start Neo4j and return once Bolt answers; prints the URI."""
    instance = _instance(home)
    status = instance.start(ServerOptions(bolt_port, http_port, not no_http, heap, pagecache), log=console.print)
    print(status.uri)
    if status.browser:
        console.print(f"Neo4j Browser: {status.browser} (connect to {status.uri}, no authentication)")
        console.print("Starter queries (star one in the Browser's editor to keep it as a favourite):")
        for query in BROWSER_STARTERS:
            console.print(f"  {query}", markup=False, highlight=False)


@neo4j_app.command("stop")
def neo4j_stop(home: HomeOption = None) -> None:
    """Stop the local Neo4j (SIGTERM, clean shutdown)."""
    stopped = _instance(home).stop(log=console.print)
    console.print("stopped" if stopped else "not running")


@neo4j_app.command("status")
def neo4j_status(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Is the local Neo4j running, and where. Exit code 0 when running, 3 when not."""
    status = _instance(home).status()
    if as_json:
        print(json.dumps(status.as_dict()))
    elif status.running:
        print(f"running  pid {status.pid}  {status.uri}  browser {status.browser or '-'}  home {status.home}")
    else:
        print(f"stopped  home {status.home}")
    raise typer.Exit(0 if status.running else 3)


@graph_app.command("init")
def graph_init() -> None:
    """Create the constraints and indexes of cypher/schema.cypher (idempotent)."""
    with GraphStore.connect() as store:
        applied = store.apply_schema()
    console.print(f"schema applied ({applied} statements)")


@graph_app.command("stats")
def graph_stats(as_json: JsonOption = False) -> None:
    """Counts by label, by relationship type and by source."""
    with GraphStore.connect() as store:
        stats = store.stats()
    if as_json:
        print(json.dumps(asdict(stats), indent=2, sort_keys=True))
        return
    for title, counts in (("Nodes by label", stats.labels), ("Relationships by type", stats.relationship_types)):
        table = Table(title=title)
        table.add_column("name")
        table.add_column("count", justify="right")
        for name, count in counts.items():
            table.add_row(name, f"{count:,}")
        stdout.print(table)
    table = Table(title="By source")
    for column in ("source", "kind", "count"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for source, kinds in stats.by_source.items():
        for kind, count in kinds.items():
            table.add_row(source, kind, f"{count:,}")
    stdout.print(table)


@export_app.command("skos")
def export_skos_command(
    out: Annotated[Path, typer.Option("--out", help="Turtle file to write (FILE.ttl).")],
    source: Annotated[str | None, typer.Option(help="Only the concepts of this source id (e.g. HPO).")] = None,
    page_size: Annotated[int, typer.Option(help="Concepts read per query.")] = 5000,
    as_json: JsonOption = False,
) -> None:
    """SKOS in Turtle: concepts, prefLabel/altLabel by language, definitions, broader, exactMatch, relations."""
    from bios_kg.graph.skos import export_skos

    with GraphStore.connect() as store:
        report = export_skos(store, out, source=source, progress=not as_json, page_size=page_size)
    if as_json:
        print(json.dumps(report.as_dict()))
    else:
        console.print(f"{report.out}: {report.concepts:,} concepts, {report.labels:,} labels, "
                      f"{report.relations:,} relations, {report.triples:,} triples in {report.seconds:.1f}s")


def lookup_command(
    term: Annotated[str, typer.Argument(help="A term in any language, e.g. seizure or 癫痫.")],
    lang: Annotated[str | None, typer.Option(help="Only terms of this ISO 639-1 language.")] = None,
    limit: Annotated[int, typer.Option(help="Concepts to show (1-100).")] = 10,
    as_json: JsonOption = False,
) -> None:
    """Find concepts by term: exact normalized match first, then full text."""
    with GraphStore.connect() as store:
        hits = lookup(store, term, lang=lang, limit=limit)
    if as_json:
        print(json.dumps([hit.as_dict() for hit in hits], ensure_ascii=False))
        return
    if not hits:
        stdout.print(f"no concept found for {term!r}")
        raise typer.Exit(1)
    table = Table("concept", "name", "matched", "types", "sources", "method")
    for hit in hits:
        names = " / ".join(dict.fromkeys(n for n in (hit.name, hit.names.get("zh")) if n))
        table.add_row(hit.id, names, f"{hit.matched} ({hit.matched_lang}, {hit.tty})",
                      ", ".join(t["name"] for t in hit.types), ", ".join(hit.sources), f"{hit.method} {hit.score:.2f}")
    stdout.print(table)


@cypher_app.command("list")
def cypher_list_command(as_json: JsonOption = False) -> None:
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
    stdout.print(table)


@cypher_app.command("show")
def cypher_show_command(name: Annotated[str, typer.Argument(help="A query name (see `bios cypher list`).")]) -> None:
    """Print a query's file: its header (description, parameters) and its Cypher."""
    print(Library().get(name).path.read_text(encoding="utf-8"), end="")


@cypher_app.command("run")
def cypher_run_command(
    name: Annotated[str, typer.Argument(help="A query name (see `bios cypher list`).")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="NAME=VALUE (repeatable; lists "
                                                                          "comma-separated).")] = None,
    limit: Annotated[int, typer.Option(help=f"Rows to show (1-{MAX_LIMIT}).")] = DEFAULT_LIMIT,
    offset: Annotated[int, typer.Option(help="Rows to skip first.")] = 0,
    timeout: Annotated[float | None, typer.Option(help="Seconds before the server stops the query (default: the "
                                                      "query's timeout: header, else "
                                                      f"{DEFAULT_TIMEOUT_S:g}).")] = None,
    as_json: JsonOption = False,
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
    stdout.print(table)
    more = f"; more with --offset {offset + len(page.rows)}" if page.has_more else ""
    stdout.print(f"{len(page.rows)} rows from row {offset}{more}")


def _cell(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)
