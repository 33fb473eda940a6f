"""SSSOM mapping sets (Simple Standard for Sharing Ontological Mappings), the TSV serialization.

A block of `#`-prefixed YAML metadata lines (mapping_set_id, license, mapping_set_version, curie_map, …), then a
tab-separated table with a header row; required columns subject_id, predicate_id, object_id,
mapping_justification. Each mapping with a SKOS mapping predicate is loaded between its two concepts the way
the other readers load SKOS matches: exactMatch and closeMatch are cross-references (`Xref`, joined as XREF
edges), broadMatch and narrowMatch (inverted) are BROADER relations, relatedMatch is RELATED_TO. Rows with
any other predicate, and negated ones (predicate_modifier `Not`), are counted in `dropped`. Subject and
object labels become English synonyms.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from bios_kg.graph.errors import InputError
from bios_kg.graph.records import Concept, Record, Relation, Source, TermRecord, Xref
from bios_kg.ingest.ids import canonical_curie
from bios_kg.ingest.readers.base import (
    READERS,
    Input,
    Item,
    Parsed,
    Rejected,
    SourceReader,
    invalid_utf8,
    iter_lines,
    sha256_file,
)

REQUIRED = ("subject_id", "predicate_id", "object_id", "mapping_justification")
XREF_PREDICATES = {"skos:exactMatch", "skos:closeMatch"}
# predicate -> (relation type, whether the object is the head)
RELATION_PREDICATES = {"skos:broadMatch": ("BROADER", False), "skos:narrowMatch": ("BROADER", True),
                       "skos:relatedMatch": ("RELATED_TO", False)}


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


@READERS.register("sssom")
class SssomReader(SourceReader):
    """Load an SSSOM mapping set (TSV): exact/close matches as cross-references, broad/narrow/related as relations."""

    def __init__(self, path: Annotated[Path, Input("An SSSOM mapping set .sssom.tsv file.")],
                 source_id: str | None = None, version: str | None = None, licence: str | None = None,
                 url: str | None = None) -> None:
        self.path = Path(path)
        self.root = self.path.parent
        self.source_id = source_id
        self.version = version
        self.licence = licence
        self.url = url
        self.dropped: Counter[str] = Counter()

    def metadata(self) -> dict[str, str]:
        """The top-level scalar keys of the leading `#` YAML block (nested maps such as curie_map are skipped)."""
        found: dict[str, str] = {}
        top: int | None = None  # the indent of top-level keys ("#key:" and "# key:" both occur)
        for _, text, _raw in iter_lines(self.path, self.path.name):
            if text is None or not text.startswith("#"):
                break
            line = text[1:]
            indent = len(line) - len(line.lstrip())
            if top is None and line.strip():
                top = indent
            if indent != top or ":" not in line:
                continue
            key, value = line.split(":", 1)
            if value.strip():
                found[key.strip()] = _scalar(value)
        return found

    def source(self) -> Source:
        checksum = sha256_file(self.path)
        meta = self.metadata()
        source_id = self.source_id or self.path.name.split(".")[0].upper()
        return Source(id=source_id, name=meta.get("mapping_set_title", source_id),
                      version=self.version or meta.get("mapping_set_version") or checksum[:12],
                      licence=self.licence or meta.get("license") or "unknown",
                      url=self.url or meta.get("mapping_set_id"), format="sssom",
                      checksums={self.path.name: checksum})

    def read(self) -> Iterator[Item]:
        file = self.path.name
        self.dropped.clear()
        columns: list[str] | None = None
        for number, text, raw in iter_lines(self.path, file):
            if text is None:
                yield invalid_utf8(file, number, raw)
                continue
            if columns is None:
                if text.startswith("#") or not text.strip():
                    continue
                columns = text.split("\t")
                if missing := [name for name in REQUIRED if name not in columns]:
                    raise InputError(str(self.path), number, f"SSSOM header lacks the column(s) {', '.join(missing)}")
                continue
            if not text.strip():
                continue
            fields = text.split("\t")
            if len(fields) != len(columns):
                yield Rejected(file, number, f"expected {len(columns)} tab-separated columns, got {len(fields)}", text)
                continue
            try:
                records = self._records(dict(zip(columns, fields, strict=True)))
            except ValueError as problem:
                yield Rejected(file, number, str(problem), text)
                continue
            for record in records:
                yield Parsed(record, file, number)
        if columns is None:
            raise InputError(str(self.path), None, "no SSSOM table: no header row after the metadata")

    def _records(self, row: dict[str, str]) -> list[Record]:
        predicate = row["predicate_id"].strip()
        subject = canonical_curie(row["subject_id"].strip())
        target = canonical_curie(row["object_id"].strip())
        if not row["mapping_justification"].strip():
            raise ValueError("empty mapping_justification")
        modifier = row.get("predicate_modifier", "").strip()
        if modifier not in ("", "Not"):
            raise ValueError(f"unknown predicate_modifier {modifier!r} (SSSOM has only Not)")
        if predicate not in XREF_PREDICATES and predicate not in RELATION_PREDICATES:
            self.dropped[f"predicate {predicate}"] += 1
            return []
        if modifier:
            self.dropped[f"negated {predicate}"] += 1  # the set states that the mapping does NOT hold
            return []
        records: list[Record] = []
        for concept_id, label in ((subject, row.get("subject_label", "")), (target, row.get("object_label", ""))):
            records.append(Concept(concept_id))
            if label.strip():
                records.append(TermRecord(concept_id, label.strip(), "en"))
        if predicate in XREF_PREDICATES:
            records.append(Xref(subject, target))
            return records
        rel_type, inverted = RELATION_PREDICATES[predicate]
        props: list[tuple[str, str | int | float]] = [("mapping_justification", row["mapping_justification"].strip())]
        if confidence := row.get("confidence", "").strip():
            try:
                props.append(("confidence", float(confidence)))
            except ValueError:
                raise ValueError(f"confidence is not a number: {confidence!r}") from None
        head, tail = (target, subject) if inverted else (subject, target)
        records.append(Relation(head, rel_type, tail, rel_id=predicate, props=tuple(props)))
        return records
