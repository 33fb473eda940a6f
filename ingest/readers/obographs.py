"""OBO Graphs JSON (the JSON that ROBOT and the OBO Foundry publish beside .obo and .owl): a reader.

A small reader, and the worked example of adding a format: it maps the file's JSON onto the same records
as the OBO reader, reusing that reader's rules (synonym scope codes, skos:*Match mappings, relation
names), and registers itself under a format name.

| OBO Graphs | record |
|---|---|
| node of type CLASS (not `deprecated`) | Concept (id: its IRI as a CURIE, bios_kg.ingest.ids) |
| `lbl` | TermRecord, preferred, tty PT |
| meta.synonyms: hasExactSynonym / Related / Broad / Narrow, synonymType | TermRecord, tty as the OBO reader's |
| meta.definition.val | Definition |
| meta.xrefs[].val; basicPropertyValues skos:exactMatch / closeMatch | Xref |
| basicPropertyValues hasAlternativeId; IAO_0100001 (replaced by) of a deprecated node | AltId |
| basicPropertyValues skos:broadMatch / narrowMatch / relatedMatch | Relation BROADER / RELATED_TO |
| edge `is_a`; edge with a property IRI, named by the property node's `lbl` | Relation IS_A; the named type |

Every item has line 0 (JSON gives no lines to point at; a rejection's raw text is the offending JSON).
A file without a `graphs` list is an InputError, and so is one without a single class.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from bios_kg.graph.errors import ConfigError, InputError
from bios_kg.graph.records import AltId, Concept, Definition, Record, Relation, Source, TermRecord, Xref
from bios_kg.graph.vocabulary import canonical_relation, inverse_name
from bios_kg.ingest.ids import to_curie, xref_target
from bios_kg.ingest.readers.base import READERS, Input, Item, Parsed, Rejected, SourceReader, sha256_file
from bios_kg.ingest.readers.obo import RELATION_MATCHES, XREF_MATCHES, _relation_type, _synonym_tty

_OBOINOWL = "http://www.geneontology.org/formats/oboInOwl#"
_SKOS = "http://www.w3.org/2004/02/skos/core#"
ALT_ID = _OBOINOWL + "hasAlternativeId"
REPLACED_BY = "http://purl.obolibrary.org/obo/IAO_0100001"
SCOPES = {"hasExactSynonym": "EXACT", "hasRelatedSynonym": "RELATED", "hasBroadSynonym": "BROAD",
          "hasNarrowSynonym": "NARROW"}


def _alt_id(concept_id: str, value: str) -> AltId:
    return AltId(concept_id, to_curie(value))


class _Problem(Exception):
    """One node's or edge's fact that cannot be read; becomes a Rejected item."""


@READERS.register("obographs")
class OboGraphsReader(SourceReader):
    """Streams the classes of one OBO Graphs JSON file (every graph in it) in load order."""

    counts_lines = False  # JSON gives no lines: progress counts records

    def __init__(self, path: Annotated[Path, Input("An OBO Graphs .json file.")], source_id: str | None = None,
                 name: str | None = None,
                 version: str | None = None, licence: str = "unknown", url: str | None = None) -> None:
        self.path = Path(path)
        self.root = self.path.parent
        self.file = self.path.name
        self.source_id = source_id
        self.name = name
        self.version = version
        self.licence = licence
        self.url = url
        self.dropped: Counter[str] = Counter()
        self.warnings: list[str] = []

    def _graphs(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            raise InputError(str(self.path), None, "no such file")
        try:
            data = json.loads(self.path.read_bytes())
        except ValueError as exc:  # JSONDecodeError names the line; invalid UTF-8 does not
            line = exc.lineno if isinstance(exc, json.JSONDecodeError) else None
            raise InputError(str(self.path), line, f"not JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("graphs"), list):
            raise InputError(str(self.path), None, "not OBO Graphs JSON: no top-level `graphs` list")
        return [graph for graph in data["graphs"] if isinstance(graph, dict)]

    def source(self) -> Source:
        graphs = self._graphs()
        first = graphs[0] if graphs else {}
        ontology = str(first.get("id") or self.path.stem)
        meta = first.get("meta") or {}
        stem = ontology.rstrip("/").rsplit("/", 1)[-1].removesuffix(".owl").removesuffix(".json")
        source_id = self.source_id or stem.upper()
        version = self.version or meta.get("version") or sha256_file(self.path)[:12]
        return Source(id=source_id, name=self.name or source_id, version=str(version), licence=self.licence,
                      url=self.url or (ontology if ontology.startswith("http") else None), format="obographs",
                      checksums={self.file: sha256_file(self.path)})

    def read(self) -> Iterator[Item]:
        self.dropped, self.warnings = Counter(), []
        graphs = self._graphs()
        nodes = [node for graph in graphs for node in graph.get("nodes") or [] if isinstance(node, dict)]
        edges = [edge for graph in graphs for edge in graph.get("edges") or [] if isinstance(edge, dict)]
        properties = {str(node.get("id")): str(node["lbl"]) for node in nodes
                      if node.get("type") == "PROPERTY" and node.get("lbl")}
        classes = [node for node in nodes if node.get("type", "CLASS") == "CLASS" and node.get("id")]
        live: dict[str, dict[str, Any]] = {}
        retired: list[tuple[dict[str, Any], str]] = []
        for node in classes:
            try:
                concept_id = to_curie(str(node["id"]))
            except ValueError as exc:
                yield self._rejected(f"class id: {exc}", node)
                continue
            if (node.get("meta") or {}).get("deprecated"):
                retired.append((node, concept_id))
            elif len(node) > 2 or "lbl" in node:  # not a bare declaration of an imported class
                live[concept_id] = node
        if not live:
            raise InputError(str(self.path), None, "no class in this OBO Graphs file")
        for concept_id, node in live.items():
            yield from self._node_items(concept_id, node)
        for node, old_id in retired:
            for value in self._values(node, REPLACED_BY):
                yield from self._item(node, partial(self._retire, old_id, value, live))
        described: set[str] = set()
        for concept_id, node in live.items():
            for kind, target in self._matches(node, RELATION_MATCHES):
                yield from self._relation(node, concept_id, RELATION_MATCHES[kind], target, described)
        for edge in edges:
            try:
                head = to_curie(str(edge.get("sub", "")))
            except ValueError:
                continue
            if head not in live:
                continue
            pred = str(edge.get("pred", ""))
            name = "is_a" if pred == "is_a" else properties.get(pred, pred.rsplit("/", 1)[-1])
            yield from self._relation(edge, head, name, str(edge.get("obj", "")), described)

    # -- items ---------------------------------------------------------------------------------------
    def _rejected(self, reason: str, what: dict[str, Any]) -> Rejected:
        return Rejected(self.file, 0, reason, json.dumps(what, ensure_ascii=False)[:500])

    def _item(self, what: dict[str, Any], make: Callable[[], Record]) -> Iterator[Item]:
        try:
            yield Parsed(make(), self.file, 0)
        except (_Problem, ValueError, ConfigError) as exc:
            yield self._rejected(str(exc), what)

    def _retire(self, old_id: str, value: str, live: dict[str, Any]) -> AltId:
        target = to_curie(value)
        if target not in live:
            self.warnings.append(f"{self.file}: obsolete {old_id} is replaced by {target}, which is not a class of "
                                 f"this file: kept as an alt id of {target} once it is loaded")
        return AltId(target, old_id)

    @staticmethod
    def _values(node: dict[str, Any], pred: str) -> list[str]:
        return [str(value["val"]) for value in (node.get("meta") or {}).get("basicPropertyValues") or []
                if isinstance(value, dict) and value.get("pred") == pred and value.get("val")]

    def _matches(self, node: dict[str, Any], kinds: Iterable[str]) -> list[tuple[str, str]]:
        return [(kind, value) for kind in sorted(kinds) for value in self._values(node, _SKOS + kind)]

    def _node_items(self, concept_id: str, node: dict[str, Any]) -> Iterator[Item]:
        meta = node.get("meta") or {}
        label = str(node.get("lbl") or "").strip()
        yield Parsed(Concept(concept_id, label or None), self.file, 0)
        if label:
            yield Parsed(TermRecord(concept_id, label, "en", "PT", preferred=True), self.file, 0)
        for synonym in meta.get("synonyms") or []:
            yield from self._item(synonym, partial(self._synonym, concept_id, synonym))
        definition = (meta.get("definition") or {}).get("val")
        if definition and str(definition).strip():
            yield Parsed(Definition(concept_id, str(definition).strip(), "en"), self.file, 0)
        targets = [str(xref.get("val", "")) for xref in meta.get("xrefs") or [] if isinstance(xref, dict)]
        targets += [value for _, value in self._matches(node, XREF_MATCHES)]
        for text in targets:
            try:
                target = xref_target(text)
            except ValueError as exc:
                yield self._rejected(f"xref: {exc}", {"xref": text})
                continue
            if target is None:
                self.dropped["xrefs naming no term (a datatype or a link)"] += 1
            else:
                yield Parsed(Xref(concept_id, target), self.file, 0)
        for value in self._values(node, ALT_ID):
            yield from self._item(node, partial(_alt_id, concept_id, value))

    def _synonym(self, concept_id: str, synonym: dict[str, Any]) -> Record:
        text = str(synonym.get("val") or "").strip()
        scope = SCOPES.get(str(synonym.get("pred", "")).removeprefix(_OBOINOWL))
        if not text or scope is None:
            raise _Problem("a synonym needs a text and a scope (hasExactSynonym, hasRelatedSynonym, …)")
        kind = synonym.get("synonymType")  # an IRI (…/OMO_0003000, …#abbreviation) or a CURIE
        local = str(kind).rsplit("#", 1)[-1].rsplit("/", 1)[-1] if kind else None
        if local and local.upper().startswith("OMO_"):
            local = "OMO:" + local[4:]
        tty = _synonym_tty(scope, local)
        if tty is None:  # a synonym type the OBO reader drops (obsolete_synonym)
            raise _Problem("an obsolete synonym")
        return TermRecord(concept_id, text, "en", tty)

    def _relation(self, what: dict[str, Any], head: str, name: str, obj: str, described: set[str]) -> Iterator[Item]:
        try:
            tail = to_curie(obj)
            rel_type, swapped = canonical_relation(name)
        except (ValueError, ConfigError) as exc:
            yield self._rejected(f"relation {name!r}: {exc}", what)
            return
        if swapped:
            head, tail = tail, head
        if inverse_name(rel_type) is None:
            head, tail = sorted((head, tail))
        if rel_type not in described:
            described.add(rel_type)
            yield Parsed(_relation_type(rel_type), self.file, 0)
        yield Parsed(Relation(head, rel_type, tail, rel_id=name), self.file, 0)
