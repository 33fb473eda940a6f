"""Term embeddings: encoders, vector indexes over the graph terms, and their training."""

# The query-encoder engines a command can pick (bios_kg.embed.encoders.Runtime); here so CLIs need not import torch.
RUNTIME_HELP = ("auto (ONNX Runtime on CPU when installed, else torch), torch, onnx, or onnx-int8 (quantized: about "
                "twice as fast on CPU; query vectors close to, not equal to, the exact ones).")
# The registry name of the default encoder (bios_kg.embed.encoders.DEFAULT_ENCODER): the trained one the repository
# ships.
DEFAULT_ENCODER = "bios-default"
# Terms per encoder batch of the embedding job (bios_kg.embed.job): on 2 CPU cores 128 encodes ~15% faster than 512.
EMBED_BATCH_SIZE = 128
