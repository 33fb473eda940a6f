"""Every Cypher statement the code runs (curated queries for people live in cypher/).

Values always travel as parameters (`$rows`); the only text spliced into a statement is a
relationship type that bios_kg.graph.vocabulary has validated.
"""

from __future__ import annotations

from bios_kg.graph.vocabulary import validate_relationship_type

# A node or edge lists every source that stated it.
_ADD_SOURCE = (
    "CASE WHEN $source IN coalesce({v}.sources, []) THEN {v}.sources ELSE coalesce({v}.sources, []) + $source END"
)


def add_source(var: str) -> str:
    return f"{var}.sources = {_ADD_SOURCE.format(v=var)}"


MERGE_CONCEPTS = f"""
UNWIND $rows AS r
MERGE (c:Concept {{id: r.id}})
SET {add_source("c")}, c += r.props
"""

# Rows: {id, text, norm, lang}; one Term node per (lang, norm), first spelling kept.
MERGE_TERMS = f"""
UNWIND $rows AS r
MERGE (t:Term {{id: r.id}})
ON CREATE SET t.text = r.text, t.norm = r.norm, t.lang = r.lang
SET {add_source("t")}
"""

# Rows: {concept, term, tty, source_id, fallback_name}; a concept without an English preferred
# name takes its first English term as `name` until a preferred one arrives.
MERGE_HAS_TERM = f"""
UNWIND $rows AS r
MATCH (c:Concept {{id: r.concept}})
MATCH (t:Term {{id: r.term}})
MERGE (c)-[h:HAS_TERM]->(t)
ON CREATE SET h.tty = r.tty, h.source = $source, h.source_id = r.source_id
SET {add_source("h")}, c.name = coalesce(c.name, r.fallback_name)
"""

MERGE_SEMANTIC_TYPES = f"""
UNWIND $rows AS r
MERGE (s:SemanticType {{id: r.id}})
SET s.name = r.name, s.name_zh = coalesce(r.name_zh, s.name_zh), {add_source("s")}
"""

MERGE_HAS_TYPE = f"""
UNWIND $rows AS r
MATCH (c:Concept {{id: r.concept}})
MERGE (s:SemanticType {{id: r.type}})
ON CREATE SET s.name = r.type_name, s.sources = [$source]
MERGE (c)-[h:HAS_TYPE]->(s)
ON CREATE SET h.source = $source
SET {add_source("h")}
"""

MERGE_RELATION_TYPES = f"""
UNWIND $rows AS r
MERGE (t:RelationType {{id: r.id}})
SET t.name = r.name, t.name_zh = coalesce(r.name_zh, t.name_zh), t.inverse = r.inverse, {add_source("t")}
"""

MERGE_DEFINITIONS = f"""
UNWIND $rows AS r
MATCH (c:Concept {{id: r.concept}})
SET c.definitions = CASE WHEN r.text IN coalesce(c.definitions, []) THEN c.definitions
                         ELSE coalesce(c.definitions, []) + r.text END,
    c.definition = coalesce(c.definition, r.text), {add_source("c")}
"""



def add_to_concept_list(key: str) -> str:
    """Rows: {concept, ids}; adds the ids to the concept's list property `key` (alt_ids, xrefs)."""
    if key not in ("alt_ids", "xrefs"):
        raise ValueError(f"not a concept list property: {key!r}")
    return f"""
UNWIND $rows AS r
MATCH (c:Concept {{id: r.concept}})
SET c.{key} = coalesce(c.{key}, []) + [x IN r.ids WHERE NOT x IN coalesce(c.{key}, [])], {add_source("c")}
"""


# Every stated cross-reference whose target is a concept of the graph becomes an XREF edge.
LINK_XREFS = """
MATCH (c:Concept) WHERE c.xrefs IS NOT NULL
UNWIND c.xrefs AS target
MATCH (t:Concept {id: target})
WHERE NOT (c)-[:XREF]->(t)
CREATE (c)-[:XREF]->(t)
RETURN count(*) AS created
"""

# Rows: {i, head, tail}; returns the rows whose head or tail concept is not in the graph.
MISSING_RELATION_ENDS = """
UNWIND $rows AS r
OPTIONAL MATCH (h:Concept {id: r.head})
OPTIONAL MATCH (t:Concept {id: r.tail})
WITH r, h, t WHERE h IS NULL OR t IS NULL
RETURN r.i AS i, CASE WHEN h IS NULL THEN r.head ELSE r.tail END AS missing
"""

# Pending relations: a relation whose head or tail concept is not in the graph yet (a term of another
# ontology, loaded later or never) is kept as a (:PendingRelation) node, not as a stand-in concept, and
# becomes an edge when both concepts exist. Rows: {head, type, tail, rel_id, rid, props (JSON object)}.
MERGE_PENDING_RELATIONS = f"""
UNWIND $rows AS r
MERGE (p:PendingRelation {{id: r.head + ' ' + r.type + ' ' + r.tail}})
ON CREATE SET p.head = r.head, p.type = r.type, p.tail = r.tail, p.rel_id = r.rel_id, p.rid = r.rid,
              p.source = $source, p.props = r.props
SET {add_source("p")}
"""

# Pending relations whose two concepts are now in the graph, a page at a time (resolved ones are deleted).
RESOLVABLE_PENDING_RELATIONS = """
MATCH (p:PendingRelation)
WHERE EXISTS { MATCH (:Concept {id: p.head}) } AND EXISTS { MATCH (:Concept {id: p.tail}) }
RETURN p.id AS id, p.type AS type, p.head AS head, p.tail AS tail, p.rel_id AS rel_id, p.rid AS rid,
       p.props AS props, p.source AS source, p.sources AS sources
LIMIT $limit
"""

DELETE_PENDING_RELATIONS = "UNWIND $ids AS id MATCH (p:PendingRelation {id: id}) DELETE p"

# Rows: {concept, ids}: alt ids of a concept that is not in the graph, kept until it is.
MERGE_PENDING_ALT_IDS = f"""
UNWIND $rows AS r
WITH r WHERE NOT EXISTS {{ MATCH (:Concept {{id: r.concept}}) }}
UNWIND r.ids AS alt
MERGE (p:PendingAltId {{id: r.concept + ' ' + alt}})
ON CREATE SET p.concept = r.concept, p.alt_id = alt
SET {add_source("p")}
"""

RESOLVE_PENDING_ALT_IDS = """
MATCH (p:PendingAltId)
MATCH (c:Concept {id: p.concept})
SET c.alt_ids = coalesce(c.alt_ids, []) + [x IN [p.alt_id] WHERE NOT x IN coalesce(c.alt_ids, [])]
DELETE p
RETURN count(*) AS n
"""

COUNT_PENDING_RELATIONS = "MATCH (p:PendingRelation) WHERE $source IS NULL OR $source IN p.sources RETURN count(p) AS n"


def merge_relations(rel_type: str) -> str:
    """Rows: {head, tail, rel_id, rid}; one edge per (head, type, tail)."""
    rel_type = validate_relationship_type(rel_type)
    return f"""
UNWIND $rows AS r
MATCH (h:Concept {{id: r.head}})
MATCH (t:Concept {{id: r.tail}})
MERGE (h)-[e:{rel_type}]->(t)
ON CREATE SET e.source = $source, e.rel_id = r.rel_id, e.rid = r.rid
SET {add_source("e")}, e += r.props
"""


GET_SOURCE = "MATCH (s:Source {id: $id}) RETURN properties(s) AS source"

BEGIN_SOURCE = """
MERGE (s:Source {id: $id})
SET s += $props, s.status = 'loading', s.checkpoint = coalesce($checkpoint, 0)
"""

SET_CHECKPOINT = "MATCH (s:Source {id: $id}) SET s.checkpoint = $checkpoint"

FINISH_SOURCE = """
MATCH (s:Source {id: $id})
SET s += $counts, s.status = 'loaded', s.loaded_at = datetime(), s.checkpoint = null
"""

FAIL_SOURCE = "MATCH (s:Source {id: $id}) SET s.status = 'failed', s.error = $error"

LABELS = "CALL db.labels() YIELD label RETURN label ORDER BY label"
RELATIONSHIP_TYPES = "CALL db.relationshipTypes() YIELD relationshipType AS type RETURN type ORDER BY type"


def escape_name(name: str) -> str:
    """A label or type read from the database itself, quoted for Cypher."""
    return "`" + name.replace("`", "``") + "`"


def count_label(label: str) -> str:
    return f"MATCH (n:{escape_name(label)}) RETURN count(n) AS n"  # answered from the count store


def count_relationship_type(rel_type: str) -> str:
    return f"MATCH ()-[r:{escape_name(rel_type)}]->() RETURN count(r) AS n"


# Scans every node and edge: exact, and slow on very large graphs.
COUNT_BY_SOURCE = """
CALL () {
  MATCH (n) UNWIND coalesce(n.sources, []) AS source
  RETURN source, 'node:' + labels(n)[0] AS kind, count(*) AS n
  UNION ALL
  MATCH ()-[r]->() UNWIND coalesce(r.sources, []) AS source
  RETURN source, 'rel:' + type(r) AS kind, count(*) AS n
}
RETURN source, kind, sum(n) AS n ORDER BY source, kind
"""

LIST_SOURCES = "MATCH (s:Source) RETURN properties(s) AS source ORDER BY s.id"


# --- lookup and concept cards (read-only) -----------------------------------------------------------
# A concept's preferred names by property: `name` (English) and `name_<lang>`.
_NAMES = "[k IN keys({v}) WHERE k = 'name' OR k STARTS WITH 'name_' | [k, {v}[k]]]"

LOOKUP_EXACT = """
MATCH (t:Term {norm: $norm}) WHERE $lang IS NULL OR t.lang = $lang
MATCH (c:Concept)-[h:HAS_TERM]->(t)
RETURN c.id AS id, t.text AS term, t.lang AS lang, h.tty AS tty, 1.0 AS score
LIMIT $limit
"""

LOOKUP_FULLTEXT = """
CALL db.index.fulltext.queryNodes('term_text', $query, {limit: $candidates}) YIELD node AS t, score
WHERE $lang IS NULL OR t.lang = $lang
MATCH (c:Concept)-[h:HAS_TERM]->(t)
RETURN c.id AS id, t.text AS term, t.lang AS lang, h.tty AS tty, score
ORDER BY score DESC
LIMIT $limit
"""

CONCEPT_SUMMARIES = f"""
UNWIND $ids AS id
MATCH (c:Concept {{id: id}})
OPTIONAL MATCH (c)-[:HAS_TYPE]->(s:SemanticType)
RETURN c.id AS id, {_NAMES.format(v="c")} AS names, coalesce(c.sources, []) AS sources,
       coalesce(c.obsolete, false) AS obsolete,
       [x IN collect(s) WHERE x IS NOT NULL | {{id: x.id, name: x.name, name_zh: x.name_zh}}] AS types
"""

# A retired id (OBO alt_id, replaced_by) resolves to the concept that holds it.
RESOLVE_ALT_ID = "MATCH (c:Concept) WHERE $id IN c.alt_ids RETURN c.id AS id ORDER BY c.id LIMIT 1"

CONCEPT_CARD = f"""
MATCH (c:Concept {{id: $id}})
CALL (c) {{
  MATCH (c)-[h:HAS_TERM]->(t:Term)
  RETURN collect({{text: t.text, lang: t.lang, tty: h.tty, sources: h.sources}}) AS terms
}}
CALL (c) {{
  OPTIONAL MATCH (c)-[:HAS_TYPE]->(s:SemanticType)
  RETURN [x IN collect(s) WHERE x IS NOT NULL | {{id: x.id, name: x.name, name_zh: x.name_zh}}] AS types
}}
CALL (c) {{
  OPTIONAL MATCH (c)-[:XREF]-(x:Concept)
  WITH DISTINCT x LIMIT $max_joined
  RETURN [y IN collect(x) WHERE y IS NOT NULL | {{id: y.id, name: y.name}}] AS joined
}}
RETURN c.id AS id, {_NAMES.format(v="c")} AS names, terms, types, joined,
       coalesce(c.xrefs, []) AS xrefs, coalesce(c.alt_ids, []) AS alt_ids,
       coalesce(c.definitions, []) AS definitions, coalesce(c.sources, []) AS sources,
       coalesce(c.obsolete, false) AS obsolete
"""

PING = "RETURN 1 AS ok"


# --- SKOS export (graph/skos.py) ---------------------------------------------------------------------
SKOS_SOURCES = """
MATCH (s:Source) WHERE $source IS NULL OR s.id = $source
RETURN s.id AS id, s.name AS name, s.version AS version, s.licence AS licence, s.url AS url
ORDER BY s.id
"""

SKOS_COUNT_CONCEPTS = "MATCH (c:Concept) WHERE $source IS NULL OR $source IN c.sources RETURN count(c) AS n"

# One page of concepts after `$after` in id order, with what the export writes about each. With a
# source, only the terms, types and relations that source stated; names, definitions and lists are
# concept-level and come whole.
SKOS_CONCEPT_PAGE = """
MATCH (c:Concept) WHERE c.id > $after AND ($source IS NULL OR $source IN c.sources)
WITH c ORDER BY c.id LIMIT $limit
CALL (c) {
  MATCH (c)-[h:HAS_TERM]->(t:Term) WHERE $source IS NULL OR $source IN h.sources
  RETURN collect({text: t.text, norm: t.norm, lang: t.lang, tty: h.tty}) AS terms
}
CALL (c) {
  MATCH (c)-[h:HAS_TYPE]->(s:SemanticType) WHERE $source IS NULL OR $source IN h.sources
  RETURN collect(s.id) AS types
}
CALL (c) {
  MATCH (c)-[r]->(o:Concept)
  WHERE NOT type(r) IN ['XREF', 'SUGGESTED'] AND ($source IS NULL OR $source IN r.sources)
  RETURN collect({type: type(r), tail: o.id}) AS relations
}
CALL (c) {
  MATCH (c)-[:XREF]->(o:Concept)
  RETURN collect(o.id) AS joined
}
RETURN c.id AS id, [k IN keys(c) WHERE k = 'name' OR k STARTS WITH 'name_' | [k, c[k]]] AS names,
       coalesce(c.definitions, []) AS definitions, coalesce(c.xrefs, []) + joined AS xrefs,
       coalesce(c.alt_ids, []) AS alt_ids, coalesce(c.obsolete, false) AS obsolete,
       coalesce(c.sources, []) AS sources, terms, types, relations
ORDER BY id
"""

SKOS_SEMANTIC_TYPES = """
UNWIND $ids AS id
MATCH (s:SemanticType {id: id})
RETURN s.id AS id, s.name AS name, s.name_zh AS name_zh ORDER BY id
"""

SKOS_RELATION_TYPES = """
UNWIND $ids AS id
MATCH (t:RelationType {id: id})
RETURN t.id AS id, t.name AS name, t.name_zh AS name_zh, t.inverse AS inverse ORDER BY id
"""


# --- embeddings (embed/job.py, embed/index.py) ---------------------------------------------------------
# One model's vectors live in the graph at a time: Term/Concept.embedding (float32, written with
# db.create.setNodeVectorProperty) beside `embedding_model` (the model id), described by an EmbeddingModel node.
TERM_VECTOR_INDEX = "term_embedding"
CONCEPT_VECTOR_INDEX = "concept_embedding"
VECTOR_INDEXES = {TERM_VECTOR_INDEX: ("Term", "t"), CONCEPT_VECTOR_INDEX: ("Concept", "c")}


def vector_index_name(name: str) -> str:
    if name not in VECTOR_INDEXES:
        raise ValueError(f"not a vector index of the graph: {name!r}")
    return name


def create_vector_index(name: str) -> str:
    """Cosine vector index `name` over its label's `embedding`; parameter $dim."""
    label, var = VECTOR_INDEXES[vector_index_name(name)]
    return (f"CREATE VECTOR INDEX {name} IF NOT EXISTS FOR ({var}:{label}) ON {var}.embedding "
            "OPTIONS {indexConfig: {`vector.dimensions`: $dim, `vector.similarity_function`: 'cosine'}}")


def drop_index(name: str) -> str:
    return f"DROP INDEX {vector_index_name(name)} IF EXISTS"


VECTOR_INDEX_INFO = """
SHOW VECTOR INDEXES YIELD name, state, labelsOrTypes, properties, options
WHERE name = $name
RETURN name, state, labelsOrTypes[0] AS label, properties[0] AS property,
       options.indexConfig.`vector.dimensions` AS dim, options.indexConfig.`vector.similarity_function` AS similarity
"""

AWAIT_INDEXES = "CALL db.awaitIndexes($seconds)"

MERGE_EMBEDDING_MODEL = """
MERGE (m:EmbeddingModel {id: $id})
ON CREATE SET m.created_at = datetime()
SET m += $props, m.updated_at = datetime()
"""

SET_EMBEDDING_MODEL_COUNTS = "MATCH (m:EmbeddingModel {id: $id}) SET m += $counts, m.updated_at = datetime()"

EMBEDDING_MODELS = "MATCH (m:EmbeddingModel) RETURN properties(m) AS model ORDER BY m.id"

# Models other than $model whose vectors are in the graph, from the nodes and from the vectors themselves.
OTHER_EMBEDDING_MODELS = """
CALL () {
  MATCH (m:EmbeddingModel) WHERE m.id <> $model RETURN m.id AS id
  UNION
  MATCH (t:Term) WHERE t.embedding_model <> $model RETURN DISTINCT t.embedding_model AS id
  UNION
  MATCH (c:Concept) WHERE c.embedding_model <> $model RETURN DISTINCT c.embedding_model AS id
}
RETURN id ORDER BY id
"""

# Run in an implicit transaction (CALL … IN TRANSACTIONS).
CLEAR_OTHER_TERM_VECTORS = """
MATCH (t:Term) WHERE t.embedding_model <> $model
CALL (t) { REMOVE t.embedding, t.embedding_model } IN TRANSACTIONS OF 10000 ROWS
"""

CLEAR_OTHER_CONCEPT_VECTORS = """
MATCH (c:Concept) WHERE c.embedding_model <> $model
CALL (c) { REMOVE c.embedding, c.embedding_model, c.embedding_terms } IN TRANSACTIONS OF 10000 ROWS
"""

DELETE_OTHER_EMBEDDING_MODELS = "MATCH (m:EmbeddingModel) WHERE m.id <> $model DELETE m"

_LACKS_VECTOR = "(t.embedding_model IS NULL OR t.embedding_model <> $model)"

COUNT_TERMS_TO_EMBED = f"MATCH (t:Term) WHERE {_LACKS_VECTOR} RETURN count(t) AS n"

# Keyset page (term id order, answered from the unique index) of terms without this model's vector.
TERMS_TO_EMBED = f"""
MATCH (t:Term) WHERE t.id > $after AND {_LACKS_VECTOR}
RETURN t.id AS id, t.text AS text
ORDER BY t.id LIMIT $limit
"""

# The terms whose vectors (kept in the model's vector file, embed/vector_store.py) are written.
MARK_TERMS_EMBEDDED = """
UNWIND $ids AS id
MATCH (t:Term {id: id})
SET t.embedding_model = $model
"""

# Terms marked embedded whose vector is not in the vector file (or is a float list left in Neo4j by an older version).
UNMARK_TERMS_EMBEDDED = """
UNWIND $ids AS id
MATCH (t:Term {id: id})
REMOVE t.embedding_model, t.embedding
"""

EMBEDDED_TERM_IDS = "MATCH (t:Term) WHERE t.embedding_model = $model RETURN t.id AS id ORDER BY t.id"

# Concepts whose vector is missing, of another model, or made from another number of embedded terms (a
# term was embedded or a HAS_TERM edge added since), with their embedded terms; keyset page by concept id.
CONCEPTS_TO_EMBED = """
MATCH (c:Concept) WHERE c.id > $after
WITH c, COUNT { (c)-[:HAS_TERM]->(t:Term) WHERE t.embedding_model = $model } AS n
WHERE n > 0 AND (c.embedding_model IS NULL OR c.embedding_model <> $model OR c.embedding_terms IS NULL
                 OR c.embedding_terms <> n)
WITH c ORDER BY c.id LIMIT $limit
MATCH (c)-[:HAS_TERM]->(t:Term) WHERE t.embedding_model = $model
RETURN c.id AS id, collect(t.id) AS terms
ORDER BY id
"""

# Rows: {id, v, n}.
SET_CONCEPT_VECTORS = """
UNWIND $rows AS r
MATCH (c:Concept {id: r.id})
CALL db.create.setNodeVectorProperty(c, 'embedding', r.v)
SET c.embedding_model = $model, c.embedding_terms = r.n
"""

# The graph state a faiss file is built from: which database, which embedded terms, which source loads.
EMBEDDING_FINGERPRINT = """
CALL db.info() YIELD id AS database
CALL () {
  MATCH (t:Term) WHERE t.embedding_model = $model
  RETURN count(t) AS terms, min(t.id) AS min_id, max(t.id) AS max_id
}
CALL () {
  OPTIONAL MATCH (s:Source)
  WITH s ORDER BY s.id
  RETURN [x IN collect(s) | [x.id, x.version, toString(x.loaded_at)]] AS sources
}
RETURN database, terms, min_id, max_id, sources
"""

# Nearest nodes of one vector index for each of $vectors, restricted to $model's vectors. Neo4j reports
# cosine as (1 + cos) / 2; this returns the cosine.
VECTOR_SEARCH = """
UNWIND range(0, size($vectors) - 1) AS i
CALL (i) {
  CALL db.index.vector.queryNodes($index, $k, $vectors[i]) YIELD node, score
  WHERE node.embedding_model = $model
  WITH node, score ORDER BY score DESC
  RETURN collect([node.id, 2 * score - 1]) AS hits
}
RETURN i, hits ORDER BY i
"""


# --- CODER training data (embed/coder/sampler.py) -----------------------------------------------------
# Rows: (concept id, [term text]) over the HAS_TERM edges whose term is in `languages` and whose edge was stated
# by one of `sources`.
TRAINING_TERMS = """
MATCH (c:Concept)-[h:HAS_TERM]->(t:Term)
WHERE ($languages IS NULL OR t.lang IN $languages)
  AND ($sources IS NULL OR any(s IN coalesce(h.sources, []) WHERE s IN $sources))
RETURN c.id AS concept, collect(t.text) AS texts
"""

# Rows: (head id, relationship type, [tail id]) over the concept–concept edges of a type in the relation
# vocabulary (so XREF and other structural edges are left out) stated by one of `sources`.
TRAINING_TRIPLES = """
MATCH (r:RelationType)
WITH collect(r.id) AS types
MATCH (h:Concept)-[e]->(t:Concept)
WHERE type(e) IN types AND h <> t
  AND ($sources IS NULL OR any(s IN coalesce(e.sources, []) WHERE s IN $sources))
RETURN h.id AS head, type(e) AS type, collect(t.id) AS tails
"""

# Rows: (concept id, semantic type id); a concept with several types gets the smallest id (CODER keeps one).
# A HAS_TYPE edge some source asserts (not only a model's prediction: embed/semantic_types.py).
_ASSERTED_TYPE = "any(x IN coalesce({h}.sources, []) WHERE x <> coalesce({h}.model, ''))"

TRAINING_SEMANTIC_TYPES = f"""
MATCH (c:Concept)-[h:HAS_TYPE]->(s:SemanticType) WHERE {_ASSERTED_TYPE.format(h="h")}
RETURN c.id AS concept, min(s.id) AS type
"""

# Rows: (concept, concept) joined by XREF (the same thing in two sources) or IS_A: never hard negatives.
TRAINING_LINKED_CONCEPTS = """
MATCH (a:Concept)-[:XREF|IS_A]->(b:Concept)
RETURN a.id AS a, b.id AS b
"""

# Rows: (concept id, definition): the explanation view of CoRTEx training (embed/coder/sampler.py).
TRAINING_DEFINITIONS = """
MATCH (c:Concept) WHERE c.definition IS NOT NULL
RETURN c.id AS concept, c.definition AS definition
"""


# --- normalizer (apps/normalize/normalizer.py) ----------------------------------------
# Concept filters shared by every stage: any of the concept's sources, any of its semantic types
# (by id, English name or Chinese name); $sources and $types arrive upper- and lower-cased.
_FILTERS = """($sources IS NULL OR any(s IN coalesce(c.sources, []) WHERE toUpper(s) IN $sources))
    AND ($types IS NULL OR EXISTS { MATCH (c)-[:HAS_TYPE]->(st:SemanticType)
      WHERE toLower(st.id) IN $types OR toLower(st.name) IN $types OR st.name_zh IN $types })"""

# Rows {i, norm, query}: exact and full-text term hits joined to the concepts they name, one list per
# query (far fewer records for the driver to decode than one per hit).
LEXICAL_HITS = f"""
UNWIND $rows AS r
CALL (r) {{
  MATCH (t:Term {{norm: r.norm}}) WHERE $lang IS NULL OR t.lang = $lang
  MATCH (c:Concept)-[h:HAS_TERM]->(t) WHERE {_FILTERS}
  RETURN 'exact' AS method, c.id AS id, t.text AS term, t.norm AS norm, t.lang AS lang, h.tty AS tty,
         1.0 AS score
  LIMIT $limit
  UNION ALL
  CALL db.index.fulltext.queryNodes('term_text', r.query, {{limit: $candidates}}) YIELD node AS t, score
  WHERE ($lang IS NULL OR t.lang = $lang) AND t.norm <> r.norm
  MATCH (c:Concept)-[h:HAS_TERM]->(t) WHERE {_FILTERS}
  RETURN 'fulltext' AS method, c.id AS id, t.text AS term, t.norm AS norm, t.lang AS lang, h.tty AS tty, score
  ORDER BY score DESC LIMIT $limit
}}
RETURN r.i AS i, collect([method, id, term, norm, lang, tty, score]) AS hits
"""

# Rows {i, terms, scores}: k-NN term hits joined to the concepts they name, one list per query.
VECTOR_HITS = f"""
UNWIND $rows AS r
CALL (r) {{
  UNWIND range(0, size(r.terms) - 1) AS j
  MATCH (t:Term {{id: r.terms[j]}}) WHERE $lang IS NULL OR t.lang = $lang
  MATCH (c:Concept)-[h:HAS_TERM]->(t) WHERE {_FILTERS}
  RETURN collect(['vector', c.id, t.text, t.norm, t.lang, h.tty, r.scores[j]]) AS hits
}}
RETURN r.i AS i, hits
"""

# Names by language and semantic types of the concepts found, as one record (queries.CONCEPT_SUMMARIES
# returns one per concept; a batch has thousands).
CANDIDATE_SUMMARIES = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})
RETURN collect([c.id, [k IN keys(c) WHERE k = 'name' OR k STARTS WITH 'name_' | [k, c[k]]],
                COLLECT { MATCH (c)-[:HAS_TYPE]->(s:SemanticType)
                          RETURN {id: s.id, name: s.name} ORDER BY s.id }]) AS concepts
"""


# --- evaluate (apps/normalize/evaluate.py) ----------------------------------------
HPO_TERMS = """
MATCH (c:Concept)-[h:HAS_TERM]->(t:Term)
WHERE c.id STARTS WITH 'HP:' AND 'HPO' IN h.sources AND h.tty IN ['PT', 'SY'] AND t.lang = 'en'
  AND NOT coalesce(c.obsolete, false)
RETURN c.id AS concept, c.name AS name, h.tty AS tty, t.text AS text, t.norm AS norm
"""

ICD10_TERMS = """
MATCH (c:Concept)-[h:HAS_TERM]->(t:Term)
WHERE c.id STARTS WITH 'ICD10:' AND 'ICD10' IN h.sources AND h.tty = 'PT' AND t.lang IN ['en', 'zh']
RETURN c.id AS concept, t.lang AS lang, t.text AS text, t.norm AS norm
"""

# Rows {i, query}: the English terms among the first $candidates Lucene hits, best first.
FULLTEXT_TERMS = """
UNWIND $rows AS r
CALL (r) {
  CALL db.index.fulltext.queryNodes('term_text', r.query, {limit: $candidates}) YIELD node AS t, score
  WHERE t.lang = 'en'
  RETURN collect([t.norm, score]) AS hits
}
RETURN r.i AS i, hits
"""

XREF_NEIGHBOURS = "UNWIND $ids AS id MATCH (:Concept {id: id})-[:XREF]-(o:Concept) RETURN DISTINCT o.id AS id"

# Rows (concept, [text]): the default encoder's training strings, every source, the given languages and term types.
DEFAULT_ENCODER_TERMS = """
MATCH (c:Concept)-[h:HAS_TERM]->(t:Term)
WHERE t.lang IN $languages AND h.tty IN $ttys
RETURN c.id AS concept, collect(DISTINCT t.text) AS texts
"""

# Rows (cui, concept): the UMLS CUIs the concepts of one id prefix cross-reference.
UMLS_XREF_CONCEPTS = """
MATCH (c:Concept) WHERE c.id STARTS WITH $prefix
UNWIND coalesce(c.xrefs, []) AS xref
WITH c, xref WHERE xref STARTS WITH 'UMLS:'
RETURN substring(xref, 5) AS cui, c.id AS concept
"""

# Rows (concept, name, tty, lang, text, norm): terms of one source's concepts (CURIE prefix), for the
# evaluations of lay names and aliases.
SOURCE_TERMS = """
MATCH (c:Concept)-[h:HAS_TERM]->(t:Term)
WHERE c.id STARTS WITH $prefix AND $source IN h.sources AND t.lang IN $languages
  AND NOT coalesce(c.obsolete, false)
RETURN c.id AS concept, c.name AS name, h.tty AS tty, t.lang AS lang, t.text AS text, t.norm AS norm
"""


# --- concept browser page (graph/explore.py) ----------------------------------------
# Concept–concept edges a person explores: every relationship between two concepts but curator suggestions.
_EXPLORED = "type({r}) <> 'SUGGESTED'"

# Hub concepts have hundreds of thousands of edges: reads of one concept's relations never expand them all. The
# total of each relation type and direction comes from the degree store (COUNT with a typed pattern). A concept
# with at most RELATION_WINDOW edges of those types is read whole (RELATION_GROUPS: the first $limit neighbours
# of each group in id order); of a bigger one, each type and direction is read apart (typed_neighbours: the first
# $limit in id order among its first RELATION_WINDOW edges in storage order). One statement per type keeps every
# plan small: a single UNION over all types takes Neo4j tens of seconds to plan.
RELATION_WINDOW = 1000


def concept_relation_type_counts(rel_types: list[str]) -> str:
    """Per type of `rel_types`: [edges, edges from a Concept, edges to a Concept], from the count store."""
    counts = ", ".join(f"[COUNT {{ ()-[:{t}]->() }}, COUNT {{ (:Concept)-[:{t}]->() }}, "
                       f"COUNT {{ ()-[:{t}]->(:Concept) }}]" for t in map(escape_name, rel_types))
    return f"RETURN [{counts}] AS counts"


def concept_degrees(rel_types: list[str]) -> str:
    """Concept $id's [outgoing, incoming] edges of each of `rel_types` (read from the database, quoted here)."""
    degrees = ", ".join(f"[COUNT {{ (c)-[:{t}]->() }}, COUNT {{ (c)<-[:{t}]-() }}]"
                        for t in map(escape_name, rel_types))
    return f"MATCH (c:Concept {{id: $id}}) RETURN [{degrees}] AS degrees"


# What each neighbour is returned as: for the browser page (node sources) and the card (edge sources).
NEIGHBOUR_ITEM = "{id: o.id, name: coalesce(o.name, o.name_zh), sources: coalesce(o.sources, [])}"
RELATED_ITEM = "{id: o.id, name: coalesce(o.name, o.name_zh), sources: r.sources}"


def relation_groups(item: str) -> str:
    """Rows {direction, type, concepts} of concept $id over the relation types $types, `item` maps of o and r."""
    return f"""MATCH (c:Concept {{id: $id}})-[r]-(o:Concept) WHERE o <> c AND type(r) IN $types
WITH type(r) AS type, CASE WHEN startNode(r) = c THEN 'out' ELSE 'in' END AS direction, r, o ORDER BY o.id
RETURN direction, type, collect({item})[..$limit] AS concepts"""


def typed_neighbours(rel_type: str, direction: str, item: str) -> str:
    """Rows {item}: up to $limit neighbours of concept $id over one relation type (read from the database, quoted
    here) and direction, in id order among the first $window edges."""
    edge = f"-[r:{escape_name(rel_type)}]->" if direction == "out" else f"<-[r:{escape_name(rel_type)}]-"
    return f"""MATCH (c:Concept {{id: $id}}){edge}(o:Concept) WHERE o <> c
WITH r, o LIMIT $window
WITH r, o ORDER BY o.id LIMIT $limit
RETURN {item} AS item"""


# Edges among $ids (the centre's neighbours; the centre's own edges come from relation_groups). A concept with
# more than $dense outgoing edges (a hub) is not expanded: its edges to the others are found from their side,
# and an edge from such a hub to another hub (more than $dense incoming edges) is left out.
EDGES_AMONG = f"""
UNWIND $ids AS id
MATCH (a:Concept {{id: id}})
CALL (a) {{
  WITH a WHERE COUNT {{ (a)-->() }} <= $dense
  MATCH (a)-[r]->(b:Concept) WHERE b.id IN $ids
  RETURN r, b
  UNION
  WITH a WHERE COUNT {{ (a)-->() }} > $dense
  UNWIND $ids AS other
  MATCH (b:Concept {{id: other}}) WHERE COUNT {{ (b)<--() }} <= $dense
  MATCH (a)-[r]->(b)
  RETURN r, b
}}
WITH a, r, b WHERE a <> b AND {_EXPLORED.format(r="r")}
RETURN a.id AS source, type(r) AS type, b.id AS target
ORDER BY source, type, target
LIMIT $limit
"""

def shortest_path(max_length: int) -> str:
    """One shortest undirected path of at most `max_length` concept–concept edges from $from to $to (two distinct
    concepts). Neo4j takes no parameter for a path's length bound, so the validated integer is spliced in."""
    if not isinstance(max_length, int) or not 1 <= max_length <= 16:
        raise ValueError(f"path length bound out of range: {max_length!r}")
    return f"""
MATCH (a:Concept {{id: $from}}), (b:Concept {{id: $to}})
MATCH p = shortestPath((a)-[*..{max_length}]-(b))
WHERE all(n IN nodes(p) WHERE n:Concept) AND all(r IN relationships(p) WHERE {_EXPLORED.format(r="r")})
RETURN [n IN nodes(p) | {{id: n.id, name: coalesce(n.name, n.name_zh), sources: coalesce(n.sources, [])}}] AS nodes,
       [r IN relationships(p) | {{source: startNode(r).id, type: type(r), target: endNode(r).id}}] AS edges
"""


# --- semantic-type classifier (embed/semantic_types.py) ----------------------------------------
# A predicted HAS_TYPE edge carries the predicting model's id as `model` and `source`, and a `score`. An edge is
# asserted when anything but a model stated it (a loader that merges onto a predicted edge adds its source).
_OF_SOURCES = "($sources IS NULL OR any(x IN coalesce(c.sources, []) WHERE x IN $sources))"

# Rows (concept id, [type id], [source]) of the concepts with an asserted type, in id order.
TYPED_CONCEPTS = f"""
MATCH (c:Concept)-[h:HAS_TYPE]->(s:SemanticType)
WHERE {_ASSERTED_TYPE.format(h="h")} AND {_OF_SOURCES}
RETURN c.id AS id, collect(DISTINCT s.id) AS types, coalesce(c.sources, []) AS sources ORDER BY id
"""

SEMANTIC_TYPE_NAMES = "UNWIND $ids AS id MATCH (s:SemanticType {id: id}) RETURN s.id AS id, s.name AS name"

_UNTYPED = f"""{_OF_SOURCES}
  AND NOT EXISTS {{ MATCH (c)-[h:HAS_TYPE]->(:SemanticType) WHERE {_ASSERTED_TYPE.format(h="h")} }}"""

COUNT_UNTYPED_CONCEPTS = f"MATCH (c:Concept) WHERE {_UNTYPED} RETURN count(c) AS n"

# Keyset page of the concepts without an asserted type (those only a model typed included).
UNTYPED_CONCEPTS = f"""
MATCH (c:Concept) WHERE c.id > $after AND {_UNTYPED}
RETURN c.id AS id ORDER BY c.id LIMIT $limit
"""

# The texts of each concept's terms (every language), or its preferred name when it has no term.
CONCEPT_TEXTS = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})
RETURN c.id AS id, [(c)-[:HAS_TERM]->(t:Term) | t.text] AS texts, coalesce(c.name, c.name_zh) AS name
"""

CONCEPT_VECTORS = """
UNWIND $ids AS id
MATCH (c:Concept {id: id}) WHERE c.embedding_model = $model
RETURN c.id AS id, c.embedding AS v
"""

# Removes the types that $source (a model) alone predicted for the concepts $ids, before it writes new ones.
CLEAR_PREDICTED_TYPES = """
UNWIND $ids AS id
MATCH (:Concept {id: id})-[h:HAS_TYPE {model: $source}]->(:SemanticType)
WHERE h.sources = [$source]
DELETE h
"""

# Rows {concept, type, score}: one edge per (concept, type, model).
WRITE_PREDICTED_TYPES = f"""
UNWIND $rows AS r
MATCH (c:Concept {{id: r.concept}})
MATCH (s:SemanticType {{id: r.type}})
MERGE (c)-[h:HAS_TYPE {{model: $source}}]->(s)
ON CREATE SET h.source = $source
SET {add_source("h")}, h.score = r.score
"""

# A trained model that writes into the graph (semantic types, relation suggestions): its settings and metrics.
MERGE_PREDICTION_MODEL = """
MERGE (m:PredictionModel {id: $id})
ON CREATE SET m.created_at = datetime()
SET m += $props, m.updated_at = datetime()
"""


# --- KG embeddings and relation suggestions (embed/kge/, graph/suggestions.py) -------------------------------
# Rows (head id, relationship type, tail id) of the concept–concept edges of a type in the relation vocabulary
# (and in $relations), stated by one of $sources.
KGE_TRIPLES = """
MATCH (r:RelationType) WHERE $relations IS NULL OR r.id IN $relations
WITH collect(r.id) AS types
MATCH (h:Concept)-[e]->(t:Concept)
WHERE type(e) IN types AND h <> t
  AND ($sources IS NULL OR any(s IN coalesce(e.sources, []) WHERE s IN $sources))
RETURN h.id AS head, type(e) AS relation, t.id AS tail
"""

RELATION_TYPE_IDS = "MATCH (r:RelationType) RETURN r.id AS id ORDER BY id"

# One KG embedding model's vectors at a time: Concept.kge_embedding beside `kge_model` (implicit transaction).
CLEAR_OTHER_KGE_VECTORS = """
MATCH (c:Concept) WHERE c.kge_model IS NOT NULL AND c.kge_model <> $model
CALL (c) { REMOVE c.kge_embedding, c.kge_model } IN TRANSACTIONS OF 10000 ROWS
"""

# Rows {id, v}.
SET_KGE_VECTORS = """
UNWIND $rows AS r
MATCH (c:Concept {id: r.id})
CALL db.create.setNodeVectorProperty(c, 'kge_embedding', r.v)
SET c.kge_model = $model
"""

# A model's open suggestions, removed before it writes its new list (reviewed ones stay; implicit transaction).
CLEAR_OPEN_SUGGESTIONS = """
MATCH ()-[s:SUGGESTED]->() WHERE s.model = $model AND s.status = 'open'
CALL (s) { DELETE s } IN TRANSACTIONS OF 10000 ROWS
"""

# Rows {id, head, relation, tail, score, rank}: a SUGGESTED edge unless the relation holds already; a suggestion
# a curator reviewed keeps its status.
WRITE_SUGGESTIONS = """
UNWIND $rows AS r
MATCH (h:Concept {id: r.head})
MATCH (t:Concept {id: r.tail})
WHERE NOT EXISTS { MATCH (h)-[e]->(t) WHERE type(e) = r.relation }
MERGE (h)-[s:SUGGESTED {id: r.id}]->(t)
ON CREATE SET s.relation = r.relation, s.model = $model, s.status = 'open', s.created_at = datetime()
SET s.score = r.score, s.rank = r.rank
RETURN count(s) AS n
"""

_SUGGESTION = """s.id AS id, h.id AS head, coalesce(h.name, h.name_zh) AS head_name, s.relation AS relation,
       t.id AS tail, coalesce(t.name, t.name_zh) AS tail_name, s.score AS score, s.rank AS rank, s.model AS model,
       s.status AS status"""

# Best first; every filter optional.
LIST_SUGGESTIONS = f"""
MATCH (h:Concept)-[s:SUGGESTED]->(t:Concept)
WHERE ($status IS NULL OR s.status = $status) AND ($model IS NULL OR s.model = $model)
  AND ($relation IS NULL OR s.relation = $relation) AND ($concept IS NULL OR $concept IN [h.id, t.id])
RETURN {_SUGGESTION}
ORDER BY s.score DESC, s.id SKIP $offset LIMIT $limit
"""

GET_SUGGESTIONS = f"""
UNWIND $ids AS id
MATCH (h:Concept)-[s:SUGGESTED {{id: id}}]->(t:Concept)
RETURN {_SUGGESTION}
"""


def accept_suggestion(rel_type: str) -> str:
    """Suggestion $id becomes a `rel_type` edge whose provenance is the model ($source) and the curator."""
    rel_type = validate_relationship_type(rel_type)
    return f"""
MATCH (h:Concept)-[s:SUGGESTED {{id: $id}}]->(t:Concept)
MERGE (h)-[e:{rel_type}]->(t)
ON CREATE SET e.source = $source, e.suggestion = s.id, e.score = s.score, e.accepted_at = datetime(),
              e.accepted_by = $curator
SET {add_source("e")}, s.status = 'accepted', s.reviewed_at = datetime(), s.reviewed_by = $curator
"""


REJECT_SUGGESTION = """
MATCH ()-[s:SUGGESTED {id: $id}]->()
SET s.status = 'rejected', s.reviewed_at = datetime(), s.reviewed_by = $curator
"""


# --- clustering (embed/cluster/) ------------------------------------------------------------------------
# A source's terms to cluster: every Term a HAS_TERM edge stated by $source names, in id order.
CLUSTER_SOURCE_TERMS = """
MATCH (:Concept)-[h:HAS_TERM]->(t:Term)
WHERE $source IN coalesce(h.sources, []) AND ($langs IS NULL OR t.lang IN $langs)
RETURN DISTINCT t.id AS id, t.text AS text, t.lang AS lang, t.norm AS norm
ORDER BY id
"""

# Rows {lang, norm}: the definition of a concept named by that term (the smallest concept id having one).
TERM_DEFINITIONS = """
UNWIND $rows AS r
MATCH (t:Term {lang: r.lang, norm: r.norm})<-[:HAS_TERM]-(c:Concept)
WHERE c.definition IS NOT NULL
WITH r, c ORDER BY c.id
WITH r, collect(c)[0] AS c
RETURN r.lang AS lang, r.norm AS norm, c.id AS concept, c.definition AS definition,
       coalesce(c.sources, []) AS sources
"""

MERGE_CLUSTER_RUN = """
MERGE (r:ClusterRun {id: $id})
SET r += $props, r.status = 'writing', r.write = $token
"""

FINISH_CLUSTER_RUN = "MATCH (r:ClusterRun {id: $id}) SET r += $props, r.status = 'written'"

# Another run whose concepts are in release $release.
RELEASE_OWNER = """
MATCH (c:Concept {release: $release}) WHERE c.cluster_run <> $run
RETURN c.cluster_run AS run LIMIT 1
"""

# Rows {id, names, terms: [{id, tty}]}: one concept of the run's release per cluster, its terms by HAS_TERM.
MERGE_CLUSTER_CONCEPTS = """
UNWIND $rows AS r
MERGE (c:Concept {id: r.id})
SET c += r.names, c.release = $release, c.cluster_run = $run, c.sources = [$run], c.size = size(r.terms),
    c.write = $token
WITH c, r
UNWIND r.terms AS term
MATCH (t:Term {id: term.id})
MERGE (c)-[h:HAS_TERM]->(t)
SET h.tty = term.tty, h.source = $run, h.sources = [$run]
"""

# Rows {id, term, candidate, props}: the oracle's questions for curators, about two Term nodes.
MERGE_REVIEW_ITEMS = """
MATCH (run:ClusterRun {id: $run})
UNWIND $rows AS r
MERGE (q:ReviewItem {id: r.id})
SET q += r.props, q.run = $run, q.status = coalesce(q.status, 'pending'), q.write = $token
MERGE (run)-[:QUEUED]->(q)
WITH q, r
MATCH (a:Term {id: r.term}), (b:Term {id: r.candidate})
MERGE (q)-[:ABOUT {role: 'term'}]->(a)
MERGE (q)-[:ABOUT {role: 'candidate'}]->(b)
"""

# What an earlier write of the same run left and this one did not write (implicit transaction).
DELETE_STALE_CLUSTER_CONCEPTS = """
MATCH (c:Concept {cluster_run: $run}) WHERE c.write <> $token
CALL (c) { DETACH DELETE c } IN TRANSACTIONS OF 10000 ROWS
"""

DELETE_STALE_REVIEW_ITEMS = """
MATCH (q:ReviewItem {run: $run}) WHERE q.write <> $token
CALL (q) { DETACH DELETE q } IN TRANSACTIONS OF 10000 ROWS
"""

CLUSTER_RUN = "MATCH (r:ClusterRun {id: $id}) RETURN properties(r) AS run"


# --- EHR retrieval knowledge injection (apps/retrieve/knowledge.py; drehr.md §8) ------------------------------
# A concept's terms in $lang, preferred first, then shorter first.
CONCEPT_TERMS = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})
RETURN c.id AS id, COLLECT { MATCH (c)-[h:HAS_TERM]->(t:Term) WHERE t.lang = $lang
                             RETURN t.text ORDER BY CASE h.tty WHEN 'PT' THEN 0 ELSE 1 END, size(t.text), t.norm
                             LIMIT $limit } AS terms
"""

# Per concept, the first $limit (id order) of: the concepts joined to it by XREF (they name the same thing), its
# IS_A parents and children, and the concepts of any other relation (type and direction ignored, as DR.EHR's
# relations.json); only concepts with a term in $lang.
_NAMED = "EXISTS {{ MATCH ({v})-[:HAS_TERM]->(x:Term) WHERE x.lang = $lang }}"
CONCEPT_NEIGHBOURS = f"""
UNWIND $ids AS id
MATCH (c:Concept {{id: id}})
RETURN c.id AS id,
  COLLECT {{ MATCH (c)-[:XREF]-(o:Concept) WHERE o <> c AND {_NAMED.format(v="o")}
            RETURN DISTINCT o.id AS o ORDER BY o LIMIT $limit }} AS same,
  COLLECT {{ MATCH (c)-[:IS_A]->(o:Concept) WHERE o <> c AND {_NAMED.format(v="o")}
            RETURN DISTINCT o.id AS o ORDER BY o LIMIT $limit }} AS parents,
  COLLECT {{ MATCH (c)<-[:IS_A]-(o:Concept) WHERE o <> c AND {_NAMED.format(v="o")}
            RETURN DISTINCT o.id AS o ORDER BY o LIMIT $limit }} AS children,
  COLLECT {{ MATCH (c)-[r]-(o:Concept) WHERE o <> c AND NOT type(r) IN ['IS_A', 'XREF', 'SUGGESTED']
              AND {_NAMED.format(v="o")}
            RETURN DISTINCT o.id AS o ORDER BY o LIMIT $limit }} AS related
"""

# The concepts that $ids are IS_A descendants of (up to 4 IS_A edges), for building benchmark judgments.
CONCEPT_ANCESTORS = """
UNWIND $ids AS id
MATCH (c:Concept {id: id})
RETURN c.id AS id, COLLECT { MATCH (c)-[:IS_A*1..4]->(a:Concept) WHERE a <> c RETURN DISTINCT a.id } AS ancestors
"""


# --- note extraction (apps/extract/offline.py, apps/extract/pipeline.py) -----------------------------------------
# What the offline extractor's dictionary is built from; it is rebuilt when any of these change.
EXTRACT_DICTIONARY_STATE = """
CALL db.info() YIELD id AS database
CALL () { MATCH (t:Term) RETURN count(t) AS terms }
CALL () { MATCH ()-[h:HAS_TERM]->() RETURN count(h) AS named }
CALL () { MATCH ()-[h:HAS_TYPE]->() RETURN count(h) AS typed }
CALL () {
  OPTIONAL MATCH (s:Source)
  WITH s ORDER BY s.id
  RETURN [x IN collect(s) | [x.id, x.version, toString(x.loaded_at)]] AS sources
}
RETURN database, terms, named, typed, sources
"""

# The terms in $languages with [concept id, semantic type id, semantic type name] (lower case) of each concept
# they name.
EXTRACT_TERMS = """
MATCH (t:Term) WHERE t.lang IN $languages
RETURN t.norm AS norm, t.lang AS lang,
       COLLECT { MATCH (c:Concept)-[:HAS_TERM]->(t) WHERE NOT coalesce(c.obsolete, false)
                 MATCH (c)-[:HAS_TYPE]->(s:SemanticType)
                 RETURN [c.id, toLower(s.id), toLower(coalesce(s.name, ''))] } AS types
"""

# Rows {id, method}: each note's mentions are replaced by $mentions {note, concept, props} (in one transaction
# with WRITE_MENTIONS); a note whose mentions name no concept keeps its node and loses its old mentions.
CLEAR_MENTIONS = """
UNWIND $notes AS n
MERGE (note:Note {id: n.id})
SET note.extracted_by = n.method, note.extracted_at = datetime()
WITH note
OPTIONAL MATCH (note)-[m:MENTIONS]->()
DELETE m
"""

WRITE_MENTIONS = """
UNWIND $mentions AS r
MATCH (note:Note {id: r.note})
MATCH (c:Concept {id: r.concept})
CREATE (note)-[m:MENTIONS]->(c)
SET m = r.props
"""

NOTE_MENTIONS = """
MATCH (:Note {id: $id})-[m:MENTIONS]->(c:Concept)
RETURN c.id AS concept, properties(m) AS props ORDER BY m.start, c.id
"""
