"""EHR retrieval (DR.EHR, CliniQ, PMC-Patients): chunking, BM25, dense, hybrid and knowledge-injected search,
DR.EHR training, benchmark readers and metrics."""
