"""Clients of the graph: normalization, extraction, retrieval, VQA, LLM backends, the API and the CLI."""
