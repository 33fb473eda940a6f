"""CODER training (docs/algorithms/coder.md §3-§7): graph sampler, multi-similarity + relation + semantic-type losses,
trainer."""
