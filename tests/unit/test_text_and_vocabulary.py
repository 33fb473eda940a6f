"""Term normalization, term identity, language codes and the relation vocabulary."""

from __future__ import annotations

import pytest

from bios_kg.graph.errors import ConfigError
from bios_kg.graph.languages import guess_language, to_iso
from bios_kg.graph.text import normalize_term, term_id
from bios_kg.graph.vocabulary import canonical_relation, inverse_name, validate_relationship_type


@pytest.mark.parametrize(("text", "norm"), [
    ("Type-2  Diabetes Mellitus", "type 2 diabetes mellitus"),
    ("Diabetes mellitus, type 2", "diabetes mellitus type 2"),
    ("２型糖尿病", "2型糖尿病"),
    ("糖尿病，2型", "糖尿病 2型"),
    ("Aspirin 1.5 mg.", "aspirin 1.5 mg"),
    ("Crohn's disease (disorder)", "crohn s disease disorder"),
    ("  SEIZURE\t", "seizure"),
])
def test_normalize_term(text: str, norm: str) -> None:
    assert normalize_term(text) == norm


def test_term_id_is_stable_and_language_specific() -> None:
    assert term_id("en", "fit") == term_id("en", "fit")
    assert term_id("en", "fit") != term_id("de", "fit")
    assert term_id("en", "fit").startswith("T") and len(term_id("en", "fit")) == 21


@pytest.mark.parametrize(("code", "iso"), [("ENG", "en"), ("CHS", "zh"), ("CHI", "zh"), ("EN", "en"),
                                           ("zh-CN", "zh"), ("FRE", "fr"), ("XXX", None), ("", None)])
def test_to_iso(code: str, iso: str | None) -> None:
    assert to_iso(code) == iso


def test_guess_language() -> None:
    assert guess_language("癫痫") == "zh" and guess_language("epilepsy") == "en"


@pytest.mark.parametrize(("name", "expected"), [
    ("is_a", ("IS_A", False)), ("reverse_is_a", ("IS_A", True)), ("isa", ("IS_A", False)),
    ("inverse_isa", ("IS_A", True)), ("encoded_by", ("ENCODES", True)), ("encodes", ("ENCODES", False)),
    ("has_active_ingredient", ("IS_ACTIVE_INGREDIENT_IN", True)), ("is_part_of", ("PART_OF", False)),
    ("has_part", ("PART_OF", True)), ("significant drug interaction", ("SIGNIFICANT_DRUG_INTERACTION", False)),
])
def test_canonical_relation(name: str, expected: tuple[str, bool]) -> None:
    assert canonical_relation(name) == expected


def test_inverse_names() -> None:
    assert inverse_name("is_a") == "reverse_is_a"
    assert inverse_name("encodes") == "encoded_by"
    assert inverse_name("significant_drug_interaction") is None


@pytest.mark.parametrize("bad", ["HAS_TERM", "is_a", "IS A", "X`]->() DETACH DELETE n //", ""])
def test_relationship_types_are_validated(bad: str) -> None:
    with pytest.raises(ConfigError):
        validate_relationship_type(bad)
