"""Statements of note extraction (offline.py, pipeline.py)."""

from __future__ import annotations

from bios_kg.graph.queries.common import sources_state

# What the offline extractor's dictionary is built from; it is rebuilt when any of these change.
EXTRACT_DICTIONARY_STATE = """
CALL db.info() YIELD id AS database
CALL () { MATCH (t:Term) RETURN count(t) AS terms }
CALL () { MATCH ()-[h:HAS_TERM]->() RETURN count(h) AS named }
CALL () { MATCH ()-[h:HAS_TYPE]->() RETURN count(h) AS typed }
""" + sources_state() + """
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
