"""The contract every source reader passes: a base test class, parametrized over the registered formats.

A test module subclasses `ReaderContract` and gives the `fmt` fixture (tests/contract/test_reader_contract.py
gives every name in the registry). The inputs come from tests/support/reader_samples.py; a registered reader
without an entry there fails with a message saying what to add.
"""

from __future__ import annotations

import typing
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bios_kg.graph.errors import InputError
from bios_kg.graph.records import Record
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.cli import ingest_app, reader_parameters
from bios_kg.ingest.loader import load_source
from bios_kg.ingest.readers import READERS, Parsed, Rejected, SourceReader
from tests.support.reader_samples import SAMPLES, ReaderSample

RECORD_TYPES = typing.get_args(Record)


class ReaderContract:
    """Checks of one reader format (the `fmt` fixture) on its sample input."""

    @pytest.fixture()
    def sample(self, fmt: str) -> ReaderSample:
        if fmt not in SAMPLES:
            pytest.fail(f"reader {fmt!r} is registered but has no sample input: add SAMPLES[{fmt!r}] to "
                        "tests/support/reader_samples.py (a function writing a small clean input, one writing an "
                        "input with a damaged line and naming its file and line; see docs/extending/reader.md)")
        return SAMPLES[fmt]

    def reader(self, fmt: str, sample: ReaderSample, folder: Path) -> SourceReader:
        return READERS.get(fmt)(sample.clean(folder), **sample.options)

    def test_source_carries_id_version_and_licence(self, fmt: str, sample: ReaderSample, tmp_path: Path) -> None:
        source = self.reader(fmt, sample, tmp_path).source()
        for field in ("id", "version", "licence"):
            assert isinstance(getattr(source, field), str) and getattr(source, field).strip(), field
        assert source.checksums, "source().checksums names the files read (relative to the reader's root)"

    def test_read_yields_documented_items(self, fmt: str, sample: ReaderSample, tmp_path: Path) -> None:
        reader = self.reader(fmt, sample, tmp_path)
        files = set(reader.source().checksums)
        items = list(reader.read())
        assert items and all(isinstance(item, Parsed) for item in items), \
            [item for item in items if isinstance(item, Rejected)][:3]
        for item in items:
            assert isinstance(item, Parsed) and isinstance(item.record, RECORD_TYPES), item
            assert item.file in files and isinstance(item.line, int) and item.line >= 0, item
        if reader.counts_lines:  # progress counts these lines against the files' totals
            assert all(item.line >= 1 for item in items)

    def test_damaged_line_is_an_input_error_naming_file_and_line(self, fmt: str, sample: ReaderSample,
                                                                 tmp_path: Path, store: GraphStore) -> None:
        damaged = sample.damaged(tmp_path)
        with pytest.raises(InputError) as raised:
            load_source(READERS.get(fmt)(damaged.input, **sample.options), store, progress=False)
        assert Path(raised.value.path).name == damaged.file and raised.value.line == damaged.line, str(raised.value)

    def test_load_is_idempotent(self, fmt: str, sample: ReaderSample, tmp_path: Path, store: GraphStore) -> None:
        first = load_source(self.reader(fmt, sample, tmp_path / "first"), store, progress=False)
        counts = store.stats()
        again = load_source(self.reader(fmt, sample, tmp_path / "again"), store, progress=False, force=True)
        assert first.records and again.records == first.records
        assert store.stats() == counts

    def test_ingest_command_offers_bulk_and_the_reader_options(self, fmt: str) -> None:
        shown = CliRunner().invoke(ingest_app, [fmt, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})  # bios ingest
        assert shown.exit_code == 0, shown.output
        flags = ["--bulk", "--home", "--on-error", "--rejects", "--force", "--batch-size", "--json"]
        flags += [str(declared.flag) for declared in reader_parameters(fmt, READERS.get(fmt))[1:]]
        assert [flag for flag in flags if flag not in shown.output] == []
