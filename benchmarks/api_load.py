# ruff: noqa: E402  (imports follow the sys.path fix below)
"""API load test: a realistic request mix at fixed concurrency levels against the served API, on loopback.

    python benchmarks/api_load.py                                   # the graph at bolt://127.0.0.1:7687
    python benchmarks/api_load.py --concurrency 1 4 16 --seconds 10
    python benchmarks/api_load.py --concurrency 4 --hostile 1 --before /tmp/before   # before/after in one run

The API (bios_kg.apps.api.app.create_app, one uvicorn process, and its extraction worker process) runs in a child
process on a free loopback port over a graph where the sample is loaded. Inputs are real: terms and their concepts
drawn (seeded) from the graph's Term nodes. At each concurrency level, that many client tasks send requests back to
back for --seconds, each request drawn from the mix (weights in MIX):
- GET /normalize?q=term, POST /normalize with 10 terms, GET /concepts/{id}, GET /search?q=term,
- POST /queries/{name}: a library query (concept-card, ancestors or terms-by-language) on a drawn concept;
then, as the baseline, GET /health alone for --baseline-seconds at the same concurrency (the cost of the HTTP
stack and one trivial Cypher round trip). With --hostile N, each level runs the mix a second time beside N more
clients that send the largest extraction the API accepts, back to back (POST /extract: notes of real IU X-ray
report text up to the request's character budget, linked), and the table compares each endpoint's p99 with the
calm run's (the API should keep it within 2x). Per endpoint: requests, throughput, p50/p99 latency, 4xx, 5xx and
transport errors. With --before CHECKOUT, everything runs first against the API of that checkout (a `git worktree`
of an older commit, whose modules import as apps.*, graph.*; its own BIOS_HOME that links to this one's models and
indexes but keeps its own extraction dictionary), then against this one: before/after from one run, one client.
The client runs on the same machine, so the figures are what both together can do; the load average before and
after each server's run is recorded, since other work on the machine changes them. Every loop is bounded by time
(the hostile client waits at most CLIENT_TIMEOUT_S for an answer); traffic goes to 127.0.0.1 only. Results: --out
(JSON) and a Markdown table beside it; the exit status is 1 if any request to this checkout's API got a 5xx (but a
hostile extraction's 503 or 504) or failed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks.* helpers

import argparse
import asyncio
import os
import platform
import random
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from benchmarks.lookup import CANDIDATE_TERMS
from benchmarks.normalize import DEFAULT_URI, latency_summary, settings_for, wait_ready
from bios_kg.graph.results import process_memory_mib, write_results
from bios_kg.graph.runtime import NEO4J_VERSION, free_port
from bios_kg.graph.settings import data_home
from bios_kg.graph.store import GraphStore

HERE = Path(__file__).resolve().parent
HOSTILE = "POST /extract (hostile)"
NOTE_CHARS = 20_000  # one note, as long as the API allows
HOSTILE_CHARS = 100_000  # per hostile request: the API's budget (bios_kg.apps.api.extract_routes.MAX_REQUEST_CHARS)
MIX = {"GET /normalize": 30, "POST /normalize (10 terms)": 10, "GET /concepts/{id}": 20, "GET /search": 25,
       "POST /queries/{name}": 15}
BASELINE = "GET /health (baseline)"
LIBRARY_QUERIES = ("concept-card", "ancestors", "terms-by-language")
BATCH = 10
CLIENT_TIMEOUT_S = 60
# The API of a checkout from before issue 19 (modules imported as apps.*, graph.* from its root), as that checkout's
# benchmark started it: --before.
BEFORE_SERVER = """
import sys
import uvicorn
from apps.api.app import create_app
from graph.settings import Neo4jSettings
app = create_app(Neo4jSettings(uri=sys.argv[1], username=None, password=None, database="neo4j"))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


@dataclass
class Inputs:
    terms: list[str]
    concepts: list[str]
    hostile: dict[str, Any] = field(default_factory=dict)  # the body of a hostile extraction


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    client_errors: int = 0  # 4xx
    server_errors: int = 0  # 5xx
    refused: int = 0  # of them, 503 and 504: the API's documented answer to too much work
    failed: int = 0  # no response (transport error, timeout)

    def report(self, seconds: float) -> dict[str, Any]:
        summary = latency_summary(self.latencies_ms) if self.latencies_ms else {"requests": 0}
        return {**summary, "per_s": round(len(self.latencies_ms) / seconds, 1), "4xx": self.client_errors,
                "5xx": self.server_errors, "503/504": self.refused, "failed": self.failed}


def serve(args: argparse.Namespace) -> None:
    """The child process: the API as `bios serve` builds it."""
    import uvicorn

    from bios_kg.apps.api.app import create_app

    uvicorn.run(create_app(settings_for(args.uri)), host="127.0.0.1", port=args.serve, log_level="warning")


def draw_inputs(uri: str, n: int, seed: int) -> Inputs:
    with GraphStore.connect(settings_for(uri)) as store:
        rows = random.Random(seed).sample(store.run(CANDIDATE_TERMS), n)
    return Inputs([row["text"] for row in rows], sorted({row["concept"] for row in rows}))


def hostile_body() -> dict[str, Any]:
    """The largest extraction the API accepts: real report text in notes of NOTE_CHARS, up to the request budget."""
    from benchmarks.extract_scaling import long_note

    text = long_note(NOTE_CHARS)
    return {"notes": [{"id": f"n{i}", "text": text} for i in range(HOSTILE_CHARS // NOTE_CHARS)], "link": True}


def request_for(kind: str, inputs: Inputs, rng: random.Random) -> tuple[str, str, dict[str, Any]]:
    """(method, path, httpx keyword arguments) of one request of the mix."""
    term, concept = rng.choice(inputs.terms), rng.choice(inputs.concepts)
    if kind == HOSTILE:
        return "POST", "/extract", {"json": inputs.hostile}
    if kind == "GET /normalize":
        return "GET", "/normalize", {"params": {"q": term, "k": 10}}
    if kind == "POST /normalize (10 terms)":
        return "POST", "/normalize", {"json": {"queries": rng.sample(inputs.terms, BATCH), "k": 10}}
    if kind == "GET /concepts/{id}":
        return "GET", f"/concepts/{quote(concept, safe=':')}", {"params": {"relations_per_type": 20}}
    if kind == "GET /search":
        return "GET", "/search", {"params": {"q": term, "limit": 10}}
    if kind == "POST /queries/{name}":
        return "POST", f"/queries/{rng.choice(LIBRARY_QUERIES)}", {"json": {"params": {"id": concept}, "limit": 50}}
    return "GET", "/health", {}


async def run_level(url: str, kinds: list[str], weights: list[int], inputs: Inputs, concurrency: int,
                    seconds: float, seed: int, hostile: int = 0) -> tuple[dict[str, Tally], float]:
    """`concurrency` tasks sending requests of the mix back to back until `seconds` have passed, beside `hostile`
    tasks sending the hostile extraction."""
    tallies = {kind: Tally() for kind in [*kinds, *([HOSTILE] if hostile else [])]}
    limits = httpx.Limits(max_connections=concurrency + hostile, max_keepalive_connections=concurrency + hostile)
    async with httpx.AsyncClient(base_url=url, timeout=CLIENT_TIMEOUT_S, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker(index: int) -> None:
            rng = random.Random(seed * 1000 + index)
            while time.perf_counter() < deadline:
                kind = HOSTILE if index >= concurrency else rng.choices(kinds, weights)[0]
                method, path, kwargs = request_for(kind, inputs, rng)
                sent = time.perf_counter()
                try:
                    response = await client.request(method, path, **kwargs)
                except httpx.HTTPError:
                    tallies[kind].failed += 1
                    continue
                tallies[kind].latencies_ms.append((time.perf_counter() - sent) * 1000)
                if response.status_code >= 500:
                    tallies[kind].server_errors += 1
                    tallies[kind].refused += response.status_code in (503, 504)
                elif response.status_code >= 400:
                    tallies[kind].client_errors += 1

        await asyncio.gather(*(worker(index) for index in range(concurrency + hostile)))
        return tallies, time.perf_counter() - started


def level_report(tallies: dict[str, Tally], seconds: float) -> dict[str, Any]:
    parts = tallies.values()
    total = Tally([ms for t in parts for ms in t.latencies_ms], sum(t.client_errors for t in parts),
                  sum(t.server_errors for t in parts), sum(t.refused for t in parts), sum(t.failed for t in parts))
    return {"seconds": round(seconds, 1), "endpoints": {kind: t.report(seconds) for kind, t in tallies.items()},
            "total": total.report(seconds)}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    inputs = draw_inputs(args.uri, args.inputs, args.seed)
    if args.hostile:
        inputs.hostile = hostile_body()
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "neo4j": NEO4J_VERSION, "cpus": os.cpu_count()},
        "graph": args.uri, "mix": MIX, "hostile_clients": args.hostile, "hostile_characters": HOSTILE_CHARS,
        "seconds_per_level": args.seconds, "baseline_seconds": args.baseline_seconds,
        "inputs": {"terms": len(inputs.terms), "concepts": len(inputs.concepts)}, "seed": args.seed}
    if args.before:
        with tempfile.TemporaryDirectory(prefix="api-load-before-") as home:
            port = free_port()
            command = [sys.executable, "-c", BEFORE_SERVER, args.uri, str(port)]
            env = {**os.environ, "PYTHONPATH": str(args.before), "BIOS_HOME": str(shared_home(Path(home)))}
            result["before"] = {"checkout": str(args.before), "commit": checkout_commit(args.before),
                                **measure_server(args, inputs, command, args.before, env, port)}
    port = free_port()
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(port), "--uri", args.uri]
    result.update(measure_server(args, inputs, command, HERE.parent, {**os.environ, "PYTHONPATH": str(HERE.parent)},
                                 port))
    result["server_errors"] = server_errors(result["levels"])
    return result


def server_errors(levels: dict[str, Any]) -> int:
    """5xx and requests without an answer, but the hostile extractions' 503 and 504 (refused as designed)."""
    return sum(s["5xx"] - (s["503/504"] if name == HOSTILE else 0) + s["failed"]
               for level in levels.values() for part in ("mix", "baseline", "hostile") if part in level
               for name, s in level[part]["endpoints"].items())


def measure_server(args: argparse.Namespace, inputs: Inputs, command: list[str], cwd: Path, env: dict[str, str],
                   port: int) -> dict[str, Any]:
    """Every level against the server `command` starts on `port`; the load average before and after, memory, and
    how long the server takes to stop."""
    result: dict[str, Any] = {"load_before": os.getloadavg(), "levels": {}}
    process = subprocess.Popen(command, cwd=cwd, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            wait_ready(client, process)
            for text in inputs.terms[: args.warmup]:  # warm the plans and the page cache; not measured
                client.get("/normalize", params={"q": text}).raise_for_status()
            if args.hostile:  # the extractor's dictionary is opened before any measurement
                client.post("/extract", json={"notes": [{"id": "n", "text": "No effusion."}]},
                            timeout=600).raise_for_status()
        result["memory_after_start"] = server_memory(process.pid)
        for level in args.concurrency:
            mix, mix_s = asyncio.run(run_level(url, list(MIX), list(MIX.values()), inputs, level, args.seconds,
                                               args.seed))
            base, base_s = asyncio.run(run_level(url, [BASELINE], [1], inputs, level, args.baseline_seconds,
                                                 args.seed))
            result["levels"][str(level)] = {"mix": level_report(mix, mix_s), "baseline": level_report(base, base_s)}
            if args.hostile:
                hostile, hostile_s = asyncio.run(run_level(url, list(MIX), list(MIX.values()), inputs, level,
                                                           args.seconds, args.seed, args.hostile))
                result["levels"][str(level)]["hostile"] = level_report(hostile, hostile_s)
            total = result["levels"][str(level)]["mix"]["total"]
            print(f"{cwd.name}, concurrency {level}: {total['per_s']} req/s, p99 {total.get('p99_ms')} ms, "
                  f"5xx {total['5xx']}", file=sys.stderr)
        result["memory_after_runs"] = server_memory(process.pid)
    finally:
        stopping = time.perf_counter()
        process.terminate()
        try:
            process.wait(timeout=30)
            result["shutdown_s"] = round(time.perf_counter() - stopping, 1)
        except subprocess.TimeoutExpired:  # a request still at work kept the server up
            process.kill()
            process.wait()
            result["shutdown_s"] = "killed after 30 s"
        result["load_after"] = os.getloadavg()
    return result


def shared_home(home: Path) -> Path:
    """A BIOS_HOME for the server of another checkout: links to everything in this one's (models, k-NN indexes)
    but the extractor's dictionary folder, which each version keeps (and replaces) in its own format."""
    real = data_home()
    for entry in real.iterdir() if real.is_dir() else []:
        if entry.name != "indexes":
            (home / entry.name).symlink_to(entry)
    (home / "indexes").mkdir()
    for entry in (real / "indexes").iterdir() if (real / "indexes").is_dir() else []:
        if entry.name != "extract":
            (home / "indexes" / entry.name).symlink_to(entry)
    return home


def checkout_commit(checkout: Path) -> str:
    return subprocess.run(["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()


def server_memory(pid: int) -> dict[str, Any]:
    """The API process's memory, and its child processes' (the extraction worker) by pid."""
    children = [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()]
    return {**process_memory_mib(pid), "children": {str(child): process_memory_mib(child) for child in children}}


def hostile_ratios(runs: dict[str, Any]) -> dict[str, tuple[Any, Any, Any]]:
    """Per endpoint of a level's hostile run: (calm p99, hostile p99, their ratio)."""
    calm = runs["mix"]["endpoints"]
    out = {}
    for name, s in runs["hostile"]["endpoints"].items():
        before = calm.get(name, {}).get("p99_ms")
        out[name] = (before or "-", s.get("p99_ms", "-"),
                     round(s["p99_ms"] / before, 2) if before and s.get("p99_ms") else "-")
    return out


def memory_lines(server: dict[str, Any]) -> list[str]:
    lines = []
    for name in ("memory_after_start", "memory_after_runs"):
        if name not in server:
            continue
        m, when = server[name], name.removeprefix("memory_").replace("_", " ")
        lines.append(f"| API process, {when} | {m['rss_mib']} | {m['peak_rss_mib']} |")
        lines += [f"| worker process {pid}, {when} | {c['rss_mib']} | {c['peak_rss_mib']} |"
                  for pid, c in m.get("children", {}).items()]
    return lines


def load_line(server: dict[str, Any]) -> str:
    def load(values: list[float]) -> str:
        return ", ".join(f"{value:.2f}" for value in values)

    return f"load average (1, 5, 15 min) {load(server['load_before'])} before, {load(server['load_after'])} after"


def markdown(result: dict[str, Any]) -> str:
    lines = [f"Graph {result['graph']}; one uvicorn process; client and server on the same "
             f"{result['machine']['cpus']}-CPU machine; {result['seconds_per_level']} s of the mix and "
             f"{result['baseline_seconds']} s of baseline per level; 5xx + failed in all (but the hostile "
             f"extractions' 503/504): {result['server_errors']}; "
             f"{load_line(result)}.",
             "", "| concurrency | endpoint | requests | req/s | p50 ms | p99 ms | 4xx | 5xx | failed |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for level, runs in result["levels"].items():
        rows = [*runs["mix"]["endpoints"].items(), ("all of the mix", runs["mix"]["total"]),
                *runs["baseline"]["endpoints"].items()]
        for name, s in rows:
            lines.append(f"| {level} | {name} | {s['requests']} | {s['per_s']} | {s.get('p50_ms', '-')} "
                         f"| {s.get('p99_ms', '-')} | {s['4xx']} | {s['5xx']} | {s['failed']} |")
    if result.get("hostile_clients"):
        lines += ["", f"Hostile mix: the same mix beside {result['hostile_clients']} client(s) sending the largest "
                  "extraction the API accepts, back to back; p99 against the calm run's.", "",
                  "| concurrency | endpoint | calm p99 ms | hostile p99 ms | ratio | hostile requests | 4xx | 5xx "
                  "| of them 503/504 | failed |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for level, runs in result["levels"].items():
            for name, (calm, hostile, ratio) in hostile_ratios(runs).items():
                s = runs["hostile"]["endpoints"][name]
                lines.append(f"| {level} | {name} | {calm} | {hostile} | {ratio} | {s['requests']} | {s['4xx']} "
                             f"| {s['5xx']} | {s['503/504']} | {s['failed']} |")
    if "before" in result:
        before = result["before"]
        lines += ["", f"Before and after, in this run: the API of {before['commit']} (checkout {before['checkout']}, "
                  f"{load_line(before)}) against this one, the same client and inputs; p99 ms, calm and hostile.", "",
                  "| concurrency | endpoint | before calm | before hostile | before ratio | after calm | after hostile "
                  "| after ratio |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
        for level, runs in result["levels"].items():
            old = hostile_ratios(before["levels"][level]) if "hostile" in before["levels"].get(level, {}) else {}
            for name, after in hostile_ratios(runs).items() if "hostile" in runs else []:
                was = old.get(name, ("-", "-", "-"))
                lines.append(f"| {level} | {name} | {' | '.join(map(str, was))} | {' | '.join(map(str, after))} |")
        hostile = [(level, runs["hostile"]["endpoints"].get(HOSTILE, {})) for level, runs in before["levels"].items()
                   if "hostile" in runs]
        lines += ["", "Before, the hostile extractions: " + "; ".join(
            f"concurrency {level}: {s.get('requests', 0)} answered (p50 {s.get('p50_ms', '-')} ms), {s['failed']} "
            f"without an answer within the client's {CLIENT_TIMEOUT_S} s" for level, s in hostile if s) + "."]
        lines += [f"Shutdown before (SIGTERM to exit): {before.get('shutdown_s')} s."]
    lines += ["", f"Shutdown (SIGTERM to exit): {result.get('shutdown_s')} s.", "",
              "| process memory | RSS MiB | peak RSS MiB |", "|---|---:|---:|", *memory_lines(result)]
    if "before" in result:
        lines += [line.replace("| API process", "| before: API process") for line in memory_lines(result["before"])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default=DEFAULT_URI, help="A graph with the sample loaded.")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seconds", type=float, default=10.0, help="Seconds of the mix per concurrency level.")
    parser.add_argument("--baseline-seconds", type=float, default=4.0, help="Seconds of GET /health per level.")
    parser.add_argument("--inputs", type=int, default=500, help="Terms (and their concepts) drawn from the graph.")
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hostile", type=int, default=0, metavar="N",
                        help="Also run each level beside N clients sending the largest extraction (0: off).")
    parser.add_argument("--before", type=Path, metavar="CHECKOUT",
                        help="First run everything against the API of this checkout (a git worktree of a commit "
                             "before issue 19), for before/after figures from one run.")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "api_load.json")
    parser.add_argument("--serve", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.serve:
        serve(args)
        return
    result = measure(args)
    table = markdown(result)
    write_results(result, args.out, table)
    print(table)
    if result["server_errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
