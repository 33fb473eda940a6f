"""The plug-in registry: registration, lookup errors that name the known plug-ins, entry points of other packages."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from bios_kg.graph import registry as registry_module
from bios_kg.graph.errors import ConfigError
from bios_kg.graph.registry import Registry


def test_registered_plugins_resolve_by_name_and_list_sorted() -> None:
    shapes: Registry[type] = Registry("shape")

    @shapes.register("square")
    class Square:
        pass

    shapes.add("circle", dict)
    assert shapes.get("square") is Square and shapes.names() == ["circle", "square"]
    assert "circle" in shapes and "triangle" not in shapes and len(shapes) == 2 and list(shapes) == shapes.names()
    with pytest.raises(ConfigError, match="unknown shape 'triangle'; known: circle, square"):
        shapes.get("triangle")
    with pytest.raises(ConfigError, match="shape 'circle' is registered twice"):
        shapes.add("circle", list)


def test_entry_points_are_loaded_on_first_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    points = [EntryPoint("ordered", "collections:OrderedDict", "bios_kg.test_shapes"),
              EntryPoint("broken", "no_such_module_here:Thing", "bios_kg.test_shapes")]
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [p for p in points if p.group == group])
    shapes: Registry[type] = Registry("shape", entry_point_group="bios_kg.test_shapes")
    with pytest.raises(ConfigError, match="shape 'broken' from entry point 'no_such_module_here:Thing'"):
        shapes.names()
    points.pop()
    fresh: Registry[type] = Registry("shape", entry_point_group="bios_kg.test_shapes")
    from collections import OrderedDict

    assert fresh.get("ordered") is OrderedDict


def test_unknown_names_the_alternative_the_caller_takes() -> None:
    shapes: Registry[type] = Registry("shape")
    shapes.add("circle", dict)
    error = shapes.unknown("hexagon", "or a file describing one")
    assert isinstance(error, ConfigError)
    assert str(error) == "unknown shape 'hexagon'; known: circle (or a file describing one)"
