"""Term embeddings: encoders, vector indexes over the graph terms, and their training."""
