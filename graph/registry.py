"""One registry pattern for every plug-in point: readers, encoders, LLM backends, VQA image sources.

A `Registry` maps names to plug-ins of one kind (a class or a factory). Plug-ins register themselves with the
decorator where they are defined; other installed packages add theirs through the entry-point group named by
the registry (`[project.entry-points."bios_kg.readers"] myformat = "mypackage.reader:MyReader"`), loaded the
first time a name is looked up. An unknown name is a ConfigError that lists the known ones.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from bios_kg.graph.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named plug-ins of one kind. `kind` names them in errors ("source format", "encoder", "LLM backend")."""

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._entries: dict[str, T] = {}
        self._entry_points_loaded = entry_point_group is None

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator: `name` resolves to the decorated plug-in. A name registered twice is a ConfigError."""
        def register(plugin: T) -> T:
            self.add(name, plugin)
            return plugin
        return register

    def add(self, name: str, plugin: T) -> None:
        if name in self._entries and self._entries[name] is not plugin:
            raise ConfigError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = plugin

    def get(self, name: str) -> T:
        """The plug-in registered as `name`; ConfigError naming the known ones when there is none."""
        self._load_entry_points()
        if name not in self._entries:
            raise self.unknown(name)
        return self._entries[name]

    def unknown(self, name: str, alternative: str = "") -> ConfigError:
        """The error for a name nothing is registered as; `alternative` adds what else the caller would take
        ("or a model folder with a config.json")."""
        known = ", ".join(self.names()) or "none"
        return ConfigError(f"unknown {self.kind} {name!r}; known: {known}{f' ({alternative})' if alternative else ''}")

    def names(self) -> list[str]:
        self._load_entry_points()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, T]]:
        return [(name, self._entries[name]) for name in self.names()]

    def __contains__(self, name: object) -> bool:
        self._load_entry_points()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def _load_entry_points(self) -> None:
        if self._entry_points_loaded:
            return
        self._entry_points_loaded = True
        for point in entry_points(group=str(self.entry_point_group)):
            try:
                self.add(point.name, point.load())
            except Exception as error:  # a broken third-party plug-in: say which one
                raise ConfigError(f"{self.kind} {point.name!r} from entry point {point.value!r} "
                                  f"(group {self.entry_point_group}) failed to load: {error}") from error
