"""SKOS export of the graph (Turtle via rdflib), and the CURIE <-> IRI mapping shared with the RDF reader.

How the graph maps onto SKOS (ingest/readers/rdf.py reads the same file back):

- each exported (:Source) -> skos:ConceptScheme <https://bios-kg.org/source/ID> with dct:identifier,
  dct:title, owl:versionInfo, dct:license and dct:source (url); a concept is skos:inScheme of its sources.
- (:Concept) -> skos:Concept at `curie_to_iri(id)`; `obsolete` -> owl:deprecated true; `alt_ids` ->
  oboInOwl:hasAlternativeId "CURIE".
- preferred names (`name` = en, `name_<lang>`) -> skos:prefLabel@lang; every other term -> skos:altLabel@lang.
  A term type other than the default (PT for a prefLabel, SY for an altLabel) rides on a second triple
  `<concept> tty:<TTY> "label"@lang`, which plain-SKOS consumers may ignore. skos:hiddenLabel is not
  written: it means "search only", and abbreviations (AB) are labels people read.
- `definitions` -> skos:definition, tagged by script (Han -> zh, else en): the graph does not keep their language.
- `xrefs` and XREF edges -> skos:exactMatch.
- IS_A -> skos:broader; any other type T -> rel:T (https://bios-kg.org/rel/T), declared an
  owl:ObjectProperty under skos:broader (BROADER) or skos:related, with the RelationType's names and inverse.
- HAS_TYPE -> bios:semanticType <type>; the type is a bios:SemanticType with rdfs:label name (and name_zh@zh).

Not exported: HAS_TERM `source_id` and per-edge `sources`, relation `rel_id`/`rid`/qualifiers, embeddings.

Concepts are read in pages (keyset on `c.id`) and each page is serialized as its own Turtle document
appended to the file (Turtle allows @prefix directives between statements), so memory holds one page.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote, unquote

from rdflib import DCTERMS, OWL, RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.errors import NotFoundError
from bios_kg.graph.languages import guess_language, is_language
from bios_kg.graph.queries.skos import (
    SKOS_CONCEPT_PAGE,
    SKOS_COUNT_CONCEPTS,
    SKOS_RELATION_TYPES,
    SKOS_SEMANTIC_TYPES,
    SKOS_SOURCES,
)
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import normalize_term

BIOS = Namespace("https://bios-kg.org/schema/")  # bios:semanticType, bios:SemanticType, bios:inverseName
REL = Namespace("https://bios-kg.org/rel/")  # one property per relationship type
TTY = Namespace("https://bios-kg.org/tty/")  # term-type annotations of labels
ID_NS = "https://bios-kg.org/id/"  # concepts whose prefix has no well-known namespace
SOURCE_NS = "https://bios-kg.org/source/"  # concept schemes
OBO = Namespace("http://purl.obolibrary.org/obo/")
OBOINOWL = Namespace("http://www.geneontology.org/formats/oboInOwl#")

# CURIE prefix -> IRI namespace; the local part is appended percent-encoded.
IRI_PREFIXES: dict[str, str] = {
    **{prefix: f"{OBO}{prefix}_" for prefix in ("HP", "MONDO", "DOID", "GO", "CHEBI", "UBERON", "CL", "SO", "PATO")},
    "OMIM": "https://omim.org/entry/",
    "ORPHA": "http://www.orpha.net/ORDO/Orphanet_",
    "NCBIGene": "http://identifiers.org/ncbigene/",
    "UMLS": "https://uts.nlm.nih.gov/uts/umls/concept/",
    "ICD10": "http://id.who.int/icd/release/10/",
    "MESH": "http://id.nlm.nih.gov/mesh/",
    "SNOMEDCT": "http://snomed.info/id/",
}
_BY_NAMESPACE = sorted(((ns, prefix) for prefix, ns in IRI_PREFIXES.items()), key=lambda item: -len(item[0]))
_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_OBO_IRI = re.compile(re.escape(str(OBO)) + r"([A-Za-z][A-Za-z0-9]*)_(\S+)")

# Prefixes bound in every exported page (CURIE prefixes are bound beside them, unless they clash).
NAMESPACES: dict[str, str] = {
    "skos": str(SKOS), "dct": str(DCTERMS), "owl": str(OWL), "rdfs": str(RDFS), "oboInOwl": str(OBOINOWL),
    "bios": str(BIOS), "rel": str(REL), "tty": str(TTY), "src": SOURCE_NS,
}
PAGE_SIZE = 5000


def curie_to_iri(curie: str) -> str:
    """The IRI of a graph id: a well-known namespace for its prefix, else https://bios-kg.org/id/PREFIX/local.

    An id that is not `PREFIX:local` becomes https://bios-kg.org/id/<id, percent-encoded>.
    """
    prefix, sep, local = curie.partition(":")
    if sep and local and _PREFIX.fullmatch(prefix):
        namespace = IRI_PREFIXES.get(prefix, f"{ID_NS}{prefix}/")
        return namespace + quote(local, safe="")
    return ID_NS + quote(curie, safe="")


def iri_to_curie(iri: str, namespaces: Mapping[str, str] | None = None) -> str | None:
    """The graph id of an IRI, or None when it has none; the inverse of `curie_to_iri`.

    Beyond the table and the generic namespace, OBO PURLs (…/obo/PREFIX_local) and `namespaces`
    (CURIE prefix -> namespace IRI, e.g. a file's @prefix bindings) are recognised, as normalized CURIEs.
    """
    for namespace, prefix in _BY_NAMESPACE:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{unquote(iri[len(namespace):])}"
    if iri.startswith(ID_NS) and len(iri) > len(ID_NS):
        prefix, sep, local = iri[len(ID_NS):].partition("/")
        if sep and local and _PREFIX.fullmatch(prefix):
            return f"{prefix}:{unquote(local)}"
        return unquote(iri[len(ID_NS):])
    if match := _OBO_IRI.fullmatch(iri):
        return _curie_or_none(match[1], unquote(match[2]))
    for prefix, namespace in sorted((namespaces or {}).items(), key=lambda item: -len(item[1])):
        if namespace and iri.startswith(namespace) and len(iri) > len(namespace):
            return _curie_or_none(prefix, unquote(iri[len(namespace):]))
    return None


def _curie_or_none(prefix: str, local: str) -> str | None:
    try:
        return normalize_curie(f"{prefix}:{local}")
    except ValueError:
        return None


def source_iri(source_id: str) -> URIRef:
    return URIRef(SOURCE_NS + quote(source_id, safe=""))


def tty_iri(tty: str) -> URIRef:
    return URIRef(str(TTY) + quote(tty, safe=""))


# --- export --------------------------------------------------------------------------------------------
@dataclass
class ExportReport:
    out: Path
    sources: list[str] = field(default_factory=list)
    concepts: int = 0
    labels: int = 0  # prefLabel + altLabel
    definitions: int = 0
    relations: int = 0
    xrefs: int = 0
    triples: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {"out": str(self.out), "sources": self.sources, "concepts": self.concepts, "labels": self.labels,
                "definitions": self.definitions, "relations": self.relations, "xrefs": self.xrefs,
                "triples": self.triples, "seconds": round(self.seconds, 3)}


def export_skos(store: GraphStore, out: Path, source: str | None = None, progress: bool = True,
                page_size: int = PAGE_SIZE) -> ExportReport:
    """Write the graph (or the concepts of one source) to `out` as SKOS in Turtle; see the module docstring.

    The file is written beside `out` as `<name>.part` and renamed when complete.
    """
    started = time.perf_counter()
    out = Path(out)
    sources = store.run(SKOS_SOURCES, source=source)
    if source is not None and not sources:
        raise NotFoundError(f"no source {source!r} in the graph")
    schemes = {row["id"]: source_iri(row["id"]) for row in sources}
    report = ExportReport(out=out, sources=sorted(schemes))
    total = store.count(SKOS_COUNT_CONCEPTS, source=source)
    part = out.with_name(out.name + ".part")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with part.open("w", encoding="utf-8") as handle:
            _write_pages(store, handle, sources, schemes, source, page_size, progress, total, report)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    part.replace(out)
    report.seconds = time.perf_counter() - started
    return report


def _write_pages(store: GraphStore, handle: TextIO, sources: list[dict[str, Any]], schemes: Mapping[str, URIRef],
                 source: str | None, page_size: int, progress: bool, total: int, report: ExportReport) -> None:
    """Schemes, then one Turtle document per page of concepts, then the types the pages used."""
    type_ids: set[str] = set()
    rel_types: set[str] = set()
    columns = (TextColumn("[bold]SKOS[/bold] concepts"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("concepts", total=total)
        graph = _page_graph()
        for row in sources:
            _add_scheme(graph, row)
        _write(handle, graph, report)
        after = ""
        while rows := store.run(SKOS_CONCEPT_PAGE, after=after, limit=page_size, source=source):
            graph = _page_graph(_page_ids(rows))
            for row in rows:
                _add_concept(graph, row, schemes, report)
                type_ids.update(row["types"])
                rel_types.update(relation["type"] for relation in row["relations"])
            _write(handle, graph, report)
            after = rows[-1]["id"]
            bar.advance(task, len(rows))
    graph = _page_graph(type_ids)
    for row in store.run(SKOS_SEMANTIC_TYPES, ids=sorted(type_ids)):
        _add_semantic_type(graph, row)
    _add_relation_types(graph, rel_types, store.run(SKOS_RELATION_TYPES, ids=sorted(rel_types)))
    _write(handle, graph, report)


def _page_graph(ids: Iterable[str] = ()) -> Graph:
    """An empty graph with the fixed prefixes and the CURIE prefixes of `ids` bound (for readable Turtle)."""
    graph = Graph(bind_namespaces="core")
    for prefix, namespace in NAMESPACES.items():
        graph.bind(prefix, namespace)
    bound = {prefix for prefix, _ in graph.namespaces()}
    for prefix in sorted({curie.partition(":")[0] for curie in ids if ":" in curie}):
        if _PREFIX.fullmatch(prefix) and not prefix.endswith(".") and prefix not in bound:
            graph.bind(prefix, IRI_PREFIXES.get(prefix, f"{ID_NS}{prefix}/"))
    return graph


def _page_ids(rows: list[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield row["id"]
        yield from row["xrefs"]
        yield from row["types"]
        yield from (relation["tail"] for relation in row["relations"])


def _write(handle: TextIO, graph: Graph, report: ExportReport) -> None:
    handle.write(graph.serialize(format="turtle"))
    report.triples += len(graph)


def _add_scheme(graph: Graph, row: Mapping[str, Any]) -> None:
    scheme = source_iri(row["id"])
    graph.add((scheme, RDF.type, SKOS.ConceptScheme))
    graph.add((scheme, DCTERMS.identifier, Literal(row["id"])))
    graph.add((scheme, DCTERMS.title, Literal(row["name"] or row["id"])))
    if row["version"]:
        graph.add((scheme, OWL.versionInfo, Literal(row["version"])))
    if licence := row["licence"]:
        graph.add((scheme, DCTERMS.license, URIRef(licence) if licence.startswith(("http://", "https://"))
                   else Literal(licence)))
    if row["url"]:
        graph.add((scheme, DCTERMS.source, URIRef(row["url"])))


def _preferred_names(names: list[list[Any]]) -> dict[str, str]:
    """Language -> preferred name from the concept's `name` / `name_<lang>` properties."""
    preferred = {}
    for key, value in names:
        lang = "en" if key == "name" else key.removeprefix("name_")
        if is_language(lang) and isinstance(value, str) and value.strip():
            preferred[lang] = value
    return preferred


def _add_concept(graph: Graph, row: Mapping[str, Any], schemes: Mapping[str, URIRef], report: ExportReport) -> None:
    concept = URIRef(curie_to_iri(row["id"]))
    add = graph.add
    add((concept, RDF.type, SKOS.Concept))
    for source in row["sources"]:
        if source in schemes:
            add((concept, SKOS.inScheme, schemes[source]))
    if row["obsolete"]:
        add((concept, OWL.deprecated, Literal(True)))
    for alt_id in row["alt_ids"]:
        add((concept, OBOINOWL.hasAlternativeId, Literal(alt_id)))

    names = _preferred_names(row["names"])
    by_norm = {(lang, normalize_term(text)): text for lang, text in names.items()}
    for lang, text in names.items():
        add((concept, SKOS.prefLabel, Literal(text, lang=lang)))
    report.labels += len(names)
    for term in row["terms"]:
        lang, tty = term["lang"], term["tty"] or "SY"
        if (name := by_norm.get((lang, term["norm"]))) is not None:
            label, default = Literal(name, lang=lang), "PT"  # the preferred name's own term: its tty only
        else:
            label, default = Literal(term["text"], lang=lang), "SY"
            add((concept, SKOS.altLabel, label))
            report.labels += 1
        if tty != default:
            add((concept, tty_iri(tty), label))

    for text in row["definitions"]:
        add((concept, SKOS.definition, Literal(text, lang=guess_language(text))))
    report.definitions += len(row["definitions"])
    xrefs = sorted(set(row["xrefs"]) - {row["id"]})
    for target in xrefs:
        add((concept, SKOS.exactMatch, URIRef(curie_to_iri(target))))
    report.xrefs += len(xrefs)
    for type_id in row["types"]:
        add((concept, BIOS.semanticType, URIRef(curie_to_iri(type_id))))
    for relation in row["relations"]:
        predicate = SKOS.broader if relation["type"] == "IS_A" else REL[relation["type"]]
        add((concept, predicate, URIRef(curie_to_iri(relation["tail"]))))
    report.relations += len(row["relations"])
    report.concepts += 1


def _add_semantic_type(graph: Graph, row: Mapping[str, Any]) -> None:
    semantic_type = URIRef(curie_to_iri(row["id"]))
    graph.add((semantic_type, RDF.type, BIOS.SemanticType))
    graph.add((semantic_type, RDFS.label, Literal(row["name"] or row["id"])))
    if row["name_zh"]:
        graph.add((semantic_type, RDFS.label, Literal(row["name_zh"], lang="zh")))


def _add_relation_types(graph: Graph, used: set[str], described: list[dict[str, Any]]) -> None:
    """Declare every relationship type used, with the names of those the graph describes."""
    for rel_type in sorted(used):
        prop = REL[rel_type]
        graph.add((prop, RDF.type, OWL.ObjectProperty))
        if rel_type == "IS_A":
            graph.add((prop, OWL.equivalentProperty, SKOS.broader))
        else:
            graph.add((prop, RDFS.subPropertyOf, SKOS.broader if rel_type == "BROADER" else SKOS.related))
    for row in described:
        prop = REL[row["id"]]
        graph.add((prop, RDFS.label, Literal(row["name"] or row["id"])))
        if row["name_zh"]:
            graph.add((prop, RDFS.label, Literal(row["name_zh"], lang="zh")))
        if row["inverse"]:
            graph.add((prop, BIOS.inverseName, Literal(row["inverse"])))
