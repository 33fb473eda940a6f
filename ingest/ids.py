"""Identifiers in files written by others -> the graph's CURIEs, through a maintained prefix registry.

Ontologies spell one namespace many ways (`MSH:`, `MESH:`; `NCI:`, `NCIT:`; `MIM:`, `OMIM:`;
`SNOMEDCT_US_2025_09_01:`) and name terms by IRI as often as by CURIE. The Bioregistry (the
`bioregistry` package; its registry is read from the installed package, about 2,500 prefixes with their
synonyms and URI prefixes) folds the spellings onto one prefix and compacts IRIs; the graph writes that
prefix upper-cased, or as `bios_kg.graph.curie.normalize_curie` spells it where the project chose otherwise
(`ORPHA`, `NCBIGene`). A prefix the registry does not know is kept as normalize_curie spells it; a prefix
ending in a release date (`_2025_09_01`) is read without the date.

Building the registry's converter from the `bioregistry` package takes about 5 s and 120 MB (peak RSS 245 MiB); it
is built once per installed version and kept under BIOS_HOME as the converter's extended prefix map
(`bioregistry/converter-<version>-v<REGISTRY_FORMAT>.json`), which later processes read in 1.4 s and 60 MB on a
loaded 2-core machine (`python benchmarks/bioregistry_cache.py`). A missing or damaged file is built again; another
version's file is replaced.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from importlib.metadata import version
from pathlib import Path
from urllib.parse import unquote

from curies import Converter, load_extended_prefix_map, write_extended_prefix_map

from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.settings import data_home
from bios_kg.graph.skos import iri_to_curie

_CURIE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.-]*)\s*:\s*(\S(?:.*\S)?)\s*$")
_DATED = re.compile(r"^(?P<base>[A-Za-z][A-Za-z0-9_.-]*?)[_-](?:19|20)\d\d[_-]\d\d?[_-]\d\d?$")
_URL = re.compile(r"^(?:https?|ftp|urn|file):", re.IGNORECASE)
# `xref: value-type:xsd\:float "…"` (PSI-MS) states the datatype of a term's values, not a cross-reference.
DATATYPE_XREF_PREFIXES = frozenset({"value-type", "binary-data-type"})
REGISTRY_FORMAT = 1  # part of the cache file's name: bump when what registry() keeps there changes
log = logging.getLogger(__name__)


@cache
def registry() -> Converter:
    """The Bioregistry's prefixes as a `curies` converter: from the cache file of the installed bioregistry
    version (registry_file), built from the package when the file is missing or damaged; once per process."""
    return cached_converter(registry_file(), _bioregistry_converter)


def registry_file(bioregistry_version: str | None = None) -> Path:
    """Where the converter of a bioregistry version (default: the installed one) is kept between processes."""
    return data_home() / "bioregistry" / \
        f"converter-{bioregistry_version or version('bioregistry')}-v{REGISTRY_FORMAT}.json"


def _bioregistry_converter() -> Converter:
    import bioregistry  # about 5 s and 290 MB: only a process that finds no cache file pays it

    return bioregistry.get_converter()


def cached_converter(path: Path, build: Callable[[], Converter]) -> Converter:
    """The converter kept in `path` (an extended prefix map, curies' JSON); when the file is missing, unreadable or
    holds no prefixes, `build()` it and write it there, replacing the other files of its folder (other versions')."""
    try:
        converter = load_extended_prefix_map(path, strict=False)  # its duplicate checks are quadratic: 20 s
        if converter.records:
            return converter
        log.warning("rebuilding %s: it holds no prefixes", path)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:  # a damaged file: truncated, not JSON, not an extended prefix map
        log.warning("rebuilding %s: %s", path, error)
    converter = build()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # processes that build at once do not collide
        write_extended_prefix_map(converter, partial)
        partial.replace(path)
        for other in path.parent.glob("converter-*.json"):
            if other != path:
                other.unlink(missing_ok=True)
    except OSError as error:  # a read-only BIOS_HOME: every process builds its own
        log.warning("cannot keep the prefix registry in %s: %s", path, error)
    return converter


def is_url(text: str) -> bool:
    return bool(_URL.match(text.strip()))


@cache
def canonical_prefix(prefix: str) -> str:
    """The graph's spelling of a prefix: see the module docstring."""
    spelled = normalize_curie(f"{prefix}:x").split(":", 1)[0]
    if spelled != prefix.upper():
        return spelled  # a spelling the project chose (bios_kg.graph.curie.PREFIX_ALIASES / MIXED_CASE)
    if dated := _DATED.match(prefix):
        return canonical_prefix(dated["base"])
    converter = registry()
    for candidate in (prefix, prefix.lower(), prefix.upper()):
        if (known := converter.standardize_prefix(candidate)) is not None:
            return normalize_curie(f"{known}:x").split(":", 1)[0]
    return spelled


def canonical_curie(text: str) -> str:
    """`PREFIX:local` with the canonical prefix; ValueError for text that is not a CURIE or whose local id
    is a URL (`Image:http://…`: a link, not an identifier)."""
    match = _CURIE.match(text)
    if not match:
        raise ValueError(f"not a CURIE (expected PREFIX:id): {text!r}")
    local = match.group(2)
    if " " in local:
        raise ValueError(f"not a CURIE (space in the local id): {text!r}")
    if is_url(local) or local.startswith("//"):
        raise ValueError(f"a link, not an identifier: {text!r}")
    return f"{canonical_prefix(match.group(1))}:{local}"


def compact_iri(iri: str, namespaces: Mapping[str, str] | None = None) -> str | None:
    """The CURIE of an IRI, or None: the graph's own namespaces (bios_kg.graph.skos), the registry's URI prefixes,
    then `namespaces` (CURIE prefix -> namespace IRI, e.g. a file's @prefix bindings). A namespace bound
    without its trailing `/` or `#` still gives the bare local id."""
    curie = iri_to_curie(iri)
    if curie is None:
        curie = registry().compress(iri)
    if curie is None and namespaces:
        for prefix, namespace in sorted(namespaces.items(), key=lambda item: -len(item[1])):
            if namespace and iri.startswith(namespace) and len(iri) > len(namespace):
                local = unquote(iri[len(namespace):])
                if namespace[-1] not in "/#_:=?" and local[0] in "/#":
                    local = local[1:]
                curie = f"{prefix}:{local}" if local else None
                break
    if curie is None:
        return None
    try:
        return canonical_curie(curie)
    except ValueError:
        return None


def xref_target(text: str, namespaces: Mapping[str, str] | None = None) -> str | None:
    """The CURIE a cross-reference names; None for one that names no term: a datatype annotation
    (PSI-MS `value-type:xsd\\:float "…"`) or a link (`Image:http://…`, a URL outside the registry).
    ValueError for text that is neither."""
    text = text.strip()
    if text.split(":", 1)[0].lower() in DATATYPE_XREF_PREFIXES:
        return None
    if is_url(text):
        return compact_iri(text, namespaces)
    try:
        return canonical_curie(text)
    except ValueError:
        if _CURIE.match(text) and is_url(text.split(":", 1)[1].strip()):
            return None
        raise


def to_curie(text: str, namespaces: Mapping[str, str] | None = None) -> str:
    """A CURIE from a CURIE or an IRI written in a file; ValueError naming what it is when there is none."""
    text = text.strip()
    if is_url(text):
        if (curie := compact_iri(text, namespaces)) is None:
            raise ValueError(f"no known prefix for the IRI {text!r}")
        return curie
    return canonical_curie(text)
