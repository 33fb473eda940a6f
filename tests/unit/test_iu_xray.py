"""The IU chest X-ray report reader on the real torchxrayvision archive and on small broken archives, and the
sentence splitter it is used with."""

from __future__ import annotations

import io
import sys
import tarfile
from collections import Counter
from pathlib import Path

import pytest

from bios_kg.graph.errors import InputError
from bios_kg.graph.text import sentence_spans
from bios_kg.ingest.readers.iu_xray import FIELDS, Report, read_reports, reports_archive

GOOD = b"""<?xml version="1.0" encoding="utf-8"?><eCitation><uId id="CXR7"/><MedlineCitation><Article><Abstract>
<AbstractText Label="COMPARISON">None.</AbstractText><AbstractText Label="INDICATION">Cough</AbstractText>
<AbstractText Label="FINDINGS">Small   left effusion.
No pneumothorax.</AbstractText><AbstractText Label="IMPRESSION"/></Abstract></Article></MedlineCitation>
<MeSH><major>Pleural Effusion/left/small</major><major>normal</major><automatic>effusion</automatic></MeSH>
</eCitation>"""


def write_archive(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture(scope="module")
def reports() -> list[Report]:
    return list(read_reports())


def test_real_archive(reports: list[Report]) -> None:
    assert "torchxrayvision" not in sys.modules  # located, not imported (it would need torch)
    assert reports_archive().name == "NLMCXR_reports.tgz"
    assert len(reports) == 3955
    assert len({report.id for report in reports}) == 3955
    assert all(report.id.startswith("CXR") for report in reports)
    assert sum(bool(report.findings) for report in reports) == 3425
    heads = Counter(heading.split("/")[0] for report in reports for heading in report.mesh_major)
    assert heads["normal"] == 1391
    assert heads["Cardiomegaly"] == 375
    by_id = {report.id: report for report in reports}
    assert by_id["CXR1"].mesh_major == ("normal",)
    assert by_id["CXR10"].mesh_major == ("Calcified Granuloma/lung/upper lobe/right",)
    assert "pneumothorax" in by_id["CXR10"].field("findings")


def test_small_archive(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "r.tgz", {"ecgen-radiology/7.xml": GOOD, "ecgen-radiology/notes.txt": b"x"})
    [report] = read_reports(archive)
    assert report == Report(id="CXR7", comparison="None.", indication="Cough",
                            findings="Small left effusion. No pneumothorax.", impression="",
                            mesh_major=("Pleural Effusion/left/small", "normal"), mesh_automatic=("effusion",))
    assert [report.field(name) for name in FIELDS][:2] == ["None.", "Cough"]
    with pytest.raises(KeyError, match="unknown report field"):
        report.field("history")


def test_malformed_member_is_named(tmp_path: Path) -> None:
    broken = b"<eCitation>\n<uId id='CXR2'>\n</eCitation>"
    archive = write_archive(tmp_path / "r.tgz", {"ecgen-radiology/1.xml": GOOD, "ecgen-radiology/2.xml": broken})
    reader = read_reports(archive)
    assert next(reader).id == "CXR7"
    with pytest.raises(InputError, match=r"r\.tgz!ecgen-radiology/2\.xml:3: malformed XML"):
        next(reader)


def test_missing_id_and_bad_archives(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "r.tgz", {"a/3.xml": b"<eCitation><MeSH/></eCitation>"})
    with pytest.raises(InputError, match=r"a/3\.xml: no <uId"):
        list(read_reports(archive))
    (tmp_path / "plain.tgz").write_bytes(b"not an archive")
    with pytest.raises(InputError, match="plain.tgz: not a readable tar archive"):
        list(read_reports(tmp_path / "plain.tgz"))
    with pytest.raises(InputError, match="absent.tgz: no such file"):
        list(read_reports(tmp_path / "absent.tgz"))


def sentences(text: str) -> list[str]:
    return [text[start:end] for start, end in sentence_spans(text)]


def test_sentence_spans() -> None:
    assert sentences("1. No acute disease. 2. Nodule of 1.5 cm, e.g. a granuloma.  3.Old fracture") == [
        "1. No acute disease.", "2. Nodule of 1.5 cm, e.g. a granuloma.", "3.Old fracture"]
    assert sentences("Clear lungs.. . No effusion!  Why?") == ["Clear lungs..", "No effusion!", "Why?"]
    assert sentences("First part\n\nsecond part") == ["First part", "second part"]
    assert sentences("  ") == [] and sentences(". .") == []


def test_sentence_spans_on_real_reports(reports: list[Report]) -> None:
    count = 0
    for report in reports[:500]:
        text = report.findings
        spans = sentence_spans(text)
        assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:], strict=False))
        for start, end in spans:
            piece = text[start:end]
            assert piece == piece.strip() and any(ch.isalnum() for ch in piece)
        count += len(spans)
    assert count > 1500
