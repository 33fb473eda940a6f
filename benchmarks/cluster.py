# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Clustering cost: terms/s and peak memory of the baseline and BIRCH + rule oracle at 10k, 100k and 1M terms.

    python benchmarks/cluster.py                              # 10k, 100k, 1M on synthetic vectors
    python benchmarks/cluster.py --sizes 10000 --encode 10000 # and end to end (MiniLM encoding) at 10k

Terms: synthetic variants of real terms, the English names of HPO and ICD-10 read from the graph at --uri
(read-only): each real name is a concept, and its variants (case, word order, a dropped, doubled or swapped
letter, a plural, a trailing "NOS", punctuation) are its synonyms; a run of N terms uses N/8 names (the name and 7
variants each) while there are enough (~31k), so 1M terms are ~32 terms for each name.

Vectors: encoding 1M terms with MiniLM takes hours on 2 CPU cores, so the clustering cost is measured on
synthetic 384-d vectors with the structure of term embeddings: a random unit vector per family of 10 names
(related concepts, cosine ~0.6 between names of a family), a name's vector near it, and each variant at cosine
~0.9 to its name. --encode N also runs both methods end to end on N real MiniLM vectors (encoding included).

Each (method, size) runs in a child process that builds its data, then clusters; reported: clustering seconds
and terms/s (data generation excluded), the process's RSS before clustering (imports and the vectors, N x 384 x 4
bytes) and its peak RSS while clustering (VmHWM reset after the data is built), clusters, oracle calls, and
pairwise P/R/F1 against the variant-of-name gold.
A child is stopped after --timeout seconds. Results: --out (JSON) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import platform
import random
import subprocess
import tempfile
import time
from typing import Any

import numpy as np

from bios_kg.graph.results import write_results

HERE = Path(__file__).resolve().parent
DEFAULT_URI = "bolt://127.0.0.1:7687"
DIM = 384
FAMILY = 10
PER_NAME = 8  # terms per real name (the name and 7 variants) while there are names enough
NAMES_FILE = "cluster_names.txt"


def real_names(uri: str) -> list[str]:
    from bios_kg.graph.queries.evaluation import HPO_TERMS, ICD10_TERMS
    from bios_kg.graph.settings import Neo4jSettings
    from bios_kg.graph.store import GraphStore

    with GraphStore.connect(Neo4jSettings(uri=uri, username=None, password=None, database="neo4j")) as store:
        rows = store.run(HPO_TERMS) + store.run(ICD10_TERMS)
    return sorted({row["text"] for row in rows if row.get("lang", "en") == "en" and row.get("tty", "PT") == "PT"})


def variant(name: str, rng: random.Random) -> str:
    """One perturbation of a real name."""
    words = name.split()
    kind = rng.randrange(8)
    if kind == 0:
        return name.lower() if rng.random() < 0.5 else name.upper()
    if kind == 1 and len(words) > 1:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
        return " ".join(words)
    if kind in (2, 3, 4) and len(name) > 4:
        i = rng.randrange(1, len(name) - 2)
        if kind == 2:
            return name[:i] + name[i + 1:]
        if kind == 3:
            return name[:i] + name[i] + name[i:]
        return name[:i] + name[i + 1] + name[i] + name[i + 2:]
    if kind == 5:
        return name + "s"
    if kind == 6:
        return name + ", NOS"
    return name.replace(" ", "-", 1) if " " in name else name + "."


def synthetic_terms(names: list[str], size: int, seed: int) -> tuple[list[str], np.ndarray]:
    """`size` terms: size / PER_NAME names (all of them when fewer), then variants cycling through them; and each
    term's name index (the gold)."""
    rng = random.Random(seed)
    used = max(1, min(len(names), size // PER_NAME))
    texts, gold = [], np.arange(size) % used
    for row in range(size):
        name = names[gold[row]]
        texts.append(name if row < len(names) else variant(name, rng))
    order = np.random.default_rng(seed).permutation(size)  # a stream is not grouped by concept
    return [texts[i] for i in order], gold[order]


def synthetic_vectors(gold: np.ndarray, names: int, seed: int) -> np.ndarray:
    """Unit vectors: family centre -> name (cos ~0.6 within a family) -> variant (cos ~0.9 to its name)."""
    rng = np.random.default_rng(seed)
    families = rng.standard_normal((names // FAMILY + 1, DIM), dtype=np.float32)
    families /= np.linalg.norm(families, axis=1, keepdims=True)
    spread = rng.standard_normal((names, DIM), dtype=np.float32) / np.sqrt(DIM)
    name_vectors = families[np.arange(names) // FAMILY] * 0.77 + spread * 0.64
    name_vectors /= np.linalg.norm(name_vectors, axis=1, keepdims=True)
    vectors = np.empty((len(gold), DIM), dtype=np.float32)
    for start in range(0, len(gold), 100_000):  # in chunks: no second N x 384 temporary
        part = gold[start:start + 100_000]
        noise = rng.standard_normal((len(part), DIM), dtype=np.float32) / np.sqrt(DIM)
        vectors[start:start + len(part)] = name_vectors[part] + noise * 0.45
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors


def memory_mib(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident since start or the last reset) of this process, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux: clear_refs 5), so data generation is not counted."""
    Path("/proc/self/clear_refs").write_text("5")


def worker(args: argparse.Namespace) -> None:
    """A child: build the data of one size, cluster it with one method, print one JSON line."""
    from bios_kg.embed.cluster.baseline import baseline_cluster
    from bios_kg.embed.cluster.birch import birch_cluster
    from bios_kg.embed.cluster.evaluate import pairwise_scores
    from bios_kg.embed.cluster.oracle import RuleOracle
    from bios_kg.graph.text import normalize_term

    names = Path(args.names).read_text(encoding="utf-8").splitlines()
    texts, gold = synthetic_terms(names, args.size, args.seed)
    encode_seconds = None
    if args.vectors == "minilm":
        from bios_kg.embed.encoders import load_encoder

        started = time.perf_counter()
        vectors = load_encoder("minilm", device="cpu").encode(texts)
        encode_seconds = time.perf_counter() - started
    else:
        vectors = synthetic_vectors(gold, len(names), args.seed)
    before = memory_mib("VmRSS")
    reset_peak()
    started = time.perf_counter()
    if args.method == "baseline":
        result = baseline_cluster(vectors, np.array([len(normalize_term(t)) for t in texts]))
    else:
        result = birch_cluster(vectors, texts, RuleOracle())
    seconds = time.perf_counter() - started
    peak = memory_mib("VmHWM")
    scores = pairwise_scores(result.labels, [frozenset({int(g)}) for g in gold])
    total = seconds + (encode_seconds or 0.0)
    print(json.dumps({"method": args.method, "vectors": args.vectors, "terms": args.size, "names": len(names),
                      "cluster_seconds": round(seconds, 2), "terms_per_second": round(args.size / seconds),
                      "encode_seconds": None if encode_seconds is None else round(encode_seconds, 2),
                      "end_to_end_terms_per_second": round(args.size / total),
                      "rss_before_mib": before, "peak_rss_mib": peak, "clusters": result.clusters,
                      "oracle_calls": result.stats.get("oracle_calls"), "precision": scores["precision"],
                      "recall": scores["recall"], "f1": scores["f1"]}))


def run_child(args: argparse.Namespace, names_file: Path, method: str, size: int, vectors: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", "--names", str(names_file), "--method", method, "--size",
               str(size), "--vectors", vectors, "--seed", str(args.seed)]
    print(f"{method} {vectors} {size:,} ...", file=sys.stderr, flush=True)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=args.timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"method": method, "vectors": vectors, "terms": size, "error": f"stopped after {args.timeout} s"}
    if done.returncode != 0:
        return {"method": method, "vectors": vectors, "terms": size, "error": done.stderr.strip()[-500:]}
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  {row['cluster_seconds']} s, {row['terms_per_second']:,} terms/s, peak {row['peak_rss_mib']} MiB, "
          f"F1 {row['f1']}", file=sys.stderr, flush=True)
    return row


def markdown(result: dict[str, Any]) -> str:
    lines = [f"Synthetic variants of {result['names']:,} real HPO + ICD-10 English names; {result['machine']}. "
             "`synthetic` rows cluster synthetic 384-d vectors (clustering cost only; encoding 1M terms with MiniLM "
             "on these cores takes hours); `minilm` rows encode the terms with MiniLM first (end to end). RSS before: "
             "the child process after imports and data (vectors: N x 384 x 4 bytes); peak RSS: while clustering. "
             "F1: pairwise, against the variant-of-name gold.", "",
             "| method | vectors | terms | cluster s | terms/s | encode s | end-to-end terms/s | RSS before MiB "
             "| peak RSS MiB | clusters | oracle calls | calls/term | P | R | F1 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in result["runs"]:
        if "error" in row:
            lines.append(f"| {row['method']} | {row['vectors']} | {row['terms']:,} | {row['error']} |" + " |" * 11)
            continue
        calls = row["oracle_calls"]
        lines.append(
            f"| {row['method']} | {row['vectors']} | {row['terms']:,} | {row['cluster_seconds']} | "
            f"{row['terms_per_second']:,} | {row['encode_seconds'] or '-'} | {row['end_to_end_terms_per_second']:,} | "
            f"{row['rss_before_mib']:,} | {row['peak_rss_mib']:,} | {row['clusters']:,} | "
            f"{'-' if calls is None else f'{calls:,}'} | {'-' if calls is None else round(calls / row['terms'], 3)} | "
            f"{row['precision']} | {row['recall']} | {row['f1']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--uri", default=DEFAULT_URI, help="the graph the real names come from (read only)")
    parser.add_argument("--sizes", default="10000,100000,1000000", help="terms per run, comma-separated")
    parser.add_argument("--methods", default="baseline,birch")
    parser.add_argument("--encode", default="", help="sizes also run end to end with MiniLM, e.g. 10000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=int, default=1500, help="seconds before a run is stopped")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "cluster.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--names", help=argparse.SUPPRESS)
    parser.add_argument("--method", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--vectors", default="synthetic", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    names = real_names(args.uri)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bios-cluster-bench-") as folder:
        names_file = Path(folder) / NAMES_FILE
        names_file.write_text("\n".join(names) + "\n", encoding="utf-8")
        for vectors, sizes in (("minilm", args.encode), ("synthetic", args.sizes)):
            for size in (int(s) for s in sizes.split(",") if s.strip()):
                runs += [run_child(args, names_file, method, size, vectors) for method in args.methods.split(",")]
    result = {"names": len(names), "seed": args.seed, "dim": DIM,
              "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores", "runs": runs}
    table = markdown(result)
    write_results(result, args.out, table)
    print(table)


if __name__ == "__main__":
    main()
