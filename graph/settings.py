"""Every setting of the project in one object, `BiosSettings`, read from the environment by `load_settings()`.

This is the only module that reads environment variables. Each group is a frozen pydantic model whose fields map
to variables as `<group prefix><FIELD>` (NEO4J_URI, BIOS_API_KEYS, BIOS_LLM_MODEL, ...), so the names users and the
README know keep working. `load_settings()` reads them all at once (the CLI at start, the API in create_app) and
the result is passed down; a group built in code (`ApiSettings(api_keys=...)`) never looks at the environment.
The CLI fixes what it read for the whole command with `settings_for_run`, so a default resolved deep below it
(`GraphStore.connect()`, `data_home()`) is the same value, read once.
docs/settings.md lists every variable (written by `settings_markdown()`, checked by a unit test).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bios_kg.graph.errors import ConfigError

DEFAULT_BOLT_PORT = 7687
DEFAULT_HTTP_PORT = 7474
# The real terminology files of the project's evaluations: `shared/realworld` beside the checkout, by default.
_CHECKOUT_REALWORLD = Path(__file__).resolve().parents[2] / "shared" / "realworld"


class _Group(BaseModel):
    """A group of settings; field `x` is read from the variable `env_prefix + X`."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    env_prefix: ClassVar[str]

    @classmethod
    def variable(cls, field: str) -> str:
        return f"{cls.env_prefix}{field.upper()}"


def _comma_list(value: Any) -> Any:
    return [item.strip() for item in value.split(",") if item.strip()] if isinstance(value, str) else value


def _path(value: Any) -> Any:
    return Path(value).expanduser() if isinstance(value, str | Path) else value


class DataSettings(_Group):
    env_prefix = "BIOS_"

    home: Path = Field(default_factory=lambda: Path.home() / ".bios-kg",
                       description="Root of everything the project downloads or stores: Neo4j instances and "
                                   "distributions, models, indexes, caches. Default ~/.bios-kg.")
    realworld: Path = Field(default=_CHECKOUT_REALWORLD,
                            description="Folder of the real terminology files the evaluations read "
                                        "(`obo/doid-DO_cancer_slim.obo`, `umls-nci-sample/`). Default: "
                                        "`shared/realworld` beside the checkout.")

    _expand = field_validator("home", "realworld", mode="before")(_path)

    @field_validator("home")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return value.resolve()

    def realworld_dir(self) -> Path:
        """The evaluation data folder; ConfigError naming BIOS_REALWORLD when it is not there."""
        if not self.realworld.is_dir():
            raise ConfigError(f"the real-world evaluation files are not at {self.realworld}: set "
                              f"{self.variable('realworld')} to the folder holding obo/ and umls-nci-sample/")
        return self.realworld


class Neo4jSettings(_Group):
    """How to reach the graph. Without a URI the local runner's instance is used (its recorded Bolt port)."""

    env_prefix = "NEO4J_"

    uri: str = Field(default="", description="Bolt URI of the server, e.g. bolt://127.0.0.1:7687 or "
                                           "neo4j+s://host. Default: the local instance under BIOS_HOME.")
    username: str | None = Field(default=None, description="User name; `neo4j` when only a password is set.")
    password: str | None = Field(default=None, description="Password; unset: connect without authentication.")
    database: str = Field(default="neo4j", description="Database name.")

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.username or "neo4j", self.password) if self.password else None


class RunnerSettings(_Group):
    env_prefix = "BIOS_"

    neo4j_version: str = Field(default="5.26.30", description="Neo4j version `bios neo4j start` resolves from Maven "
                                                      "Central.")
    # Newest APOC on Maven Central for the 5.26 line; APOC must match the server's first two numbers.
    apoc_version: str = Field(default="5.26.19", description="APOC version (its first two numbers must be Neo4j's).")
    neo4j_browser_version: str = Field(default="5.24.0",
                                       description="Neo4j Browser version served by the local instance.")


class ApiSettings(_Group):
    """The HTTP API's limits, keys and served resources (`bios serve`)."""

    env_prefix = "BIOS_"

    api_keys: frozenset[str] = Field(default=frozenset(), description="Comma-separated keys accepted in the X-API-Key "
                                                              "header of write endpoints; none: writes refused.")
    cors_origins: tuple[str, ...] = Field(default=(), description="Comma-separated origins allowed to call from a "
                                                          "browser; none: CORS off.")
    max_body_bytes: int = Field(default=2 * 1024 * 1024, gt=0, description="Larger request bodies get 413.")
    query_timeout_s: float = Field(default=30.0, gt=0, description="Any graph statement of the API (library queries "
                                                           "included) running longer is stopped (504).")
    request_timeout_s: float = Field(default=30.0, gt=0, description="Work of one request (extraction, linking, "
                                                             "batches to normalize or retrieve) stops past this many "
                                                             "seconds (504).")
    body_timeout_s: float = Field(default=10.0, gt=0, description="A request body not fully received within this many "
                                                          "seconds is refused (408).")
    shutdown_timeout_s: float = Field(default=10.0, gt=0, description="On shutdown, requests in flight get this many "
                                                              "seconds before they are cancelled.")
    retrieve_index: Path | None = Field(default=None, description="Folder made by `bios retrieve index` that POST "
                                                          "/retrieve serves; unset: 503.")
    vqa_model: Path | None = Field(default=None, description="Folder made by `bios vqa train` that POST /vqa serves; "
                                                     "unset: 503.")

    _lists = field_validator("api_keys", "cors_origins", mode="before")(_comma_list)
    _paths = field_validator("retrieve_index", "vqa_model", mode="before")(_path)


class LlmSettings(_Group):
    """The generative LLM backend; with neither backend nor base_url set no LLM is configured."""

    env_prefix = "BIOS_LLM_"

    backend: str | None = Field(default=None, description="Backend name (`openai`, `transformers`, or a plug-in's); "
                                                  "default `openai` when BIOS_LLM_BASE_URL is set.")
    base_url: str | None = Field(default=None, description="OpenAI-compatible server URL including /v1, e.g. "
                                                   "http://127.0.0.1:8000/v1.")
    model: str | None = Field(default=None, description="Served model id (openai; default: the server's only model) or "
                                                "a model folder (transformers).")
    api_key: str | None = Field(default=None, description="Bearer token (openai).")
    timeout: float | None = Field(default=None, gt=0, description="Seconds per request (openai).")
    endpoint: str | None = Field(default=None, description="`completions` or `chat` (openai; default from the model "
                                                   "registry).")

    @property
    def configured(self) -> bool:
        return bool(self.backend or self.base_url)

    def options(self) -> dict[str, Any]:
        """The backend options that are set (model, base_url, api_key, timeout, endpoint)."""
        return {name: value for name, value in self.model_dump(exclude={"backend"}).items() if value is not None}


class OnnxSettings(_Group):
    """ONNX Runtime, which serves the encoders on CPU."""

    env_prefix = "BIOS_ONNX_"

    dir: Path | None = Field(default=None, description="Folder of the exported encoders; default BIOS_HOME/onnx.")
    threads: int = Field(default=0, ge=0, description="Intra-op threads of a session; 0: one per core.")

    _expand = field_validator("dir", mode="before")(_path)


class _GroupsFromEnvironment(PydanticBaseSettingsSource):
    """Each group's fields from its variables; unset and empty variables are left to the defaults."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # __call__ reads whole groups

    def __call__(self) -> dict[str, Any]:
        groups: dict[str, Any] = {}
        for name, field in self.settings_cls.model_fields.items():
            group: type[_Group] = field.annotation  # type: ignore[assignment]
            values = {key: os.environ[group.variable(key)] for key in group.model_fields
                      if os.environ.get(group.variable(key))}
            if values:
                groups[name] = values
        return groups


class BiosSettings(BaseSettings):
    """All settings, by group. `BiosSettings()` reads the environment; pass groups to set them in code."""

    model_config = SettingsConfigDict(frozen=True, extra="forbid")

    data: DataSettings = Field(default_factory=DataSettings, description="where data lives")
    neo4j: Neo4jSettings = Field(default_factory=Neo4jSettings, description="the graph's server")
    runner: RunnerSettings = Field(default_factory=RunnerSettings, description="the local Neo4j runner")
    api: ApiSettings = Field(default_factory=ApiSettings, description="the HTTP API")
    llm: LlmSettings = Field(default_factory=LlmSettings, description="the generative LLM backend")
    onnx: OnnxSettings = Field(default_factory=OnnxSettings, description="encoder inference on ONNX Runtime")

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Values given in code first, then each group's variables (no .env file, no secrets folder)."""
        return init_settings, _GroupsFromEnvironment(settings_cls)

    @property
    def connection(self) -> Neo4jSettings:
        """The Neo4j settings with the URI resolved (the local instance's when NEO4J_URI is unset)."""
        if self.neo4j.uri:
            return self.neo4j
        return self.neo4j.model_copy(update={"uri": local_instance_uri(default_instance_home(self.data.home))})

    @property
    def onnx_dir(self) -> Path:
        return self.onnx.dir or self.data.home / "onnx"


_RUN: ContextVar[BiosSettings | None] = ContextVar("bios_settings", default=None)


def load_settings() -> BiosSettings:
    """The settings of this run (those `settings_for_run` fixed), else read from the environment now; ConfigError
    naming each bad variable and what it should be."""
    fixed = _RUN.get()
    if fixed is not None:
        return fixed
    try:
        return BiosSettings()
    except ValidationError as error:
        raise ConfigError("bad settings: " + "; ".join(_problem(item) for item in error.errors())) from None


@contextmanager
def settings_for_run(settings: BiosSettings) -> Iterator[BiosSettings]:
    """Within the block, `load_settings()` returns `settings` (the CLI: what it read at start, for one command)."""
    token = _RUN.set(settings)
    try:
        yield settings
    finally:
        _RUN.reset(token)


def _problem(item: Any) -> str:
    group, *field = item["loc"]
    annotation = BiosSettings.model_fields[str(group)].annotation
    name = annotation.variable(str(field[0])) if field and isinstance(annotation, type) else str(group)
    return f"{name}: {item['msg']} (got {item['input']!r})"


def data_home(settings: BiosSettings | None = None) -> Path:
    """Root of everything the project downloads or stores: `settings.data.home` (default: read now)."""
    return (settings or load_settings()).data.home


def default_instance_home(home: Path | None = None) -> Path:
    """The runner's default instance folder under the data home `home` (default: BIOS_HOME)."""
    return (home or data_home()) / "neo4j" / "instances" / "default"


def connection_settings(settings: Neo4jSettings | None = None) -> Neo4jSettings:
    """`settings` (default: the environment's) with the URI resolved: the local instance's when none is set."""
    if settings is None:
        return load_settings().connection
    return settings if settings.uri else BiosSettings(neo4j=settings).connection


def child_environment(**extra: str) -> dict[str, str]:
    """This process's environment plus `extra`, for a child process (neo4j-admin)."""
    return {**os.environ, **extra}


def local_instance_uri(home: Path) -> str:
    """The Bolt URI recorded by the runner for the instance at `home`, else the default port."""
    state = home / "run" / "neo4j.json"
    if state.exists():
        return str(json.loads(state.read_text())["uri"])
    return f"bolt://127.0.0.1:{DEFAULT_BOLT_PORT}"


def _address(uri: str) -> tuple[str, int]:
    parts = urlsplit(uri)
    host = parts.hostname or ""
    return ("127.0.0.1" if host in ("localhost", "::1") else host), parts.port or DEFAULT_BOLT_PORT


def check_local_target(home: Path, uri: str | None) -> None:
    """Work that writes a database's files (the bulk path: neo4j-admin import) needs the runner's instance at
    `home` on this machine. Raise ConfigError when the configured `uri` (NEO4J_URI) names another server: one
    reached only by URI (a remote server, a cluster, Aura) is loaded through transactions instead."""
    local = local_instance_uri(home)
    if uri and _address(uri) != _address(local):
        raise ConfigError(
            f"NEO4J_URI is {uri}, not the local instance at {home} ({local}): the bulk path imports files into a "
            "database on this machine with neo4j-admin, which a server reached only by URI does not allow. Load it "
            "without --bulk (transactional loads work against any server), or run the bulk load on the server's "
            "own machine with --home pointing at its instance")


def settings_markdown() -> str:
    """docs/settings.md: every variable with its default and description, by group."""
    lines = ["# Settings", "",
             "Every setting is an environment variable, read once by `bios_kg.graph.settings.load_settings()` (the",
             "CLI at start, the API in `create_app`) into one `BiosSettings` object that is passed down. In code, set",
             "a group directly instead: `BiosSettings(api=ApiSettings(api_keys=frozenset({'k'})))`.",
             "This page is generated: `python -c 'from bios_kg.graph.settings import settings_markdown as m; "
             "print(m(), end=\"\")' > docs/settings.md`.", ""]
    for name, field in BiosSettings.model_fields.items():
        group: type[_Group] = field.annotation  # type: ignore[assignment]
        lines += [f"## `settings.{name}`: {field.description}", "", "| variable | default | meaning |",
                  "|---|---|---|"]
        for key, item in group.model_fields.items():
            default = item.get_default(call_default_factory=False)
            shown = "" if default in (None, "", (), frozenset()) or item.default_factory else f"`{default}`"
            if key == "realworld":
                shown = "`shared/realworld` beside the checkout"
            lines.append(f"| `{group.variable(key)}` | {shown} | {item.description} |")
        lines.append("")
    return "\n".join(lines)
