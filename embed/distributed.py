"""The embedding job's encoding on a Ray cluster: one encoder actor per worker (a GPU each where there are GPUs).

`bios embed terms --engine ray --workers N` runs the job of embed/job.py with its terms stage spread over N
actors; everything else (marks in the graph, the vector file, concept vectors, the faiss file) is the same code,
so the vectors equal the single-process job's and a killed run resumes the same way. The driver reads pages of
terms from the graph by keyset (the graph is the work queue: what is marked is done), hands each page to a free
actor, and appends what comes back; at most one page per actor is in flight, so memory stays bounded whatever
the graph's size. Actors run `bios_kg.embed.job.encode_page`, a pure function of (encoder, texts).

Ray core's ActorPool is used rather than Ray Data's `map_batches`: the input is one keyset cursor over Neo4j in
the driver, which a Dataset would need a custom datasource to stream from, and the output goes back through the
driver to the vector file and the graph's marks; an ActorPool streams pages both ways with the same actors.

`ray` is the optional extra `distributed` (`pip install -e '.[distributed]'`). Without an address (RAY_ADDRESS
or `address`) a local Ray instance is started; on a cluster, every node needs this package and the model folder
at the same path.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bios_kg.embed.encoders import Encoder, EncoderSettings
from bios_kg.embed.job import EmbedReport, encode_page, progress_bar, write_page
from bios_kg.embed.vector_store import TermVectorStore
from bios_kg.graph.errors import ConfigError, ParameterError
from bios_kg.graph.store import GraphStore, TermText


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class EncoderSpec:
    """What an actor needs to load the driver's encoder: the model folder, its contract and the expected id."""

    path: str
    settings: dict[str, Any]
    name: str
    model_id: str
    runtime: str
    device: str

    @classmethod
    def of(cls, encoder: Encoder, device: str) -> EncoderSpec:
        return cls(str(encoder.path), encoder.settings.as_dict(), encoder.name, encoder.model_id, encoder.runtime,
                   device)


class TermEncoderActor:
    """Holds one encoder; `encode` returns a page's ids with their stored vectors."""

    def __init__(self, spec: EncoderSpec, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.encoder = Encoder(Path(spec.path), EncoderSettings.from_dict(spec.settings), name=spec.name,
                               device=spec.device, runtime=spec.runtime, onnx_threads=threads)
        if self.encoder.model_id != spec.model_id:
            raise ConfigError(f"the worker's copy of {spec.path} is {self.encoder.model_id}, the driver's "
                              f"{spec.model_id}: every node needs the same model files")

    def encode(self, ids: list[str], texts: list[str], batch_size: int) -> tuple[list[str], np.ndarray]:
        return ids, encode_page(self.encoder, texts, batch_size)


def _pages(store: GraphStore, model_id: str, size: int, languages: list[str] | None) -> Iterator[list[TermText]]:
    after = ""
    while rows := store.terms_to_embed(model_id, after, size, languages):
        yield rows
        after = rows[-1].id


def embed_new_terms_ray(store: GraphStore, encoder: Encoder, vectors: TermVectorStore, batch_size: int,
                        progress: bool, report: EmbedReport, workers: int, page_size: int,
                        cpus_per_worker: int = 1, gpus_per_worker: float = 0, address: str | None = None) -> None:
    """The terms stage of the embedding job on `workers` Ray actors (see the module docstring)."""
    if workers < 1:
        raise ParameterError("workers", f"{workers} is not a positive integer")
    if not ray_available():
        raise ConfigError("engine 'ray' needs the distributed extra: pip install -e '.[distributed]'")
    import ray
    from ray.util import ActorPool

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    device = "cuda" if gpus_per_worker else "cpu"
    actor = ray.remote(num_cpus=cpus_per_worker, num_gpus=gpus_per_worker)(TermEncoderActor)
    pool = ActorPool([actor.remote(EncoderSpec.of(encoder, device), cpus_per_worker)  # type: ignore[attr-defined]
                      for _ in range(workers)])
    model_id = report.model_id

    def write(result: tuple[list[str], np.ndarray]) -> int:
        return write_page(store, vectors, model_id, *result)

    with progress_bar(progress) as bar:
        task = bar.add_task(f"{encoder.name} terms on {workers} Ray workers",
                            total=store.count_terms_to_embed(model_id, report.languages))
        for rows in _pages(store, model_id, page_size, report.languages):
            while not pool.has_free():
                bar.advance(task, write(pool.get_next_unordered()))
            pool.submit(lambda worker, page: worker.encode.remote(*page),
                        ([row.id for row in rows], [row.text for row in rows], batch_size))
            report.terms_embedded += len(rows)
        while pool.has_next():
            bar.advance(task, write(pool.get_next_unordered()))
