"""A generated BIOS-format release (2022 pipe format, ENG/CHS) of any size, written in one stream.

Used by `bios sample generate` (a small demo graph before real sources are loaded) and by
benchmarks/ingest.py. Terms are pronounceable pseudo-words made from the concept number, so they are
distinct by construction; memory stays flat however large the release.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

_SYLLABLES = ["car", "di", "neu", "ro", "he", "pa", "to", "gas", "tri", "pul", "mo", "ne", "ren", "al", "os",
              "te", "my", "o", "der", "ma", "hem", "lym", "pho", "cy", "the", "ra", "pi", "ly", "sis", "ad"]
_HEADS = ["disease", "syndrome", "disorder", "carcinoma", "deficiency", "infection", "inhibitor", "protein",
          "receptor", "procedure", "finding", "structure"]
_HAN = "心肺肝肾脑血骨肌皮胃肠胰脾眼耳鼻喉神经炎症癌瘤病毒菌素酶蛋白受体综合征缺乏感染手术检查结构异常"
_SEMANTIC_TYPES = [
    ("T047", "Disease or Syndrome", "疾病或综合征"),
    ("T184", "Sign, Symptom, or Finding", "体征、症状或发现"),
    ("T121", "Chemical or Drug", "化学品或药物"),
    ("T023", "Anatomy", "解剖结构"),
    ("T061", "Therapeutic or Preventive Procedure", "治疗或预防程序"),
    ("T028", "Gene or Genome", "基因或基因组"),
]
_RELATIONS = [("1", "is_a", "是一种"), ("2", "reverse_is_a", "反向是一种"), ("3", "is_part_of", "是一部分"),
              ("4", "reverse_is_part_of", "反向是一部分"), ("5", "may_treat", "可能治疗"),
              ("6", "reverse_may_treat", "反向可能治疗"), ("11", "may_cause", "可能导致"),
              ("12", "reverse_may_cause", "反向可能导致")]


@dataclass(frozen=True)
class SyntheticSize:
    concepts: int = 100_000
    terms: int = 250_000
    relations: int = 200_000


def _word(number: int) -> str:
    parts = []
    number += len(_SYLLABLES)  # at least two syllables
    while number:
        number, digit = divmod(number, len(_SYLLABLES))
        parts.append(_SYLLABLES[digit])
    return "".join(parts)


def _han(number: int) -> str:
    parts = []
    number += len(_HAN)
    while number:
        number, digit = divmod(number, len(_HAN))
        parts.append(_HAN[digit])
    return "".join(parts)


def write_synthetic_bios_release(folder: Path, size: SyntheticSize = SyntheticSize(), seed: int = 7) -> dict[str, int]:
    """Write ConceptTerms, SemanticNetwork, SemanticTypes, RelationNames, Relations and Definitions.

    Returns the counts written: concept-term rows, type rows, relation rows and definition rows.
    """
    if size.concepts < 1 or size.terms < size.concepts or size.relations < 0:
        raise ValueError("need at least one concept and at least one term per concept")
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    extra = size.terms - size.concepts  # synonyms beyond one preferred term per concept
    sid = 0
    with (folder / "ConceptTerms.txt").open("w", encoding="utf-8") as terms, \
            (folder / "SemanticTypes.txt").open("w", encoding="utf-8") as types, \
            (folder / "Definitions.txt").open("w", encoding="utf-8") as definitions:
        for n in range(size.concepts):
            concept = f"CN{n:08d}"
            head = _HEADS[n % len(_HEADS)]
            word = _word(n)
            sid += 1
            terms.write(f"{concept}|S{sid:09d}|{word} {head}|ENG|PT\n")
            share = extra // size.concepts + (1 if n < extra % size.concepts else 0)
            for k in range(share):
                sid += 1
                if k == 0:
                    terms.write(f"{concept}|S{sid:09d}|{_han(n)}{'病' if head == 'disease' else '征'}|CHS|PT\n")
                elif k == 1:
                    terms.write(f"{concept}|S{sid:09d}|{word.upper()[:3]}{n}|ENG|AB\n")
                else:
                    terms.write(f"{concept}|S{sid:09d}|{head} of {word} type {k}|ENG|SY\n")
            styid, sty, _ = _SEMANTIC_TYPES[n % len(_SEMANTIC_TYPES)]
            types.write(f"{concept}|{styid}|{sty}\n")
            if n % 4 == 0:
                definitions.write(f"{concept}|ENG|A {head} affecting the {word} system.\n")
    with (folder / "SemanticNetwork.txt").open("w", encoding="utf-8") as network:
        for styid, name, name_zh in _SEMANTIC_TYPES:
            network.write(f"{styid}|ENG|{name}\n{styid}|CHS|{name_zh}\n")
    with (folder / "RelationNames.txt").open("w", encoding="utf-8") as names:
        for relid, name, name_zh in _RELATIONS:
            names.write(f"{relid}|ENG|{name}\n{relid}|CHS|{name_zh}\n")
    with (folder / "Relations.txt").open("w", encoding="utf-8") as relations:
        for r in range(size.relations):
            head_n, tail_n = rng.randrange(size.concepts), rng.randrange(size.concepts)
            if head_n == tail_n:
                tail_n = (tail_n + 1) % size.concepts
            relid, name, _ = _RELATIONS[rng.randrange(len(_RELATIONS))]
            relations.write(f"R{r:09d}|CN{head_n:08d}|CN{tail_n:08d}|{relid}|{name}\n")
    return {"concept_terms": sid, "concepts": size.concepts, "relations": size.relations,
            "definitions": (size.concepts + 3) // 4}
