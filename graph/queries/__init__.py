"""The Cypher statements the code runs, by the concern that owns them (curated queries for people are in cypher/).

schema (labels, counts, index waits), ingest (loader writes and Source nodes), lookup (terms and concept cards),
explore (the concept browser), skos (the export), embeddings (vectors, vector indexes, model nodes), training (the
CODER encoder's data), evaluation (gold term sets), suggestions (KG embeddings and relation suggestions),
clustering (term clustering runs), common (shared fragments). A statement that only one app runs lives beside it,
in that app's `queries.py` (apps/normalize, apps/retrieve, apps/extract; embed/queries.py for the semantic-type
classifier). Import each statement from its module: this package re-exports nothing.

Values always travel as parameters (`$rows`); the only text spliced into a statement is a label or relationship
type that bios_kg.graph.vocabulary has validated or escape_name has quoted.
"""
