"""The query library's files and parameter checks, without a database."""

from __future__ import annotations

from pathlib import Path

import pytest

from bios_kg.graph.errors import InputError, NotFoundError, ParameterError
from bios_kg.graph.library import DEFAULT_TIMEOUT_S, LIBRARY_DIR, Library, parse_query

HEADER = """// name: {name}
// description: Concepts by id,
//   continued.
// param id (curie, required): a concept
// param depth (int, default 3, 1..5): levels
// param langs (list[string], optional, 1..2): languages
// param strict (bool, default false): exact only
// example: id=hp:0001250 depth=2
MATCH (c:Concept {{id: $id}}) WHERE $depth > 0 AND ($langs IS NULL OR size($langs) > 0) AND $strict IS NOT NULL
RETURN c.id AS id
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.cypher"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_library_has_the_curators_queries() -> None:
    library = Library()
    assert len(library.queries) >= 15
    assert {"concept-card", "terms-by-language", "ambiguous-terms", "concepts-missing-language", "orphans",
            "is-a-cycles", "ancestors", "descendants", "shortest-path", "relation-counts", "release-changes",
            "suggested-edges", "xref-conflicts"} <= set(library.queries)
    for query in library:
        assert query.description and query.path.parent == LIBRARY_DIR
        assert all(param.description for param in query.params)
        query.example_values()  # every example binds
    with pytest.raises(NotFoundError, match="no query 'nope'"):
        library.get("nope")


def test_header_is_parsed(tmp_path: Path) -> None:
    query = parse_query(write(tmp_path, "by-id", HEADER.format(name="by-id")))
    assert query.description == "Concepts by id, continued."
    assert [(p.name, p.type, p.required, p.default, p.min, p.max) for p in query.params] == [
        ("id", "curie", True, None, None, None), ("depth", "int", False, 3, 1, 5),
        ("langs", "list[string]", False, None, 1, 2), ("strict", "bool", False, False, None, None)]
    assert query.example_values() == {"id": "HP:0001250", "depth": 2, "langs": None, "strict": False}
    assert query.cypher.startswith("MATCH (c:Concept {id: $id})")
    assert query.unbounded is None and query.timeout_s == DEFAULT_TIMEOUT_S


def test_unbounded_queries_say_what_they_read_and_carry_a_timeout(tmp_path: Path) -> None:
    text = HEADER.format(name="scan").replace("// param id", "// unbounded: reads every Concept\n// timeout: 90\n"
                                                             "// param id", 1)
    query = parse_query(write(tmp_path, "scan", text))
    assert (query.unbounded, query.timeout_s) == ("reads every Concept", 90.0)
    with pytest.raises(InputError, match="timeout: must be a number of seconds"):
        parse_query(write(tmp_path, "scan", text.replace("// timeout: 90", "// timeout: soon")))
    # Whole-graph queries of the library are marked; the per-concept ones that serve the API at any size are not.
    library = Library()
    assert library.get("relation-counts").unbounded and library.get("relation-counts").timeout_s > DEFAULT_TIMEOUT_S
    assert not any(library.get(name).unbounded for name in ("concept-card", "terms-by-language", "sources"))


@pytest.mark.parametrize(("text", "line", "message"), [
    (HEADER.format(name="other"), 1, "must be the file name"),
    (HEADER.format(name="q").replace("// description: Concepts by id,\n", ""), 1, "no description"),
    (HEADER.format(name="q").replace("(int, default 3, 1..5)", "(integer, default 3)"), 5, "unknown type 'integer'"),
    (HEADER.format(name="q").replace("(int, default 3, 1..5)", "(int, 1..5)"), 5, "either required, optional"),
    (HEADER.format(name="q").replace("(int, default 3, 1..5)", "(int, default 9, 1..5)"), 5, "at most 5"),
    (HEADER.format(name="q").replace("$strict IS NOT NULL", "$strict IS NOT NULL AND $other"), 9,
     r"undeclared \['other'\]"),
    (HEADER.format(name="q").replace("// example: id=hp:0001250", "// example: id=nope"), 1, "not a CURIE"),
    (HEADER.format(name="q").replace("// param", "// parm", 1), 4, "unknown header line"),
    (HEADER.format(name="q").split("MATCH")[0], 8, "no statement"),
])
def test_bad_headers_name_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = write(tmp_path, "q", text)
    with pytest.raises(InputError, match=message) as error:
        parse_query(path)
    assert (error.value.path, error.value.line) == (str(path), line)


@pytest.mark.parametrize(("values", "as_text", "parameter", "message"), [
    ({}, False, "id", "is required"),
    ({"id": "HP:1", "nope": 1}, False, "nope", "no such parameter"),
    ({"id": "HP:1", "depth": 6}, False, "depth", "at most 5"),
    ({"id": "HP:1", "depth": 0}, False, "depth", "at least 1"),
    ({"id": "HP:1", "depth": "2"}, False, "depth", "expected an integer"),
    ({"id": "HP:1", "depth": True}, False, "depth", "expected an integer"),
    ({"id": "HP:1", "depth": "two"}, True, "depth", "expected an integer"),
    ({"id": "HP:1", "strict": "maybe"}, True, "strict", "true or false"),
    ({"id": "HP:1", "langs": "en"}, False, "langs", "a list"),
    ({"id": "HP:1", "langs": ["en", "zh", "fr"]}, False, "langs", "at most 2 items"),
    ({"id": "HP:1", "langs": ["x" * 201]}, False, "langs", "longer than 200"),
    ({"id": "not a curie"}, False, "id", "not a CURIE"),
    ({"id": "HP:" + "1" * 300}, False, "id", "at most 200 characters"),
])
def test_parameters_are_checked_by_type(tmp_path: Path, values: dict[str, object], as_text: bool, parameter: str,
                                        message: str) -> None:
    query = parse_query(write(tmp_path, "q", HEADER.format(name="q")))
    with pytest.raises(ParameterError, match=message) as error:
        query.bind(values, as_text=as_text)
    assert error.value.name == parameter


def test_text_and_json_values_bind_alike(tmp_path: Path) -> None:
    query = parse_query(write(tmp_path, "q", HEADER.format(name="q")))
    expected = {"id": "ICD10:G40", "depth": 4, "langs": ["en", "zh"], "strict": True}
    assert query.bind({"id": "icd-10:G40", "depth": "4", "langs": "en, zh", "strict": "yes"}, as_text=True) == expected
    assert query.bind({"id": "ICD-10:G40", "depth": 4, "langs": ["en", "zh"], "strict": True}) == expected


def test_library_lang_parameters_are_checked() -> None:
    with pytest.raises(ParameterError, match="unknown language code 'xx'") as error:
        Library().get("concepts-missing-language").bind({"lang": "xx"})
    assert error.value.name == "lang"
    assert Library().get("concepts-missing-language").bind({"lang": "ZH"})["lang"] == "zh"
