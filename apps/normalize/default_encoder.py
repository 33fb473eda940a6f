"""`bios embed train-default`: the repository's default encoder, trained on the sample graph by one seeded command.

The recipe is CODER's with synonym sampling (every synonym set is a batch item, no relation loss) and the Chinese
initialisation (`--add-tokens`: unknown characters become tokens, started from their English translations), over
the English and Chinese terms of every sample source. Left out of training, so that the evaluations hold:

- the held-out concepts of `bios eval normalize` (HPO synonyms, ICD-10 Chinese names) and their XREF neighbours;
- every lay name (HPO layperson synonyms, tty LAY and its scoped variants): the lay-name evaluation;
- the held-out concepts of the CMeKG alias evaluation (bios_kg.apps.normalize.unseen);
- broader, narrower and related terms (BT, NT, RT): they are not synonyms.

After training, every Traditional Chinese character whose Simplified form is a token gets a token of its own with
that row (OpenCC's character table, read from the installed `opencc-python-reimplemented`), so Traditional names
read as their Simplified forms. The result is packed into the compact file the repository ships
(bios_kg.embed.default_model.pack).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bios_kg.apps.normalize.evaluate import DEFAULT_SEED, held_out_concepts
from bios_kg.apps.normalize.queries import DEFAULT_ENCODER_TERMS
from bios_kg.apps.normalize.unseen import unseen_training_exclusions
from bios_kg.graph.errors import ConfigError
from bios_kg.graph.store import GraphStore

if TYPE_CHECKING:
    from bios_kg.embed.encoders import Encoder

LANGUAGES = ("en", "zh")
TRAINING_TTYS = ("PT", "SY", "AB", "UK", "PL", "SYM")  # synonyms; lay names, BT/NT/RT stay out
# Chosen to finish in about an hour on a shared 2-core CPU (README: Term normalization).
DEFAULT_STEPS, DEFAULT_BATCH, DEFAULT_LR, DEFAULT_WARMUP = 200, 128, 5e-5, 20


def training_exclusions(store: GraphStore, seed: int = DEFAULT_SEED) -> set[str]:
    """Every concept whose strings the default encoder must not see (module docstring)."""
    return held_out_concepts(store, seed) | unseen_training_exclusions(store, seed)


def default_training_data(store: GraphStore, exclude: set[str]) -> Any:
    """TrainingData of the default encoder: synonym sets only (no triples: the recipe has no relation loss)."""
    from bios_kg.embed.coder.sampler import TrainingData

    rows = store.stream(DEFAULT_ENCODER_TERMS, languages=list(LANGUAGES), ttys=list(TRAINING_TTYS))
    terms = ((str(concept), str(text)) for concept, texts in rows for text in texts)
    return TrainingData.from_rows(terms, [], [], exclude)


def build_default_encoder(store: GraphStore, out: Path, packed: Path | None = None, steps: int = DEFAULT_STEPS,
                          batch_size: int = DEFAULT_BATCH, lr: float = DEFAULT_LR, warmup: int = DEFAULT_WARMUP,
                          seed: int = DEFAULT_SEED, device: str = "cpu", checkpoint_every: int = 25,
                          progress: bool = True) -> dict[str, Any]:
    """Train into `out` (resumable from its checkpoints), add the Traditional Chinese tokens (`out/final`) and
    pack it into `packed` (default: the file the repository ships). Returns the training report and the
    manifest."""
    from bios_kg.embed.coder.trainer import CoderConfig, train_on_data
    from bios_kg.embed.default_model import MODEL_NAME, PACKED_FILE, pack
    from bios_kg.embed.encoders import SETTINGS_FILE, load_encoder

    config = CoderConfig(base="minilm", steps=steps, batch_size=batch_size, lr=lr, warmup=warmup, re_weight=0.0,
                         languages=LANGUAGES, add_tokens=True, sampling="synonyms", seed=seed)
    data = default_training_data(store, training_exclusions(store, seed))
    started = time.perf_counter()

    def log_step(step: int, values: dict[str, float]) -> None:
        if step % 10 == 0:
            print(f"step {step}/{steps} loss {values['loss']:.4f} {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)

    report = train_on_data(data, out, config, device=device, checkpoint_every=checkpoint_every, progress=progress,
                           on_step=log_step)
    encoder = load_encoder(out, device="cpu")
    traditional = add_traditional_tokens(encoder)
    encoder.save(out / "final", name=MODEL_NAME)
    settings_file = out / "final" / SETTINGS_FILE
    meta = json.loads(settings_file.read_text(encoding="utf-8"))
    meta["training"] = {**json.loads((out / SETTINGS_FILE).read_text(encoding="utf-8")).get("training", {}),
                        "traditional_tokens": traditional}
    settings_file.write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    command = (f"bios embed train-default --out {out} --steps {steps} --batch-size {batch_size} --seed {seed} "
               f"--device {device}")
    manifest = pack(out / "final", packed or PACKED_FILE, command)
    return {"training": report.as_dict(), "traditional_tokens": traditional, "manifest": manifest}


def traditional_characters() -> dict[str, str]:
    """Traditional character -> its (first) Simplified form, from OpenCC's TSCharacters table in the installed
    opencc-python-reimplemented package."""
    try:
        import opencc
    except ImportError as error:
        raise ConfigError("the default encoder's Traditional Chinese tokens need opencc-python-reimplemented "
                          "(pip install opencc-python-reimplemented)") from error
    table = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    pairs: dict[str, str] = {}
    for line in table.read_text(encoding="utf-8").splitlines():
        traditional, _, simplified = line.partition("\t")
        if len(traditional) == 1 and simplified:
            pairs[traditional] = simplified.split()[0]
    return pairs


def add_traditional_tokens(encoder: Encoder) -> int:
    """Give every Traditional character that tokenizes to [UNK] a token with the input row of its Simplified
    form, when that form is one token; returns how many were added."""
    import torch
    from tokenizers import AddedToken

    tokenizer = encoder.tokenizer
    unk = tokenizer.unk_token_id
    candidates = sorted(traditional_characters().items())
    ids = tokenizer([t for t, _ in candidates], add_special_tokens=False)["input_ids"]
    simplified_ids = tokenizer([s for _, s in candidates], add_special_tokens=False)["input_ids"]
    chosen = [(t, s_ids[0]) for (t, _), t_ids, s_ids in zip(candidates, ids, simplified_ids, strict=True)
              if t_ids == [unk] and len(s_ids) == 1 and s_ids[0] != unk]
    if not chosen:
        return 0
    tokenizer.add_tokens([AddedToken(t, normalized=False) for t, _ in chosen])
    with torch.no_grad():
        encoder.model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        weight = encoder.model.get_input_embeddings().weight
        for traditional, source in chosen:
            weight[tokenizer.convert_tokens_to_ids(traditional)] = weight[source]
    return len(chosen)
