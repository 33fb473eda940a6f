# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Issue 15's figures at full size against the sample-size baseline, measured in the same run.

    python benchmarks/scale.py --part serve --uri bolt://127.0.0.1:7695             # a big graph vs the sample
    python benchmarks/scale.py --part load --load-args "--preset bios-v2 --release DIR --home DIR"
    python benchmarks/scale.py --part vectors
    python benchmarks/scale.py --uri bolt://127.0.0.1:7695                          # every part (long)

Parts (each alone with --part; the full run is long):
- serve: the same calls on the big graph (--uri) and on the sample graph (--baseline-uri), interleaved call by call
  so that other work on the machine weighs on both alike: `bios lookup` (bios_kg.graph.lookup.lookup, in process),
  the API
  over real HTTP on loopback (GET /search, /concepts/{id}, /neighbourhood/{id}, /paths; one uvicorn server per
  graph, exact + full text only) and every curated library query. Inputs are drawn at random from each graph:
  terms for lookup and search, concepts (with terms) for the per-concept calls. Per call: p50 and p95 on each
  graph and the ratio of the p50s (target: at most 2). Library queries whose header says `unbounded:` run
  --unbounded-calls times with their examples and are reported apart (they scan, so they grow with the graph and
  have a timeout).
  Hubs: the --hubs concepts of the big graph with the most relations, their neighbourhood, card and concept-card
  query timed alone (they must stay fast). The browser page: /browse in headless Chromium (Debian's, Playwright)
  on a drawn concept of each graph and on the biggest hub, time until card and graph show; screenshots in
  test-artifacts/scale/.
- load: benchmarks/ingest_scale.py with --load-args (generate a BIOS-v2-shaped release, bulk load, a 1 % change
  release loaded transactionally twice, the sample-size baseline in the same run).
- vectors: the figures benchmarks/embed_scale.py saved (embedding job against its bare encoder, faiss recall,
  the full-size index's memory, the v3 projection); its parts run there, since its job part changes its graph.
Neo4j credentials for the big graph come from NEO4J_USERNAME / NEO4J_PASSWORD / NEO4J_DATABASE when set; the
baseline uses no authentication unless --baseline-password. Results: --out (JSON) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.* helpers

import argparse
import importlib
import json
import os
import platform
import random
import shlex
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from bios_kg.graph.errors import QueryTimeoutError
from bios_kg.graph.explore import shortest_path
from bios_kg.graph.library import Library, LibraryQuery
from bios_kg.graph.lookup import lookup
from bios_kg.graph.results import write_results
from bios_kg.graph.runtime import NEO4J_VERSION
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore
from tests.support.http import served

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 2.0
# Queries that sample concepts or terms: rand() per row stops once enough rows are found (no full sort).
SAMPLE_CONCEPTS = """
MATCH (c:Concept) WHERE rand() < $p AND EXISTS { (c)-[:HAS_TERM]->() }
RETURN c.id AS id LIMIT $n
"""
SAMPLE_TERMS = """
MATCH (t:Term) WHERE rand() < $p AND size(t.text) >= 3
RETURN t.text AS text LIMIT $n
"""
COUNT_CONCEPTS = "MATCH (c:Concept) RETURN count(c) AS n"
COUNT_TERMS = "MATCH (t:Term) RETURN count(t) AS n"
# Reads the degree of every concept from the degree store: seconds at BIOS-v2 size, once per run.
HUBS = """
MATCH (c:Concept) WITH c, COUNT { (c)--() } AS degree ORDER BY degree DESC LIMIT $n
RETURN c.id AS id, degree
"""


@dataclass
class Graph:
    """One graph under test: its store, its API server's URL, and inputs drawn from it."""

    name: str
    store: GraphStore
    url: str = ""
    terms: list[str] = field(default_factory=list)
    concepts: list[str] = field(default_factory=list)
    times: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


def settings(uri: str, password: str | None, username: str | None, database: str) -> Neo4jSettings:
    return Neo4jSettings(uri=uri, username=username if password else None, password=password, database=database)


def draw(store: GraphStore, count_query: str, sample_query: str, n: int, seed: int) -> list[str]:
    """About `n` values picked at random (Cypher rand(), so not repeatable) in storage order, shuffled by `seed`."""
    total = max(1, store.count(count_query))
    values = [next(iter(row.values())) for row in store.run(sample_query, p=min(1.0, 4 * n / total), n=n)]
    random.Random(seed).shuffle(values)
    return values


def serve_graph(graph_settings: Neo4jSettings) -> AbstractContextManager[str]:
    """The API over one graph (exact + full text, no encoder) on a free loopback port; a big graph starts slowly."""
    from bios_kg.apps.api.app import create_app

    return served(create_app(graph_settings, vector=False), start_timeout=120)


def timed(graph: Graph, name: str, call: Callable[[], object]) -> None:
    started = time.perf_counter()
    try:
        call()
    except QueryTimeoutError:
        graph.errors[name] = graph.errors.get(name, 0) + 1
    graph.times.setdefault(name, []).append((time.perf_counter() - started) * 1000)


def get(client: httpx.Client, path: str, params: dict[str, Any] | None = None) -> None:
    response = client.get(path, params=params)
    if response.status_code >= 500:
        raise QueryTimeoutError(f"{path}: {response.status_code}") if response.status_code == 504 else \
            RuntimeError(f"{path}: {response.status_code} {response.text[:200]}")
    response.raise_for_status()


def per_concept_values(query: LibraryQuery, concept: str, other: str) -> dict[str, Any] | None:
    """Values for a library query whose required parameters are concepts; None when it needs something else."""
    values: dict[str, Any] = {}
    curies = iter([concept, other])
    for param in query.params:
        if param.required and param.type == "curie":
            values[param.name] = next(curies)
        elif param.required:
            return None
    return values if values else None


def serve_calls(library: Library) -> list[tuple[str, Callable[[Graph, httpx.Client, int], None]]]:
    """(name, call on a graph with the i-th drawn input) for every bounded call the issue names."""

    def lookup_call(graph: Graph, _: httpx.Client, i: int) -> None:
        lookup(graph.store, graph.terms[i % len(graph.terms)], limit=10)

    def search(graph: Graph, client: httpx.Client, i: int) -> None:
        get(client, "/search", {"q": graph.terms[i % len(graph.terms)], "limit": 10})

    def card(graph: Graph, client: httpx.Client, i: int) -> None:
        get(client, f"/concepts/{quote(graph.concepts[i % len(graph.concepts)], safe=':')}")

    def neighbourhood(graph: Graph, client: httpx.Client, i: int) -> None:
        get(client, f"/neighbourhood/{quote(graph.concepts[i % len(graph.concepts)], safe=':')}")

    def paths(graph: Graph, client: httpx.Client, i: int) -> None:
        ids = graph.concepts
        get(client, "/paths", {"from": ids[i % len(ids)], "to": ids[(i + 1) % len(ids)], "max_length": 4})

    calls: list[tuple[str, Callable[[Graph, httpx.Client, int], None]]] = [
        ("bios lookup", lookup_call), ("GET /search", search), ("GET /concepts/{id}", card),
        ("GET /neighbourhood/{id}", neighbourhood), ("GET /paths", paths)]
    for query in library:
        if query.unbounded or per_concept_values(query, "X:1", "X:2") is None:
            continue

        def run_query(graph: Graph, _: httpx.Client, i: int, query: LibraryQuery = query) -> None:
            ids = graph.concepts
            values = per_concept_values(query, ids[i % len(ids)], ids[(i + 1) % len(ids)])
            library.run(graph.store, query.name, values or {}, limit=100)

        calls.append((f"query {query.name}", run_query))
    return calls


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"calls": len(ordered), "p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2)}


def measure_serve(args: argparse.Namespace) -> dict[str, Any]:
    env = os.environ
    big = settings(args.uri, env.get("NEO4J_PASSWORD") or None, env.get("NEO4J_USERNAME", "neo4j"),
                   env.get("NEO4J_DATABASE", "neo4j"))
    base = settings(args.baseline_uri, args.baseline_password, "neo4j", "neo4j")
    library = Library()
    calls = serve_calls(library)
    with GraphStore.connect(base) as base_store, GraphStore.connect(big) as big_store, \
            serve_graph(base) as base_url, serve_graph(big) as big_url:
        graphs = [Graph("sample", base_store, base_url), Graph("big", big_store, big_url)]
        sizes = {}
        for graph in graphs:
            started = time.perf_counter()
            graph.terms = draw(graph.store, COUNT_TERMS, SAMPLE_TERMS, args.calls, args.seed)
            graph.concepts = draw(graph.store, COUNT_CONCEPTS, SAMPLE_CONCEPTS, args.calls + 1, args.seed)
            sizes[graph.name] = {"concepts": graph.store.count(COUNT_CONCEPTS),
                                 "terms": graph.store.count(COUNT_TERMS),
                                 "draw_s": round(time.perf_counter() - started, 1)}
        clients = [httpx.Client(base_url=graph.url, timeout=120) for graph in graphs]
        try:
            for _, call in calls:  # warm-up: plans compiled, caches touched, on both graphs
                for graph, client in zip(graphs, clients, strict=True):
                    for i in range(args.warmup):
                        call(graph, client, args.calls + i)
            for i in range(args.calls):
                for name, call in calls:
                    for graph, client in zip(graphs, clients, strict=True):
                        timed(graph, name, lambda: call(graph, client, i))  # noqa: B023 (called at once)
            unbounded = {}
            for query in library:
                if query.unbounded:
                    for _ in range(args.unbounded_calls):
                        for graph in graphs:
                            timed(graph, f"query {query.name}", lambda: library.run(  # noqa: B023
                                graph.store, query.name, query.example, as_text=True, limit=100))  # noqa: B023
                    unbounded[query.name] = query.unbounded
            hubs = measure_hubs(graphs[1], clients[1], library, args.hubs) if args.hubs else []
            pages = [(graph.name, graph.url, graph.concepts[0]) for graph in graphs]
            browser = measure_browser(pages + [("big", graphs[1].url, hub["id"]) for hub in hubs[:1]])
        finally:
            for client in clients:
                client.close()
    rows = []
    for name in graphs[0].times:
        sample, full = summary(graphs[0].times[name]), summary(graphs[1].times[name])
        ratio = round(full["p50_ms"] / sample["p50_ms"], 2) if sample["p50_ms"] else None
        rows.append({"call": name, "sample": sample, "big": full, "p50_ratio": ratio,
                     "unbounded": name.removeprefix("query ") in unbounded,
                     "within_target": ratio is not None and ratio <= TARGET_RATIO,
                     "timeouts": {g.name: g.errors.get(name, 0) for g in graphs}})
    return {"graphs": {"sample": args.baseline_uri, "big": args.uri}, "sizes": sizes, "calls": args.calls,
            "rows": rows, "hubs": hubs, "browser": browser}


def measure_hubs(graph: Graph, client: httpx.Client, library: Library, n: int) -> list[dict[str, Any]]:
    """The most connected concepts of the graph: neighbourhood, card, concept-card query and a path, timed alone."""
    started = time.perf_counter()
    hubs = graph.store.run(HUBS, n=n)
    found_s = time.perf_counter() - started
    rows = []
    for hub in hubs:
        hub_id = hub["id"]
        times: dict[str, float] = {}
        for name, call in [
            ("GET /neighbourhood/{id}", lambda: get(client, f"/neighbourhood/{quote(hub_id, safe=':')}")),  # noqa: B023
            ("GET /concepts/{id}", lambda: get(client, f"/concepts/{quote(hub_id, safe=':')}")),  # noqa: B023
            ("query concept-card", lambda: library.run(graph.store, "concept-card", {"id": hub_id})),  # noqa: B023
            ("path to a drawn concept", lambda: shortest_path(graph.store, hub_id, graph.concepts[0], 4)),  # noqa: B023
        ]:
            call()  # warm
            begun = time.perf_counter()
            call()
            times[name] = round((time.perf_counter() - begun) * 1000, 1)
        rows.append({"id": hub_id, "degree": hub["degree"], "ms": times, "found_in_s": round(found_s, 1)})
    return rows


def measure_browser(pages: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """The concept browser page in headless Chromium (Debian's, through Playwright) for each (graph, API URL,
    concept): milliseconds from navigation until the card is shown and the neighbourhood graph is laid out, and
    a screenshot in test-artifacts/scale/."""
    from playwright.sync_api import sync_playwright

    artifacts = HERE.parent / "test-artifacts" / "scale"
    artifacts.mkdir(parents=True, exist_ok=True)
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        for graph, url, concept in pages:
            context = browser.new_context(base_url=url, viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(60_000)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))  # noqa: B023
            times = []
            for _ in range(2):  # the first load compiles the page's plans and fills caches
                started = time.perf_counter()
                page.goto(f"/browse?id={quote(concept, safe='')}")
                page.wait_for_function("""centre => {
                    const graph = document.getElementById('graph');
                    return document.querySelector('#card h2') && graph.dataset.state === 'ready'
                        && graph.cy.nodes('[?centre]').id() === centre;
                }""", arg=concept)
                times.append(round((time.perf_counter() - started) * 1000))
            shot = artifacts / f"browse-{graph}-{concept.replace(':', '_')}.png"
            page.screenshot(path=str(shot), full_page=True)
            drawn = page.evaluate("document.getElementById('graph').cy.nodes().length")
            rows.append({"graph": graph, "concept": concept, "first_ms": times[0], "warm_ms": times[1],
                         "nodes_drawn": drawn, "screenshot": str(shot.relative_to(HERE.parent)), "errors": errors})
            context.close()
        browser.close()
    return rows


def measure_load(args: argparse.Namespace) -> dict[str, Any]:
    """benchmarks/ingest_scale.py (helper of the loading figures) run with --load-args; its saved result."""
    ingest_scale = importlib.import_module("benchmarks.ingest_scale")
    argv = shlex.split(args.load_args)
    ingest_scale.main(argv)
    result: dict[str, Any] = json.loads(ingest_scale.parse_args(argv).out.read_text(encoding="utf-8"))
    return {"args": args.load_args, "result": result, "markdown": ingest_scale.markdown(result)}


def measure_vectors(_: argparse.Namespace) -> dict[str, Any]:
    """The figures benchmarks/embed_scale.py saved (its job, index and memory parts are run there: the job part
    changes the graph it runs on), with its v3 projection."""
    embed_scale = importlib.import_module("benchmarks.embed_scale")
    figures: dict[str, Any] = embed_scale.embed_scale_figures()
    return {"result": figures, "markdown": embed_scale.markdown(figures)}


def markdown(result: dict[str, Any]) -> str:
    lines: list[str] = []
    serve = result.get("serve")
    if serve:
        sizes = serve["sizes"]
        lines += [f"Serving: the big graph ({sizes['big']['concepts']:,} concepts, {sizes['big']['terms']:,} terms) "
                  f"against the sample graph ({sizes['sample']['concepts']:,} concepts, "
                  f"{sizes['sample']['terms']:,} terms), {serve['calls']} calls each, interleaved; target: big p50 "
                  f"at most {TARGET_RATIO:g}x the sample's.", "",
                  "| call | sample p50 ms | big p50 ms | ratio | sample p95 ms | big p95 ms | within 2x |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for row in serve["rows"]:
            mark = "unbounded (scan, timeout)" if row["unbounded"] else ("yes" if row["within_target"] else "**no**")
            timeouts = sum(row["timeouts"].values())
            lines.append(f"| {row['call']} | {row['sample']['p50_ms']} | {row['big']['p50_ms']} | {row['p50_ratio']} "
                         f"| {row['sample']['p95_ms']} | {row['big']['p95_ms']} | {mark}"
                         f"{f' ({timeouts} timed out)' if timeouts else ''} |")
        if serve["hubs"]:
            names = list(serve["hubs"][0]["ms"])
            lines += ["", "Hub concepts of the big graph (one warm call each, ms):", "",
                      "| concept | relations | " + " | ".join(names) + " |", "|---|---:|" + "---:|" * len(names)]
            lines += [f"| {hub['id']} | {hub['degree']:,} | " + " | ".join(str(hub["ms"][n]) for n in names) + " |"
                      for hub in serve["hubs"]]
        lines += ["", "The browser page (/browse) in headless Chromium, until the card and the laid-out graph show:",
                  "",
                  "| graph | concept | first load ms | warm load ms | nodes drawn | screenshot |",
                  "|---|---|---:|---:|---:|---|"]
        lines += [f"| {row['graph']} | {row['concept']} | {row['first_ms']} | {row['warm_ms']} | {row['nodes_drawn']} "
                  f"| {row['screenshot']} |" for row in serve["browser"]]
        lines.append("")
    if "load" in result:
        lines += [f"Loading (benchmarks/ingest.py {result['load']['args']}):", "", result["load"]["markdown"], ""]
    if "vectors" in result:
        lines += ["Vectors:", "", result["vectors"]["markdown"], ""]
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=["all", "serve", "load", "vectors"], default="all")
    parser.add_argument("--uri", help="The big graph (serve part).")
    parser.add_argument("--baseline-uri", default="bolt://127.0.0.1:7688", help="The sample graph.")
    parser.add_argument("--baseline-password", default=None)
    parser.add_argument("--calls", type=int, default=50, help="Timed calls per serving call and graph.")
    parser.add_argument("--warmup", type=int, default=3, help="Untimed calls per serving call and graph first.")
    parser.add_argument("--unbounded-calls", type=int, default=1, help="Calls of each unbounded library query "
                                                                       "(0: skip them).")
    parser.add_argument("--hubs", type=int, default=3, help="Most connected concepts to time (0: none).")
    parser.add_argument("--load-args", default="--concepts 1000000 --release /tmp/bios-quarter --home "
                                                "/tmp/bios-quarter-neo4j",
                        help="Arguments of benchmarks/ingest_scale.py for the load part.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "scale.json")
    args = parser.parse_args(argv)
    if args.part in ("all", "serve") and not args.uri:
        parser.error(f"--part {args.part} needs --uri (the big graph)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    result: dict[str, Any] = {"machine": {"python": platform.python_version(), "neo4j": NEO4J_VERSION,
                                          "cpus": os.cpu_count()}, "part": args.part}
    if args.part in ("all", "serve"):
        result["serve"] = measure_serve(args)
    if args.part in ("all", "load"):
        result["load"] = measure_load(args)
    if args.part in ("all", "vectors"):
        result["vectors"] = measure_vectors(args)
    table = markdown(result)
    write_results(result, args.out, table)
    print(table)


if __name__ == "__main__":
    main()
