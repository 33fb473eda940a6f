"""The curated query library: read-only Cypher for curators, one query per file in cypher/library/.

Each file starts with a header of `//` comment lines, then the statement:

    // name: ancestors
    // description: The IS_A ancestors of a concept, nearest first.
    //   (a line indented after `//` continues the field above)
    // param id (curie, required): the concept, e.g. HP:0001250
    // param max_depth (int, 1..30, default 30): IS_A levels to climb
    // param lang (lang, optional): only terms of this language
    // example: id=HP:0001250 max_depth=3

A query whose work grows with the graph (it scans every concept, term or edge, or a hub's whole hierarchy)
says so on an `// unbounded: WHAT IT READS` line, and may set its own server timeout with `// timeout: SECONDS`
(default DEFAULT_TIMEOUT_S); the others read an index entry and a bounded neighbourhood and answer at any size.

A parameter spec is its type, then `required`, `optional` (null when not given) or `default VALUE`, and
optionally bounds `MIN..MAX`: the value of numbers, the length of strings, the item count of lists.
Types: string, int, float, bool, lang (a language code, bios_kg.graph.languages), curie (folded by
bios_kg.graph.curie), list[string],
list[curie]. Values come as text from the command line (`k=v`, lists comma-separated) or as JSON from the
API. The statement's `$parameters` must be exactly the declared ones.

A query runs only when EXPLAIN says it reads (query type 'r'), in a read transaction with a timeout, and
returns one page of rows (offset, limit) and whether more follow.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from neo4j.time import Date, DateTime, Duration, Time

from bios_kg.graph.curie import normalize_curie
from bios_kg.graph.errors import InputError, NotFoundError, ParameterError, QueryTimeoutError, ReadOnlyError
from bios_kg.graph.languages import is_language
from bios_kg.graph.store import GraphStore
from bios_kg.resources import LIBRARY_DIR

TYPES = ("string", "int", "float", "bool", "lang", "curie", "list[string]", "list[curie]")
MAX_STRING = 200  # characters of a string parameter (and of each list item) unless its bounds say otherwise
MAX_ITEMS = 100  # items of a list parameter unless its bounds say otherwise
MAX_LIMIT = 1000  # rows per page
MAX_OFFSET = 100_000
DEFAULT_LIMIT = 100
DEFAULT_TIMEOUT_S = 30.0
MAX_TIMEOUT_S = 600.0
_FIELDS = ("name", "description", "example", "unbounded", "timeout")

_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
_PARAM = re.compile(r"^param (\w+) \(([^)]*)\): (.+)$")
_BOUNDS = re.compile(r"^(-?\d+(?:\.\d+)?)\.\.(-?\d+(?:\.\d+)?)$")
_CYPHER_PARAM = re.compile(r"\$(\w+)")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    description: str
    required: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "required": self.required, "default": self.default,
                "min": self.min, "max": self.max, "description": self.description}

    def parse(self, text: str) -> Any:
        """A value written as text (command line, header default or example) -> a checked value."""
        text = text.strip()
        if self.type.startswith("list["):
            return self.check([item.strip() for item in text.split(",") if item.strip()])
        if self.type == "int":
            try:
                return self.check(int(text))
            except ValueError:
                raise ParameterError(self.name, f"expected an integer, got {text!r}") from None
        if self.type == "float":
            try:
                return self.check(float(text))
            except ValueError:
                raise ParameterError(self.name, f"expected a number, got {text!r}") from None
        if self.type == "bool":
            if text.lower() not in _TRUE | _FALSE:
                raise ParameterError(self.name, f"expected true or false, got {text!r}")
            return text.lower() in _TRUE
        return self.check(text)

    def check(self, value: Any) -> Any:
        """A JSON value -> the value the statement gets (lang lower-cased, CURIEs folded); else ParameterError."""
        if value is None:
            if self.required:
                raise ParameterError(self.name, "is required")
            return None
        if self.type.startswith("list["):
            if not isinstance(value, list):
                raise ParameterError(self.name, f"expected a list of {self.type[5:-1]}s")
            self._bounds(len(value), "items", MAX_ITEMS)
            return [self._scalar(item, self.type[5:-1]) for item in value]
        if self.type in ("int", "float"):
            ok = isinstance(value, int) if self.type == "int" else isinstance(value, int | float)
            if not ok or isinstance(value, bool):
                raise ParameterError(self.name, f"expected {'an integer' if self.type == 'int' else 'a number'}, "
                                                f"got {value!r}")
            self._bounds(value, "", None)
            return value
        if self.type == "bool":
            if not isinstance(value, bool):
                raise ParameterError(self.name, f"expected true or false, got {value!r}")
            return value
        return self._scalar(value, self.type)

    def _scalar(self, value: Any, kind: str) -> str:
        if not isinstance(value, str):
            raise ParameterError(self.name, f"expected a string, got {value!r}")
        if self.type.startswith("list["):
            if len(value) > MAX_STRING:
                raise ParameterError(self.name, f"an item is longer than {MAX_STRING} characters")
        else:
            self._bounds(len(value), "characters", MAX_STRING)
        if not value.strip():
            raise ParameterError(self.name, "is empty")
        if kind == "lang":
            if not is_language(value.lower()):
                raise ParameterError(self.name, f"unknown language code {value!r} (expected a language code, e.g. "
                                                "en, zh, se)")
            return value.lower()
        if kind == "curie":
            try:
                return normalize_curie(value)
            except ValueError as exc:
                raise ParameterError(self.name, str(exc)) from None
        return value

    def _bounds(self, size: float, unit: str, default_max: int | None) -> None:
        low = self.min
        high = self.max if self.max is not None else default_max
        what = f"{size:g} {unit}".strip()
        if low is not None and size < low:
            raise ParameterError(self.name, f"must be at least {low:g}{' ' + unit if unit else ''}, got {what}")
        if high is not None and size > high:
            raise ParameterError(self.name, f"must be at most {high:g}{' ' + unit if unit else ''}, got {what}")


@dataclass(frozen=True)
class LibraryQuery:
    name: str
    description: str
    params: tuple[Param, ...]
    cypher: str
    path: Path
    example: dict[str, str] = field(default_factory=dict)  # parameter -> value as text
    unbounded: str | None = None  # what it reads when its work grows with the graph; None: bounded
    timeout_s: float = DEFAULT_TIMEOUT_S

    def param(self, name: str) -> Param:
        for param in self.params:
            if param.name == name:
                return param
        known = ", ".join(p.name for p in self.params) or "none"
        raise ParameterError(name, f"query {self.name} has no such parameter (its parameters: {known})")

    def bind(self, values: Mapping[str, Any], *, as_text: bool = False) -> dict[str, Any]:
        """Checked values of every parameter (defaults filled in) from JSON values, or text when `as_text`."""
        for name in values:
            self.param(name)
        bound = {}
        for param in self.params:
            if param.name in values:
                value = values[param.name]
                bound[param.name] = param.parse(value) if as_text and isinstance(value, str) else param.check(value)
            else:
                bound[param.name] = param.check(param.default)
        return bound

    def example_values(self) -> dict[str, Any]:
        return self.bind(self.example, as_text=True)


@dataclass
class QueryPage:
    query: str
    params: dict[str, Any]
    columns: list[str]
    rows: list[dict[str, Any]]
    offset: int
    limit: int
    has_more: bool

    def as_dict(self) -> dict[str, Any]:
        return {"query": self.query, "params": self.params, "columns": self.columns, "rows": self.rows,
                "offset": self.offset, "limit": self.limit, "has_more": self.has_more}


def parse_query(path: Path) -> LibraryQuery:
    """One library file -> LibraryQuery; a malformed header is an InputError naming the file and line."""
    fields: dict[str, str] = {}
    params: list[tuple[int, str]] = []
    last: str | None = None
    lines = path.read_text(encoding="utf-8").splitlines()
    body_start = len(lines)
    for number, line in enumerate(lines, 1):
        if not line.startswith("//"):
            body_start = number - 1
            break
        text = line[2:]
        if text.startswith("  ") and text.strip() and last is not None:  # continues the field above
            if last == "param":
                params[-1] = (params[-1][0], f"{params[-1][1]} {text.strip()}")
            else:
                fields[last] += " " + text.strip()
            continue
        text = text.strip()
        if not text:
            last = None
            continue
        if text.startswith("param "):
            params.append((number, text))
            last = "param"
            continue
        key, colon, value = text.partition(":")
        if not colon or key not in _FIELDS:
            raise InputError(str(path), number, f"unknown header line {text!r} (expected name:, description:, "
                                                "param NAME (SPEC):, example:, unbounded: or timeout:)")
        if key in fields:
            raise InputError(str(path), number, f"{key} given twice")
        fields[key], last = value.strip(), key
    for key in ("name", "description"):
        if not fields.get(key):
            raise InputError(str(path), 1, f"the header has no {key}:")
    name = fields["name"]
    if not _NAME.match(name) or name != path.stem:
        raise InputError(str(path), 1, f"name {name!r} must be the file name without .cypher, in lower-case-kebab")
    cypher = "\n".join(lines[body_start:]).strip().rstrip(";").strip()
    if not cypher:
        raise InputError(str(path), len(lines), "the file has no statement after its header")
    declared = tuple(_parse_param(path, number, text) for number, text in params)
    names = [p.name for p in declared]
    if len(set(names)) != len(names):
        raise InputError(str(path), 1, "a parameter is declared twice")
    used = set(_CYPHER_PARAM.findall(cypher))
    if used != set(names):
        missing, extra = sorted(used - set(names)), sorted(set(names) - used)
        raise InputError(str(path), body_start + 1, f"the statement's parameters differ from the header's: "
                                                    f"undeclared {missing or 'none'}, unused {extra or 'none'}")
    try:
        example = dict(item.split("=", 1) for item in shlex.split(fields.get("example", "")))
    except ValueError:
        raise InputError(str(path), 1, "example: must be NAME=VALUE pairs") from None
    try:
        timeout_s = float(fields.get("timeout", DEFAULT_TIMEOUT_S))
    except ValueError:
        timeout_s = 0.0
    if not 0 < timeout_s <= MAX_TIMEOUT_S:
        raise InputError(str(path), 1, f"timeout: must be a number of seconds in (0, {MAX_TIMEOUT_S:g}]")
    query = LibraryQuery(name, fields["description"], declared, cypher, path, example, fields.get("unbounded"),
                         timeout_s)
    try:
        query.example_values()
    except ParameterError as exc:
        raise InputError(str(path), 1, f"example: {exc}") from None
    return query


def _parse_param(path: Path, number: int, text: str) -> Param:
    match = _PARAM.match(text)
    if not match:
        raise InputError(str(path), number, "expected `param NAME (TYPE, required|optional|default VALUE[, MIN..MAX]):"
                                            " description`")
    name, spec, description = match.groups()
    kind, *options = [part.strip() for part in spec.split(",")]
    if kind not in TYPES:
        raise InputError(str(path), number, f"parameter {name}: unknown type {kind!r} (known: {', '.join(TYPES)})")
    required, default, low, high, defaulted = False, None, None, None, False
    for option in options:
        bounds = _BOUNDS.match(option)
        if option == "required":
            required = True
        elif option == "optional":
            defaulted = True
        elif option.startswith("default "):
            default, defaulted = option.removeprefix("default ").strip(), True
        elif bounds:
            low, high = float(bounds.group(1)), float(bounds.group(2))
        else:
            raise InputError(str(path), number, f"parameter {name}: unknown option {option!r}")
    if required == defaulted:
        raise InputError(str(path), number, f"parameter {name}: say either required, optional or default VALUE")
    param = Param(name, kind, description.strip(), required, None, low, high)
    if default is not None:
        try:
            param = Param(name, kind, param.description, False, param.parse(default), low, high)
        except ParameterError as exc:
            raise InputError(str(path), number, f"default: {exc}") from None
    return param


class Library:
    """The queries of a folder by name, and the runner that only runs them as reads."""

    def __init__(self, folder: Path = LIBRARY_DIR) -> None:
        self.folder = folder
        self.queries = {query.name: query for query in map(parse_query, sorted(folder.glob("*.cypher")))}
        self._reads: set[str] = set()  # queries EXPLAIN has found read-only (a property of the statement)

    def __iter__(self) -> Iterator[LibraryQuery]:
        return iter(self.queries.values())

    def get(self, name: str) -> LibraryQuery:
        query = self.queries.get(name)
        if query is None:
            raise NotFoundError(f"no query {name!r} in the library ({self.folder}); `bios cypher list` shows them")
        return query

    def run(self, store: GraphStore, name: str, values: Mapping[str, Any], *, as_text: bool = False,
            offset: int = 0, limit: int = DEFAULT_LIMIT, timeout_s: float | None = None) -> QueryPage:
        """One page of the query's rows, run in a read transaction after EXPLAIN has shown it only reads. The
        server stops it after `timeout_s` seconds, by default the query's own (its header's, else DEFAULT_TIMEOUT_S)."""
        query = self.get(name)
        timeout_s = query.timeout_s if timeout_s is None else timeout_s
        if not 0 <= offset <= MAX_OFFSET:
            raise ParameterError("offset", f"must be between 0 and {MAX_OFFSET}, got {offset}")
        if not 1 <= limit <= MAX_LIMIT:
            raise ParameterError("limit", f"must be between 1 and {MAX_LIMIT}, got {limit}")
        params = query.bind(values, as_text=as_text)
        self.check_read_only(store, query, params)
        try:
            columns, rows, has_more = store.read_page(query.cypher, params, offset, limit, timeout_s)
        except QueryTimeoutError:
            raise QueryTimeoutError(f"query {name} ran longer than {timeout_s:g} s") from None
        return QueryPage(name, params, columns, [_plain(row) for row in rows], offset, limit, has_more)

    def check_read_only(self, store: GraphStore, query: LibraryQuery, params: dict[str, Any]) -> None:
        if query.name in self._reads:
            return
        kind = store.query_type(query.cypher, params)
        if kind != "r":
            raise ReadOnlyError(f"query {query.name} ({query.path}) is not read-only: EXPLAIN says query type "
                             f"{kind!r}; the library runs reads only")
        self._reads.add(query.name)


def _plain(value: Any) -> Any:
    """Row values as JSON-ready data: temporal values as ISO 8601 text."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, DateTime | Date | Time | datetime | date | time):
        return value.isoformat()
    if isinstance(value, Duration):
        return str(value)
    return value
