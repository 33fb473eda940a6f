"""CODER training data from the graph and the CODER sampler (docs/algorithms/coder.md §4.4, §7.1).

`TrainingData` holds, in flat arrays, the concepts that have at least one training string, their strings, their
semantic type and the concept–relation–concept triples between them: a sorted string table and concept-id table,
the concept -> strings map as CSR offsets into one int32 array, and the triples as three int32 arrays. It is read
from the graph once and sorted, so the same graph gives the same data (and the same batches) on every run.

`CoderSampler` yields batches the way CODER's `UMLSDataset` + `FixedLengthBatchSampler` do:

- one dataset item per triple (head, relation, tail): use_len = min(|head strings|, |tail strings|, 8) distinct
  strings of each concept, drawn at random, aligned into use_len (head, tail, negative tail) string triples; each
  negative tail is one random string of a uniformly drawn concept other than the tail;
- plus one *synonym item* for each concept with two or more strings that is in no triple (up to 8 of its strings),
  so that every synonym set is seen each epoch, not only those of concepts with relations (CODER never shows
  them). The synonym items are shuffled in with the triples rather than given batches of their own, so that
  every batch has the same make-up and the relation loss keeps a steady scale; they feed the MS loss (and the
  semantic-type loss) only;
- with `sampling="synonyms"` there are no triple items: every concept with two or more strings is a synonym item
  (SapBERT's set-up, for a graph whose concepts have few strings each: in HPO a triple's use_len is mostly 1, so
  the CODER items almost never put two synonyms of a concept in one batch and the MS loss has no positives);
- with `sampling="cortex"` (docs/algorithms/cortex.md §3) a synonym item also carries its concept's explanation (the
  graph's definition, `TrainingData.explanations`) as one more string with the concept's label, so the MS loss pairs
  term ↔ term, term ↔ explanation and explanation ↔ explanation; a concept with one string and an explanation is
  an item too;
- hard negatives (`set_partners`, fed by bios_kg.embed.coder.mining): each concept may have a partner, the nearest other
  concept under the current model; after a synonym item is taken, its partner's item joins the batch with
  probability `hard_fraction` (when it fits), so the MS miner meets the confusable concept in the same batch;
- `coder_exact=True` (the trainer's `preset="coder"`) samples as CODER's code does: triple items only (no synonym
  items), and the negative tails of triple item i are `use_len` successive concepts of a seeded shuffled concept
  list from position (i * max_terms) mod #concepts on, one random string each, the tail itself not excluded
  (CODER's `my_sample`); otherwise each negative tail is a uniformly drawn concept other than the tail;
- with `sampling="coderpp"` (CODER++'s sampler) every training string is an item, its group: the string, its
  GROUP_K nearest strings under the current model (`set_neighbours`, fed by bios_kg.embed.coder.mining; hard
  positives and
  negatives alike) and GROUP_K random strings of its concept, padded with the string itself; each string is
  labelled with its first concept (CODER++ gives each string one CUI);
- items are added to a batch until the next one would take it over `batch_size` strings;
- a batch lists all heads, then all tails, then all negative tails, then the synonym strings, then explanations.

Order and draws are seeded and resumable: epoch e visits the items in a permutation drawn from (seed, e); batch b
draws its strings from (seed, 1, b) and its partner coin flips from (seed, 2, b); CODER's shuffled concept list
is drawn from (seed, 3). The state is three integers
(epoch, position, batches) plus the partners and their fraction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from bios_kg.graph.errors import GraphError, ParameterError
from bios_kg.graph.queries.training import (
    TRAINING_DEFINITIONS,
    TRAINING_LINKED_CONCEPTS,
    TRAINING_SEMANTIC_TYPES,
    TRAINING_TERMS,
    TRAINING_TRIPLES,
)
from bios_kg.graph.store import GraphStore

# Cypher for the training data (to move to graph/queries.py). Filters travel as parameters; null = no filter.
# Lists are collected per concept (per head and type) because the driver's cost is per row: 1.3 M triples come
# back in 11 s as 174 k rows, in 19 s as 1.3 M rows.
MAX_TERMS = 8  # strings per concept per item (CODER's max_lui_per_cui)
GROUP_K = 30  # CODER++'s group: the anchor, its 30 nearest strings and 30 strings of its concept
Sampling = Literal["coder", "synonyms", "cortex", "coderpp"]


@dataclass(frozen=True)
class TrainingData:
    concept_ids: list[str]  # sorted
    texts: list[str]  # distinct training strings, sorted
    term_offsets: np.ndarray  # int64 [concepts + 1]: the strings of concept c are term_index[off[c]:off[c+1]]
    term_index: np.ndarray  # int32 indices into texts
    concept_types: np.ndarray  # int32 [concepts]: index into type_ids, -1 when the concept has none
    type_ids: list[str]
    heads: np.ndarray  # int32 [triples] concept indices
    relations: np.ndarray  # int32 [triples] indices into relation_ids
    tails: np.ndarray  # int32 [triples]
    relation_ids: list[str]
    explanations: list[str] | None = None  # per concept: its explanation ("" for none), for sampling="cortex"
    # int32 [pairs, 2]: concepts the graph links by XREF or IS_A, which hard-negative mining must not pair
    linked: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int32))

    @classmethod
    def from_rows(cls, terms: Iterable[tuple[str, str]], triples: Iterable[tuple[str, str, str]],
                  semantic_types: Iterable[tuple[str, str]], exclude_concepts: Collection[str] = (),
                  explanations: Iterable[tuple[str, str]] | None = None,
                  linked: Iterable[tuple[str, str]] = ()) -> TrainingData:
        """Build from (concept, text), (head, type, tail), (concept, type) and, optionally, (concept,
        explanation) rows.

        Held-out concepts (`exclude_concepts`) are dropped with every string they have, from every concept that
        shares it, so no string of a held-out concept is trained on; triples that touch them go too.
        """
        exclude = set(exclude_concepts)
        pairs: set[tuple[str, str]] = set()
        banned: set[str] = set()
        for concept, text in terms:
            text = text.strip()
            if not text:
                continue
            if concept in exclude:
                banned.add(text)
            else:
                pairs.add((concept, text))
        kept = sorted((concept, text) for concept, text in pairs if text not in banned)
        concept_ids = sorted({concept for concept, _ in kept})
        texts = sorted({text for _, text in kept})
        concept_of = {concept: index for index, concept in enumerate(concept_ids)}
        text_of = {text: index for index, text in enumerate(texts)}
        term_index = np.fromiter((text_of[text] for _, text in kept), dtype=np.int32, count=len(kept))
        counts = np.bincount(np.fromiter((concept_of[c] for c, _ in kept), dtype=np.int64, count=len(kept)),
                             minlength=len(concept_ids))
        term_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

        heads: list[int] = []
        tails: list[int] = []
        type_names: list[str] = []
        for head, rel_type, tail in triples:
            h, t = concept_of.get(head), concept_of.get(tail)
            if h is not None and t is not None and h != t:
                heads.append(h)
                tails.append(t)
                type_names.append(rel_type)
        relation_ids = sorted(set(type_names))
        relation_of = {name: index for index, name in enumerate(relation_ids)}
        head_array, tail_array = np.array(heads, dtype=np.int32), np.array(tails, dtype=np.int32)
        relation_array = np.array([relation_of[name] for name in type_names], dtype=np.int32)
        order = np.lexsort((tail_array, relation_array, head_array))

        assigned = {concept: sty for concept, sty in semantic_types if concept in concept_of}
        type_ids = sorted(set(assigned.values()))
        type_of = {sty: index for index, sty in enumerate(type_ids)}
        concept_types = np.full(len(concept_ids), -1, dtype=np.int32)
        for concept, sty in assigned.items():
            concept_types[concept_of[concept]] = type_of[sty]
        explained: list[str] | None = None
        if explanations is not None:
            by_concept = {concept: text.strip() for concept, text in explanations if concept in concept_of}
            explained = [by_concept.get(concept, "") for concept in concept_ids]
        linked_pairs = sorted({(concept_of[a], concept_of[b]) for a, b in linked
                               if a in concept_of and b in concept_of and a != b})
        return cls(concept_ids, texts, term_offsets, term_index, concept_types, type_ids, head_array[order],
                   relation_array[order], tail_array[order], relation_ids, explained,
                   np.array(linked_pairs, dtype=np.int32).reshape(-1, 2))

    @classmethod
    def from_graph(cls, store: GraphStore, languages: Sequence[str] | None = None,
                   sources: Sequence[str] | None = None, exclude_concepts: Collection[str] = (),
                   explanations: bool = False) -> TrainingData:
        """The training data of the graph; with `explanations`, each concept's definition as its explanation."""
        filters = {"languages": list(languages) if languages else None, "sources": list(sources) if sources else None}
        terms = ((str(c), str(text)) for c, texts in store.stream(TRAINING_TERMS, **filters) for text in texts)
        triples = ((str(h), str(r), str(t))
                   for h, r, tails in store.stream(TRAINING_TRIPLES, **filters) for t in tails)
        types = ((str(c), str(s)) for c, s in store.stream(TRAINING_SEMANTIC_TYPES))
        definitions = ((str(c), str(d)) for c, d in store.stream(TRAINING_DEFINITIONS)) \
            if explanations else None
        linked = ((str(a), str(b)) for a, b in store.stream(TRAINING_LINKED_CONCEPTS))
        data = cls.from_rows(terms, triples, types, exclude_concepts, definitions, linked)
        if len(data.concept_ids) < 2:
            raise GraphError(f"too little training data: {len(data.concept_ids)} concepts have terms with "
                             f"languages={filters['languages']} sources={filters['sources']}; need at least 2")
        return data

    def strings_of(self, concept: int) -> list[str]:
        return [self.texts[i] for i in self.term_index[self.term_offsets[concept]:self.term_offsets[concept + 1]]]

    def term_counts(self) -> np.ndarray:
        return np.diff(self.term_offsets)

    def summary(self) -> dict[str, int]:
        return {"concepts": len(self.concept_ids), "strings": len(self.texts), "concept_strings": len(self.term_index),
                "triples": len(self.heads), "relation_types": len(self.relation_ids),
                "semantic_types": len(self.type_ids)}

    def fingerprint(self) -> str:
        """SHA-256 of the whole data set: a checkpoint resumes only on the same data."""
        digest = hashlib.sha256()
        for table in (self.concept_ids, self.texts, self.type_ids, self.relation_ids):
            digest.update("\x1f".join(table).encode())
            digest.update(b"\x1e")
        for array in (self.term_offsets, self.term_index, self.concept_types, self.heads, self.relations, self.tails):
            digest.update(np.ascontiguousarray(array).tobytes())
        if self.explanations is not None:
            digest.update(b"\x1d" + "\x1f".join(self.explanations).encode())
        if len(self.linked):
            digest.update(b"\x1c" + np.ascontiguousarray(self.linked).tobytes())
        return digest.hexdigest()


@dataclass(frozen=True)
class CoderBatch:
    texts: list[str]
    concepts: np.ndarray  # int64 [strings]: concept index (the MS loss labels)
    types: np.ndarray  # int64 [strings]: semantic type index, -1 for none
    relations: np.ndarray  # int64 [pairs]: relation index of each (head, tail, negative tail)
    pairs: int  # texts[:p] heads, texts[p:2p] tails, texts[2p:3p] negative tails, then synonyms and explanations
    items: int


class CoderSampler:
    """An endless, seeded stream of CoderBatch (see the module docstring)."""

    def __init__(self, data: TrainingData, batch_size: int, seed: int = 72, max_terms: int = MAX_TERMS,
                 sampling: Sampling = "coder", coder_exact: bool = False) -> None:
        if batch_size < 3:
            raise ParameterError("batch_size", f"{batch_size} is too small: one triple item takes 3 strings")
        if max_terms < 1:
            raise ParameterError("max_terms", f"{max_terms} is not a positive integer")
        if sampling not in get_args(Sampling):
            raise ParameterError("sampling", f"{sampling!r} is not one of {', '.join(get_args(Sampling))}")
        if coder_exact and sampling != "coder":
            raise ParameterError("sampling", f"CODER's exact sampling is triple items: {sampling!r} is not 'coder'")
        self.data = data
        self.batch_size = batch_size
        self.seed = seed
        self.max_terms = max_terms
        self.coder_exact = coder_exact
        self.shuffled_concepts = np.random.default_rng((seed, 3)).permutation(len(data.concept_ids)) \
            if coder_exact else np.zeros(0, dtype=np.int64)
        if sampling == "cortex" and not (data.explanations and any(data.explanations)):
            raise GraphError("sampling 'cortex' needs explanations: no training concept has a definition")
        self.counts = data.term_counts()
        self.explained = np.array([bool(text) for text in data.explanations], dtype=bool) \
            if sampling == "cortex" and data.explanations else np.zeros(len(data.concept_ids), dtype=bool)
        self.sampling = sampling
        self.neighbours = np.zeros((0, 0), dtype=np.int64)
        self.triples = len(data.heads) if sampling == "coder" else 0
        triple_len = np.minimum(np.minimum(self.counts[data.heads], self.counts[data.tails]), max_terms)
        self.use_len = np.minimum(triple_len, batch_size // 3).astype(np.int64)[:self.triples]
        in_triples = np.zeros(len(data.concept_ids), dtype=bool)
        in_triples[data.heads[:self.triples]] = True
        in_triples[data.tails[:self.triples]] = True
        self.synonym_concepts = np.zeros(0, dtype=np.int64) if coder_exact or sampling == "coderpp" else \
            np.flatnonzero(~in_triples & (self.counts + self.explained >= 2))
        explanation = self.explained[self.synonym_concepts]
        # strings per synonym item: terms, plus the explanation, which takes one of the slots
        self.synonym_len = np.minimum(self.counts[self.synonym_concepts] + explanation, min(max_terms, batch_size))
        self.item_of = np.full(len(data.concept_ids), -1, dtype=np.int64)
        self.item_of[self.synonym_concepts] = self.triples + np.arange(len(self.synonym_concepts))
        self.partners = np.full(len(data.concept_ids), -1, dtype=np.int64)
        self.hard_fraction = 0.0
        self.items = self.triples + len(self.synonym_concepts)
        self.group = 0  # strings per CODER++ group
        if sampling == "coderpp":
            self.items = len(data.texts)
            self.group = 1 + min(GROUP_K, len(data.texts) - 1) + GROUP_K
            if batch_size < self.group:
                raise ParameterError("batch_size", f"{batch_size} is below one CODER++ group ({self.group} strings)")
            owners = np.repeat(np.arange(len(data.concept_ids)), self.counts)
            self.first_concept = np.full(len(data.texts), len(data.concept_ids), dtype=np.int64)
            np.minimum.at(self.first_concept, data.term_index, owners)
        if self.items == 0:
            raise GraphError("no training items: no concept–relation–concept triple between concepts with terms "
                             "and no concept with two or more terms")
        if len(data.concept_ids) < 2:
            raise GraphError("negative tails need at least 2 concepts with terms")
        self.epoch = 0
        self.position = 0
        self.batches = 0
        self._order: np.ndarray | None = None

    def state_dict(self) -> dict[str, Any]:
        state = {"epoch": self.epoch, "position": self.position, "batches": self.batches,
                 "partners": self.partners.tolist(), "hard_fraction": self.hard_fraction}
        return {**state, "neighbours": self.neighbours.tolist()} if self.sampling == "coderpp" else state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.position, self.batches = int(state["epoch"]), int(state["position"]), int(state["batches"])
        if "neighbours" in state:
            self.set_neighbours(np.asarray(state["neighbours"], dtype=np.int64).reshape(len(self.data.texts), -1))
        self.set_partners(np.asarray(state.get("partners", self.partners), dtype=np.int64),
                          float(state.get("hard_fraction", 0.0)))
        self._order = None

    def set_partners(self, partners: np.ndarray, hard_fraction: float) -> None:
        """Each concept's hard negative (-1: none) and the chance that it joins the batch after the concept."""
        if partners.shape != self.partners.shape:
            raise ParameterError("partners", f"{partners.shape} does not match {len(self.partners)} concepts")
        if not 0.0 <= hard_fraction <= 1.0:
            raise ParameterError("hard_fraction", f"must be between 0 and 1, got {hard_fraction}")
        self.partners = partners.astype(np.int64)
        self.hard_fraction = hard_fraction

    def set_neighbours(self, neighbours: np.ndarray) -> None:
        """Each training string's nearest other strings, best first, -1 for none (coderpp sampling)."""
        if neighbours.shape[0] != len(self.data.texts) or neighbours.shape[1] > self.group - 1 - GROUP_K:
            raise ParameterError("neighbours", f"{neighbours.shape} does not fit {len(self.data.texts)} strings")
        self.neighbours = neighbours.astype(np.int64)

    def _item_size(self, item: int) -> int:
        if self.sampling == "coderpp":
            return self.group
        triples = self.triples
        return int(3 * self.use_len[item]) if item < triples else int(self.synonym_len[item - triples])

    def _next_items(self) -> list[int]:
        """The items of the next batch, advancing epoch and position."""
        chosen: list[int] = []
        size = 0
        coins = np.random.default_rng((self.seed, 2, self.batches))
        while True:
            if self._order is None:
                self._order = np.random.default_rng((self.seed, 0, self.epoch)).permutation(self.items)
            item = int(self._order[self.position])
            item_size = self._item_size(item)
            if chosen and size + item_size > self.batch_size:
                return chosen
            chosen.append(item)
            size += item_size
            partner = self._partner_item(item)
            if partner >= 0 and partner not in chosen and coins.random() < self.hard_fraction \
                    and size + self._item_size(partner) <= self.batch_size:
                chosen.append(partner)
                size += self._item_size(partner)
            self.position += 1
            if self.position == self.items:
                self.epoch, self.position, self._order = self.epoch + 1, 0, None

    def _partner_item(self, item: int) -> int:
        if self.hard_fraction == 0.0 or item < self.triples:
            return -1
        partner = int(self.partners[self.synonym_concepts[item - self.triples]])
        return int(self.item_of[partner]) if partner >= 0 else -1

    def _strings(self, concept: int, k: int, rng: np.random.Generator) -> np.ndarray:
        start, count = self.data.term_offsets[concept], self.counts[concept]
        return self.data.term_index[start + rng.permutation(count)[:k]]

    def __iter__(self) -> Iterator[CoderBatch]:
        return self

    def __next__(self) -> CoderBatch:
        if self.sampling == "coderpp":
            return self._groups()
        items = self._next_items()
        rng = np.random.default_rng((self.seed, 1, self.batches))
        self.batches += 1
        data, triples = self.data, self.triples
        heads: list[np.ndarray] = []
        tails: list[np.ndarray] = []
        negatives: list[np.ndarray] = []
        synonyms: list[np.ndarray] = []
        explained: list[int] = []
        labels: list[list[np.ndarray]] = [[], [], [], [], []]  # concept of each string, per section
        relations: list[np.ndarray] = []
        for item in items:
            if item >= triples:
                concept = int(self.synonym_concepts[item - triples])
                k = int(self.synonym_len[item - triples]) - int(self.explained[concept])
                synonyms.append(self._strings(concept, k, rng))
                labels[3].append(np.full(k, concept))
                if self.explained[concept]:
                    explained.append(concept)
                continue
            head, tail, k = int(data.heads[item]), int(data.tails[item]), int(self.use_len[item])
            heads.append(self._strings(head, k, rng))
            tails.append(self._strings(tail, k, rng))
            negative = self._coder_negatives(item, k) if self.coder_exact else self._negative_concepts(tail, k, rng)
            offsets = data.term_offsets[negative] + rng.integers(0, self.counts[negative])
            negatives.append(data.term_index[offsets])
            labels[0].append(np.full(k, head))
            labels[1].append(np.full(k, tail))
            labels[2].append(negative)
            relations.append(np.full(k, data.relations[item]))
        strings = np.concatenate([*heads, *tails, *negatives, *synonyms]).astype(np.int64)
        labels[4].append(np.array(explained, dtype=np.int64))
        concepts = np.concatenate([part for section in labels for part in section]).astype(np.int64)
        pairs = sum(len(part) for part in heads)
        explanations = data.explanations or []
        return CoderBatch(texts=[data.texts[i] for i in strings] + [explanations[c] for c in explained],
                          concepts=concepts,
                          types=data.concept_types[concepts].astype(np.int64),
                          relations=np.concatenate(relations).astype(np.int64) if relations else np.zeros(0, np.int64),
                          pairs=pairs, items=len(items))

    def _groups(self) -> CoderBatch:
        """A batch of CODER++ groups (module docstring)."""
        if not self.neighbours.size:
            raise GraphError("coderpp sampling needs each string's mined neighbours (train with mine_every > 0)")
        items = self._next_items()
        rng = np.random.default_rng((self.seed, 1, self.batches))
        self.batches += 1
        strings: list[np.ndarray] = []
        for anchor in items:
            found = self.neighbours[anchor][self.neighbours[anchor] >= 0]
            synonyms = self._strings(int(self.first_concept[anchor]), GROUP_K, rng)
            padding = np.full(GROUP_K - len(synonyms), anchor)
            strings.append(np.concatenate([[anchor], found, synonyms, padding]).astype(np.int64))
        rows = np.concatenate(strings)
        concepts = self.first_concept[rows]
        return CoderBatch(texts=[self.data.texts[i] for i in rows], concepts=concepts,
                          types=self.data.concept_types[concepts].astype(np.int64),
                          relations=np.zeros(0, np.int64), pairs=0, items=len(items))

    def _coder_negatives(self, item: int, k: int) -> np.ndarray:
        """CODER's negative tail concepts of triple item `item`: k successive entries of the shuffled concept list."""
        return self.shuffled_concepts[(item * self.max_terms + np.arange(k)) % len(self.shuffled_concepts)]

    def _negative_concepts(self, tail: int, k: int, rng: np.random.Generator) -> np.ndarray:
        concepts = len(self.data.concept_ids)
        drawn = rng.integers(0, concepts, size=k)
        while (clash := drawn == tail).any():
            drawn[clash] = rng.integers(0, concepts, size=int(clash.sum()))
        return drawn
