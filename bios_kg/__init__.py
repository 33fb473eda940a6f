"""BIOS-KG: a BIOS-style biomedical knowledge graph in Neo4j, with ingest, embeddings and clinical NLP apps.

One import namespace over the repository's top-level folders (setup.py maps them):

- `bios_kg.graph` (graph/): the Neo4j store, schema, queries, runner; never imports torch;
- `bios_kg.ingest` (ingest/): terminology readers and loaders;
- `bios_kg.embed` (embed/): term and graph embeddings, clustering, vector indexes;
- `bios_kg.apps` (apps/): the CLI, the HTTP API, normalization, extraction, retrieval, VQA, LLMs;
- `bios_kg.cypher` (cypher/) and `bios_kg.neo4j_runner` (docker/neo4j-runner/): package data, read through
  `bios_kg.resources`.

Layers import downwards only: apps -> embed -> ingest -> graph (checked by import-linter in CI).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bios-kg")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
