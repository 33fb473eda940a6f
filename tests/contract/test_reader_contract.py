"""Every registered reader (built-in or added by entry point) passes the reader contract."""

from __future__ import annotations

import pytest

from bios_kg.ingest.readers import READERS
from tests.support.reader_contract import ReaderContract

pytestmark = pytest.mark.integration


class TestRegisteredReaders(ReaderContract):
    @pytest.fixture(params=READERS.names())
    def fmt(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)
