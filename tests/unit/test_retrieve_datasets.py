"""Chunking and the benchmark readers on small files written in the releases' formats."""

from __future__ import annotations

from pathlib import Path

import pytest

from bios_kg.apps.retrieve.chunking import chunk_note, clean_note, read_corpus, split_words
from bios_kg.apps.retrieve.datasets import read_cliniq, read_recds
from bios_kg.graph.errors import InputError, ParameterError
from tests.support.retrieval_files import recds_folder, write_jsonl


def words(n: int) -> str:
    return " ".join(f"w{i}" for i in range(n))


@pytest.mark.parametrize(("count", "spans"), [
    (5, [(0, 5)]), (100, [(0, 100)]), (101, [(0, 100), (90, 101)]), (190, [(0, 100), (90, 190)]),
    (191, [(0, 100), (90, 190), (180, 191)])])
def test_word_windows_step_by_size_minus_overlap(count: int, spans: list[tuple[int, int]]) -> None:
    assert split_words(words(count)) == [" ".join(f"w{i}" for i in range(a, b)) for a, b in spans]


def test_cleaning_ids_and_bad_parameters() -> None:
    assert clean_note("Pt [**Name**] seen\n\n on  [**2101-1-1**].") == "Pt seen on ."
    chunks = chunk_note("106238", words(150), size=100, overlap=10)
    assert [c.id for c in chunks] == ["106238_0", "106238_1"] and chunks[1].note == "106238"
    assert split_words("   ") == []
    with pytest.raises(ParameterError, match="overlap"):
        split_words("a b", size=10, overlap=10)
    with pytest.raises(ParameterError, match="note_id"):
        chunk_note("a_b", "text")


def cliniq_folder(root: Path) -> Path:
    write_jsonl(root / "corpus.jsonl", [{"_id": "106238_0", "text": "gi bleed"}, {"_id": "106238_1", "text": "ok"},
                                        {"_id": "200_0", "text": "vitamin k given"}])
    write_jsonl(root / "queries_disease.jsonl", [{"_id": "0", "text": "gastrointestinal hemorrhage"}])
    write_jsonl(root / "queries_drug.jsonl", [{"_id": "694", "text": "phytonadione"}])
    (root / "qrels_disease.tsv").write_text("0\t106238_0\tabbreviation\n", encoding="utf-8")
    (root / "qrels_drug.tsv").write_text("694\t200_0\tsynonym\n", encoding="utf-8")
    return root


def test_cliniq_format_keeps_query_and_match_types(tmp_path: Path) -> None:
    bench = read_cliniq(cliniq_folder(tmp_path))
    assert bench.summary() == {"documents": 3, "queries": 2, "judgments": 2}
    assert bench.query_types == {"0": "disease", "694": "drug"}
    assert bench.qrels == {"0": {"106238_0": 1}, "694": {"200_0": 1}}
    assert bench.match_types["0"] == {"106238_0": "abbreviation"}


@pytest.mark.parametrize(("line", "problem"), [
    ("0\t106238_0\n", "3 tab-separated columns"), ("0\t106238_0\tfuzzy\n", "match type 'fuzzy'"),
    ("9\t106238_0\tstring\n", "query '9'"), ("0\tnope_0\tstring\n", "document 'nope_0'")])
def test_cliniq_bad_qrels_name_file_and_line(tmp_path: Path, line: str, problem: str) -> None:
    folder = cliniq_folder(tmp_path)
    (folder / "qrels_disease.tsv").write_text("0\t106238_0\tstring\n" + line, encoding="utf-8")
    with pytest.raises(InputError, match=rf"qrels_disease.tsv:2: .*{problem}"):
        read_cliniq(folder)


def test_cliniq_without_corpus_says_how_to_build_it(tmp_path: Path) -> None:
    folder = cliniq_folder(tmp_path)
    (folder / "corpus.jsonl").unlink()
    with pytest.raises(InputError, match="MIMIC-III"):
        read_cliniq(folder)


def test_recds_reads_graded_qrels_and_keeps_judged_queries(tmp_path: Path) -> None:
    bench = read_recds(recds_folder(tmp_path), "PPR", "test")
    assert bench.name == "pmc-patients-PPR-test"
    assert bench.queries == {"123-1": "A 45-year-old man with chest pain."}
    assert bench.qrels == {"123-1": {"77-1": 1, "78-2": 2}}
    assert bench.query_types == {"123-1": "PPR/test"}


def test_recds_reads_the_first_release_names_and_skips_the_first_line_as_beir(tmp_path: Path) -> None:
    folder = recds_folder(tmp_path)
    (folder / "PPR" / "corpus.jsonl").rename(folder / "PPR" / "PPR_corpus.jsonl")
    (folder / "PPR" / "qrels_test.tsv").write_text("q\tc\ts\n123-1\t77-1\t1\n123-1\t66-1\t1\n123-1\t77-1\t2\n")
    (folder / "PPR" / "qrels_test.tsv").rename(folder / "PPR" / "PPR_test_qrels.tsv")
    bench = read_recds(folder, "PPR", "test")
    assert bench.qrels == {"123-1": {"77-1": 2, "66-1": 1}}  # any header; the last score of a pair judged twice
    assert bench.kind == "recds" and len(bench.warnings) == 1 and "66-1" in bench.warnings[0]  # not in the corpus
    (folder / "PPR" / "PPR_test_qrels.tsv").write_text("123-1\t78-2\t1\n123-1\t77-1\t1\n")  # no header
    bench = read_recds(folder, "PPR", "test")
    assert bench.qrels == {"123-1": {"77-1": 1}}
    assert "PPR_test_qrels.tsv:1" in bench.warnings[0] and "skipped as BEIR" in bench.warnings[0]


def test_recds_errors_name_file_line_and_parameter(tmp_path: Path) -> None:
    folder = recds_folder(tmp_path)
    (folder / "PPR" / "qrels_test.tsv").write_text("query-id\tcorpus-id\tscore\n123-1\t77-1\thigh\n")
    with pytest.raises(InputError, match=r"qrels_test.tsv:2: expected query-id, corpus-id and an integer score"):
        read_recds(folder, "PPR", "test")
    (folder / "PPR" / "qrels_test.tsv").write_text("query-id\tcorpus-id\tscore\nnope\t77-1\t1\n")
    with pytest.raises(InputError, match=r"qrels_test.tsv:2: query 'nope'"):
        read_recds(folder, "PPR", "test")
    (folder / "PAR").mkdir()
    (folder / "PAR" / "PAR_PMIDs.json").write_text("[]")
    with pytest.raises(InputError, match="PubMed baseline"):
        read_recds(folder, "PAR", "test")
    with pytest.raises(ParameterError, match="task"):
        read_recds(folder, "XYZ", "test")


def test_corpus_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"_id": "a_0", "text": "x"}\n{"_id": "a_0", "text": "y"}\n')
    with pytest.raises(InputError, match=r"corpus.jsonl:2: duplicate _id"):
        read_corpus(path)
    path.write_text('{"_id": "a_0"}\n')
    with pytest.raises(InputError, match=r"corpus.jsonl:1: expected"):
        read_corpus(path)
