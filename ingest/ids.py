"""Identifiers in files written by others -> the graph's CURIEs, through a maintained prefix registry.

Ontologies spell one namespace many ways (`MSH:`, `MESH:`; `NCI:`, `NCIT:`; `MIM:`, `OMIM:`;
`SNOMEDCT_US_2025_09_01:`) and name terms by IRI as often as by CURIE. The Bioregistry (the
`bioregistry` package; its registry is read from the installed package, about 2,500 prefixes with their
synonyms and URI prefixes) folds the spellings onto one prefix and compacts IRIs; the graph writes that
prefix upper-cased, or as `bios_kg.graph.curie.normalize_curie` spells it where the project chose otherwise
(`ORPHA`, `NCBIGene`). A prefix the registry does not know is kept as normalize_curie spells it; a prefix
ending in a release date (`_2025_09_01`) is read without the date.

Building the registry's converter takes a few seconds; it is built once per process, when first needed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from urllib.parse import unquote

from curies import Converter

from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.skos import iri_to_curie

_CURIE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_.-]*)\s*:\s*(\S(?:.*\S)?)\s*$")
_DATED = re.compile(r"^(?P<base>[A-Za-z][A-Za-z0-9_.-]*?)[_-](?:19|20)\d\d[_-]\d\d?[_-]\d\d?$")
_URL = re.compile(r"^(?:https?|ftp|urn|file):", re.IGNORECASE)
# `xref: value-type:xsd\:float "…"` (PSI-MS) states the datatype of a term's values, not a cross-reference.
DATATYPE_XREF_PREFIXES = frozenset({"value-type", "binary-data-type"})


@cache
def registry() -> Converter:
    """The Bioregistry's prefixes as a `curies` converter (read from the installed package once)."""
    import bioregistry  # a few seconds: only processes that read identifiers from files pay it

    return bioregistry.get_converter()


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
