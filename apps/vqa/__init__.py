"""RAMM-style retrieval-augmented medical VQA (docs/algorithms/ramm.md): readers, ITC pretraining, faiss retrieval of
image-text pairs, a retrieval-attention fusion model, fine-tuning, evaluation, and a dataset built from the
real medical images that ship in packages."""
