"""The project's exception hierarchy. The CLI prints these as one line; the API maps them to 4xx."""

from __future__ import annotations


class BiosError(Exception):
    """Root of every error the project raises on purpose."""


class ConfigError(BiosError):
    """A setting, option or parameter is invalid."""


class ParameterError(ConfigError):
    """A request or command parameter is invalid. Names the parameter."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {problem}")


class NotFoundError(BiosError):
    """The thing asked for is not in the graph."""


class RuntimeStateError(BiosError):
    """The local Neo4j runtime cannot do what was asked (port taken, not running, start failed)."""


class GraphError(BiosError):
    """The graph refused an operation or is not in the state an operation needs."""


class InputError(BiosError):
    """A source file is malformed. Names the file, the line (1-based) and the problem."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        self.path = path
        self.line = line
        self.problem = problem
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")


class QueryTimeoutError(GraphError):
    """A query ran past its time limit."""


class ReadOnlyError(GraphError):
    """A statement that writes was refused where only reads may run."""
