"""Indiana University chest X-ray reports (OpenI), read from the torchxrayvision data package.

`torchxrayvision/data/NLMCXR_reports.tgz` holds one XML file per report, `ecgen-radiology/<n>.xml`
(torchxrayvision 1.5.7: 3,955 reports). Each has the sections COMPARISON, INDICATION, FINDINGS and
IMPRESSION as `<AbstractText Label=...>` (an empty section is an empty string here) and MeSH indexing:
`<major>` headings written as "Heading/qualifier/..." ("Cardiomegaly/mild", "normal" for a normal study,
"No Indexing") and `<automatic>` terms found by a program. This release has no `<minor>` headings.
The reports are CC BY-NC-ND 4.0 (stated in each file): they are read from the installed package, never
copied. The package is installed with --no-deps as a data carrier and is located without importing it.
"""

from __future__ import annotations

import tarfile
import xml.etree.ElementTree as ElementTree
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bios_kg.graph.errors import InputError
from bios_kg.ingest.packages import package_data_path

PACKAGE = "torchxrayvision"
ARCHIVE = ("data", "NLMCXR_reports.tgz")
FIELDS = ("comparison", "indication", "findings", "impression")


@dataclass(frozen=True)
class Report:
    id: str  # the report's uId, e.g. "CXR1"
    comparison: str
    indication: str
    findings: str
    impression: str
    mesh_major: tuple[str, ...]  # as written: "Opacity/lung/base/left"
    mesh_automatic: tuple[str, ...]

    def field(self, name: str) -> str:
        """The text of a section by its name (comparison, indication, findings, impression)."""
        if name not in FIELDS:
            raise KeyError(f"unknown report field {name!r}; known: {', '.join(FIELDS)}")
        text: str = getattr(self, name)
        return text


def reports_archive() -> Path:
    """The installed package's report archive; ConfigError with the install command when it is absent."""
    return package_data_path(PACKAGE, PACKAGE, *ARCHIVE)


def read_reports(path: Path | None = None) -> Iterator[Report]:
    """Stream the reports of the archive at `path` (default: the installed package's) in archive order.

    A member that is not well-formed XML or lacks the report id raises InputError naming archive and member.
    """
    archive = Path(path) if path is not None else reports_archive()
    if not archive.is_file():
        raise InputError(str(archive), None, "no such file")
    try:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.isfile() and member.name.endswith(".xml"):
                    handle = tar.extractfile(member)
                    assert handle is not None  # a regular file always has content
                    yield parse_report(handle.read(), f"{archive}!{member.name}")
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise InputError(str(archive), None, f"not a readable tar archive: {exc}") from exc


def parse_report(data: bytes, display: str) -> Report:
    """One report from the bytes of its XML file; `display` names it in errors."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise InputError(display, exc.position[0], f"malformed XML: {exc}") from exc
    uid = root.find("uId")
    if uid is None or not uid.get("id"):
        raise InputError(display, None, "no <uId id=...> (the report id)")
    sections = {(node.get("Label") or "").lower(): " ".join((node.text or "").split())
                for node in root.iter("AbstractText")}
    mesh = root.find("MeSH")
    headings = list(mesh) if mesh is not None else []
    return Report(id=str(uid.get("id")), **{name: sections.get(name, "") for name in FIELDS},
                  mesh_major=tuple(_text(node) for node in headings if node.tag == "major"),
                  mesh_automatic=tuple(_text(node) for node in headings if node.tag == "automatic"))


def _text(node: ElementTree.Element) -> str:
    return " ".join((node.text or "").split())
