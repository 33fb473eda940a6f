"""Run files of any system: the three formats, their errors, export, and `bios eval retrieve --run` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bios_kg.apps.retrieve.cli import eval_retrieve_command
from bios_kg.apps.retrieve.runs import ranking, read_run, write_run
from bios_kg.graph.errors import InputError, ParameterError
from tests.support.retrieval_files import recds_folder, write_jsonl


def test_trec_lines_are_ordered_as_trec_eval_orders_them(tmp_path: Path) -> None:
    path = tmp_path / "run.trec"
    path.write_text("q1 Q0 a 3 1.0 sys\nq1 Q0 z 1 1.0 sys\n\nq1 Q0 m 2 2.5 sys\nq2 Q0 a 1 0 sys\n")
    run = read_run(path)
    assert ranking(run["q1"]) == ["m", "z", "a"]  # score, then document id descending; the rank column ignored
    assert run["q2"] == [("a", 0.0)]


def test_json_forms_keep_their_order(tmp_path: Path) -> None:
    scores, lists = tmp_path / "scores.json", tmp_path / "lists.json"
    scores.write_text(json.dumps({"q1": {"b": 1.0, "a": 1.0, "c": 2}}))
    lists.write_text(json.dumps({"q1": ["c", "b", 7]}))
    assert ranking(read_run(scores)["q1"]) == ["c", "b", "a"]  # ties in file order, as BEIR's stable sort
    assert ranking(read_run(lists)["q1"]) == ["c", "b", "7"]


@pytest.mark.parametrize(("text", "problem"), [
    ("q1 Q0 a 1 1.0\n", r"run.txt:1: expected 6 columns"),
    ("q1 Q0 a 1 1.0 s\nq1 Q0 a 2 0.5 s\n", r"run.txt:2: document 'a' listed twice"),
    ("q1 Q0 a 1 high s\n", r"run.txt:1: score 'high'"),
    ('{"q1": {"a": 1, "a": 2}}', r"run.txt: not a JSON run .*listed twice"),
    ('{"q1": ["a", "a"]}', r"run.txt: query 'q1': a document is listed twice"),
    ('{"q1": 3}', r"run.txt: query 'q1': expected"),
    ('{"q1": {"a": NaN}}', r"run.txt: score nan is not finite"),
    ("", r"run.txt: empty run file")])
def test_bad_runs_name_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "run.txt"
    path.write_text(text)
    with pytest.raises(InputError, match=problem):
        read_run(path)


def test_written_runs_read_back_in_both_formats(tmp_path: Path) -> None:
    run = {"q1": [("d2", 0.9), ("d1", 0.5)], "q2": [("d1", 1.25)]}
    for fmt in ("json", "trec"):
        path = write_run(run, tmp_path / f"run.{fmt}", fmt)  # type: ignore[arg-type]
        assert read_run(path) == run
    assert (tmp_path / "run.trec").read_text().splitlines()[0] == "q1 Q0 d2 1 0.9 bios"
    with pytest.raises(ParameterError, match="whitespace"):
        write_run({"q 1": [("d", 1.0)]}, tmp_path / "bad.trec", "trec")
    with pytest.raises(ParameterError, match="run_format"):
        write_run(run, tmp_path / "x", "csv")  # type: ignore[arg-type]


def bios() -> typer.Typer:
    app = typer.Typer()
    app.command("retrieve")(eval_retrieve_command)  # as apps/cli.py wires it under `bios eval`
    app.command("other")(lambda: None)  # two commands: typer keeps the command name
    return app


def cliniq_bench(root: Path) -> Path:
    write_jsonl(root / "corpus.jsonl", [{"_id": f"{note}_{i}", "text": f"chunk {i} of {note}"}
                                        for note, size in (("100", 6), ("200", 2)) for i in range(size)])
    write_jsonl(root / "queries_disease.jsonl", [{"_id": "0", "text": "heart failure"}])
    write_jsonl(root / "queries_drug.jsonl", [{"_id": "1", "text": "aspirin"}])
    (root / "qrels_disease.tsv").write_text("0\t100_2\tstring\n0\t100_3\tsynonym\n0\t200_0\tstring\n")
    (root / "qrels_drug.tsv").write_text("1\t100_5\tabbreviation\n")
    return root


def test_eval_scores_a_trec_run_with_both_cliniq_settings(tmp_path: Path) -> None:
    bench = cliniq_bench(tmp_path / "bench")
    run = tmp_path / "run.trec"
    lines = [f"0 Q0 {doc} {i} {10 - i} other" for i, doc in enumerate(["100_3", "200_0", "100_0", "100_2"], 1)]
    lines += [f"1 Q0 {doc} {i} {10 - i} other" for i, doc in enumerate(
        ["100_5", "100_0", "100_1", "100_2", "100_3", "100_4"], 1)]
    run.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(bios(), ["retrieve", "--benchmark", str(bench), "--run", str(run), "--json",
                                         "--out", str(tmp_path / "res.json")])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.splitlines()[-1])
    assert figures["overall"]["queries"] == 2 and figures["overall"]["mrr"] == 100.0
    # note 200 has 2 chunks: skipped; note 100 for query 0: [100_3, 100_0, 100_2, then unranked 100_1, 100_4, 100_5]
    assert figures["single_patient"]["overall"]["pairs"] == 2
    assert figures["unranked_note_chunks"] == 4  # 100_1, 100_4, 100_5 and 200_1
    assert figures["by_match_type"]["string"]["mrr"] == 50.0  # 100_3 (synonym) removed: 100_2 second
    assert figures["by_match_type"]["abbreviation"]["map"] == 100.0
    table = (tmp_path / "res.md").read_text()
    assert "Single-patient" in table and "| match type synonym | 1 |" in table


def test_eval_scores_pmc_patients_runs_in_the_official_json_form(tmp_path: Path) -> None:
    folder = recds_folder(tmp_path / "recds")
    write_jsonl(folder / "PPR" / "corpus.jsonl", [{"_id": "77-1", "title": "", "text": "A man with angina."},
                                                  {"_id": "123-1", "title": "", "text": "The query patient."}])
    (folder / "PPR" / "qrels_test.tsv").write_text("query-id\tcorpus-id\tscore\n123-1\t77-1\t1\n123-1\t78-2\t1\n")
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"123-1": {"123-1": 99.0, "77-1": 3.5}}))
    result = CliRunner().invoke(bios(), ["retrieve", "--benchmark", "pmc-patients", "--data", str(folder),
                                         "--split", "test", "--run", str(run), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.splitlines()[-1])
    assert figures["self_hits_removed"] == 1 and figures["overall"]["mrr"] == 100.0
    assert figures["overall"]["recall@1000"] == 50.0  # 78-2 is judged but missing from the corpus
    assert any("78-2" in warning for warning in figures["warnings"])
    bad = CliRunner().invoke(bios(), ["retrieve", "--benchmark", "pmc-patients", "--data", str(folder),
                                      "--run", str(tmp_path / "none.json")])
    assert bad.exit_code != 0 and "no such run file" in str(bad.exception)


def test_search_exports_its_hits_as_a_run(tmp_path: Path) -> None:
    from bios_kg.apps.retrieve.chunking import Chunk
    from bios_kg.apps.retrieve.cli import retrieve_app
    from bios_kg.apps.retrieve.engine import build_index

    build_index([Chunk("1_0", "heart failure with edema"), Chunk("2_0", "aspirin given"), Chunk("3_0", "no edema")],
                tmp_path / "idx", encoder=None, progress=False)
    write_jsonl(tmp_path / "queries.jsonl", [{"_id": "q7", "text": "edema"}, {"_id": "q8", "text": "aspirin"}])
    result = CliRunner().invoke(retrieve_app, ["search", "--index", str(tmp_path / "idx"), "--queries",
                                               str(tmp_path / "queries.jsonl"), "--method", "bm25", "--run-out",
                                               str(tmp_path / "run.trec"), "--run-format", "trec", "--json"])
    assert result.exit_code == 0, result.output
    run = read_run(tmp_path / "run.trec")
    assert set(run) == {"q7", "q8"} and ranking(run["q8"]) == ["2_0"]
    assert set(ranking(run["q7"])) == {"1_0", "3_0"}
    both = CliRunner().invoke(retrieve_app, ["search", "--index", str(tmp_path / "idx"), "edema", "--queries",
                                             str(tmp_path / "queries.jsonl")])
    assert both.exit_code != 0 and "not both" in str(both.exception)
