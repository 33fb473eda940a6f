"""Extraction metrics against hand-computed values, the MeSH agreement, and the gold set read against the real
IU X-ray reports (its offsets and hashes must match the installed package)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bios_kg.apps.extract.evaluate import (
    DEFAULT_GOLD,
    Entity,
    entity_scores,
    evaluate_gold,
    head_variants,
    load_gold,
    match_entities,
    mesh_agreement,
    mesh_head,
    per_assertion,
    positive_findings,
    predicted_entities,
    prf,
    report_headings,
    results_table,
    same_attribute,
)
from bios_kg.graph.errors import InputError
from bios_kg.ingest.readers.iu_xray import Report, read_reports

D = "Disease, Syndrome or Pathologic Function"
F = "Sign, Symptom, or Finding"


def e(start: int, end: int, semantic_type: str = D, status: str = "present", **attributes: str | None) -> Entity:
    return Entity(start, end, "x" * (end - start), semantic_type, status, **attributes)


def report(id_: str, *mesh: str) -> Report:
    return Report(id=id_, comparison="", indication="", findings="", impression="", mesh_major=mesh,
                  mesh_automatic=())


@pytest.fixture(scope="module")
def reports() -> dict[str, Report]:
    return {r.id: r for r in read_reports()}


def test_prf() -> None:
    assert prf(2, 4, 5) == {"tp": 2, "predicted": 4, "gold": 5, "precision": 0.5, "recall": 0.4, "f1": 0.4444}
    assert prf(0, 0, 3)["f1"] == 0.0 and prf(0, 2, 0)["recall"] == 0.0


def test_match_entities() -> None:
    gold = [e(0, 10), e(12, 20, F), e(30, 40)]
    predicted = [e(0, 10, F), e(14, 25, F), e(5, 11), e(45, 50)]
    assert match_entities(gold, predicted, "exact") == [(0, 0)]
    assert match_entities(gold, predicted, "exact", same_type=True) == []
    # overlaps: g0-p0 10, g0-p2 5, g1-p1 6; each side used once, longest first
    assert match_entities(gold, predicted, "overlap") == [(0, 0), (1, 1)]
    assert match_entities(gold, predicted, "overlap", same_type=True) == [(0, 2), (1, 1)]
    # touching spans do not overlap
    assert match_entities([e(0, 5)], [e(5, 9)], "overlap") == []
    # equal overlap: the closer start wins
    assert match_entities([e(0, 4), e(4, 8)], [e(2, 6)], "overlap") == [(0, 0)]


def test_entity_scores_by_hand() -> None:
    gold = [[e(0, 10, status="negated"), e(12, 20, F, body_location="Right lower lobe")],
            [e(3, 9, value="5", unit="mm")]]
    predicted = [[e(0, 10, F, status="negated"), e(13, 20, F, status="possible", body_location="right lower lobe")],
                 [e(3, 9, value="5.0", unit="cm"), e(20, 25)]]
    scores = entity_scores(gold, predicted)
    # exact: (0,10) and (3,9) -> 2 of 4 predicted, 2 of 3 gold; typed exact: only (3,9)
    assert scores["exact"] == prf(2, 4, 3) and scores["exact"]["f1"] == 0.5714
    assert scores["exact_typed"] == prf(1, 4, 3)
    # overlap: all three gold entities; typed: not (0,10), a disease predicted as a finding
    assert scores["overlap"] == prf(3, 4, 3) and scores["overlap_typed"] == prf(2, 4, 3)
    assert scores["exact_assertion"] == {"matched": 2, "accuracy": 1.0,
                                         "confusion": {"negated->negated": 1, "present->present": 1}}
    assert scores["overlap_assertion"]["accuracy"] == 0.6667
    assert scores["overlap_assertion"]["confusion"]["present->possible"] == 1
    # attributes on the 3 overlap matches: body location 3/3 (two empty, one equal after normalization),
    # value 3/3 (5 == 5.0), unit 2/3 (mm vs cm)
    assert scores["overlap_attributes"] == {"body_location": 1.0, "modifier": 1.0, "value": 1.0, "unit": 0.6667}
    with pytest.raises(ValueError, match="1 predictions for 2 gold"):
        entity_scores(gold, predicted[:1])


def test_per_assertion() -> None:
    gold = [[e(0, 5, status="negated"), e(6, 9)]]
    predicted = [[e(0, 5, status="present"), e(6, 9), e(10, 12, status="negated")]]
    result = per_assertion(gold, predicted)
    assert result["present"] == prf(1, 2, 1)
    assert result["negated"] == prf(0, 1, 1)
    assert result["family"] == prf(0, 0, 0)


def test_attributes_and_predicted_entities() -> None:
    assert same_attribute(None, None) and same_attribute("1.30", "1.3") and same_attribute("Left-Lung", "left lung")
    assert not same_attribute("left", None) and not same_attribute("5.8 x 6.0", "5.8")
    raw: list[dict[str, Any]] = [
        {"phrase": "lung", "start": 0, "end": 4, "semantic_type": "Anatomical Structure"},
        {"phrase": "effusion", "start": None, "end": None, "semantic_type": D},
        {"phrase": "nodule", "start": 5, "end": 11, "semantic_type": F, "assertion_status": "present",
         "body_location": "null", "unit": "not applicable", "value": 7.0},
    ]
    kept, without_offsets = predicted_entities(raw)
    assert without_offsets == 1
    assert kept == [Entity(5, 11, "nodule", F, "present", None, None, "7.0", None)]


def test_mesh_headings() -> None:
    assert mesh_head("Opacity/lung/base/left") == "Opacity"
    assert head_variants("Hernia, Hiatal") == ["Hernia, Hiatal", "Hiatal Hernia"]
    assert head_variants("Pulmonary Disease, Chronic Obstructive") == [
        "Pulmonary Disease, Chronic Obstructive", "Chronic Obstructive Pulmonary Disease"]
    assert head_variants("Cardiomegaly") == ["Cardiomegaly"]
    assert report_headings(report("a", "normal")) == set()
    assert report_headings(report("b", "No Indexing")) is None and report_headings(report("c")) is None
    assert report_headings(report("d", "Cardiomegaly/mild", "Cardiomegaly", "Lung/hypoinflation")) == {
        "Cardiomegaly", "Lung"}


def test_mesh_agreement_by_hand() -> None:
    headings = {"r1": {"Cardiomegaly", "Opacity"}, "r2": set(), "r3": set(), "r4": None, "r5": {"Pneumothorax"}}
    head_concepts = {"Cardiomegaly": frozenset({"HP:1", "ICD:1"}), "Opacity": frozenset(),
                     "Pneumothorax": frozenset({"HP:2"})}
    findings = {"r1": {"ICD:1", "HP:9"}, "r2": {"HP:2"}, "r3": {"HP:8"}, "r4": {"HP:1"}, "r5": {"CM:2"}}
    keys = {"ICD:1": frozenset({"ICD:1"}), "HP:9": frozenset({"HP:9"}), "HP:2": frozenset({"HP:2"}),
            "HP:8": frozenset({"HP:8"}), "CM:2": frozenset({"CM:2", "HP:2"})}  # CM:2 is an XREF of HP:2
    result = mesh_agreement(headings, findings, head_concepts, keys)
    # r4 skipped; mapped headings: Cardiomegaly (r1, found via ICD:1) and Pneumothorax (r5, found via CM:2's xref)
    assert result["reports"] == 4 and result["skipped_reports"] == 1
    assert (result["headings"], result["mapped_headings"]) == (3, 2)
    assert (result["distinct_heads"], result["mapped_distinct_heads"]) == (3, 2)
    assert result["recall"] == 1.0
    # findings: r1 ICD:1 right, HP:9 wrong; r2 HP:2 wrong (normal report); r3 HP:8 wrong; r5 CM:2 right -> 2/5
    assert (result["positive_findings"], result["precision"]) == (5, 0.4)
    # in the MeSH vocabulary {HP:1, ICD:1, HP:2}: ICD:1, HP:2 (r2), CM:2 -> 2 right of 3
    assert (result["positive_findings_in_vocabulary"], result["precision_in_vocabulary"]) == (3, 0.6667)
    # normal reports r2 (a vocabulary finding) and r3 (a finding outside it)
    assert result["normal_reports"] == 2
    assert result["normal_without_findings"] == 0.0 and result["normal_without_vocabulary_findings"] == 0.5


def test_positive_findings() -> None:
    entities: list[dict[str, Any]] = [{"concept_id": "HP:1", "assertion_status": "present", "semantic_type": F},
                {"concept_id": "HP:2", "assertion_status": "negated", "semantic_type": F},
                {"concept_id": None, "assertion_status": "present", "semantic_type": D},
                {"concept_id": "X:1", "assertion_status": "present", "semantic_type": "Medical Device"},
                {"concept_id": "HP:3", "assertion_status": "present", "semantic_type": "disease or syndrome"}]
    assert positive_findings(entities) == {"HP:1", "HP:3"}


def test_gold_set_matches_the_package(reports: dict[str, Report]) -> None:
    gold = load_gold(DEFAULT_GOLD, reports)
    assert len(gold) >= 60 and len({s.id for s in gold}) == len(gold)
    entities = [entity for sentence in gold for entity in sentence.entities]
    assert len(entities) == 113
    assert {entity.assertion_status for entity in entities} == {"present", "negated", "possible", "historical"}
    for sentence in gold:
        for entity in sentence.entities:
            assert sentence.text[entity.start:entity.end] == entity.phrase
    # the gold scored against itself is perfect; an extractor that finds nothing scores 0
    perfect = evaluate_gold(lambda texts: [[{**vars(en), "semantic_type": en.semantic_type} for en in s.entities]
                                           for s in gold], gold)
    assert perfect["exact_typed"]["f1"] == 1.0 and perfect["overlap_assertion"]["accuracy"] == 1.0
    empty = evaluate_gold(lambda texts: [[] for _ in texts], gold)
    assert empty["overlap"] == prf(0, 0, 113)
    table = results_table({"backend": "test", "gold_file": str(DEFAULT_GOLD), "gold": perfect})
    assert "| exact + same type | 1.000 | 1.000 | 1.000 |" in table


def test_gold_errors_name_the_line(tmp_path: Path, reports: dict[str, Report]) -> None:
    first = json.loads(DEFAULT_GOLD.read_text(encoding="utf-8").splitlines()[0])

    def check(record: dict[str, Any], message: str) -> None:
        path = tmp_path / "gold.jsonl"
        path.write_text(json.dumps(first) + "\n\n" + json.dumps(record) + "\n", encoding="utf-8")
        with pytest.raises(InputError, match=rf"gold\.jsonl:3: {message}"):
            load_gold(path, reports)

    check({**first, "start": first["start"] + 1}, "sentence .* is not the annotated text")
    moved = {**first["entities"][0], "start": first["entities"][0]["start"] + 1}
    check({**first, "id": "b", "entities": [moved]}, "entity 'metastatic disease' at 29:46 does not match")
    check({**first, "id": "b", "entities": [{**moved, "start": moved["start"] - 1, "assertion_status": "absent"}]},
          "assertion_status 'absent'")
    check({**first, "id": "b", "report": "CXR0"}, "report 'CXR0' is not in the IU X-ray archive")
    check({**first, "id": "b", "field": "history"}, "field 'history'")
    check({k: v for k, v in first.items() if k != "text_sha256"} | {"id": "b"}, "missing field 'text_sha256'")
    check(first, "duplicate sentence id 'iu001'")
    with pytest.raises(InputError, match="no such file"):
        load_gold(tmp_path / "absent.jsonl", reports)
