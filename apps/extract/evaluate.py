"""`bios eval extract`: the extractor against a hand-annotated gold set and against MeSH indexing.

1. Gold set (benchmarks/gold/iu_xray_extract_gold.jsonl, guidelines beside it): sentences of the Indiana
   University chest X-ray reports, stored as report id + field + character offsets (the report text is
   CC BY-NC-ND and is read from the installed torchxrayvision package), each with its entities. The
   extractor runs on each sentence alone. Entities are matched one-to-one per sentence:
   - exact: the same (start, end);
   - overlap: spans sharing at least one character, the pairs with the longest overlap first;
   each with and without requiring the same semantic type (compared case-insensitively). Precision,
   recall and F1 are micro-averaged over entities. Assertion accuracy and the agreement of body location,
   modifier, value and unit are computed on the type-agnostic matches. Predicted entities of a type the
   gold does not annotate as entities (Anatomical Structure: a body location there) are left out.
2. MeSH agreement over all reports: a report's MeSH major headings ("Cardiomegaly/mild") give their head
   terms ("Cardiomegaly"; an inverted "Hernia, Hiatal" is also tried as "Hiatal Hernia"). A head maps to
   every graph concept holding it as an exact term (Term.norm), widened by their XREF neighbours; heads
   that map to none are counted and left out. A report indexed "normal" has no positive finding;
   "No Indexing" reports are skipped. The extractor's positive findings in FINDINGS and IMPRESSION are
   its present entities of a finding type linked to a concept (also widened by XREF). Per report, a
   heading is recalled when a positive finding's concepts meet its concepts; a finding is correct when it
   meets a heading's. Precision is given over all positive findings and over those in the MeSH
   vocabulary (concepts some heading of the corpus maps to), since MeSH indexes far fewer findings than
   reports name.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bios_kg.apps.extract.link import Linker
from bios_kg.apps.extract.pipeline import DEFAULT_BATCH, OFFLINE, Extractor, Note, extract_notes, open_extractor
from bios_kg.apps.normalize.normalizer import open_normalizer
from bios_kg.graph.errors import InputError, ParameterError
from bios_kg.graph.queries.lookup import LOOKUP_EXACT, XREF_NEIGHBOURS
from bios_kg.graph.results import write_results as write_result_files
from bios_kg.graph.store import GraphStore
from bios_kg.graph.text import normalize_term
from bios_kg.ingest.readers.iu_xray import FIELDS, Report, read_reports

DEFAULT_GOLD = Path("benchmarks/gold/iu_xray_extract_gold.jsonl")
DEFAULT_OUT = Path("benchmarks/results/extract_eval.json")
ASSERTIONS = ("present", "negated", "possible", "historical", "family")
NOT_ENTITIES = frozenset({"anatomical structure"})  # annotated as body locations in the gold
FINDING_TYPES = frozenset(name.casefold() for name in (  # GENIE's names and the graph's
    "Disease, Syndrome or Pathologic Function", "Sign, Symptom, or Finding", "Disease or Syndrome", "Finding",
    "Sign or Symptom", "Pathologic Function", "Neoplastic Process", "Injury or Poisoning", "Congenital Abnormality",
    "Anatomical Abnormality", "Acquired Abnormality"))
MESH_NORMAL = "normal"
MESH_SKIP = frozenset({"no indexing"})
REPORT_FIELDS = ("findings", "impression")
ATTRIBUTES = ("body_location", "modifier", "value", "unit")
EMPTY_MARKERS = frozenset({"", "null", "none", "not applicable", "n/a", "units: null"})
Mode = Literal["exact", "overlap"]

Extract = Callable[[Sequence[str]], list[list[dict[str, Any]]]]  # texts -> per text, entities of the output schema


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    phrase: str
    semantic_type: str | None
    assertion_status: str | None
    body_location: str | None = None
    modifier: str | None = None
    value: str | None = None
    unit: str | None = None


@dataclass(frozen=True)
class GoldSentence:
    id: str
    report: str
    field: str
    text: str
    entities: tuple[Entity, ...]


# --- gold set ----------------------------------------------------------------------------------------------------
def load_gold(path: Path, reports: Mapping[str, Report]) -> list[GoldSentence]:
    """The gold sentences, their text re-read from `reports`; InputError naming the line of a bad record or of
    a sentence or phrase whose offsets do not match the report text."""
    if not path.is_file():
        raise InputError(str(path), None, "no such file")
    sentences: list[GoldSentence] = []
    seen: set[str] = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            sentence = _gold_sentence(record, reports)
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(str(path), number, str(exc) if not isinstance(exc, KeyError) else
                             f"missing field {exc}") from exc
        if sentence.id in seen:
            raise InputError(str(path), number, f"duplicate sentence id {sentence.id!r}")
        seen.add(sentence.id)
        sentences.append(sentence)
    if not sentences:
        raise InputError(str(path), None, "no gold sentences")
    return sentences


def _gold_sentence(record: dict[str, Any], reports: Mapping[str, Report]) -> GoldSentence:
    report = reports.get(record["report"])
    if report is None:
        raise ValueError(f"report {record['report']!r} is not in the IU X-ray archive")
    if record["field"] not in FIELDS:
        raise ValueError(f"field {record['field']!r} is not one of {', '.join(FIELDS)}")
    start, end = int(record["start"]), int(record["end"])
    text = report.field(record["field"])[start:end]
    if not 0 <= start < end or hashlib.sha256(text.encode()).hexdigest()[:16] != record["text_sha256"]:
        raise ValueError(f"sentence {start}:{end} of {record['report']} {record['field']} is not the annotated "
                         "text (its text_sha256 differs)")
    entities = []
    for entity in record["entities"]:
        e_start, e_end = int(entity["start"]), int(entity["end"])
        if text[e_start:e_end] != entity["phrase"] or not 0 <= e_start < e_end:
            raise ValueError(f"entity {entity['phrase']!r} at {e_start}:{e_end} does not match the sentence text "
                             f"{text[max(e_start, 0):max(e_end, 0)]!r}")
        if entity["assertion_status"] not in ASSERTIONS:
            raise ValueError(f"assertion_status {entity['assertion_status']!r} is not one of {', '.join(ASSERTIONS)}")
        entities.append(Entity(e_start, e_end, entity["phrase"], entity["semantic_type"], entity["assertion_status"],
                               *(_empty(entity.get(name)) for name in ATTRIBUTES)))
    return GoldSentence(str(record["id"]), report.id, record["field"], text, tuple(entities))


def _empty(value: Any) -> str | None:
    """An attribute as text, None for the empty markers ("null", "not applicable", …)."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text.casefold() in EMPTY_MARKERS else text


def predicted_entities(raw: Iterable[dict[str, Any]]) -> tuple[list[Entity], int]:
    """The extractor's entities that the gold could hold (offsets given, type not skipped), and how many lacked
    offsets (they can match nothing)."""
    kept: list[Entity] = []
    without_offsets = 0
    for entity in raw:
        if (entity.get("semantic_type") or "").casefold() in NOT_ENTITIES:
            continue
        if not isinstance(entity.get("start"), int) or not isinstance(entity.get("end"), int):
            without_offsets += 1
            continue
        kept.append(Entity(entity["start"], entity["end"], str(entity.get("phrase") or ""),
                           entity.get("semantic_type"), entity.get("assertion_status"),
                           *(_empty(entity.get(name)) for name in ATTRIBUTES)))
    return kept, without_offsets


# --- metrics -----------------------------------------------------------------------------------------------------
def match_entities(gold: Sequence[Entity], predicted: Sequence[Entity], mode: Mode = "exact",
                   same_type: bool = False) -> list[tuple[int, int]]:
    """One-to-one (gold index, predicted index) pairs: equal spans (exact) or the longest overlaps first
    (overlap; ties to the closer start, then in order); with same_type the semantic types must agree."""
    candidates = []
    for i, g in enumerate(gold):
        for j, p in enumerate(predicted):
            if same_type and (g.semantic_type or "").casefold() != (p.semantic_type or "").casefold():
                continue
            shared = min(g.end, p.end) - max(g.start, p.start)
            if (mode == "exact" and (g.start, g.end) == (p.start, p.end)) or (mode == "overlap" and shared > 0):
                candidates.append((-shared, abs(g.start - p.start), i, j))
    pairs: list[tuple[int, int]] = []
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    for _, _, i, j in sorted(candidates):
        if i not in used_gold and j not in used_pred:
            used_gold.add(i)
            used_pred.add(j)
            pairs.append((i, j))
    return sorted(pairs)


def prf(true_positives: int, predicted: int, gold: int) -> dict[str, float | int]:
    """Precision, recall and F1 (0 where undefined) with the counts they come from."""
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"tp": true_positives, "predicted": predicted, "gold": gold, "precision": round(precision, 4),
            "recall": round(recall, 4), "f1": round(f1, 4)}


def same_attribute(gold: str | None, predicted: str | None) -> bool:
    """Attribute agreement: both empty, equal numbers, or equal normalized text."""
    if gold is None or predicted is None:
        return gold is None and predicted is None
    try:
        return float(gold) == float(predicted)
    except ValueError:
        return normalize_term(gold) == normalize_term(predicted)


def entity_scores(gold: Sequence[Sequence[Entity]], predicted: Sequence[Sequence[Entity]]) -> dict[str, Any]:
    """Entity P/R/F1 per match mode with and without the type, and on the type-agnostic matches of each mode the
    assertion accuracy (with its confusion counts, gold -> predicted) and the attribute agreement."""
    if len(gold) != len(predicted):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold sentences")
    n_gold = sum(len(g) for g in gold)
    n_pred = sum(len(p) for p in predicted)
    result: dict[str, Any] = {}
    for mode in ("exact", "overlap"):
        for same_type in (False, True):
            tp = sum(len(match_entities(g, p, mode, same_type)) for g, p in zip(gold, predicted, strict=True))
            result[f"{mode}{'_typed' if same_type else ''}"] = prf(tp, n_pred, n_gold)
        pairs = [(g[i], p[j]) for g, p in zip(gold, predicted, strict=True) for i, j in match_entities(g, p, mode)]
        confusion = Counter(f"{a.assertion_status}->{b.assertion_status}" for a, b in pairs)
        result[f"{mode}_assertion"] = {
            "matched": len(pairs),
            "accuracy": round(sum(a.assertion_status == b.assertion_status for a, b in pairs) / len(pairs), 4)
            if pairs else 0.0,
            "confusion": dict(sorted(confusion.items()))}
        result[f"{mode}_attributes"] = {
            name: round(sum(same_attribute(getattr(a, name), getattr(b, name)) for a, b in pairs) / len(pairs), 4)
            if pairs else 0.0 for name in ATTRIBUTES}
    return result


def per_assertion(gold: Sequence[Sequence[Entity]], predicted: Sequence[Sequence[Entity]]) -> dict[str, Any]:
    """Overlap-match P/R/F1 of the entities of each assertion status (an entity is right when it overlaps one of
    the same status)."""
    result = {}
    for status in ASSERTIONS:
        g_status = [[e for e in g if e.assertion_status == status] for g in gold]
        p_status = [[e for e in p if e.assertion_status == status] for p in predicted]
        tp = sum(len(match_entities(g, p, "overlap")) for g, p in zip(g_status, p_status, strict=True))
        result[status] = prf(tp, sum(map(len, p_status)), sum(map(len, g_status)))
    return result


# --- MeSH agreement ----------------------------------------------------------------------------------------------
def mesh_head(heading: str) -> str:
    """The head term of a MeSH heading as indexed: "Opacity/lung/base/left" -> "Opacity"."""
    return heading.split("/", 1)[0].strip()


def head_variants(head: str) -> list[str]:
    """The head and, for an inverted heading ("Hernia, Hiatal"), its natural order ("Hiatal Hernia")."""
    parts = [part.strip() for part in head.split(",")]
    return [head, f"{parts[1]} {parts[0]}"] if len(parts) == 2 and all(parts) else [head]


def report_headings(report: Report) -> set[str] | None:
    """The distinct head terms of a report's findings; empty for a "normal" report, None for a skipped one."""
    heads = {mesh_head(heading) for heading in report.mesh_major}
    if not heads or {head.casefold() for head in heads} & MESH_SKIP:
        return None
    return {head for head in heads if head.casefold() != MESH_NORMAL}


def mesh_agreement(headings: Mapping[str, set[str] | None], findings: Mapping[str, set[str]],
                   head_concepts: Mapping[str, frozenset[str]],
                   concept_keys: Mapping[str, frozenset[str]]) -> dict[str, Any]:
    """Report-level agreement of positive findings with MeSH.

    headings: report -> head terms (None: skipped); findings: report -> concept ids of its positive findings;
    head_concepts: head -> its concepts, XREF-widened (empty when it maps to none); concept_keys: finding
    concept -> itself and its XREF neighbours.
    """
    vocabulary = frozenset().union(*head_concepts.values()) if head_concepts else frozenset()
    counts: Counter[str] = Counter()
    for report, heads in headings.items():
        if heads is None:
            counts["skipped_reports"] += 1
            continue
        counts["reports"] += 1
        mapped = [head_concepts.get(head, frozenset()) for head in heads]
        mapped = [concepts for concepts in mapped if concepts]
        counts["headings"] += len(heads)
        counts["mapped_headings"] += len(mapped)
        found = [concept_keys.get(concept, frozenset({concept})) for concept in findings.get(report, set())]
        in_vocabulary = [keys for keys in found if keys & vocabulary]
        counts["findings"] += len(found)
        counts["findings_in_vocabulary"] += len(in_vocabulary)
        counts["recalled_headings"] += sum(any(keys & concepts for keys in found) for concepts in mapped)
        counts["correct_findings"] += sum(any(keys & concepts for concepts in mapped) for keys in found)
        if not heads:
            counts["normal_reports"] += 1
            counts["normal_without_findings"] += not found
            counts["normal_without_vocabulary_findings"] += not in_vocabulary
    heads_all = {head for heads in headings.values() if heads for head in heads}
    return {
        "reports": counts["reports"], "skipped_reports": counts["skipped_reports"],
        "distinct_heads": len(heads_all), "mapped_distinct_heads": sum(bool(head_concepts.get(h)) for h in heads_all),
        "headings": counts["headings"], "mapped_headings": counts["mapped_headings"],
        "positive_findings": counts["findings"], "positive_findings_in_vocabulary": counts["findings_in_vocabulary"],
        "recall": _ratio(counts["recalled_headings"], counts["mapped_headings"]),
        "precision": _ratio(counts["correct_findings"], counts["findings"]),
        "precision_in_vocabulary": _ratio(counts["correct_findings"], counts["findings_in_vocabulary"]),
        "normal_reports": counts["normal_reports"],
        "normal_without_findings": _ratio(counts["normal_without_findings"], counts["normal_reports"]),
        "normal_without_vocabulary_findings": _ratio(counts["normal_without_vocabulary_findings"],
                                                     counts["normal_reports"]),
    }


def _ratio(numerator: int, denominator: int) -> float:
    return round(numerator / denominator, 4) if denominator else 0.0


def positive_findings(entities: Iterable[dict[str, Any]]) -> set[str]:
    """Concept ids of the present, linked entities of a finding type."""
    return {str(e["concept_id"]) for e in entities
            if e.get("assertion_status") == "present" and e.get("concept_id")
            and (e.get("semantic_type") or "").casefold() in FINDING_TYPES}


def graph_head_concepts(store: GraphStore, heads: Iterable[str]) -> dict[str, frozenset[str]]:
    """Head term -> the concepts holding it (or its natural order) as an exact term, XREF-widened."""
    result = {}
    for head in sorted(set(heads)):
        ids = {row["id"] for variant in head_variants(head)
               for row in store.run(LOOKUP_EXACT, norm=normalize_term(variant), lang="en", limit=1000)}
        result[head] = frozenset(ids | _neighbours(store, ids))
    return result


def graph_concept_keys(store: GraphStore, concepts: Iterable[str]) -> dict[str, frozenset[str]]:
    """Concept -> itself and its XREF neighbours."""
    return {concept: frozenset({concept} | _neighbours(store, {concept})) for concept in sorted(set(concepts))}


def _neighbours(store: GraphStore, ids: set[str]) -> set[str]:
    return {row["id"] for row in store.run(XREF_NEIGHBOURS, ids=sorted(ids))} if ids else set()


# --- the evaluation job ------------------------------------------------------------------------------------------
def check_max_reports(max_reports: int | None) -> None:
    if max_reports is not None and max_reports < 1:
        raise ParameterError("max_reports", f"must be at least 1, got {max_reports}")


def evaluate_gold(extract: Extract, gold: Sequence[GoldSentence]) -> dict[str, Any]:
    """Entity and assertion scores of `extract` on the gold sentences (each extracted alone)."""
    started = time.perf_counter()
    raw = extract([sentence.text for sentence in gold])
    seconds = time.perf_counter() - started
    predicted, without_offsets = [], 0
    for entities in raw:
        kept, missing = predicted_entities(entities)
        predicted.append(kept)
        without_offsets += missing
    gold_entities = [sentence.entities for sentence in gold]
    return {"sentences": len(gold), "gold_entities": sum(map(len, gold_entities)),
            "predicted_entities": sum(map(len, predicted)), "predicted_without_offsets": without_offsets,
            "seconds": round(seconds, 2), **entity_scores(gold_entities, predicted),
            "per_assertion_overlap": per_assertion(gold_entities, predicted)}


def evaluate_mesh(store: GraphStore, extract: Extract, reports: Sequence[Report], batch_size: int = 64,
                  progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """MeSH agreement of the positive findings `extract` gives in FINDINGS and IMPRESSION of `reports`."""
    headings = {report.id: report_headings(report) for report in reports}
    findings: dict[str, set[str]] = defaultdict(set)
    started = time.perf_counter()
    for start in range(0, len(reports), batch_size):
        chunk = [(report.id, report.field(name)) for report in reports[start:start + batch_size]
                 for name in REPORT_FIELDS if report.field(name)]
        for (report_id, _), entities in zip(chunk, extract([text for _, text in chunk]), strict=True):
            findings[report_id] |= positive_findings(entities)
        if progress is not None:
            progress(min(start + batch_size, len(reports)))
    seconds = time.perf_counter() - started
    head_concepts = graph_head_concepts(store, {head for heads in headings.values() if heads for head in heads})
    concept_keys = graph_concept_keys(store, {concept for found in findings.values() for concept in found})
    return {**mesh_agreement(headings, findings, head_concepts, concept_keys), "seconds": round(seconds, 2)}


def results_table(result: dict[str, Any]) -> str:
    """The markdown table of a results document."""
    gold = result["gold"]
    lines = [f"# Extraction evaluation (backend {result['backend']})", "",
             f"Gold: {gold['sentences']} sentences, {gold['gold_entities']} entities "
             f"({result['gold_file']}); predicted {gold['predicted_entities']}.", "",
             "| match | precision | recall | F1 |", "|---|---|---|---|"]
    for key in ("exact", "exact_typed", "overlap", "overlap_typed"):
        row = gold[key]
        lines.append(f"| {key.replace('_typed', ' + same type')} | {row['precision']:.3f} | {row['recall']:.3f} "
                     f"| {row['f1']:.3f} |")
    lines += ["", "| on matches | matched | assertion acc. | " + " | ".join(ATTRIBUTES) + " |",
              "|---|---|---|" + "---|" * len(ATTRIBUTES)]
    for mode in ("exact", "overlap"):
        assertion, attributes = gold[f"{mode}_assertion"], gold[f"{mode}_attributes"]
        lines.append(f"| {mode} | {assertion['matched']} | {assertion['accuracy']:.3f} | "
                     + " | ".join(f"{attributes[name]:.3f}" for name in ATTRIBUTES) + " |")
    mesh = result.get("mesh")
    if mesh:
        lines += ["", f"MeSH agreement over {mesh['reports']} reports ({mesh['skipped_reports']} skipped): "
                  f"{mesh['mapped_distinct_heads']} of {mesh['distinct_heads']} head terms map to graph concepts "
                  f"({mesh['mapped_headings']} of {mesh['headings']} report headings).", "",
                  "| recall | precision | precision in MeSH vocabulary | normal reports without positive findings |",
                  "|---|---|---|---|",
                  f"| {mesh['recall']:.3f} | {mesh['precision']:.3f} | {mesh['precision_in_vocabulary']:.3f} "
                  f"| {mesh['normal_without_findings']:.3f} ({mesh['normal_reports']} reports) |"]
    return "\n".join(lines) + "\n"


def write_results(result: dict[str, Any], out: Path = DEFAULT_OUT) -> tuple[Path, Path]:
    return write_result_files(result, out, results_table(result))


def extract_function(extractor: Extractor, linker: Linker | None = None, batch_size: int = DEFAULT_BATCH) -> Extract:
    """`extractor` (and `linker`) as an Extract: texts -> per text, entity dicts of the output schema."""
    def extract(texts: Sequence[str]) -> list[list[dict[str, Any]]]:
        notes = [Note(str(i), text) for i, text in enumerate(texts)]
        return [result.line()["entities"] for result in extract_notes(notes, extractor, linker, batch_size)]

    return extract


def evaluate(store: GraphStore, backend: str | None = OFFLINE, gold_path: Path = DEFAULT_GOLD, mesh: bool = False,
             max_reports: int | None = None, vector: bool = False,
             progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """The gold-set scores of the extractor `backend` (None: the configured LLM, else offline) and, with `mesh`,
    its MeSH agreement over the reports (the first `max_reports`, or all), linking through the normalizer."""
    check_max_reports(max_reports)
    reports = list(read_reports())
    gold = load_gold(gold_path, {report.id: report for report in reports})
    extractor = open_extractor(store, backend)
    result: dict[str, Any] = {"backend": extractor.name, "gold_file": str(gold_path),
                              "gold": evaluate_gold(extract_function(extractor), gold)}
    if mesh:
        chosen = reports[:max_reports] if max_reports else reports
        linker = Linker(open_normalizer(store, vector=vector))
        result["mesh"] = evaluate_mesh(store, extract_function(extractor, linker), chosen,
                                       progress=(lambda done: progress(done, len(chosen))) if progress else None)
        result["mesh"]["linking"] = linker.normalizer.methods
    return result
