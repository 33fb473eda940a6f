"""The graph schema (schema.cypher) and the curated query library (library/*.cypher), shipped as package data."""
