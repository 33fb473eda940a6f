"""CODER training data, sampler and trainer on in-memory data and a tiny BERT (no database)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from bios_kg.embed.checkpoints import CHECKPOINTS, latest_checkpoint
from bios_kg.embed.coder.mining import string_neighbours
from bios_kg.embed.coder.sampler import CoderSampler, TrainingData
from bios_kg.embed.coder.trainer import LOG_FILE, CoderConfig, train_on_data
from bios_kg.embed.encoders import PRESETS, SETTINGS_FILE, load_encoder
from bios_kg.graph.errors import ConfigError, GraphError, ParameterError
from tests.support.models import write_tiny_bert

SYNONYMS = {
    "C1": ["heart attack", "myocardial infarction", "mi", "cardiac infarction"],
    "C2": ["back pain", "backache", "dorsalgia"],
    "C3": ["fracture of femur", "femur fracture", "broken thigh bone"],
    "C4": ["fever", "pyrexia", "high temperature"],
    "C5": ["headache", "cephalalgia", "head pain"],
    "C6": ["ibuprofen", "advil"],
    "C7": ["coma", "unconscious"],  # in no triple: a synonym item
    "C8": ["aspirin"],  # in no triple, one string: only ever a negative tail
}
TRIPLES = [("C6", "MAY_TREAT", "C2"), ("C6", "MAY_TREAT", "C5"), ("C6", "MAY_TREAT", "C4"),
           ("C3", "HAS_SYMPTOM", "C2"), ("C1", "HAS_SYMPTOM", "C4"), ("C1", "IS_A", "C9")]  # C9 has no terms
TYPES = [("C1", "T047"), ("C2", "T184"), ("C3", "T037"), ("C4", "T184"), ("C5", "T184"), ("C6", "T121")]


def synthetic_data(exclude: set[str] | None = None) -> TrainingData:
    terms = [(concept, text) for concept, texts in SYNONYMS.items() for text in texts]
    return TrainingData.from_rows(terms, TRIPLES, TYPES, exclude or set())


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_bert(tmp_path_factory.mktemp("coder") / "tiny-bert")


def config(base: Path, **changes: object) -> CoderConfig:
    args: dict[str, object] = {"base": str(base), "steps": 6, "batch_size": 24, "lr": 1e-3, "warmup": 2,
                               "seed": 7, **changes}
    return CoderConfig(**args)  # type: ignore[arg-type]


# --- training data -------------------------------------------------------------------------------------------

def test_training_data_tables() -> None:
    data = synthetic_data()
    assert data.concept_ids == [f"C{i}" for i in range(1, 9)]
    assert data.texts == sorted(text for texts in SYNONYMS.values() for text in texts)
    for index, concept in enumerate(data.concept_ids):
        strings = data.term_index[data.term_offsets[index]:data.term_offsets[index + 1]]
        assert sorted(data.texts[i] for i in strings) == sorted(SYNONYMS[concept])
    triples = {(data.concept_ids[h], data.relation_ids[r], data.concept_ids[t])
               for h, r, t in zip(data.heads, data.relations, data.tails, strict=True)}
    assert triples == set(TRIPLES[:5])  # the triple to C9 (no terms) is dropped
    assert data.relation_ids == ["HAS_SYMPTOM", "MAY_TREAT"]
    assert [data.type_ids[t] if t >= 0 else None for t in data.concept_types] == [
        "T047", "T184", "T037", "T184", "T184", "T121", None, None]
    assert data.summary() == {"concepts": 8, "strings": 21, "concept_strings": 21, "triples": 5,
                              "relation_types": 2, "semantic_types": 4}
    assert data.fingerprint() == synthetic_data().fingerprint()


def test_held_out_concepts_take_their_strings_with_them() -> None:
    terms = [("A", "fever"), ("A", "pyrexia"), ("B", "fever"), ("B", "febrile"), ("C", "cough"), ("C", "tussis")]
    data = TrainingData.from_rows(terms, [("B", "IS_A", "C"), ("A", "IS_A", "C")], [], exclude_concepts={"A"})
    assert data.concept_ids == ["B", "C"]
    assert data.texts == ["cough", "febrile", "tussis"]  # "fever" is A's too: held out from B as well
    assert [(data.concept_ids[h], data.concept_ids[t]) for h, t in zip(data.heads, data.tails, strict=True)] == [
        ("B", "C")]
    assert data.fingerprint() != TrainingData.from_rows(terms, [], []).fingerprint()


# --- sampler ---------------------------------------------------------------------------------------------------

def concept_strings(data: TrainingData, concept: int) -> set[str]:
    return {data.texts[i] for i in data.term_index[data.term_offsets[concept]:data.term_offsets[concept + 1]]}


def test_batches_are_aligned_capped_and_labelled() -> None:
    data = synthetic_data()
    sampler = CoderSampler(data, batch_size=10, seed=1)
    for batch in (next(sampler) for _ in range(40)):
        assert len(batch.texts) <= 10
        assert len(batch.texts) == len(batch.concepts) == len(batch.types)
        for text, concept in zip(batch.texts, batch.concepts, strict=True):
            assert text in concept_strings(data, int(concept))
        p = batch.pairs
        assert len(batch.relations) == p
        heads, tails, negatives = batch.concepts[:p], batch.concepts[p:2 * p], batch.concepts[2 * p:3 * p]
        assert (negatives != tails).all()
        triples = {(h, r, t) for h, r, t in zip(data.heads, data.relations, data.tails, strict=True)}
        assert all((h, r, t) in triples for h, r, t in zip(heads, batch.relations, tails, strict=True))
        assert set(batch.concepts[3 * p:].tolist()) <= {data.concept_ids.index("C7")}  # synonym strings
        assert (batch.types == data.concept_types[batch.concepts]).all()


def test_use_len_and_distinct_strings_per_item() -> None:
    data = synthetic_data()
    sampler = CoderSampler(data, batch_size=3 * 12 + 2, seed=2)
    # C6 (2 strings) -> C2 (3): use_len 2; C3 (3) -> C2 (3): 3; C1 (4) -> C4 (3): 3
    assert sorted(sampler.use_len.tolist()) == [2, 2, 2, 3, 3]
    batch = next(sampler)  # exactly one epoch: 5 triple items + the synonym item of C7
    assert batch.items == 6 and batch.pairs == 12 and len(batch.texts) == 3 * 12 + 2
    assert sorted(batch.texts[3 * 12:]) == ["coma", "unconscious"]
    assert (batch.concepts[3 * 12:] == data.concept_ids.index("C7")).all()
    # each item's head strings (and tail strings) are distinct strings of its concept
    items: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for i in range(12):
        key = (int(batch.concepts[i]), int(batch.concepts[12 + i]))
        items.setdefault(key, []).append((batch.texts[i], batch.texts[12 + i]))
    assert sorted(len(pairs) for pairs in items.values()) == [2, 2, 2, 3, 3]
    for pairs in items.values():
        assert len({h for h, _ in pairs}) == len(pairs) == len({t for _, t in pairs})
    small = CoderSampler(data, batch_size=4, seed=2)  # one triple item is clipped to 4 // 3 = 1 string each
    assert small.use_len.max() == 1 and all(len(next(small).texts) <= 4 for _ in range(10))


def test_coder_exact_sampling_triple_items_only_and_coders_negative_tails() -> None:
    data = synthetic_data()
    sampler = CoderSampler(data, batch_size=9, seed=3, coder_exact=True)  # every item alone in its batch
    assert sampler.items == len(data.heads)  # no synonym item (C7 is in no triple)
    order = np.random.default_rng((3, 0, 0)).permutation(sampler.items)
    shuffled = np.random.default_rng((3, 3)).permutation(len(data.concept_ids))
    for item in order:
        batch = next(sampler)
        p = batch.pairs
        assert len(batch.texts) == 3 * p  # heads, tails, negative tails: nothing else
        # p successive concepts of the shuffled list from item * 8 on, the tail itself not excluded
        assert batch.concepts[2 * p:].tolist() == shuffled[(item * 8 + np.arange(p)) % len(shuffled)].tolist()
    with pytest.raises(ParameterError):
        CoderSampler(data, 9, coder_exact=True, sampling="synonyms")


def test_every_item_once_per_epoch_and_deterministic() -> None:
    data = synthetic_data()
    sampler = CoderSampler(data, batch_size=9, seed=3)
    seen: Counter[tuple[int, int]] = Counter()
    while sampler.epoch == 0:
        batch = next(sampler)
        seen.update(zip(batch.concepts[:batch.pairs].tolist(), batch.concepts[batch.pairs:2 * batch.pairs].tolist(),
                        strict=True))
    pair_items = Counter((int(h), int(t)) for h, t in zip(data.heads, data.tails, strict=True))
    assert set(seen) >= set(pair_items)
    one, two = CoderSampler(data, 9, seed=3), CoderSampler(data, 9, seed=3)
    assert [next(one).texts for _ in range(12)] == [next(two).texts for _ in range(12)]
    other = CoderSampler(data, 9, seed=4)
    assert [next(other).texts for _ in range(12)] != [next(CoderSampler(data, 9, seed=3)).texts for _ in range(12)]


def test_sampler_state_resumes_the_stream() -> None:
    data = synthetic_data()
    sampler = CoderSampler(data, 9, seed=5)
    for _ in range(7):
        next(sampler)
    state = sampler.state_dict()
    expected = [next(sampler) for _ in range(10)]
    resumed = CoderSampler(data, 9, seed=5)
    resumed.load_state_dict(json.loads(json.dumps(state)))
    again = [next(resumed) for _ in range(10)]
    assert [b.texts for b in again] == [b.texts for b in expected]
    assert all((a.concepts == b.concepts).all() for a, b in zip(again, expected, strict=True))


def test_synonym_sampling_shows_every_synonym_set_and_no_triples() -> None:
    data = synthetic_data()
    sampler = CoderSampler(data, batch_size=9, seed=3, sampling="synonyms")
    assert sampler.items == 7  # C1..C7 have two or more strings; C8 has one
    for batch in (next(sampler) for _ in range(20)):
        assert batch.pairs == 0 and len(batch.relations) == 0 and len(batch.texts) <= 9
        for text, concept in zip(batch.texts, batch.concepts, strict=True):
            assert text in concept_strings(data, int(concept))
    epoch = next(CoderSampler(data, batch_size=20, seed=3, sampling="synonyms"))  # 4 + 3 + 3 + 3 + 3 + 2 + 2
    assert epoch.items == 7 and Counter(epoch.concepts.tolist()) == Counter(
        {index: len(SYNONYMS[concept]) for index, concept in enumerate(data.concept_ids[:7])})
    assert CoderSampler(data, batch_size=9, seed=3).items == 6  # CODER: 5 triple items + the set of C7


DEFINITIONS = [("C1", "death of heart muscle from blocked blood flow"), ("C4", "raised body temperature"),
               ("C8", "a salicylate drug for pain and fever")]


def test_cortex_sampling_adds_each_concepts_explanation_with_its_label() -> None:
    terms = [(concept, text) for concept, texts in SYNONYMS.items() for text in texts]
    data = TrainingData.from_rows(terms, TRIPLES, TYPES, explanations=DEFINITIONS)
    assert data.explanations is not None and data.explanations[data.concept_ids.index("C4")] == DEFINITIONS[1][1]
    assert data.fingerprint() != synthetic_data().fingerprint()
    sampler = CoderSampler(data, batch_size=24, seed=3, sampling="cortex")  # exactly one epoch
    assert sampler.items == 8  # C8 (one string + an explanation) becomes an item
    batch = next(sampler)
    explained = {data.concept_ids.index(c): text for c, text in DEFINITIONS}
    for concept, text in explained.items():  # every explanation once, labelled with its concept
        assert [int(c) for t, c in zip(batch.texts, batch.concepts, strict=True) if t == text] == [concept]
    assert len(batch.texts) == len(batch.concepts) == sum(len(v) for v in SYNONYMS.values()) + len(DEFINITIONS)
    with pytest.raises(GraphError, match="needs explanations"):
        CoderSampler(synthetic_data(), batch_size=30, sampling="cortex")


def test_coderpp_groups_are_anchor_neighbours_and_synonyms() -> None:
    data = synthetic_data()
    vectors = np.random.default_rng(0).normal(size=(len(data.texts), 8))
    neighbours, similarity = string_neighbours(vectors)
    n = len(data.texts)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    best = np.argsort(-(unit @ unit.T), axis=1)[:, 1:]  # self first, then the others
    assert neighbours.shape == (n, n - 1) and (neighbours == best).all() and -1 <= similarity <= 1
    group = 1 + (n - 1) + 30
    sampler = CoderSampler(data, batch_size=group, seed=1, sampling="coderpp")
    with pytest.raises(GraphError, match="neighbours"):
        next(sampler)
    sampler.set_neighbours(neighbours)
    order = np.random.default_rng((1, 0, 0)).permutation(n)
    for anchor in order[:3]:
        batch = next(sampler)  # one group per batch
        rows = [data.texts.index(text) for text in batch.texts]
        assert rows[0] == anchor and rows[1:n] == neighbours[anchor].tolist()
        concept = min(c for c in range(len(data.concept_ids)) if data.texts[anchor] in concept_strings(data, c))
        tail = rows[n:]
        assert len(tail) == 30 and set(tail) <= {data.texts.index(t) for t in concept_strings(data, concept)}
        assert all(row == anchor for row in tail[len(concept_strings(data, concept)):])  # padded with the anchor
        assert batch.concepts[0] == concept and batch.pairs == 0
    with pytest.raises(ParameterError, match="batch_size"):
        CoderSampler(data, batch_size=group - 1, sampling="coderpp")


def test_partners_join_their_concepts_batches_and_resume() -> None:
    data = synthetic_data()
    partners = np.full(len(data.concept_ids), -1)
    partners[data.concept_ids.index("C1")] = data.concept_ids.index("C7")  # heart attack <-> coma
    plain = CoderSampler(data, batch_size=7, seed=5, sampling="synonyms")
    paired = CoderSampler(data, batch_size=7, seed=5, sampling="synonyms")
    paired.set_partners(partners, 1.0)
    c1, c7 = data.concept_ids.index("C1"), data.concept_ids.index("C7")
    together = [c1 in b.concepts and c7 in b.concepts for b in (next(paired) for _ in range(14))]
    alone = [c1 in b.concepts and c7 in b.concepts for b in (next(plain) for _ in range(14))]
    assert sum(together) > sum(alone)
    state = paired.state_dict()
    resumed = CoderSampler(data, batch_size=7, seed=5, sampling="synonyms")
    resumed.load_state_dict(state)
    assert resumed.hard_fraction == 1.0 and [next(resumed).texts for _ in range(5)] == [
        next(paired).texts for _ in range(5)]
    with pytest.raises(ParameterError, match="hard_fraction"):
        paired.set_partners(partners, 1.5)


def test_mining_finds_the_nearest_concept_sharing_no_string() -> None:
    from bios_kg.embed.coder.mining import concept_centroids, nearest_partners

    data = TrainingData.from_rows([("A", "x"), ("A", "y"), ("B", "z"), ("C", "w"), ("D", "y")], [], [])
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.8, 0.2]], dtype=np.float32)  # rows follow data.texts w x y z
    centroids = concept_centroids(vectors, data)
    mined = nearest_partners(centroids, data)
    a, b, c, d = (data.concept_ids.index(x) for x in "ABCD")
    assert mined.partners[b] == c and mined.partners[a] == b  # B = {z}: nearest is C = {w}; A = {x, y}: B
    assert mined.partners[d] == b  # D = {y} is nearest to A, but they share "y": never each other's partner
    assert 0 < mined.similarity <= 1
    linked = TrainingData.from_rows([("A", "x"), ("A", "y"), ("B", "z"), ("C", "w"), ("D", "y")], [], [],
                                    linked=[("B", "C"), ("A", "Z")])  # XREF/IS_A pairs; Z has no terms
    assert linked.linked.tolist() == [[b, c]] and linked.fingerprint() != data.fingerprint()
    assert nearest_partners(concept_centroids(vectors, linked), linked).partners[b] == a  # C is linked to B


def test_sampler_refuses_bad_input() -> None:
    with pytest.raises(ParameterError, match="batch_size"):
        CoderSampler(synthetic_data(), batch_size=2)
    with pytest.raises(ParameterError, match="sampling"):
        CoderSampler(synthetic_data(), batch_size=9, sampling="pairs")  # type: ignore[arg-type]
    with pytest.raises(GraphError, match="no training items"):
        CoderSampler(TrainingData.from_rows([("A", "x"), ("B", "y")], [], []), batch_size=8)


# --- trainer ---------------------------------------------------------------------------------------------------

def weights(folder: Path) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_train_writes_a_loadable_model_log_and_checkpoints(tiny_bert: Path, tmp_path: Path) -> None:
    out = tmp_path / "coder"
    report = train_on_data(synthetic_data(), out, config(tiny_bert, steps=5), device="cpu", checkpoint_every=2,
                           progress=False)
    assert report.steps == 5 and report.resumed_from == 0 and len(report.losses) == 5
    assert all(np.isfinite(report.losses))
    # linear warm-up over 2 steps then linear decay to 0 at step 5: lr × 0, 0.5, 1, 2/3, 1/3
    assert [row["lr"] for row in report.log] == pytest.approx([0, 5e-4, 1e-3, 1e-3 * 2 / 3, 1e-3 / 3])
    assert sorted(p.name for p in (out / CHECKPOINTS).iterdir()) == ["step-4", "step-5"]  # the newest two
    assert latest_checkpoint(out) == out / CHECKPOINTS / "step-5"
    lines = (out / LOG_FILE).read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4, 5]
    meta = json.loads((out / SETTINGS_FILE).read_text())
    assert meta["base"] == str(tiny_bert) and meta["training"]["steps"] == 5
    assert meta["training"]["args"]["batch_size"] == 24 and meta["training"]["relation_types"] == [
        "HAS_SYMPTOM", "MAY_TREAT"]
    assert meta["training"]["loss"]["first"] == pytest.approx(report.losses[0])
    encoder = load_encoder(out, device="cpu")
    assert encoder.settings.normalize and report.model_id == encoder.model_id
    vectors = encoder.encode(["heart attack", "fever"])
    assert vectors.shape == (2, 32) and np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)
    assert not all(torch.equal(a, b) for a, b in zip(weights(out).values(), weights(tiny_bert).values(),
                                                     strict=True))


def test_coder_preset_counts_batches_and_keeps_coders_encoder_contract(tiny_bert: Path, tmp_path: Path) -> None:
    out = tmp_path / "coder-preset"
    report = train_on_data(synthetic_data(), out, config(tiny_bert, steps=4, grad_accum=2, warmup=1, preset="coder"),
                           device="cpu", checkpoint_every=2, progress=False)
    # 4 batches = 2 optimizer updates, logged at batches 2 and 4; warm-up 1 update, horizon 4
    assert [row["step"] for row in report.log] == [2, 4] and report.steps == 4
    assert [row["lr"] for row in report.log] == pytest.approx([0, 1e-3])
    assert sorted(p.name for p in (out / CHECKPOINTS).iterdir()) == ["step-2", "step-4"]
    assert load_encoder(out, device="cpu").settings == PRESETS["coder"]  # pooler, input ids only, padded to 32
    meta = json.loads((out / SETTINGS_FILE).read_text())["training"]
    assert meta["method"] == "coder" and meta["args"]["preset"] == "coder"
    assert "preset" not in config(tiny_bert).as_dict()  # runs without a preset resume as before
    with pytest.raises(ParameterError):
        config(tiny_bert, preset="coder", sampling="synonyms")


def test_coderpp_training_re_mines_string_neighbours(tiny_bert: Path, tmp_path: Path) -> None:
    data = synthetic_data()
    group = 1 + (len(data.texts) - 1) + 30
    report = train_on_data(data, tmp_path / "coderpp", config(tiny_bert, steps=3, batch_size=group,
                                                              sampling="coderpp", mine_every=2),
                           device="cpu", progress=False)
    assert ["neighbour_similarity" in row for row in report.log] == [True, False, True]  # mined at steps 0 and 2
    with pytest.raises(ParameterError, match="mine_every"):
        config(tiny_bert, sampling="coderpp")


def test_interrupted_run_resumes_to_the_same_weights(tiny_bert: Path, tmp_path: Path) -> None:
    data = synthetic_data()
    straight = train_on_data(data, tmp_path / "straight", config(tiny_bert), device="cpu", checkpoint_every=3,
                             progress=False)

    def crash(step: int, _: dict[str, float]) -> None:
        if step == 4:  # step 4 is lost with the crash: the checkpoint is from step 3
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_on_data(data, tmp_path / "resumed", config(tiny_bert), device="cpu", checkpoint_every=3,
                      progress=False, on_step=crash)
    assert latest_checkpoint(tmp_path / "resumed") == tmp_path / "resumed" / CHECKPOINTS / "step-3"
    resumed = train_on_data(data, tmp_path / "resumed", config(tiny_bert), device="cpu", checkpoint_every=3,
                            progress=False)
    assert resumed.resumed_from == 3 and resumed.steps == 6
    assert resumed.log == straight.log  # the same losses and learning rates, step by step
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert a.keys() == b.keys() and all(torch.equal(a[key], b[key]) for key in a)

    again = train_on_data(data, tmp_path / "resumed", config(tiny_bert), device="cpu", progress=False)
    assert again.resumed_from == 6 and again.steps == 6 and again.log == straight.log  # done: nothing to do
    with pytest.raises(ConfigError, match="lr"):
        train_on_data(data, tmp_path / "resumed", config(tiny_bert, lr=1e-4), device="cpu", progress=False)
    with pytest.raises(ConfigError, match="training data changed"):
        train_on_data(synthetic_data({"C5"}), tmp_path / "resumed", config(tiny_bert), device="cpu",
                      progress=False)


def test_cortex_training_mines_progressively_and_resumes_exactly(tiny_bert: Path, tmp_path: Path) -> None:
    terms = [(concept, text) for concept, texts in SYNONYMS.items() for text in texts]
    data = TrainingData.from_rows(terms, TRIPLES, TYPES, explanations=DEFINITIONS)
    cortex = config(tiny_bert, sampling="cortex", mine_every=2, hard_fraction=0.8, batch_size=12)
    straight = train_on_data(data, tmp_path / "straight", cortex, device="cpu", checkpoint_every=2, progress=False)
    mined = [row for row in straight.log if "hard_fraction" in row]
    assert [row["step"] for row in mined] == [1, 3, 5]  # mined before steps 1, 3 and 5
    assert [row["hard_fraction"] for row in mined] == pytest.approx([0.8 * 2 / 3, 0.8, 0.8])  # ramps up
    assert json.loads((tmp_path / "straight" / SETTINGS_FILE).read_text())["training"]["method"] == "cortex"

    def crash(step: int, _: dict[str, float]) -> None:
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_on_data(data, tmp_path / "resumed", cortex, device="cpu", checkpoint_every=2, progress=False,
                      on_step=crash)
    resumed = train_on_data(data, tmp_path / "resumed", cortex, device="cpu", checkpoint_every=2, progress=False)
    assert resumed.resumed_from == 2 and resumed.log == straight.log
    a, b = weights(tmp_path / "straight"), weights(tmp_path / "resumed")
    assert all(torch.equal(a[key], b[key]) for key in a)


def test_cosine_relation_loss_semantic_types_and_accumulation(tiny_bert: Path, tmp_path: Path) -> None:
    report = train_on_data(synthetic_data(), tmp_path / "cos", config(tiny_bert, steps=2, relation_loss="cosine",
                                                                      sty_weight=0.1, grad_accum=2),
                           device="cpu", progress=False)
    assert report.steps == 2 and report.strings > 2 * 24  # two batches per step
    assert all(row["sty"] > 0 for row in report.log)
    assert all(np.isfinite([row["relation"] for row in report.log]))


def test_add_tokens_extends_the_vocabulary_for_chinese(tiny_bert: Path, tmp_path: Path) -> None:
    terms = [("A", "心肌梗死"), ("A", "heart attack"), ("B", "发热"), ("B", "fever"), ("C", "头痛"), ("C", "headache")]
    data = TrainingData.from_rows(terms, [("A", "HAS_SYMPTOM", "B")], [])
    report = train_on_data(data, tmp_path / "zh", config(tiny_bert, steps=2, add_tokens=True), device="cpu",
                           progress=False)
    assert report.added_tokens == 8  # 心 肌 梗 死 发 热 头 痛
    assert report.aligned_tokens == 0  # each character is in one Chinese–English pair: too little to align
    encoder = load_encoder(tmp_path / "zh", device="cpu")
    ids = encoder.tokenizer("心肌梗死", add_special_tokens=False)["input_ids"]
    assert encoder.tokenizer.unk_token_id not in ids and len(ids) == 4


def test_config_is_validated() -> None:
    with pytest.raises(ParameterError, match="relation_loss"):
        CoderConfig(relation_loss="distmult")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="sampling"):
        CoderConfig(sampling="pairs")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="batch_size"):
        CoderConfig(batch_size=2)
    with pytest.raises(ParameterError, match="steps"):
        CoderConfig(steps=0)
    with pytest.raises(ParameterError, match="warmup"):
        CoderConfig(warmup=-1)
