"""Every Cypher statement of the code compiles against the real Neo4j with the schema applied.

The statements are found, not listed: every module named `queries.py` in the package and every module of
bios_kg/graph/queries/, and in each every upper-case string constant it defines that starts with a Cypher clause
(a constant that does not must be named in NOT_STATEMENTS, with what it is). Statement builders (functions that
return a statement) are EXPLAINed with the arguments in BUILT. EXPLAIN plans a statement without running it, so
parameters need no values. Each runs in an auto-commit transaction, where Neo4j also EXPLAINs the schema commands
(CREATE/DROP INDEX), SHOW and CALL { … } IN TRANSACTIONS, so no statement is exempt.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from neo4j.exceptions import Neo4jError

import bios_kg
from bios_kg.graph.settings import Neo4jSettings
from bios_kg.graph.store import GraphStore

pytestmark = pytest.mark.integration

PACKAGE = Path(bios_kg.__file__).parent
CLAUSES = {"CALL", "CREATE", "DELETE", "DETACH", "DROP", "FOREACH", "MATCH", "MERGE", "OPTIONAL", "REMOVE",
           "RETURN", "SET", "SHOW", "UNWIND", "WITH"}

# Upper-case strings of queries modules that are not statements.
NOT_STATEMENTS = {
    "bios_kg.graph.queries.embeddings.TERM_VECTOR_INDEX": "a vector index name",
    "bios_kg.graph.queries.embeddings.CONCEPT_VECTOR_INDEX": "a vector index name",
    "bios_kg.graph.queries.explore.NEIGHBOUR_ITEM": "a map projection spliced into relation_groups_query",
    "bios_kg.graph.queries.explore.RELATED_ITEM": "a map projection spliced into relation_groups_query",
}

# Statement builders with the arguments to EXPLAIN them with; functions that build no statement, with what they are.
BUILT: dict[str, Callable[[Callable[..., str]], list[str]]] = {
    "bios_kg.graph.queries.ingest.add_to_concept_list": lambda f: [f("alt_ids"), f("xrefs")],
    "bios_kg.graph.queries.ingest.merge_relations": lambda f: [f("IS_A")],
    "bios_kg.graph.queries.schema.count_label": lambda f: [f("Concept"), f("odd `label")],
    "bios_kg.graph.queries.schema.count_relationship_type": lambda f: [f("HAS_TERM")],
    "bios_kg.graph.queries.embeddings.create_vector_index_query": lambda f: [f("concept_embedding")],
    "bios_kg.graph.queries.embeddings.drop_index": lambda f: [f("term_embedding")],
    "bios_kg.graph.queries.explore.concept_relation_type_counts": lambda f: [f(["IS_A", "MAY_CAUSE"])],
    "bios_kg.graph.queries.explore.concept_degrees": lambda f: [f(["IS_A", "MAY_CAUSE"])],
    "bios_kg.graph.queries.explore.relation_groups_query": lambda f: [
        f(importlib.import_module("bios_kg.graph.queries.explore").NEIGHBOUR_ITEM),
        f(importlib.import_module("bios_kg.graph.queries.explore").RELATED_ITEM)],
    "bios_kg.graph.queries.explore.typed_neighbours": lambda f: [
        f("IS_A", "out", importlib.import_module("bios_kg.graph.queries.explore").RELATED_ITEM),
        f("IS_A", "in", importlib.import_module("bios_kg.graph.queries.explore").NEIGHBOUR_ITEM)],
    "bios_kg.graph.queries.explore.shortest_path_query": lambda f: [f(6)],
    "bios_kg.graph.queries.suggestions.accept_suggestion": lambda f: [f("MAY_CAUSE")],
}
NOT_BUILDERS = {
    "bios_kg.graph.queries.common.add_source": "a SET fragment",
    "bios_kg.graph.queries.common.escape_name": "quotes a label or type",
    "bios_kg.graph.queries.common.asserted_type": "a WHERE fragment",
    "bios_kg.graph.queries.common.sources_state": "a CALL subquery fragment (EXPLAINed within the statements using it)",
    "bios_kg.graph.queries.embeddings.vector_index_name": "validates an index name",
}


def _query_modules() -> list[str]:
    """Dotted names of the package's queries modules (symlinked layer folders followed, web assets skipped)."""
    found = []
    for folder, dirs, files in os.walk(PACKAGE, followlinks=True):
        dirs[:] = [d for d in dirs if d not in ("node_modules", "__pycache__") and not d.startswith(".")]
        parts = Path(folder).relative_to(PACKAGE.parent).parts
        for name in files:
            if name == "queries.py" or (parts[-2:] == ("graph", "queries") and name.endswith(".py")):
                found.append(".".join([*parts, name.removesuffix(".py")]).removesuffix(".__init__"))
    return sorted(found)


def _defined(module: ModuleType) -> list[str]:
    """Top-level names the module assigns or defines itself (not those it imports)."""
    tree = ast.parse(inspect.getsource(module))
    names = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
             if isinstance(t, ast.Name)]
    return names + [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]


def _first_word(text: str) -> str:
    match = re.match(r"\s*([A-Za-z]+)", text)
    return match.group(1).upper() if match else ""


def _constants() -> tuple[dict[str, str], dict[str, str]]:
    """({module.NAME: statement}, {module.NAME: text} of the upper-case strings that start with no clause)."""
    statements: dict[str, str] = {}
    others: dict[str, str] = {}
    for module_name in _query_modules():
        module = importlib.import_module(module_name)
        for name in _defined(module):
            value = getattr(module, name)
            if re.fullmatch(r"[A-Z][A-Z0-9_]*", name) and isinstance(value, str):
                target = statements if _first_word(value) in CLAUSES else others
                target[f"{module_name}.{name}"] = value
    return statements, others


def _builders() -> dict[str, Callable[..., str]]:
    return {f"{module_name}.{name}": getattr(module, name)
            for module_name in _query_modules() for module in [importlib.import_module(module_name)]
            for name in _defined(module) if not name.startswith("_") and inspect.isfunction(getattr(module, name))}


STATEMENTS, OTHERS = _constants()
BUILT_STATEMENTS = {f"{name}[{i}]": statement for name, function in _builders().items() if name in BUILT
                    for i, statement in enumerate(BUILT[name](function))}


def test_discovery_finds_every_queries_module() -> None:
    modules = _query_modules()
    assert {"bios_kg.graph.queries.ingest", "bios_kg.graph.queries.lookup", "bios_kg.apps.normalize.queries",
            "bios_kg.embed.queries"} <= set(modules)
    assert len(STATEMENTS) > 100  # the statements of the whole code base, not one module's


def test_every_upper_case_string_is_a_statement_or_says_what_it_is() -> None:
    assert set(OTHERS) == set(NOT_STATEMENTS), "a constant of a queries module that starts with no Cypher clause"


def test_every_builder_is_explained_or_says_what_it_is() -> None:
    assert set(_builders()) == set(BUILT) | set(NOT_BUILDERS)


@pytest.fixture(scope="module")
def schema_store(neo4j_settings: Neo4jSettings) -> Iterator[GraphStore]:
    """The session's Neo4j with the schema applied (EXPLAIN reads nothing and writes nothing)."""
    with GraphStore.connect(neo4j_settings) as store:
        store.apply_schema()
        yield store


@pytest.mark.parametrize("name", sorted({**STATEMENTS, **BUILT_STATEMENTS}))
def test_statement_compiles(schema_store: GraphStore, name: str) -> None:
    statement = {**STATEMENTS, **BUILT_STATEMENTS}[name]
    try:
        with schema_store.driver.session(database=schema_store.database) as session:
            session.run(f"EXPLAIN {statement}").consume()
    except Neo4jError as error:
        pytest.fail(f"{name} does not compile: {error.message}")
