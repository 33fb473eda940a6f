"""Knowledge-graph embeddings with PyKEEN: concept relations out (export), a model trained and evaluated on them
(train), entity vectors written back onto Concept nodes and the best-scoring missing links written as SUGGESTED
edges for curators (graph/suggestions.py reviews them)."""
