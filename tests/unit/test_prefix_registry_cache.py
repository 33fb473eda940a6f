"""The prefix registry's cache file under BIOS_HOME (bios_kg.ingest.ids): written once per bioregistry version,
read back by later processes, built again when missing, damaged or of another version."""

from __future__ import annotations

from pathlib import Path

import pytest
from curies import Converter, Record

from bios_kg.ingest import ids

CHEBI = Record(prefix="CHEBI", uri_prefix="http://purl.obolibrary.org/obo/CHEBI_", prefix_synonyms=["chebi"])
MESH = Record(prefix="mesh", uri_prefix="http://id.nlm.nih.gov/mesh/", prefix_synonyms=["MSH", "MeSH"])


class Builder:
    """Builds a small real converter and counts how often it was asked to."""

    def __init__(self, *records: Record) -> None:
        self.records = records
        self.calls = 0

    def __call__(self) -> Converter:
        self.calls += 1
        return Converter(list(self.records))


@pytest.fixture()
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("BIOS_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_the_converter_is_built_once_then_read_back(home: Path) -> None:
    path = ids.registry_file("0.11.0")
    assert path == home.resolve() / "bioregistry" / f"converter-0.11.0-v{ids.REGISTRY_FORMAT}.json"
    build = Builder(CHEBI, MESH)
    built = ids.cached_converter(path, build)
    read = ids.cached_converter(path, build)
    assert build.calls == 1 and path.is_file() and not list(path.parent.glob("*.tmp"))
    assert read.records == built.records
    assert read.standardize_prefix("MSH") == "mesh" and read.compress("http://purl.obolibrary.org/obo/CHEBI_15377") \
        == "CHEBI:15377"


def test_another_version_builds_its_own_file_and_replaces_the_old_one(home: Path) -> None:
    old, new = ids.registry_file("0.11.0"), ids.registry_file("0.12.0")
    ids.cached_converter(old, Builder(CHEBI))
    build = Builder(CHEBI, MESH)
    assert ids.cached_converter(new, build).standardize_prefix("MeSH") == "mesh"
    assert build.calls == 1 and new.is_file() and not old.exists()


@pytest.mark.parametrize("damage", ["truncated", "not json", "empty list", "not a prefix map", "empty file"])
def test_a_damaged_file_is_built_again(home: Path, damage: str) -> None:
    path = ids.registry_file("0.11.0")
    ids.cached_converter(path, Builder(CHEBI, MESH))
    text = path.read_text()
    path.write_text({"truncated": text[: len(text) // 2], "not json": "\x00\x01 converter", "empty list": "[]",
                     "not a prefix map": '[{"prefix": 5}, "CHEBI"]', "empty file": ""}[damage])
    build = Builder(CHEBI, MESH)
    assert ids.cached_converter(path, build).standardize_prefix("MSH") == "mesh"
    assert build.calls == 1 and ids.cached_converter(path, build).records and build.calls == 1  # the file is whole


def test_an_unwritable_home_still_gives_the_converter(home: Path) -> None:
    home.mkdir()
    (home / "bioregistry").write_text("a file where the folder should be")
    build = Builder(CHEBI)
    assert ids.cached_converter(ids.registry_file("0.11.0"), build).standardize_prefix("chebi") == "CHEBI"
    assert build.calls == 1


def test_the_registry_read_back_is_the_packages(home: Path) -> None:
    ids.registry.cache_clear()
    try:
        built = ids.registry()  # builds from the installed package and writes the file
        ids.registry.cache_clear()
        read = ids.registry()
    finally:
        ids.registry.cache_clear()
    assert ids.registry_file().is_file() and read is not built
    assert sorted(read.records, key=lambda r: r.prefix) == sorted(built.records, key=lambda r: r.prefix)
    for prefix in ("MSH", "NCI", "MIM", "snomedct"):
        assert read.standardize_prefix(prefix) == built.standardize_prefix(prefix) is not None
    iri = "http://purl.obolibrary.org/obo/HP_0001250"
    assert read.compress(iri) == built.compress(iri) == "hp:0001250"
