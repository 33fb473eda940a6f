"""`bios cluster`: terms -> clusters, from a file or from a source's terms in the graph, optionally written back
as the concepts of a new release; and `bios release diff`.

Input file: one term per line, optionally `term<TAB>lang` (ISO 639-1, default en). Terms are deduplicated the way
Term nodes are, by (lang, normalized form); every input line gets the cluster of its term. Output: `term<TAB>
cluster` per input line (tsv) or one cluster per line with its terms joined by `|` (bios, BIOS's format).

Vectors are encoded in chunks saved under `$BIOS_HOME/cluster/vectors/<key>/` (key: the model id and the terms),
so an interrupted job resumes after its last chunk and a rerun with other thresholds or the other method skips
encoding.

Write-back (`--source NAME --write`): a `(:ClusterRun {id, method, model_id, config, oracle, counts, started_at,
finished_at, status})` and per cluster a `(:Concept {id: BIOS:CL<hash>, release, cluster_run, name, name_<lang>,
size, sources: [run id]})` with `HAS_TERM {tty: PT for the first term of each language else SY, source: run id}`
edges to the clustered Term nodes. The concept id hashes the release and the term ids, so writing the same run
again rewrites the same nodes; a write token removes what an earlier write of the same run id left and this one
did not. A release holds one run's concepts. The review oracle's questions become `(:ReviewItem)` nodes
(`(:ClusterRun)-[:QUEUED]->(:ReviewItem)-[:ABOUT {role}]->(:Term)`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bios_kg.embed.cluster.baseline import ClusterResult, baseline_cluster
from bios_kg.embed.cluster.birch import birch_cluster
from bios_kg.embed.cluster.config import CHANGES, BaselineConfig, BirchConfig, Method, check_method
from bios_kg.embed.cluster.explanations import ExplanationCache, explain_terms, lookup
from bios_kg.embed.cluster.labels import groups
from bios_kg.embed.cluster.oracle import DEFAULT_ORACLE, Oracle, ReviewQueueOracle, make_oracle
from bios_kg.embed.llm import get_backend
from bios_kg.graph.cli_options import console
from bios_kg.graph.errors import GraphError, InputError, ParameterError
from bios_kg.graph.languages import is_language
from bios_kg.graph.library import Library
from bios_kg.graph.queries.clustering import (
    CLUSTER_SOURCE_TERMS,
    DELETE_STALE_CLUSTER_CONCEPTS,
    DELETE_STALE_REVIEW_ITEMS,
    FINISH_CLUSTER_RUN,
    MERGE_CLUSTER_CONCEPTS,
    MERGE_CLUSTER_RUN,
    MERGE_REVIEW_ITEMS,
    RELEASE_OWNER,
)
from bios_kg.graph.settings import data_home
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import normalize_term, term_id

if TYPE_CHECKING:
    from bios_kg.embed.encoders import Encoder

Format = Literal["tsv", "bios"]
ENCODE_CHUNK = 20_000
WRITE_BATCH = 2000  # clusters per write transaction


@dataclass(frozen=True)
class TermItem:
    text: str
    lang: str
    norm: str

    @property
    def id(self) -> str:
        return term_id(self.lang, self.norm)


def read_terms(path: Path) -> tuple[list[TermItem], list[tuple[str, int]]]:
    """The distinct terms of `path` in order of first appearance, and per line (text as written, term index);
    InputError naming the file and line of an empty line, a bad language or too many fields."""
    if not path.is_file():
        raise InputError(str(path), None, "no such file")
    items: list[TermItem] = []
    index: dict[tuple[str, str], int] = {}
    lines: list[tuple[str, int]] = []
    with path.open(encoding="utf-8") as source:
        for number, line in enumerate(source, 1):
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) > 2:
                raise InputError(str(path), number, f"expected term or term<TAB>lang, got {len(fields)} fields")
            text = fields[0].strip()
            lang = fields[1].strip() if len(fields) == 2 else "en"
            if not text:
                raise InputError(str(path), number, "empty term (one term per line, optionally term<TAB>lang)")
            if not is_language(lang):
                raise InputError(str(path), number, f"unknown language code {lang!r} (expected a language code, "
                                 "e.g. en, zh, se)")
            norm = normalize_term(text)
            if not norm:
                raise InputError(str(path), number, f"term {text!r} is empty once normalized")
            key = (lang, norm)
            if key not in index:
                index[key] = len(items)
                items.append(TermItem(text, lang, norm))
            lines.append((text, index[key]))
    if not items:
        raise InputError(str(path), None, "no terms")
    return items, lines


def source_terms(store: GraphStore, source: str, langs: Sequence[str] | None = None) -> list[TermItem]:
    items = [TermItem(text, lang, norm) for _, text, lang, norm in
             store.stream(CLUSTER_SOURCE_TERMS, source=source, langs=list(langs) if langs else None)]
    if not items:
        known = ", ".join(s["id"] for s in store.sources()) or "none"
        raise GraphError(f"no terms of source {source!r}{' in ' + ','.join(langs) if langs else ''} in the graph "
                         f"(sources: {known})")
    return items


def _digest(*parts: str) -> str:
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=8).hexdigest()


def encode_terms(encoder: Encoder, texts: Sequence[str], progress: bool = False, work: Path | None = None,
                 batch_size: int = 256) -> np.ndarray:
    """float32 [len(texts), dim]: encoded in chunks of ENCODE_CHUNK, each saved under `work` (default: keyed by
    model and terms under $BIOS_HOME/cluster/vectors/) and read back instead when a rerun finds it."""
    work = work or data_home() / "cluster" / "vectors" / _digest(encoder.model_id, *texts)
    work.mkdir(parents=True, exist_ok=True)
    parts = []
    columns = (TextColumn(f"[bold]encode[/bold] {encoder.name}"), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not progress) as bar:
        task = bar.add_task("encode", total=len(texts))
        for number, start in enumerate(range(0, len(texts), ENCODE_CHUNK)):
            chunk = texts[start:start + ENCODE_CHUNK]
            path = work / f"{number:05d}.npy"
            vectors = np.load(path) if path.exists() else None
            if vectors is None or vectors.shape != (len(chunk), encoder.dim):
                vectors = encoder.encode(chunk, batch_size=batch_size)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, vectors)
                os.replace(tmp, path)
            parts.append(vectors)
            bar.advance(task, len(chunk))
    return np.concatenate(parts) if parts else np.zeros((0, encoder.dim), dtype=np.float32)


@dataclass
class ClusterReport:
    run_id: str
    method: str
    model_id: str
    oracle: str | None
    config: dict[str, Any]
    terms: int = 0
    clusters: int = 0
    largest: int = 0
    stats: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    started_at: str = ""
    finished_at: str = ""
    output: str | None = None
    review: str | None = None  # where the review oracle's questions went
    written: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": {key: round(value, 3) for key, value in self.seconds.items()}}


@contextmanager
def _timed(report: ClusterReport, phase: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        report.seconds[phase] = report.seconds.get(phase, 0.0) + time.perf_counter() - started


def run_method(method: Method, vectors: np.ndarray, items: Sequence[TermItem], oracle: Oracle | None = None,
               baseline: BaselineConfig | None = None, birch: BirchConfig | None = None,
               explain: Any = None, progress: bool = False) -> ClusterResult:
    """One clustering of `vectors` (rows aligned with `items`)."""
    if method == "baseline":
        lengths = np.array([len(item.norm) for item in items])
        return baseline_cluster(vectors, lengths, baseline)
    if oracle is None:
        raise ParameterError("oracle", "the birch method needs an oracle")
    columns = (TextColumn("[bold]birch[/bold]"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not progress) as bar:
        task = bar.add_task("cluster", total=len(items))
        return birch_cluster(vectors, [item.text for item in items], oracle, birch, explain,
                             lambda n: bar.advance(task, n))


def cluster_items(items: list[TermItem], model: str | Path = "minilm", method: str = "birch",
                  oracle: str = DEFAULT_ORACLE, llm: str | None = None, baseline: BaselineConfig | None = None,
                  birch: BirchConfig | None = None, explanations: ExplanationCache | None = None,
                  store: GraphStore | None = None, run_id: str | None = None, device: str = "auto",
                  progress: bool = False, encoder_preset: str | None = None
                  ) -> tuple[ClusterResult, ClusterReport, Oracle | None]:
    """Encode and cluster `items` (`encoder_preset`: embedding settings of bios_kg.embed.encoders.PRESETS instead of the
    model's own, e.g. cortex). With `explanations`, terms are explained first (graph definitions through
    `store`, the `llm` backend for the rest) and the oracle sees the explanations."""
    from bios_kg.embed.encoders import load_encoder  # torch loads only for clustering

    chosen = check_method(method)
    baseline = baseline or BaselineConfig()
    birch = birch or BirchConfig()
    config = baseline.as_dict() if chosen == "baseline" else birch.as_dict()
    judge = make_oracle(oracle, (birch.lower, birch.upper), llm) if chosen == "birch" else None
    encoder = load_encoder(model, preset=encoder_preset, device=device)
    run_id = run_id or "CR-" + _digest(chosen, encoder.model_id, json.dumps(config, sort_keys=True), str(oracle),
                                       *(item.id for item in items))
    report = ClusterReport(run_id, chosen, encoder.model_id, judge.name if judge else None, config,
                           started_at=datetime.now(UTC).isoformat(timespec="seconds"))
    explain = None
    if explanations is not None:
        with _timed(report, "explain"):
            keys = [(item.lang, item.norm, item.text) for item in items]
            report.stats["explanations"] = explain_terms(keys, explanations, store,
                                                         get_backend(llm) if llm else None)
            explain = lookup(explanations, [(lang, norm) for lang, norm, _ in keys])
    with _timed(report, "encode"):
        vectors = encode_terms(encoder, [item.text for item in items], progress=progress)
    with _timed(report, "cluster"):
        result = run_method(chosen, vectors, items, judge, baseline, birch, explain, progress)
    report.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    report.terms, report.clusters = len(items), result.clusters
    report.largest = int(np.bincount(result.labels).max()) if len(items) else 0
    report.stats.update(result.stats)
    return result, report, judge


def write_clusters(path: Path, labels: np.ndarray, lines: Sequence[tuple[str, int]], items: Sequence[TermItem],
                   fmt: str = "tsv") -> None:
    """tsv: `term<TAB>cluster` per line of `lines` (text as written, term index); bios: one cluster per line,
    its distinct terms joined by `|`."""
    if fmt not in get_args(Format):
        raise ParameterError("format", f"{fmt!r} is not one of {', '.join(get_args(Format))}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as sink:
        if fmt == "tsv":
            for text, item in lines:
                sink.write(f"{text}\t{int(labels[item])}\n")
        else:
            for members in groups(labels):
                sink.write("|".join(items[row].text for row in members) + "\n")
    os.replace(tmp, path)


def write_review_tsv(path: Path, oracle: ReviewQueueOracle) -> None:
    with path.open("w", encoding="utf-8") as sink:
        sink.write("term\tcandidate\tsimilarity\tprovisional\n")
        for query, answer in oracle.items:
            verdict = "same" if answer else "different"
            sink.write(f"{query.term}\t{query.candidate}\t{query.similarity:.4f}\t{verdict}\n")


def cluster_file(input_file: Path, output: Path, fmt: str = "tsv", **options: Any) -> ClusterReport:
    """Cluster the terms of `input_file` into `output`; options as cluster_items."""
    items, lines = read_terms(input_file)
    result, report, judge = cluster_items(items, **options)
    write_clusters(output, result.labels, lines, items, fmt)
    report.output = str(output)
    if isinstance(judge, ReviewQueueOracle):
        review = output.with_name(output.name + ".review.tsv")
        write_review_tsv(review, judge)
        report.review = str(review)
    return report


def concept_id(release: str, term_ids: Sequence[str]) -> str:
    return "BIOS:CL" + _digest(release, *sorted(term_ids))


def _concept_rows(items: Sequence[TermItem], labels: np.ndarray, release: str) -> tuple[list[dict[str, Any]],
                                                                                          list[str]]:
    """One row per cluster for MERGE_CLUSTER_CONCEPTS, and the concept id of each term."""
    rows: list[dict[str, Any]] = []
    concept_of = [""] * len(items)
    for members in groups(labels):
        terms = [items[row] for row in members]
        cid = concept_id(release, [term.id for term in terms])
        names: dict[str, str] = {}
        edges = []
        for row, term in zip(members, terms, strict=True):
            key = "name" if term.lang == "en" else f"name_{term.lang}"
            preferred = key not in names
            names.setdefault(key, term.text)
            edges.append({"id": term.id, "tty": "PT" if preferred else "SY"})
            concept_of[row] = cid
        rows.append({"id": cid, "names": names, "terms": edges})
    return rows, concept_of


def write_run(store: GraphStore, report: ClusterReport, items: Sequence[TermItem], labels: np.ndarray,
              release: str, source: str, oracle: Oracle | None = None, progress: bool = False) -> dict[str, Any]:
    """The ClusterRun, one Concept of `release` per cluster with HAS_TERM edges to the items' Term nodes, and
    the review oracle's questions as ReviewItem nodes; idempotent per run id."""
    owner = store.run(RELEASE_OWNER, release=release, run=report.run_id)
    if owner:
        raise GraphError(f"release {release!r} already holds the concepts of cluster run {owner[0]['run']}; "
                         "choose another --release")
    token = uuid.uuid4().hex
    props = {"method": report.method, "model_id": report.model_id, "oracle": report.oracle,
             "config": json.dumps(report.config, sort_keys=True), "release": release, "source": source,
             "terms": report.terms, "clusters": report.clusters, "largest": report.largest,
             "oracle_calls": int(report.stats.get("oracle_calls", 0)), "started_at": report.started_at,
             "finished_at": report.finished_at, "agent_type": "automated_agent", "knowledge_level": "prediction",
             **{key: value for key, value in report.config.items() if key in ("upper", "lower", "link", "k")}}
    store.run(MERGE_CLUSTER_RUN, id=report.run_id, props=props, token=token)
    rows, concept_of = _concept_rows(items, labels, release)
    columns = (TextColumn("[bold]write[/bold] concepts"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=not progress) as bar:
        task = bar.add_task("write", total=len(rows))
        for start in range(0, len(rows), WRITE_BATCH):
            store.run(MERGE_CLUSTER_CONCEPTS, rows=rows[start:start + WRITE_BATCH], release=release,
                      run=report.run_id, token=token)
            bar.advance(task, len(rows[start:start + WRITE_BATCH]))
    review = 0
    if isinstance(oracle, ReviewQueueOracle):
        questions = [{"id": f"{report.run_id}:{n}", "term": items[query.term_row].id,
                      "candidate": items[query.candidate_row].id,
                      "props": {"term_text": query.term, "candidate_text": query.candidate,
                                "similarity": query.similarity, "provisional": "same" if answer else "different",
                                "concept": concept_of[query.term_row],
                                "candidate_concept": concept_of[query.candidate_row],
                                "term_explanation": query.term_explanation,
                                "candidate_explanation": query.candidate_explanation}}
                     for n, (query, answer) in enumerate(oracle.items)]
        for start in range(0, len(questions), WRITE_BATCH):
            store.run(MERGE_REVIEW_ITEMS, rows=questions[start:start + WRITE_BATCH], run=report.run_id,
                      token=token)
        review = len(questions)
    store.run_in_transactions(DELETE_STALE_CLUSTER_CONCEPTS, run=report.run_id, token=token)
    store.run_in_transactions(DELETE_STALE_REVIEW_ITEMS, run=report.run_id, token=token)
    written = {"release": release, "concepts": len(rows), "review_items": review}
    store.run(FINISH_CLUSTER_RUN, id=report.run_id,
              props={"written_at": datetime.now(UTC).isoformat(timespec="seconds"), "review_items": review})
    return written


def cluster_source(store: GraphStore, source: str, langs: Sequence[str] | None = None, write: bool = False,
                   release: str | None = None, output: Path | None = None, fmt: str = "tsv",
                   progress: bool = False, **options: Any) -> ClusterReport:
    """Cluster the terms of `source` in the graph; with `write`, as the concepts of `release` (default: the run
    id); with `output`, also to a file. Options as cluster_items."""
    items = source_terms(store, source, langs)
    result, report, judge = cluster_items(items, store=store, progress=progress, **options)
    if output is not None:
        write_clusters(output, result.labels, [(item.text, row) for row, item in enumerate(items)], items, fmt)
        report.output = str(output)
    if write:
        with _timed(report, "write"):
            report.written = write_run(store, report, items, result.labels, release or report.run_id, source, judge,
                                       progress)
        if isinstance(judge, ReviewQueueOracle):
            report.review = f"{report.written['review_items']} ReviewItem nodes of run {report.run_id}"
    elif isinstance(judge, ReviewQueueOracle) and output is not None:
        review = output.with_name(output.name + ".review.tsv")
        write_review_tsv(review, judge)
        report.review = str(review)
    return report


def release_diff(store: GraphStore, old: str, new: str, change: str | None = None) -> dict[str, Any]:
    """Concepts of release `new` against `old`, by the curated query release-changes (cypher/library/): the
    count of each kind of change and the rows (unchanged ones only when `change` asks for them)."""
    library = Library()
    query = library.get("release-changes")
    params = query.bind({"from": old, "to": new, "change": change})
    library.check_read_only(store, query, params)
    rows = [dict(zip(("change", "from_ids", "to_ids", "terms_added", "terms_removed"), row, strict=True))
            for row in store.stream(query.cypher, **params)]
    counts = {kind: 0 for kind in CHANGES if change in (None, kind) and (change or kind != "unchanged")}
    for row in rows:
        counts[row["change"]] += 1
    return {"from": old, "to": new, "counts": counts, "changes": rows}
