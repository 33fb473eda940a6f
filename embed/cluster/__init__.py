"""Terms -> clusters of synonyms -> concepts of a new release (docs/algorithms/bios.md §6.2, docs/algorithms/cortex.md
§4).

- knn.py: all-pairs k-NN over term vectors (faiss);
- baseline.py: BIOS's CODER++-era clustering: union-find over k-NN pairs above a threshold, ratio cut of
  oversized clusters, short terms attached afterwards;
- birch.py: CoRTEx's incremental clustering with two thresholds and an oracle for the band between them;
- oracle.py: the oracles (rules, an LLM hook, a review queue for curators); llm.py: the LLM backend hook;
- explanations.py: a term's explanation (graph definitions, an LLM when configured), cached with provenance;
- job.py: the `bios cluster` job (a file or a source's graph terms; write-back as a release) and release diffs;
- evaluate.py: pairwise precision / recall / F1 against the graph's synonym groups (`bios eval cluster`).
"""
