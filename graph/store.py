"""The typed store: canonical records in, graph out, in batches inside explicit transactions."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from neo4j import READ_ACCESS, Driver, ManagedTransaction, Query, Transaction, unit_of_work
from neo4j.exceptions import ClientError

from bios_kg.graph.connection import open_driver
from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.errors import QueryTimeoutError
from bios_kg.graph.languages import is_language
from bios_kg.graph.queries.embeddings import (
    CLEAR_OTHER_CONCEPT_VECTORS,
    CLEAR_OTHER_TERM_VECTORS,
    CONCEPT_VECTOR_INDEX,
    CONCEPTS_TO_EMBED,
    COUNT_TERMS_TO_EMBED,
    DELETE_OTHER_EMBEDDING_MODELS,
    EMBEDDED_TERM_IDS,
    EMBEDDING_FINGERPRINT,
    EMBEDDING_MODELS,
    MARK_TERMS_EMBEDDED,
    MERGE_EMBEDDING_MODEL,
    OTHER_EMBEDDING_MODELS,
    SET_CONCEPT_VECTORS,
    SET_EMBEDDING_MODEL_COUNTS,
    TERM_VECTOR_INDEX,
    TERMS_TO_EMBED,
    UNMARK_TERMS_EMBEDDED,
    VECTOR_INDEX_INFO,
    VECTOR_SEARCH,
    create_vector_index_query,
    drop_index,
    vector_index_name,
)
from bios_kg.graph.queries.explore import (
    RELATION_WINDOW,
    concept_degrees,
    concept_relation_type_counts,
    relation_groups_query,
    typed_neighbours,
)
from bios_kg.graph.queries.ingest import (
    BEGIN_SOURCE,
    COUNT_PENDING_RELATIONS,
    DELETE_PENDING_RELATIONS,
    FAIL_SOURCE,
    FINISH_SOURCE,
    GET_SOURCE,
    LINK_XREFS,
    LIST_SOURCES,
    MERGE_CONCEPTS,
    MERGE_DEFINITIONS,
    MERGE_HAS_TERM,
    MERGE_HAS_TYPE,
    MERGE_PENDING_ALT_IDS,
    MERGE_PENDING_RELATIONS,
    MERGE_RELATION_TYPES,
    MERGE_SEMANTIC_TYPES,
    MERGE_TERMS,
    MISSING_RELATION_ENDS,
    RESOLVABLE_PENDING_RELATIONS,
    RESOLVE_PENDING_ALT_IDS,
    SET_CHECKPOINT,
    add_to_concept_list,
    merge_relations,
)
from bios_kg.graph.queries.schema import (
    AWAIT_INDEXES,
    COUNT_BY_SOURCE,
    DELETE_EVERYTHING,
    LABELS,
    RELATIONSHIP_TYPES,
    count_label,
    count_relationship_type,
)
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
from bios_kg.graph.settings import Neo4jSettings, connection_settings
from bios_kg.graph.text import normalize_term, term_id
from bios_kg.graph.vocabulary import validate_relationship_type
from bios_kg.resources import SCHEMA_FILE

Tx = Transaction | ManagedTransaction
_T = TypeVar("_T")


# --- result types of the store's reads --------------------------------------------------------------------
@dataclass(frozen=True)
class GraphStats:
    """Nodes by label, relationships by type, and what each source stated ({source: {"node:Label" or
    "rel:TYPE": count}})."""

    labels: dict[str, int]
    relationship_types: dict[str, int]
    by_source: dict[str, dict[str, int]]


@dataclass(frozen=True)
class VectorIndexInfo:
    """A vector index as Neo4j reports it."""

    name: str
    state: str  # ONLINE, POPULATING, FAILED
    label: str
    property: str
    dim: int
    similarity: str


@dataclass(frozen=True)
class TermText:
    """A term to encode."""

    id: str
    text: str


@dataclass(frozen=True)
class ConceptTerms:
    """A concept whose vector is missing or out of date, with its embedded terms."""

    id: str
    terms: list[str]


@dataclass(frozen=True)
class EmbeddingFingerprint:
    """The graph state a faiss file is built from: the database id, how many terms have the model's vectors and
    their id range, and every source load ([id, version, loaded_at])."""

    database: str
    terms: int
    min_id: str | None
    max_id: str | None
    sources: list[list[str | None]]


@dataclass(frozen=True)
class RelationGroup:
    """A concept's relations of one type and direction: the total, and the first neighbours as `item` maps."""

    direction: str  # out, in
    type: str
    total: int
    concepts: list[dict[str, Any]]


def _name_key(lang: str) -> str:
    """Property holding a concept's preferred name in `lang`: `name` for English, `name_zh` etc."""
    return "name" if lang == "en" else f"name_{lang}"


def _check_lang(lang: str) -> str:
    if not is_language(lang):
        raise ValueError(f"unknown language code {lang!r} (expected a normalized language code, e.g. en, zh, se)")
    return lang


def _require(value: str | None, what: str) -> str:
    if value is None or not value.strip():
        raise ValueError(f"empty {what}")
    return value


@dataclass
class Batch:
    """Records grouped into the rows of each write statement, deduplicated within the batch.

    `add` raises ValueError with the problem when a record cannot be stored; the caller knows where
    the record came from and turns that into an error naming file and line.
    """

    concepts: dict[str, dict[str, Any]] = field(default_factory=dict)
    terms: dict[str, dict[str, Any]] = field(default_factory=dict)
    has_term: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    semantic_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    has_type: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    relation_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    relations: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (type, row)
    definitions: list[dict[str, Any]] = field(default_factory=list)
    lists: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # (concept, alt_ids|xrefs) -> ids
    records: int = 0

    def add(self, record: Record) -> None:
        if isinstance(record, TermRecord):
            self._add_term(record)
        elif isinstance(record, Concept):
            props: dict[str, Any] = {"name": record.name} if record.name else {}
            props.update({_name_key(_check_lang(lang)): name for lang, name in record.names})
            if record.obsolete:
                props["obsolete"] = True
            self._concept(_require(record.id, "concept id")).update(props)
            for alt_id in record.alt_ids:
                self.lists.setdefault((record.id, "alt_ids"), set()).add(normalize_curie(alt_id))
        elif isinstance(record, AltId):
            concept_id = _require(record.concept_id, "concept id")
            self.lists.setdefault((concept_id, "alt_ids"), set()).add(normalize_curie(record.alt_id))
        elif isinstance(record, Xref):
            concept_id = _require(record.concept_id, "concept id")
            self.lists.setdefault((concept_id, "xrefs"), set()).add(normalize_curie(record.target))
        elif isinstance(record, SemanticType):
            self.semantic_types[_require(record.id, "semantic type id")] = {
                "id": record.id, "name": _require(record.name, "semantic type name"), "name_zh": record.name_zh}
        elif isinstance(record, TypeAssignment):
            key = (_require(record.concept_id, "concept id"), _require(record.type_id, "semantic type id"))
            self.has_type[key] = {"concept": key[0], "type": key[1], "type_name": key[1]}
        elif isinstance(record, RelationType):
            self.relation_types[validate_relationship_type(record.id)] = {
                "id": record.id, "name": record.name, "name_zh": record.name_zh, "inverse": record.inverse}
        elif isinstance(record, Relation):
            rel_type = validate_relationship_type(record.type)
            row = {"head": _require(record.head, "relation head"), "tail": _require(record.tail, "relation tail"),
                   "rel_id": record.rel_id, "rid": record.rid, "props": dict(record.props),
                   "i": len(self.relations)}
            self.relations.append((rel_type, row))
        elif isinstance(record, Definition):
            self.definitions.append({"concept": _require(record.concept_id, "concept id"),
                                     "text": _require(record.text, "definition text")})
        else:
            raise ValueError(f"unsupported record {type(record).__name__}")
        self.records += 1

    def _concept(self, concept_id: str) -> dict[str, Any]:
        return self.concepts.setdefault(concept_id, {})

    def _add_term(self, record: TermRecord) -> None:
        lang = _check_lang(record.lang)
        text = _require(record.text, "term text").strip()
        norm = normalize_term(text)
        if not norm:
            raise ValueError(f"term {text!r} is empty once normalized")
        props = self._concept(_require(record.concept_id, "concept id"))
        if record.preferred:
            props[_name_key(lang)] = text
        tid = term_id(lang, norm)
        self.terms.setdefault(tid, {"id": tid, "text": text, "norm": norm, "lang": lang})
        self.has_term.setdefault((record.concept_id, tid), {
            "concept": record.concept_id, "term": tid, "tty": record.tty or "SY", "source_id": record.source_id,
            "fallback_name": text if lang == "en" else None})

    def drop_relations(self, indices: set[int]) -> list[dict[str, Any]]:
        """Remove the relation rows `indices` from the batch; returns them as pending-relation rows."""
        dropped = [{**row, "type": t} for t, row in self.relations if row["i"] in indices]
        self.relations = [(t, row) for t, row in self.relations if row["i"] not in indices]
        return dropped

    def __len__(self) -> int:
        return self.records


class GraphStore:
    """Reads and writes the BIOS graph through one driver and database."""

    def __init__(self, driver: Driver, database: str = "neo4j", timeout_s: float | None = None) -> None:
        self.driver = driver
        self.database = database
        self.timeout_s = timeout_s  # the transaction timeout of run/scalar/stream/transaction (None: the server's)
        self._relation_types: tuple[float, list[str]] | None = None  # (read at, types): concept_relation_types

    @classmethod
    def connect(cls, settings: Neo4jSettings | None = None, timeout_s: float | None = None) -> GraphStore:
        """A store over `settings` (default: the environment's connection settings); with `timeout_s`, the server
        stops any of its statements that runs longer (QueryTimeoutError)."""
        settings = connection_settings(settings)
        return cls(open_driver(settings), settings.database, timeout_s)

    def close(self) -> None:
        self.driver.close()

    def __enter__(self) -> GraphStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def run(self, cypher: str, **params: Any) -> list[dict[str, Any]]:
        """Every row of a statement as a dict, in one auto-committed transaction."""
        with self._timed(self.timeout_s):
            records, _, _ = self.driver.execute_query(Query(cypher, timeout=self.timeout_s), params,
                                                      database_=self.database)
        return [record.data() for record in records]

    def rows(self, cypher: str, row_type: Callable[..., _T], **params: Any) -> list[_T]:
        """Every row of a statement as `row_type` (a dataclass whose fields are the statement's columns)."""
        return [row_type(**row) for row in self.run(cypher, **params)]

    def scalar(self, cypher: str, **params: Any) -> Any:
        """The value of a statement that returns one column: of its first row, None when it returns none."""
        with self._timed(self.timeout_s):
            records, _, _ = self.driver.execute_query(Query(cypher, timeout=self.timeout_s), params,
                                                      database_=self.database)
        if records and len(records[0]) != 1:
            raise ValueError(f"scalar() needs a statement returning one column, got {records[0].keys()}")
        return records[0][0] if records else None

    def count(self, cypher: str, **params: Any) -> int:
        """The number a counting statement (one row, one column) returns."""
        value = self.scalar(cypher, **params)
        if value is None:
            raise ValueError("count() needs a statement that returns a number, got no row or null")
        return int(value)

    def stream(self, cypher: str, **params: Any) -> Iterator[tuple[Any, ...]]:
        """Rows of a read query as tuples, fetched lazily (`run` builds the whole result as one list)."""
        with self._timed(self.timeout_s), \
                self.driver.session(database=self.database, default_access_mode=READ_ACCESS) as session:
            for record in session.run(Query(cypher, timeout=self.timeout_s), params):
                yield tuple(record.values())

    def query_type(self, cypher: str, params: dict[str, Any]) -> str:
        """What a statement would do, from its plan (EXPLAIN; nothing runs): 'r' read, 'rw', 'w' or 's' schema."""
        with self.driver.session(database=self.database, default_access_mode=READ_ACCESS) as session:
            return str(session.run(f"EXPLAIN {cypher}", params).consume().query_type)

    def read_page(self, cypher: str, params: dict[str, Any], offset: int, limit: int,
                  timeout_s: float) -> tuple[list[str], list[dict[str, Any]], bool]:
        """Columns, up to `limit` rows after the first `offset`, and whether more follow, read in a read
        transaction that the server ends after `timeout_s`; reading stops one row past the page."""

        @unit_of_work(timeout=timeout_s)
        def page(tx: ManagedTransaction) -> tuple[list[str], list[dict[str, Any]], bool]:
            result = tx.run(cypher, params)
            rows: list[dict[str, Any]] = []
            for record in islice(result, offset, None):
                if len(rows) == limit:
                    return list(result.keys()), rows, True
                rows.append(record.data())
            return list(result.keys()), rows, False

        return self._read(page, timeout_s)

    def read(self, cypher: str, timeout_s: float, **params: Any) -> list[dict[str, Any]]:
        """Rows of a read query, in a read transaction that the server ends after `timeout_s`."""

        @unit_of_work(timeout=timeout_s)
        def rows(tx: ManagedTransaction) -> list[dict[str, Any]]:
            return [record.data() for record in tx.run(cypher, params)]

        return self._read(rows, timeout_s)

    def _read(self, work: Callable[[ManagedTransaction], _T], timeout_s: float) -> _T:
        """`work` in a read transaction; QueryTimeoutError when the server ended it for running past `timeout_s`."""
        with self._timed(timeout_s), \
                self.driver.session(database=self.database, default_access_mode=READ_ACCESS) as session:
            return session.execute_read(work)

    @staticmethod
    @contextmanager
    def _timed(timeout_s: float | None) -> Iterator[None]:
        """QueryTimeoutError for a statement the server ended for running past `timeout_s`."""
        try:
            yield
        except ClientError as exc:
            if "TransactionTimedOut" in (exc.code or ""):
                limit = f"{timeout_s:g} s" if timeout_s else "the server's transaction timeout"
                raise QueryTimeoutError(f"the query ran longer than {limit}") from None
            raise

    def clear(self) -> None:
        """Delete every node and relationship, in transactions of 10,000, and the vector indexes (whose
        dimension belongs to the embedding model of the old contents) — for tests, benchmarks, rebuilds."""
        with self.driver.session(database=self.database) as session:
            session.run(DELETE_EVERYTHING).consume()
        for name in (TERM_VECTOR_INDEX, CONCEPT_VECTOR_INDEX):
            self.drop_vector_index(name)

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """An explicit write transaction: committed when the block ends, rolled back on an exception."""
        with self._timed(self.timeout_s), self.driver.session(database=self.database) as session, \
                session.begin_transaction(timeout=self.timeout_s) as tx:
            yield tx
            tx.commit()

    # --- schema and statistics ---------------------------------------------------------------------
    def apply_schema(self, path: Path = SCHEMA_FILE, await_seconds: int = 300) -> int:
        """Apply every statement of schema.cypher (idempotent: IF NOT EXISTS) and wait up to `await_seconds`
        for the indexes to be online; returns how many statements ran."""
        text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("//"))
        statements = [s.strip() for s in text.split(";") if s.strip()]
        for statement in statements:
            self.run(statement)
        self.run(AWAIT_INDEXES, seconds=await_seconds)
        return len(statements)

    def stats(self) -> GraphStats:
        labels = {row["label"]: self.count(count_label(row["label"])) for row in self.run(LABELS)}
        types = {row["type"]: self.count(count_relationship_type(row["type"])) for row in self.run(RELATIONSHIP_TYPES)}
        by_source: dict[str, dict[str, int]] = defaultdict(dict)
        for row in self.run(COUNT_BY_SOURCE):
            by_source[row["source"]][row["kind"]] = row["n"]
        return GraphStats(labels, types, dict(by_source))

    # --- sources and checkpoints -------------------------------------------------------------------
    def source(self, source_id: str) -> dict[str, Any] | None:
        """The properties of Source node `source_id` (what its load recorded), or None."""
        properties: dict[str, Any] | None = self.scalar(GET_SOURCE, id=source_id)
        return properties

    def sources(self) -> list[dict[str, Any]]:
        """The properties of every Source node, by id."""
        return [row["source"] for row in self.run(LIST_SOURCES)]

    def begin_source(self, source: Source, checkpoint: int = 0) -> None:
        props = {"name": source.name, "version": source.version, "licence": source.licence, "url": source.url,
                 "format": source.format, "knowledge_level": source.knowledge_level,
                 "agent_type": source.agent_type, "checksums": json.dumps(source.checksums, sort_keys=True)}
        self.run(BEGIN_SOURCE, id=source.id, props=props, checkpoint=checkpoint)

    def finish_source(self, source_id: str, counts: dict[str, int]) -> None:
        self.run(FINISH_SOURCE, id=source_id, counts={f"count_{k}": v for k, v in counts.items()})

    def fail_source(self, source_id: str, error: str) -> None:
        self.run(FAIL_SOURCE, id=source_id, error=error)

    # --- batch writes --------------------------------------------------------------------------------
    @staticmethod
    def missing_relation_ends(tx: Tx, batch: Batch) -> dict[int, str]:
        """Relation rows (by index) whose head or tail concept is not in the graph, with the missing id."""
        if not batch.relations:
            return {}
        rows = [{"i": row["i"], "head": row["head"], "tail": row["tail"]} for _, row in batch.relations]
        return {record["i"]: record["missing"] for record in tx.run(MISSING_RELATION_ENDS, rows=rows)}

    @staticmethod
    def write_pending_relations(tx: Tx, rows: list[dict[str, Any]], source_id: str) -> None:
        """Keep relations an end of which is not in the graph yet: rows {head, type, tail, rel_id, rid, props}."""
        if rows:
            tx.run(MERGE_PENDING_RELATIONS, source=source_id, rows=[
                {**row, "props": json.dumps(row.get("props") or {}, sort_keys=True)} for row in rows]).consume()

    def resolve_pending_alt_ids(self) -> int:
        """Add every pending alt id whose concept now exists to the concept; returns how many."""
        return self.count(RESOLVE_PENDING_ALT_IDS)

    def resolve_pending_relations(self, page: int = 10_000) -> int:
        """Turn every pending relation whose two concepts now exist into its edge; returns how many joined."""
        joined = 0
        while rows := self.run(RESOLVABLE_PENDING_RELATIONS, limit=page):
            groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
            for row in rows:
                edge = {"head": row["head"], "tail": row["tail"], "rel_id": row["rel_id"], "rid": row["rid"],
                        "props": json.loads(row["props"] or "{}")}
                for source in [row["source"], *(s for s in row["sources"] or [] if s != row["source"])]:
                    groups[(row["type"], source)].append(edge)
            with self.transaction() as tx:
                for (rel_type, source), edges in groups.items():
                    tx.run(merge_relations(rel_type), rows=edges, source=source).consume()
                tx.run(DELETE_PENDING_RELATIONS, ids=[row["id"] for row in rows]).consume()
            joined += len(rows)
        return joined

    def count_pending_relations(self, source_id: str | None = None) -> int:
        """Pending relations stated by `source_id` (None: by any source)."""
        return self.count(COUNT_PENDING_RELATIONS, source=source_id)

    @staticmethod
    def write_nodes(tx: Tx, batch: Batch, source_id: str) -> None:
        """Everything of the batch except concept–concept relations, in dependency order."""

        def run(cypher: str, rows: list[dict[str, Any]]) -> None:
            if rows:
                tx.run(cypher, rows=rows, source=source_id).consume()

        run(MERGE_SEMANTIC_TYPES, list(batch.semantic_types.values()))
        run(MERGE_RELATION_TYPES, list(batch.relation_types.values()))
        run(MERGE_CONCEPTS, [{"id": cid, "props": props} for cid, props in batch.concepts.items()])
        run(MERGE_TERMS, list(batch.terms.values()))
        run(MERGE_HAS_TERM, list(batch.has_term.values()))
        run(MERGE_HAS_TYPE, list(batch.has_type.values()))
        run(MERGE_DEFINITIONS, batch.definitions)
        for key in ("alt_ids", "xrefs"):
            run(add_to_concept_list(key), [{"concept": cid, "ids": sorted(ids)}
                                                   for (cid, list_key), ids in batch.lists.items() if list_key == key])
        # Alt ids of a concept not in the graph yet are kept pending (see resolve_pending).
        run(MERGE_PENDING_ALT_IDS, [{"concept": cid, "ids": sorted(ids)}
                                            for (cid, list_key), ids in batch.lists.items() if list_key == "alt_ids"])

    @staticmethod
    def write_relations(tx: Tx, batch: Batch, source_id: str) -> None:
        by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for rel_type, row in batch.relations:
            by_type[rel_type].append(row)
        for rel_type, rows in by_type.items():
            tx.run(merge_relations(rel_type), rows=rows, source=source_id).consume()

    def link_xrefs(self) -> int:
        """Join every stated cross-reference whose target concept is in the graph; returns new XREF edges."""
        return self.count(LINK_XREFS)

    @staticmethod
    def set_checkpoint(tx: Tx, source_id: str, checkpoint: int) -> None:
        tx.run(SET_CHECKPOINT, id=source_id, checkpoint=checkpoint).consume()

    # --- embeddings (one model's vectors at a time; see bios_kg.graph.queries.embeddings) -------------------
    def run_in_transactions(self, cypher: str, **params: Any) -> None:
        """A statement using CALL {…} IN TRANSACTIONS, which needs an implicit (auto-commit) transaction."""
        with self.driver.session(database=self.database) as session:
            session.run(cypher, params).consume()

    def embedding_models(self) -> list[dict[str, Any]]:
        """The properties of every EmbeddingModel node, by id."""
        return [row["model"] for row in self.run(EMBEDDING_MODELS)]

    def other_embedding_models(self, model_id: str) -> list[str]:
        """Ids of the models other than `model_id` that have a node or vectors in the graph."""
        return [row["id"] for row in self.run(OTHER_EMBEDDING_MODELS, model=model_id)]

    def merge_embedding_model(self, record: dict[str, Any]) -> None:
        props = {key: value for key, value in record.items() if key != "id"}
        self.run(MERGE_EMBEDDING_MODEL, id=record["id"], props=props)

    def set_embedding_model_counts(self, model_id: str, counts: dict[str, int]) -> None:
        self.run(SET_EMBEDDING_MODEL_COUNTS, id=model_id, counts=counts)

    def clear_other_embeddings(self, model_id: str) -> None:
        """Remove every vector and EmbeddingModel node of models other than `model_id`, in batches."""
        self.run_in_transactions(CLEAR_OTHER_TERM_VECTORS, model=model_id)
        self.run_in_transactions(CLEAR_OTHER_CONCEPT_VECTORS, model=model_id)
        self.run(DELETE_OTHER_EMBEDDING_MODELS, model=model_id)

    def vector_index(self, name: str) -> VectorIndexInfo | None:
        """The vector index `name`, or None if it does not exist."""
        rows = self.rows(VECTOR_INDEX_INFO, VectorIndexInfo, name=vector_index_name(name))
        return rows[0] if rows else None

    def drop_vector_index(self, name: str) -> None:
        self.run(drop_index(name))

    def create_vector_index(self, name: str, dim: int, timeout_s: int = 3600) -> None:
        """Create the cosine vector index `name` if it does not exist, and wait until it is online."""
        self.run(create_vector_index_query(name), dim=dim)
        self.run(AWAIT_INDEXES, seconds=timeout_s)

    def count_terms_to_embed(self, model_id: str, languages: Sequence[str] | None = None) -> int:
        return self.count(COUNT_TERMS_TO_EMBED, model=model_id, languages=languages)

    def terms_to_embed(self, model_id: str, after: str, limit: int,
                       languages: Sequence[str] | None = None) -> list[TermText]:
        """The next `limit` terms after id `after` (id order) without a vector of `model_id`, in `languages`
        (None: any)."""
        return self.rows(TERMS_TO_EMBED, TermText, model=model_id, after=after, limit=limit, languages=languages)

    def mark_terms_embedded(self, model_id: str, ids: list[str]) -> None:
        """Mark terms as holding a vector of `model_id` (the vectors themselves are in its vector file)."""
        self.run(MARK_TERMS_EMBEDDED, ids=ids, model=model_id)

    def unmark_terms_embedded(self, ids: list[str]) -> None:
        self.run(UNMARK_TERMS_EMBEDDED, ids=ids)

    def embedded_term_ids(self, model_id: str) -> list[str]:
        return [row["id"] for row in self.run(EMBEDDED_TERM_IDS, model=model_id)]

    def concepts_to_embed(self, model_id: str, after: str, limit: int) -> list[ConceptTerms]:
        """The next concepts after id `after` whose vector is missing or out of date."""
        return self.rows(CONCEPTS_TO_EMBED, ConceptTerms, model=model_id, after=after, limit=limit)

    def set_concept_vectors(self, model_id: str, rows: list[dict[str, Any]]) -> None:
        """Rows {id, v, n}: the vector and the number of term vectors it was made from."""
        self.run(SET_CONCEPT_VECTORS, rows=rows, model=model_id)

    def embedding_fingerprint(self, model_id: str) -> EmbeddingFingerprint:
        """Database id, count and id range of the terms with `model_id` vectors, and every source load."""
        return self.rows(EMBEDDING_FINGERPRINT, EmbeddingFingerprint, model=model_id)[0]

    def vector_search(self, index: str, model_id: str, vectors: list[list[float]],
                      k: int) -> list[list[tuple[str, float]]]:
        """Per query vector: (node id, cosine) of the `k` nearest nodes of vector index `index`, best first."""
        if not vectors:
            return []
        rows = self.run(VECTOR_SEARCH, index=vector_index_name(index), model=model_id,
                        vectors=vectors, k=k)
        return [[(node_id, float(score)) for node_id, score in row["hits"]] for row in rows]

    # --- serving: one concept's relations, bounded on hub concepts -----------------------------------------
    def concept_relation_types(self, max_age_s: float = 60.0) -> list[str]:
        """The relationship types whose every edge joins two concepts, from the count store (no edge is read);
        kept for `max_age_s` seconds, so a type a load adds shows within a minute."""
        now = time.monotonic()
        if self._relation_types is None or now - self._relation_types[0] > max_age_s:
            types = [row["type"] for row in self.run(RELATIONSHIP_TYPES)]
            counts = self.scalar(concept_relation_type_counts(types)) if types else []
            self._relation_types = (now, [t for t, (n, heads, tails) in zip(types, counts, strict=True)
                                          if n and n == heads == tails])
        return self._relation_types[1]

    def relation_groups(self, concept_id: str, exclude: frozenset[str], item: str,
                        limit: int) -> list[RelationGroup]:
        """A concept's concept–concept relations but `exclude`, grouped by direction ('out' first) and type: the
        total from the degree store, up to `limit` neighbours as `item` maps (NEIGHBOUR_ITEM or RELATED_ITEM of
        bios_kg.graph.queries.explore), bounded on hub concepts (see RELATION_WINDOW there)."""
        types = [t for t in self.concept_relation_types() if t not in exclude]
        degrees = self.scalar(concept_degrees(types), id=concept_id) if types else None
        if degrees is None:
            return []
        totals = {(t, direction): n for t, pair in zip(types, degrees, strict=True)
                  for direction, n in zip(("out", "in"), pair, strict=True) if n}
        if sum(totals.values()) <= RELATION_WINDOW:
            found = {(row["type"], row["direction"]): row["concepts"] for row in self.run(
                relation_groups_query(item), id=concept_id, types=[t for t, _ in totals], limit=limit)}
        else:
            found = {key: [row["item"] for row in self.run(typed_neighbours(*key, item), id=concept_id,
                                                           window=RELATION_WINDOW, limit=limit)]
                     for key in totals}
        return [RelationGroup(direction, t, n, found.get((t, direction), []))
                for (t, direction), n in sorted(totals.items(), key=lambda kv: (kv[0][1] != "out", kv[0][0]))]
