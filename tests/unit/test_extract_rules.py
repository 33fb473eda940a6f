"""The offline extractor's rules (assertion, values and units, modifiers, laterality), its offset-keeping text
normalization, and dictionary matching on a dictionary built from hand-written term rows (no database)."""

from __future__ import annotations

import pytest

from bios_kg.apps.extract import rules
from bios_kg.apps.extract.offline import OfflineExtractor, dictionary_from_rows, english_plural
from bios_kg.graph.text import normalize_term


def spans_of(text: str, *phrases: str) -> list[tuple[int, int]]:
    return [(text.index(p), text.index(p) + len(p)) for p in phrases]


@pytest.mark.parametrize("text", [
    "Pleural-Effusion,  noted.", "No acute disease. 1.5 cm nodule", "ＡＢＣ full width", "(e.g.) Type 2 DM/CAD",
    "患者否认高血压、糖尿病病史。", "  leading\tand\ntrailing  ", "Straße ﬁbrosis", "x.y 3. 4.5.6",
])
def test_normalization_keeps_offsets_and_agrees_with_term_norm(text: str) -> None:
    norm, offsets = rules.normalize_with_offsets(text)
    assert norm.strip() == normalize_term(text)
    assert len(offsets) == len(norm) and offsets == sorted(offsets)
    for ch, offset in zip(norm, offsets, strict=True):
        if ch != " ":
            assert ch in normalize_term(text[offset]) or ch in text[offset].casefold()


@pytest.mark.parametrize(("text", "phrases", "expected"), [
    ("No pneumothorax or pleural effusion.", ("pneumothorax", "pleural effusion"), ["negated", "negated"]),
    ("The patient denies chest pain but reports nausea.", ("chest pain", "nausea"), ["negated", "present"]),
    ("Possible left lower lobe pneumonia.", ("pneumonia",), ["possible"]),
    ("Atelectasis versus pneumonia.", ("Atelectasis", "pneumonia"), ["possible", "possible"]),
    ("Pneumonia cannot be excluded.", ("Pneumonia",), ["possible"]),
    ("Pneumothorax is not seen.", ("Pneumothorax",), ["negated"]),
    ("History of hypertension. Mother had breast cancer.", ("hypertension", "breast cancer"),
     ["historical", "family"]),
    ("No change in the cardiomegaly.", ("cardiomegaly",), ["present"]),  # pseudo-trigger
    ("No fever. Cough for two days.", ("fever", "Cough"), ["negated", "present"]),  # sentence end
    ("No effusion with mild cardiomegaly.", ("effusion", "cardiomegaly"), ["negated", "present"]),  # termination
    ("No history of diabetes.", ("diabetes",), ["negated"]),  # negated wins over historical
    ("Status post appendectomy.", ("appendectomy",), ["historical"]),
    ("患者否认高血压、糖尿病病史。", ("高血压", "糖尿病"), ["negated", "negated"]),
    ("无明显诱因出现发热，咳嗽。", ("发热", "咳嗽"), ["present", "present"]),  # 无明显诱因 is a pseudo-trigger
    ("无发热，有咳嗽。", ("发热", "咳嗽"), ["negated", "present"]),  # the comma ends the scope
    ("双肺未闻及干湿啰音。", ("干湿啰音",), ["negated"]),
    ("考虑社区获得性肺炎。肺结核待排。", ("社区获得性肺炎", "肺结核"), ["possible", "possible"]),
    ("既往高血压10年。其母有糖尿病。", ("高血压", "糖尿病"), ["historical", "family"]),
    ("乙肝表面抗原阴性。", ("乙肝表面抗原",), ["negated"]),
    ("患者乏力无力。", ("无力",), ["present"]),  # a trigger inside an entity is no trigger
])
def test_assertion_status(text: str, phrases: tuple[str, ...], expected: list[str]) -> None:
    assert rules.assertions(text, spans_of(text, *phrases)) == expected


def test_triggers_far_away_do_not_reach() -> None:
    text = "No " + "acute " * 15 + "pneumonia"
    assert rules.assertions(text, spans_of(text, "pneumonia")) == ["present"]


@pytest.mark.parametrize(("text", "value", "unit"), [
    ("a 5 mm nodule", 5.0, "mm"),
    ("BP 120/80 mmHg", "120/80", "mmHg"),
    ("temperature 37.5 °C", 37.5, "°C"),
    ("mass of 5.8 cm x 6.0 cm", "5.8 x 6.0", "cm"),
    ("体温37.5℃", 37.5, "℃"),
    ("心率 88次/分", 88.0, "次/分"),
    ("metformin 500mg twice daily", 500.0, "mg"),
    ("WBC 12.3 x10^9/L", 12.3, "x10^9/L"),
])
def test_measures(text: str, value: float | str, unit: str) -> None:
    [measure] = rules.measures(text)
    assert (measure.value, measure.unit) == (value, unit)
    assert text[measure.start:measure.end].startswith(str(value).split(" ")[0].removesuffix(".0"))


def test_numbers_without_units_and_inside_words_are_not_measures() -> None:
    assert rules.measures("T2 weighted images, 3 views, L5 vertebra, 5 gauge") == []


def test_vital_signs_take_values_without_units() -> None:
    text = "BP 130/85, HR 72, 体温 36.8℃"
    found = [(text[span.start:span.end], measure.value, measure.unit) for span, measure in rules.vital_signs(text)]
    assert found == [("BP", "130/85", None), ("HR", 72.0, None), ("体温", 36.8, "℃")]


def test_modifiers_and_laterality_before_an_entity() -> None:
    text = "There is a small left pleural effusion and severe, chronic pain."
    effusion = text.index("pleural effusion")
    assert [text[s:e] for s, e in rules.modifiers_before(text, effusion)] == ["small"]
    side = rules.laterality_before(text, effusion)
    assert side is not None and text[side[0]:side[1]] == "left"
    pain = text.index("pain")
    assert [text[s:e] for s, e in rules.modifiers_before(text, pain)] == ["severe", "chronic"]
    zh = "右下肺少量胸腔积液"
    assert [zh[s:e] for s, e in rules.modifiers_before(zh, zh.index("胸腔积液"))] == ["少量"]


# --- dictionary matching ------------------------------------------------------------------------------------------
ROWS = [
    ("pleural effusion", "en", [["HP:1", "umls_sty:t033", "finding"], ["CN:1", "umls_sty:t047", "disease or syndrome"],
                                ["CN:2", "umls_sty:t047", "disease or syndrome"]]),
    ("effusion", "en", [["HP:2", "umls_sty:t033", "finding"]]),
    ("pneumonia", "en", [["HP:3", "umls_sty:t047", "disease or syndrome"]]),
    ("lung", "en", [["A:1", "umls_sty:t023", "body part, organ, or organ component"]]),
    ("abnormality of the pleura", "en", [["HP:4", "umls_sty:t033", "finding"]]),
    ("metformin", "en", [["D:1", "x:1", "clinical drug"]]),
    ("diabetes", "en", [["HP:5", "umls_sty:t047", "disease or syndrome"]]),
    ("ms", "en", [["HP:6", "umls_sty:t047", "disease or syndrome"]]),  # too short
    ("normal", "en", [["HP:7", "umls_sty:t033", "finding"]]),  # a stop term
    ("frequency", "en", [["HP:8", "umls_sty:t080", "qualitative concept"]]),  # a type outside the map
    ("胸腔积液", "zh", [["CN:1", "umls_sty:t047", "disease or syndrome"]]),
    ("发热", "zh", [["CN:3", "umls_sty:t184", "sign or symptom"]]),
    ("38.5℃", "zh", [["CN:4", "umls_sty:t033", "finding"]]),  # a measurement: found by rule
]


@pytest.fixture(scope="module")
def extractor() -> OfflineExtractor:
    return OfflineExtractor(dictionary_from_rows(ROWS))


def test_english_plurals() -> None:
    assert [english_plural(t) for t in ("effusion", "opacity", "mass", "airway", "reflex")] == [
        "effusions", "opacities", "masses", "airways", "reflexes"]


def test_dictionary_counts(extractor: OfflineExtractor) -> None:
    counts = extractor.dictionary.counts
    assert counts["entity"] == 8 and counts["skipped"] == 3 and counts["untyped"] == 1
    assert counts["plurals"] == 7  # one per English term
    assert counts["anatomy"] == 2  # lung, and the pleura of "abnormality of the pleura"


def test_longest_match_word_boundaries_types_and_offsets(extractor: OfflineExtractor) -> None:
    text = "Small LEFT Pleural-Effusion; no pneumonias. Normal MS. Effusions in the lung? Metformin for diabetes."
    entities = extractor.entities(text)
    assert [(e.phrase, e.semantic_type, e.assertion_status) for e in entities] == [
        ("Pleural-Effusion", "Disease, Syndrome or Pathologic Function", "present"),  # 2 of 3 concepts: diseases
        ("pneumonias", "Disease, Syndrome or Pathologic Function", "negated"),  # regular plurals match too
        ("Effusions", "Sign, Symptom, or Finding", "possible"),
        ("Metformin", "Chemical or Drug", "present"), ("diabetes", "Disease, Syndrome or Pathologic Function",
                                                       "present")]
    assert all(text[e.start:e.end] == e.phrase for e in entities)  # "MS" is too short, "Normal" a stop term
    effusion, _, effusions, drug, _ = entities
    assert effusions.body_location == "lung"
    assert (effusion.modifier, effusion.body_location) == ("Small", "LEFT")
    assert drug.purpose == "diabetes" and drug.not_applicable == ("body_location", "modifier")


def test_attributes_of_matched_entities(extractor: OfflineExtractor) -> None:
    text = "Moderate right pleural effusion. Pneumonia in the right lung, possibly. A 5 mm effusion. No fever."
    effusion, pneumonia, small = extractor.entities(text)[:3]
    assert (effusion.modifier, effusion.body_location, effusion.assertion_status) == ("Moderate", "right", "present")
    assert (pneumonia.body_location, pneumonia.assertion_status) == ("right lung", "present")
    assert (small.value, small.unit, small.phrase) == (5.0, "mm", "effusion")
    assert small.not_applicable == ("purpose",)  # a finding with a size: value and unit apply


def test_chinese_matching_and_vital_signs(extractor: OfflineExtractor) -> None:
    text = "无发热，体温38.5℃。右侧胸腔积液。"
    entities = extractor.entities(text)
    assert [(e.phrase, e.assertion_status) for e in entities] == [("发热", "negated"), ("体温", "present"),
                                                                  ("胸腔积液", "present")]
    temperature = entities[1]
    assert (temperature.semantic_type, temperature.value, temperature.unit) == ("Laboratory or Test Result", 38.5,
                                                                                "℃")
    assert entities[2].body_location == "右侧"
