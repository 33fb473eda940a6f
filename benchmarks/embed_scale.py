# ruff: noqa: E402  (imports follow the sys.path fix below)
"""Vectors at size: the embedding job against its bare encoder, the faiss kinds' recall, the full-size index's memory.

    python benchmarks/embed_scale.py job --uri bolt://127.0.0.1:7694 --terms 20000   # CHANGES that graph
    python benchmarks/embed_scale.py index [--vectors 'DIR/real_*.npy']          # default: synthetic vectors
    python benchmarks/embed_scale.py memory --count 7400000 --work DIR
    python benchmarks/embed_scale.py report          # the Markdown table and the v3 projection from the JSON

- job: on a scratch graph (terms beyond the first --terms ids are DELETED, every vector cleared), in one process:
  the bare encoder (`Encoder.encode` over the slice's texts, all sorted by length), the job (`embed_terms`:
  read, encode, write, concepts, faiss), the bare encoder again; the ratio is the job's terms stage and its whole
  run against the mean of the two encoder runs. With --ray-workers, the job's terms stage on a local Ray instance
  too (per-worker rate). Peak RSS of the process is reported.
- index: recall@10 against exact search of each faiss kind of embed/index.py built over --sample vectors (held-out
  queries: the next 1,000 vectors), with build time and query latency; IVF-SQ8 also over nprobe values.
- memory: an IVF-SQ8 file of --count vectors laid out as embed/index.py builds it (cells: rows of the given
  vectors; 8-bit codes filled at random, which does not change the size) and, in a fresh process, the RSS of
  opening it as the API does (memory-mapped) with --count term ids and answering queries.
- report: the table from benchmarks/results/embed_scale.json, with the v3 projection (35.6M terms on N GPU
  workers), marked as a projection.

Results merge into --out (JSON; each subcommand writes its part) and a Markdown table beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path, where benchmarks/ingest.py would hide the package.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import glob
import json
import math
import os
import platform
import resource
import subprocess
import tempfile
import time
from typing import Any

import faiss
import numpy as np

from bios_kg.embed.encoders import load_encoder
from bios_kg.embed.index import IVF_NPROBE, build_faiss, choose_kind, normalized
from bios_kg.embed.job import embed_terms
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore

RESULTS = Path(__file__).parent / "results" / "embed_scale.json"
V2_TERMS, V3_TERMS = 7_400_000, 35_600_000
# Published sentence-transformers figures for all-MiniLM-L6-v2 on one V100 GPU: ~14,200 sentences/s
# (sbert.net "Pretrained Models" table, batch 128+, fp32); short terms (~8 tokens) go faster still.
GPU_TERMS_PER_SECOND = 14_200


def _rss_peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def job(uri: str, terms: int, batch_size: int, ray_workers: int) -> dict[str, Any]:
    settings = Neo4jSettings(uri=uri, username=None, password=None, database="neo4j")
    with GraphStore.connect(settings) as store:
        cut = store.run("MATCH (t:Term) WITH t ORDER BY t.id SKIP $n LIMIT 1 RETURN t.id AS id", n=terms)
        if cut:
            store.run_in_transactions("MATCH (t:Term) WHERE t.id >= $cut CALL (t) { DETACH DELETE t } "
                                      "IN TRANSACTIONS OF 10000 ROWS", cut=cut[0]["id"])
        encoder = load_encoder("minilm", device="cpu", runtime="onnx")

        def clear() -> None:
            store.run_in_transactions("MATCH (t:Term) WHERE t.embedding_model IS NOT NULL CALL (t) { "
                                      "REMOVE t.embedding, t.embedding_model } IN TRANSACTIONS OF 10000 ROWS")
            store.run_in_transactions("MATCH (c:Concept) WHERE c.embedding_model IS NOT NULL CALL (c) { REMOVE "
                                      "c.embedding, c.embedding_model, c.embedding_terms } "
                                      "IN TRANSACTIONS OF 10000 ROWS")
            store.run("MATCH (m:EmbeddingModel) DELETE m")

        clear()
        texts = [row["text"] for row in store.run("MATCH (t:Term) RETURN t.text AS text ORDER BY t.id")]
        encoder.encode(texts[:512], batch_size=batch_size)  # warm up

        def bare() -> float:
            started = time.perf_counter()
            encoder.encode(texts, batch_size=batch_size)
            return len(texts) / (time.perf_counter() - started)

        bare_before = bare()
        with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as folder:
            started = time.perf_counter()
            report = embed_terms(store, encoder, batch_size=batch_size, index_dir=Path(folder), progress=False)
            total = time.perf_counter() - started
        bare_after = bare()
        bare_mean = (bare_before + bare_after) / 2
        result: dict[str, Any] = {
            "terms": len(texts), "batch_size": batch_size, "model": report.model_id,
            "bare_encoder_terms_per_s": [round(bare_before, 1), round(bare_after, 1)],
            "job_terms_stage_per_s": round(report.terms_per_second, 1),
            "job_end_to_end_per_s": round(len(texts) / total, 1),
            "ratio_terms_stage": round(report.terms_per_second / bare_mean, 3),
            "ratio_end_to_end": round(len(texts) / total / bare_mean, 3),
            "job_seconds": report.as_dict()["seconds"], "index": report.index,
            "peak_rss_mib": round(_rss_peak_mib()),
        }
        if ray_workers:
            import ray

            clear()
            ray.init(num_cpus=ray_workers, include_dashboard=False, log_to_driver=False)
            try:
                with tempfile.TemporaryDirectory() as folder:
                    ray_report = embed_terms(store, encoder, batch_size=batch_size, index_dir=Path(folder),
                                             progress=False, engine="ray", workers=ray_workers, concepts=False)
            finally:
                ray.shutdown()
            result["ray"] = {"workers": ray_workers, "terms_stage_per_s": round(ray_report.terms_per_second, 1),
                             "per_worker_per_s": round(ray_report.terms_per_second / ray_workers, 1),
                             "bare_encoder_mean_per_s": round(bare_mean, 1)}
    return result


def synthetic_vectors(count: int, dim: int = 384, seed: int = 0) -> np.ndarray:
    """Unit vectors with the structure of term embeddings: a shared direction (sentence encoders are anisotropic),
    500 topics, groups of ~5 (a concept's names) within topics, and per-vector noise. Cosines: ~0.6 within a group,
    ~0.3 within a topic, ~0.05 across. Not real vectors: real MiniLM vectors are the better test."""
    rng = np.random.default_rng(seed)

    def unit(rows: np.ndarray) -> np.ndarray:
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    shared = unit(rng.standard_normal((1, dim)))
    topics = unit(rng.standard_normal((500, dim)))
    groups = unit(topics[rng.integers(0, 500, count // 5 + 1)] + 0.9 * unit(rng.standard_normal((count // 5 + 1, dim))))
    members = groups[rng.integers(0, len(groups), count)]
    return normalized(0.3 * shared + members + 0.8 * unit(rng.standard_normal((count, dim))))


def _load_vectors(pattern: str, limit: int) -> np.ndarray:
    if pattern == "synthetic":
        return synthetic_vectors(limit)
    chunks, count = [], 0
    for path in sorted(glob.glob(pattern)):
        chunks.append(np.load(path))
        count += len(chunks[-1])
        if count >= limit:
            break
    return normalized(np.concatenate(chunks)[:limit])


def _recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found, exact, strict=True)]))


def index(pattern: str, sample: int, kinds_measured: list[str], queries: int = 1000) -> dict[str, Any]:
    vectors = _load_vectors(pattern, sample + queries)
    base, held_out = vectors[:-queries], vectors[-queries:]
    _, exact = build_faiss(base, "flat").search(held_out, 10)
    kinds: dict[str, Any] = {}
    for kind in kinds_measured:
        started = time.perf_counter()
        built = build_faiss(base, kind)  # type: ignore[arg-type]
        build_s = time.perf_counter() - started
        started = time.perf_counter()
        _, found = built.search(held_out, 10)
        kinds[kind] = {"recall_at_10": round(_recall(found, exact), 4), "build_s": round(build_s, 1),
                       "query_ms": round(1000 * (time.perf_counter() - started) / queries, 3),
                       "bytes_per_vector": round(len(faiss.serialize_index(built)) / len(base), 1)}
        if kind == "ivf-sq8":
            ivf = faiss.extract_index_ivf(built)
            curve = {}
            for nprobe in (8, 16, 32, 64, 128, 192, 256, 384):
                ivf.nprobe = nprobe
                curve[str(nprobe)] = round(_recall(built.search(held_out, 10)[1], exact), 4)
            kinds[kind] |= {"nlist": ivf.nlist, "nprobe": IVF_NPROBE, "recall_by_nprobe": curve}
    return {"vectors": len(base), "queries": queries, "source": pattern, "kinds": kinds,
            "kind_chosen_at_this_size": choose_kind(len(base))}


_OPEN_AND_QUERY = """
import json, resource, sys, time, faiss, numpy as np
def rss():
    return {k: int(v.split()[0]) // 1024 for k, v in (l.split(':', 1) for l in open('/proc/self/status'))
            if k in ('VmRSS', 'VmHWM')}
path, ids_path, queries_path, flags = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
before = rss()
index = faiss.read_index(path, flags)
ids = open(ids_path).read().splitlines()
loaded = rss()
queries = np.load(queries_path)
started = time.perf_counter()
for row in queries:
    index.search(row[None, :], 10)
latency = (time.perf_counter() - started) / len(queries)
print(json.dumps({"before_mib": before, "loaded_mib": loaded, "after_queries_mib": rss(),
                  "query_ms": round(1000 * latency, 2), "ntotal": index.ntotal, "ids": len(ids)}))
"""


def memory(count: int, pattern: str, work: Path, seed: int = 0) -> dict[str, Any]:
    vectors = _load_vectors(pattern, 100_000)
    dim = vectors.shape[1]
    nlist = int(4 * math.sqrt(count))
    rng = np.random.default_rng(seed)
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dim), dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    cells = vectors[rng.choice(len(vectors), nlist, replace=len(vectors) < nlist)]
    index.quantizer.add(cells)  # cell centroids: real vectors (k-means would move them, not resize them)
    index.sq.train(vectors)
    index.is_trained = True
    index.nprobe = min(IVF_NPROBE, nlist)
    per_cell = np.bincount(rng.integers(0, nlist, count), minlength=nlist)
    start = 0
    invlists = faiss.extract_index_ivf(index).invlists
    assert invlists is not None
    for cell, size in enumerate(per_cell):
        codes = rng.integers(0, 256, (int(size), index.code_size), dtype=np.uint8)
        ids = np.arange(start, start + size, dtype=np.int64)
        invlists.add_entries(cell, int(size), faiss.swig_ptr(ids), faiss.swig_ptr(codes))
        start += int(size)
    index.ntotal = count
    work.mkdir(parents=True, exist_ok=True)
    path, ids_path, queries_path = work / "terms.faiss", work / "terms.ids", work / "queries.npy"
    faiss.write_index(index, str(path))
    del index, invlists
    with ids_path.open("w") as handle:
        for block in range(0, count, 1_000_000):
            handle.write("".join(f"BIOS:T{row:09d}\n" for row in range(block, min(count, block + 1_000_000))))
    np.save(queries_path, vectors[:200])
    result: dict[str, Any] = {"count": count, "dim": dim, "nlist": nlist, "nprobe": min(IVF_NPROBE, nlist),
                              "file_gib": round(path.stat().st_size / 2**30, 2),
                              "float32_gib": round(count * dim * 4 / 2**30, 2)}
    for name, flags in (("mmap", faiss.IO_FLAG_MMAP), ("read", 0)):
        done = subprocess.run([sys.executable, "-c", _OPEN_AND_QUERY, str(path), str(ids_path), str(queries_path),
                               str(flags)], capture_output=True, text=True, check=True)
        result[name] = json.loads(done.stdout)
    for item in (path, ids_path, queries_path):
        item.unlink()
    return result


def projection(result: dict[str, Any]) -> list[dict[str, Any]]:
    """v3 (35.6M terms) on N GPU workers: a projection from a published GPU rate, not a measurement."""
    rows = []
    for workers in (1, 2, 4, 8, 16, 32):
        rate = GPU_TERMS_PER_SECOND * workers * 0.9  # 90%: the job's measured share of its encoder, kept per worker
        rows.append({"gpu_workers": workers, "terms_per_s": round(rate),
                     "v3_hours": round(V3_TERMS / rate / 3600, 2), "v2_hours": round(V2_TERMS / rate / 3600, 2)})
    return rows


def markdown(data: dict[str, Any]) -> str:
    lines = ["# Vectors at size", "", f"Machine: {data.get('machine', '?')}", ""]
    if "job" in data:
        job_ = data["job"]
        lines += ["## Embedding job against its bare encoder (one run)", "",
                  "| terms | bare encoder terms/s (before, after) | job terms stage /s | job end to end /s "
                  "| terms stage / encoder | end to end / encoder | peak RSS MiB |", "|---|---|---|---|---|---|---|",
                  f"| {job_['terms']:,} | {job_['bare_encoder_terms_per_s']} | {job_['job_terms_stage_per_s']} "
                  f"| {job_['job_end_to_end_per_s']} | {job_['ratio_terms_stage']} | {job_['ratio_end_to_end']} "
                  f"| {job_['peak_rss_mib']} |", "", f"Job phases (s): {job_['job_seconds']}", ""]
        if "ray" in job_:
            ray = job_["ray"]
            lines += [f"Ray engine, {ray['workers']} local CPU workers: {ray['terms_stage_per_s']} terms/s "
                      f"({ray['per_worker_per_s']} per worker; bare encoder {ray['bare_encoder_mean_per_s']}/s "
                      "on the same cores).", ""]
    if "index" in data:
        idx = data["index"]
        lines += [f"## faiss kinds on {idx['vectors']:,} vectors ({idx['queries']} held-out queries)", "",
                  "| kind | recall@10 vs exact | build s | query ms | bytes/vector |", "|---|---|---|---|---|"]
        lines += [f"| {kind} | {v['recall_at_10']} | {v['build_s']} | {v['query_ms']} | {v['bytes_per_vector']} |"
                  for kind, v in idx["kinds"].items()]
        if "ivf-sq8" in idx["kinds"]:
            ivf = idx["kinds"]["ivf-sq8"]
            lines += ["", f"IVF-SQ8 (nlist {ivf['nlist']}) recall@10 by nprobe: {ivf['recall_by_nprobe']}", ""]
    if "memory" in data:
        mem = data["memory"]
        lines += [f"## Full-size term index: {mem['count']:,} x {mem['dim']} IVF-SQ8", "",
                  f"File {mem['file_gib']} GiB (float32 vectors would be {mem['float32_gib']} GiB); nlist "
                  f"{mem['nlist']}, nprobe {mem['nprobe']}.", "",
                  "| open | RSS after load + ids (MiB) | peak RSS (MiB) | query ms |", "|---|---|---|---|"]
        for name in ("mmap", "read"):
            got = mem[name]
            lines.append(f"| {name} | {got['after_queries_mib']['VmRSS']} | {got['after_queries_mib']['VmHWM']} "
                         f"| {got['query_ms']} |")
        lines.append("")
    lines += ["## Projection (not measured): v3, 35.6M terms, on N GPU workers", "",
              f"Assumes {GPU_TERMS_PER_SECOND:,} terms/s per GPU (published all-MiniLM-L6-v2 V100 figure) and the "
              "job keeping 90% of it per worker; reading and marking in the graph assumed to keep up.", "",
              "| GPU workers | terms/s | v2 (7.4M) hours | v3 (35.6M) hours |", "|---|---|---|---|"]
    lines += [f"| {row['gpu_workers']} | {row['terms_per_s']:,} | {row['v2_hours']} | {row['v3_hours']} |"
              for row in projection(data)]
    return "\n".join(lines) + "\n"


def embed_scale_figures(path: Path = RESULTS) -> dict[str, Any]:
    """The saved figures (for benchmarks/scale.py), with the v3 projection."""
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return data | {"projection_v3": projection(data)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("job", "index", "memory", "report"))
    parser.add_argument("--uri")
    parser.add_argument("--terms", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--ray-workers", type=int, default=0)
    parser.add_argument("--vectors", default="synthetic",
                        help="glob of .npy files of term vectors, or 'synthetic' (synthetic_vectors)")
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--kinds", default="flat,hnsw,ivf-sq8", help="faiss kinds measured by `index`")
    parser.add_argument("--count", type=int, default=V2_TERMS)
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bios-embed-scale")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    data = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    data["machine"] = (f"{platform.machine()}, {os.cpu_count()} cores (shared with other work: noisy), "
                       f"Python {platform.python_version()}")
    if args.what == "job":
        data["job"] = job(args.uri, args.terms, args.batch_size, args.ray_workers)
    elif args.what == "index":
        data["index"] = index(args.vectors, args.sample, args.kinds.split(","))
    elif args.what == "memory":
        data["memory"] = memory(args.count, args.vectors, args.work)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(data), encoding="utf-8")
    print(markdown(data))


if __name__ == "__main__":
    main()
