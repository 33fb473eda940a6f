"""RDF files, SKOS or OWL in any format rdflib parses (Turtle, RDF/XML, N-Triples, JSON-LD): a reader.

What becomes what (graph/skos.py writes the BIOS flavour of the same vocabulary):

| RDF | record |
|---|---|
| an IRI typed skos:Concept or owl:Class, or untyped with skos:inScheme | Concept (id: `iri_to_curie`) |
| skos:prefLabel, else rdfs:label: the first per language | TermRecord, preferred, tty PT |
| further prefLabel / rdfs:label, skos:altLabel | TermRecord, tty SY |
| skos:hiddenLabel | TermRecord, tty HL |
| oboInOwl:hasExactSynonym / Related / Broad / Narrow | TermRecord, tty SY / RT / BT / NT (the OBO reader's codes) |
| `tty:<TTY> "label"` (BIOS export) | that label's tty instead of the default |
| skos:definition, obo:IAO_0000115 | Definition |
| skos:exactMatch, skos:closeMatch, oboInOwl:hasDbXref | Xref (not a datatype or a link:
bios_kg.ingest.ids.xref_target) |
| skos:broadMatch, skos:narrowMatch (inverted), skos:relatedMatch | Relation BROADER, BROADER, RELATED_TO |
| oboInOwl:hasAlternativeId; obo:IAO_0100001 (replaced by) of an obsolete class | AltId (also outside the file) |
| owl:deprecated true | owl:Class: skipped, with relations to it; skos:Concept: Concept.obsolete |
| skos:broader, skos:narrower (inverted), rdfs:subClassOf a named class | Relation IS_A |
| skos:related | Relation RELATED_TO, once per pair |
| rel:T (BIOS export); rel:T declared with rdfs:label | Relation T; RelationType |
| bios:semanticType; a bios:SemanticType | TypeAssignment; SemanticType |

IRIs become CURIEs through bios_kg.ingest.ids (the graph's namespaces, the Bioregistry, then the file's prefix
bindings, also when bound without their trailing `/`). A literal's language tag may be any BCP 47 tag
(bios_kg.graph.languages); an untagged literal takes its language from its script (Han -> zh, else en). Skipped:
rdfs:subClassOf a class expression (restriction), an owl:Class with nothing but its declaration (an imported
class an axiom mentions), OBO synonym types and axiom annotations, and labels on resources that are not
concepts (counted in `dropped`). A file with no statements, or with no concept, is an InputError, as is
an OBO Graphs JSON file (read by the `obographs` reader).

Every item has line 0: RDF parsers report no positions. A rejection's raw text is the offending triple in
N-Triples, which can be searched for in the file. The whole file is parsed into memory by rdflib before
the first item (HPO as RDF/XML, 12 MB and 125k triples: about 5 s and 260 MB); a file that does not parse
is an InputError naming it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated
from urllib.parse import unquote
from xml.sax import SAXParseException

from rdflib import DCTERMS, OWL, RDF, RDFS, SKOS, BNode, Graph, Literal, URIRef
from rdflib.parser import Parser
from rdflib.plugin import PluginException
from rdflib.plugin import get as get_plugin
from rdflib.plugins.parsers.notation3 import BadSyntax
from rdflib.term import Node
from rdflib.util import guess_format

from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.languages import guess_language, to_iso
from bios_kg.graph.records import (
    AltId,
    Concept,
    Definition,
    Record,
    Relation,
    RelationType,
    SemanticType,
    Source,
    TermRecord,
    TypeAssignment,
    Xref,
)
from bios_kg.graph.skos import BIOS, OBO, OBOINOWL, REL, TTY
from bios_kg.graph.text import normalize_term
from bios_kg.graph.vocabulary import validate_relationship_type
from bios_kg.ingest.ids import compact_iri, to_curie, xref_target
from bios_kg.ingest.readers.base import (
    READERS,
    Input,
    Item,
    Option,
    Parsed,
    Rejected,
    SourceReader,
    sha256_file,
)
from bios_kg.ingest.readers.obo import SCOPE_TTY

FORMAT_ALIASES = {"ttl": "turtle", "owl": "xml", "rdf": "xml", "rdfxml": "xml", "rdf/xml": "xml", "jsonld": "json-ld"}

PREFERRED = (SKOS.prefLabel, RDFS.label)
SYNONYM_TTYS: dict[URIRef, str] = {
    SKOS.altLabel: "SY",
    SKOS.hiddenLabel: "HL",
    OBOINOWL.hasExactSynonym: SCOPE_TTY["EXACT"],
    OBOINOWL.hasRelatedSynonym: SCOPE_TTY["RELATED"],
    OBOINOWL.hasBroadSynonym: SCOPE_TTY["BROAD"],
    OBOINOWL.hasNarrowSynonym: SCOPE_TTY["NARROW"],
}
DEFINITIONS = (SKOS.definition, OBO.IAO_0000115)
XREFS = (SKOS.exactMatch, SKOS.closeMatch, OBOINOWL.hasDbXref)
MATCHES = (SKOS.broadMatch, SKOS.narrowMatch, SKOS.relatedMatch)
# Relations read from predicates: type, and whether the object is the head.
RELATION_PREDICATES: dict[URIRef, tuple[str, bool]] = {
    SKOS.broader: ("IS_A", False), RDFS.subClassOf: ("IS_A", False), SKOS.narrower: ("IS_A", True),
    SKOS.related: ("RELATED_TO", False), SKOS.broadMatch: ("BROADER", False),
    SKOS.narrowMatch: ("BROADER", True), SKOS.relatedMatch: ("RELATED_TO", False),
}
REPLACED_BY = OBO.IAO_0100001
# Statements that only a concept may carry: on an undeclared subject they are rejected.
CONCEPT_ONLY = (SKOS.prefLabel, *SYNONYM_TTYS, *DEFINITIONS)


def _is_obo_graphs(path: Path) -> bool:
    """Whether a JSON file is OBO Graphs JSON (a top-level `graphs` list) rather than JSON-LD."""
    try:
        with path.open("rb") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return False  # rdflib reports what is wrong with it
    return isinstance(data, dict) and isinstance(data.get("graphs"), list)


def _rdflib_format(name: str) -> str:
    fmt = FORMAT_ALIASES.get(name.lower(), name.lower())
    try:
        get_plugin(fmt, Parser)
    except PluginException:
        raise ConfigError(f"unknown RDF format {name!r} (turtle, xml, nt, n3, json-ld)") from None
    return fmt


def _nt(*triple: Node) -> str:
    return " ".join(node.n3() for node in triple) + " ."


def _n3(node: Node) -> str:
    return node.n3()


def _key(nodes: tuple[Node, ...]) -> tuple[str, ...]:
    """A sort key for tuples of nodes (rdflib cannot order every pair of literals)."""
    return tuple(map(_n3, nodes))


def _deprecated(graph: Graph, subject: Node) -> bool:
    return any(isinstance(o, Literal) and str(o).strip().lower() in ("true", "1")
               for o in graph.objects(subject, OWL.deprecated))


def _literals(graph: Graph, subject: Node, predicate: URIRef) -> list[Node]:
    """Objects in a stable order, literals first."""
    return sorted(graph.objects(subject, predicate), key=lambda o: (not isinstance(o, Literal), _n3(o)))


def _names(labels: Iterable[Node], fallback: str) -> tuple[str, str | None]:
    """(name, name_zh) from rdfs:labels: the untagged (else English) one, and the Chinese one."""
    by_lang: dict[str | None, str] = {}
    for label in labels:
        if isinstance(label, Literal):
            by_lang.setdefault(to_iso(label.language) if label.language else None, str(label))
    return by_lang.get(None) or by_lang.get("en") or fallback, by_lang.get("zh")


class _Ids:
    """IRI -> CURIE (bios_kg.ingest.ids) with the file's @prefix bindings and the caller's prefixes, memoized."""

    def __init__(self, graph: Graph, prefixes: Mapping[str, str]) -> None:
        self.namespaces = {prefix: str(ns) for prefix, ns in graph.namespaces() if prefix} | dict(prefixes)
        self._cache: dict[str, str | None] = {}

    def of_iri(self, iri: Node) -> str | None:
        key = str(iri)
        if key not in self._cache:
            self._cache[key] = compact_iri(key, self.namespaces)
        return self._cache[key]

    def of(self, node: Node) -> str | None:
        """A CURIE from an IRI, or from a literal holding a CURIE or an IRI (OBO xrefs)."""
        if isinstance(node, URIRef):
            return self.of_iri(node)
        if not isinstance(node, Literal):
            return None
        try:
            return to_curie(str(node), self.namespaces)
        except ValueError:
            return None

    def xref(self, node: Node) -> str | None:
        """The CURIE a cross-reference names; None for a datatype or a link; ValueError for anything else."""
        if isinstance(node, URIRef):
            return self.of_iri(node)
        return xref_target(str(node), self.namespaces)



def _error_line(exc: Exception) -> int | None:
    """The 1-based line a parser's error points at: Turtle/N3 (BadSyntax.lines, 0-based), RDF/XML (SAX), JSON."""
    if isinstance(exc, SAXParseException):
        return exc.getLineNumber()
    if isinstance(exc, BadSyntax):
        return None if exc.lines is None else exc.lines + 1
    if isinstance(exc, json.JSONDecodeError):
        return exc.lineno
    return None


@READERS.register("rdf")
class RdfReader(SourceReader):
    """Streams the concepts of one RDF file; `prefixes` (CURIE prefix -> namespace IRI) adds id namespaces."""

    counts_lines = False  # RDF parsers give no lines: progress counts records

    def __init__(
        self,
        path: Annotated[Path, Input("SKOS or OWL file (Turtle, RDF/XML, …).")],
        source_id: str | None = None,
        format: Annotated[str | None, Option("rdflib format (default: by suffix).")] = None,
        licence: str = "unknown",
        version: str | None = None,
        prefixes: Annotated[Mapping[str, str] | None, Option("CURIE prefix for a namespace: PREFIX=IRI (repeatable).",
                                                            "--prefix")] = None,
    ) -> None:
        self.path = Path(path)
        self.root = self.path.parent
        self.display = self.path.name
        self.source_id = source_id
        self.format = _rdflib_format(format) if format else None
        self.licence = licence
        self.version = version
        self.prefixes = dict(prefixes or {})
        self._graph: Graph | None = None
        self.dropped: Counter[str] = Counter()  # statements left out on purpose, by reason (read() counts them)
        self.warnings: list[str] = []  # what read() kept in a way the user should know about

    # -- file --------------------------------------------------------------------------------------------
    def _parse(self) -> Graph:
        if self._graph is None:
            if not self.path.is_file():
                raise InputError(str(self.path), None, "no such file")
            fmt = self.format or guess_format(str(self.path))
            if fmt is None:
                raise InputError(str(self.path), None, "unknown RDF format: name it (turtle, xml, nt, json-ld)")
            if fmt == "json-ld" and _is_obo_graphs(self.path):
                raise InputError(str(self.path), None, "an OBO Graphs JSON file, not JSON-LD: load it with "
                                 "`bios ingest obographs`")
            graph = Graph(bind_namespaces="none")
            try:
                graph.parse(self.path, format=fmt)
            except Exception as exc:  # rdflib's parsers raise syntax, XML, JSON and decoding errors of their own
                raise InputError(str(self.path), _error_line(exc), f"not valid {fmt}: {exc}") from exc
            if not len(graph):
                raise InputError(str(self.path), None, f"no RDF statements read as {fmt}")
            self._graph = graph
        return self._graph

    def _metadata(self, graph: Graph) -> Node | None:
        """The concept scheme describing the file (the one named `source_id`, or the only one), else the ontology."""
        schemes = sorted(graph.subjects(RDF.type, SKOS.ConceptScheme), key=_n3)
        if self.source_id is not None:
            named = [s for s in schemes if str(graph.value(s, DCTERMS.identifier)) == self.source_id]
            schemes = named or schemes
        if len(schemes) == 1:
            return schemes[0]
        return next(iter(sorted(graph.subjects(RDF.type, OWL.Ontology), key=_n3)), None)

    def source(self) -> Source:
        graph = self._parse()
        meta = self._metadata(graph)

        def value(*predicates: URIRef) -> str | None:
            for predicate in predicates:
                found = graph.value(meta, predicate) if meta is not None else None
                if found is not None and str(found).strip():
                    return str(found).strip()
            return None

        checksum = sha256_file(self.path)
        source_id = self.source_id or value(DCTERMS.identifier) or self.path.stem
        licence = self.licence if self.licence != "unknown" else value(DCTERMS.license) or "unknown"
        ontology = str(meta) if isinstance(meta, URIRef) and (meta, RDF.type, OWL.Ontology) in graph else None
        return Source(
            id=source_id,
            name=value(DCTERMS.title, RDFS.label, SKOS.prefLabel) or source_id,
            version=self.version or value(OWL.versionInfo, OWL.versionIRI) or checksum[:12],
            licence=licence,
            url=value(DCTERMS.source) or ontology,
            format="rdf",
            checksums={self.display: checksum},
        )

    # -- items -------------------------------------------------------------------------------------------
    def _parsed(self, record: Record) -> Parsed:
        return Parsed(record, self.display, 0)

    def _rejected(self, reason: str, *triple: Node) -> Rejected:
        return Rejected(self.display, 0, reason, _nt(*triple))

    def read(self) -> Iterator[Item]:
        graph = self._parse()
        self.dropped, self.warnings = Counter(), []
        ids = _Ids(graph, self.prefixes)
        concepts: dict[Node, str] = {}
        skipped: set[Node] = set()  # obsolete classes and bare declarations
        retired: dict[str, set[str]] = {}  # replacement concept -> ids of the obsolete classes it replaces
        yield from self._find_concepts(graph, ids, concepts, skipped, retired)
        if not concepts and not skipped and (None, RDF.type, BIOS.SemanticType) not in graph:
            raise InputError(str(self.path), None, "no skos:Concept or owl:Class in this file")
        self._orphan_labels(graph, concepts, skipped)
        yield from self._semantic_types(graph, ids)
        yield from self._relation_types(graph)
        for iri, concept_id in sorted(concepts.items(), key=lambda item: item[1]):
            yield from self._concept(graph, ids, iri, concept_id)
        live = set(concepts.values())
        for concept_id, old_ids in sorted(retired.items()):
            if concept_id not in live:
                self.warnings.append(f"{self.display}: obsolete {', '.join(sorted(old_ids))} replaced by {concept_id}, "
                                     f"which is not a concept of this file: kept as alt ids of it once it is loaded")
            for old_id in sorted(old_ids):
                yield self._parsed(AltId(concept_id, old_id))
        yield from self._relations(graph, ids, concepts, skipped)

    def _find_concepts(self, graph: Graph, ids: _Ids, concepts: dict[Node, str], skipped: set[Node],
                       retired: dict[str, set[str]]) -> Iterator[Item]:
        skos_concepts = set(graph.subjects(RDF.type, SKOS.Concept))
        classes = set(graph.subjects(RDF.type, OWL.Class)) - skos_concepts
        in_scheme = {s for predicate in (SKOS.inScheme, SKOS.topConceptOf) for s in graph.subjects(predicate, None)
                     if (s, RDF.type, None) not in graph}
        for subject in sorted(skos_concepts | classes | in_scheme, key=_n3):
            if not isinstance(subject, URIRef):
                continue  # an anonymous class expression
            if subject in classes and (_deprecated(graph, subject) or len(set(graph.predicate_objects(subject))) == 1):
                skipped.add(subject)
                yield from self._retire(graph, ids, subject, retired)
                continue
            concept_id = ids.of_iri(subject)
            if concept_id is None:
                skipped.add(subject)
                yield self._rejected(f"no CURIE for the concept IRI {subject}: bind a prefix for its namespace",
                                     subject, RDF.type, graph.value(subject, RDF.type) or SKOS.Concept)
                continue
            concepts[subject] = concept_id

    def _retire(self, graph: Graph, ids: _Ids, subject: URIRef, retired: dict[str, set[str]]) -> Iterator[Item]:
        """An obsolete class's id becomes an alt_id of the class that replaces it."""
        old = ids.of_iri(subject)
        for replacement in graph.objects(subject, REPLACED_BY):
            new = ids.of(replacement)
            if old is None or new is None:
                yield self._rejected("replaced-by without a CURIE on either side", subject, REPLACED_BY, replacement)
            else:
                retired.setdefault(new, set()).add(old)

    def _orphan_labels(self, graph: Graph, concepts: dict[Node, str], skipped: set[Node]) -> None:
        """Count the labels and definitions of resources that are not concepts (a scheme, a collection, a
        property, an undeclared resource): they are not loaded, and do not stop the load."""
        for predicate in CONCEPT_ONLY:
            for subject in graph.subjects(predicate, None):
                if subject not in concepts and subject not in skipped:
                    self.dropped["labels and definitions of resources that are not concepts"] += 1

    def _semantic_types(self, graph: Graph, ids: _Ids) -> Iterator[Item]:
        for subject in sorted(graph.subjects(RDF.type, BIOS.SemanticType), key=_n3):
            type_id = ids.of(subject)
            if type_id is None:
                yield self._rejected("no CURIE for the semantic type IRI", subject, RDF.type, BIOS.SemanticType)
                continue
            name, name_zh = _names(graph.objects(subject, RDFS.label), type_id)
            yield self._parsed(SemanticType(type_id, name, name_zh))

    def _relation_types(self, graph: Graph) -> Iterator[Item]:
        for subject in sorted(graph.subjects(RDF.type, OWL.ObjectProperty), key=_n3):
            labels = list(graph.objects(subject, RDFS.label))
            if not str(subject).startswith(str(REL)) or not labels:
                continue
            try:
                rel_type = validate_relationship_type(str(subject)[len(REL):])
            except ConfigError as exc:
                yield self._rejected(str(exc), subject, RDF.type, OWL.ObjectProperty)
                continue
            name, name_zh = _names(labels, rel_type.lower())
            inverse = graph.value(subject, BIOS.inverseName)
            yield self._parsed(RelationType(rel_type, name, name_zh, str(inverse) if inverse is not None else None))

    def _concept(self, graph: Graph, ids: _Ids, iri: Node, concept_id: str) -> Iterator[Item]:
        yield self._parsed(Concept(concept_id, obsolete=_deprecated(graph, iri)))
        for obj in sorted(graph.objects(iri, OBOINOWL.hasAlternativeId), key=_n3):
            if (alt_id := ids.of(obj)) is None:
                yield self._rejected("alternative id is not a CURIE", iri, OBOINOWL.hasAlternativeId, obj)
            else:
                yield self._parsed(AltId(concept_id, alt_id))
        yield from self._terms(graph, iri, concept_id)
        yield from self._definitions(graph, iri, concept_id)
        seen: set[str] = set()
        for predicate in XREFS:
            for obj in _literals(graph, iri, predicate):
                try:
                    target = ids.xref(obj)
                except ValueError as exc:
                    yield self._rejected(f"cross-reference is not a CURIE or an IRI: {exc}", iri, predicate, obj)
                    continue
                if target is None:
                    self.dropped["xrefs naming no term (a datatype or a link)"] += 1
                elif target != concept_id and target not in seen:
                    seen.add(target)
                    yield self._parsed(Xref(concept_id, target))
        for obj in sorted(graph.objects(iri, BIOS.semanticType), key=_n3):
            if (type_id := ids.of(obj)) is None:
                yield self._rejected("no CURIE for the semantic type", iri, BIOS.semanticType, obj)
            else:
                yield self._parsed(TypeAssignment(concept_id, type_id))

    def _language(self, literal: Literal) -> str | None:
        return to_iso(literal.language) if literal.language else guess_language(str(literal))

    def _terms(self, graph: Graph, iri: Node, concept_id: str) -> Iterator[Item]:
        ttys = {obj: unquote(str(predicate)[len(TTY):]) for predicate, obj in graph.predicate_objects(iri)
                if str(predicate).startswith(str(TTY))}
        seen: set[tuple[str, str]] = set()  # (lang, norm): one term per normalized string
        preferred_langs: set[str] = set()
        for predicate in (*PREFERRED, *SYNONYM_TTYS):
            for obj in _literals(graph, iri, predicate):
                if not isinstance(obj, Literal):
                    yield self._rejected("label is not a literal", iri, predicate, obj)
                    continue
                lang = self._language(obj)
                text = str(obj).strip()
                norm = normalize_term(text)
                if lang is None or not norm:
                    reason = f"unknown language tag {obj.language!r}" if lang is None else "label is empty"
                    yield self._rejected(reason, iri, predicate, obj)
                    continue
                if (lang, norm) in seen:
                    continue
                seen.add((lang, norm))
                preferred = predicate in PREFERRED and lang not in preferred_langs
                if preferred:
                    preferred_langs.add(lang)
                default = "PT" if preferred else SYNONYM_TTYS.get(predicate, "SY")
                yield self._parsed(TermRecord(concept_id, text, lang, ttys.get(obj, default), preferred=preferred))

    def _definitions(self, graph: Graph, iri: Node, concept_id: str) -> Iterator[Item]:
        seen: set[str] = set()
        for predicate in DEFINITIONS:
            for obj in _literals(graph, iri, predicate):
                lang = self._language(obj) if isinstance(obj, Literal) else None
                if not isinstance(obj, Literal) or lang is None:
                    yield self._rejected("definition is not a literal in a known language", iri, predicate, obj)
                elif str(obj) not in seen:
                    seen.add(str(obj))
                    yield self._parsed(Definition(concept_id, str(obj), lang))

    def _relations(self, graph: Graph, ids: _Ids, concepts: dict[Node, str], skipped: set[Node]) -> Iterator[Item]:
        seen: set[tuple[str, str, str]] = set()
        for iri, concept_id in sorted(concepts.items(), key=lambda item: item[1]):
            for predicate, obj in sorted(graph.predicate_objects(iri), key=_key):
                object_is_head = False
                if isinstance(predicate, URIRef) and predicate in RELATION_PREDICATES:
                    rel_type, object_is_head = RELATION_PREDICATES[predicate]
                elif str(predicate).startswith(str(REL)):
                    try:
                        rel_type = validate_relationship_type(str(predicate)[len(REL):])
                    except ConfigError as exc:
                        yield self._rejected(str(exc), iri, predicate, obj)
                        continue
                else:
                    continue
                if (isinstance(obj, BNode) and predicate == RDFS.subClassOf) or obj == OWL.Thing or obj in skipped:
                    continue  # a restriction, the top class, or an obsolete class
                # mapping predicates (skos:*Match) often hold a CURIE literal, as OBO-derived files write them
                other = concepts.get(obj) or (ids.of(obj) if isinstance(obj, URIRef) or predicate in MATCHES else None)
                if other is None:
                    yield self._rejected("relation target is not an IRI with a CURIE", iri, predicate, obj)
                    continue
                head, tail = (other, concept_id) if object_is_head else (concept_id, other)
                if rel_type == "RELATED_TO":
                    head, tail = sorted((head, tail))
                if head != tail and (head, rel_type, tail) not in seen:
                    seen.add((head, rel_type, tail))
                    yield self._parsed(Relation(head, rel_type, tail))
