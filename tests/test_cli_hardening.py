"""The command as a user runs it, at its edges: blank input refused as the API refuses it, a
port in use, flags in --help, piped output, JSON that carries what its offsets index, and the
scoring-processes metric saying what it measures."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from askwell.cli import app
from askwell.explain.predictor import Predictor
from askwell.records import Question
from askwell.serving.batch import score_file
from askwell.serving.metrics import Metrics
from tests.conftest import DUMPS, run_askwell, serving

TITLE = "How do I sort a list of tuples by the second item in Python?"
NESTED_QUOTES = "> " * 1_000  # 2 kB of block quotes, each inside the one before


def piped(*args: str) -> subprocess.CompletedProcess[str]:
    """The command with stdout to a pipe and no COLUMNS: Rich would assume 80 columns."""
    return run_askwell(*args, columns=None)


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


# ----------------------------------------------------------------------------- 1: blank body


@pytest.mark.parametrize("body", ["", "   \n\t\n"])
def test_score_refuses_a_blank_body_as_the_api_does(tmp_path: Path, body: str) -> None:
    path = tmp_path / "body.md"
    path.write_text(body, encoding="utf-8")
    line = one_line_error(run_askwell("score", "--title", TITLE, "--body", str(path)))
    assert line == f"error: --body {path}: body is empty"


def test_score_refuses_a_blank_title() -> None:
    assert one_line_error(run_askwell("score", "--title", "  ")) == "error: --title: title is empty"


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.load()


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_batch_gives_a_blank_body_its_row_error_and_scores_the_rest(
    tmp_path: Path, predictor: Predictor
) -> None:
    source = tmp_path / "in.jsonl"
    rows = [
        {"id": "good", "title": TITLE, "body": "I have a list of pairs. How do I sort it?"},
        {"id": "blank", "title": TITLE, "body": "  \n "},
        {"id": "null", "title": TITLE, "body": None},
        {"id": "quotes", "title": "How do I quote a quote?", "body": NESTED_QUOTES},
        {"id": "no body field", "title": TITLE},  # a title alone, as documented
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = score_file(source, tmp_path / "out.jsonl", predictor)
    assert (summary.rows, summary.scored, summary.errors) == (5, 3, 2)
    out = {r["id"]: r for r in _rows(tmp_path / "out.jsonl")}
    assert out["blank"]["error"] == "line 2: body is empty"
    assert out["null"]["error"] == "line 3: body is empty"
    assert out["blank"]["score"] is None
    for scored in ("good", "quotes", "no body field"):
        assert out[scored]["error"] is None and 0 < out[scored]["score"] < 1


def test_a_row_whose_text_cannot_be_read_is_a_row_error_not_an_aborted_file(
    tmp_path: Path, predictor: Predictor, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deeply nested block quotes once overflowed the Markdown reader's recursion; whatever
    reading a body raises, the row says so and the rest are scored."""
    real = Question.from_markdown

    def from_markdown(title: str, body: str, *args: Any, **kwargs: Any) -> Question:
        if body.startswith("> > > "):
            raise RecursionError("maximum recursion depth exceeded")
        return real(title, body, *args, **kwargs)

    monkeypatch.setattr(Question, "from_markdown", staticmethod(from_markdown))
    source = tmp_path / "in.jsonl"
    rows = [
        {"title": TITLE, "body": "I have a list of pairs. How do I sort it?"},
        {"title": "How do I quote a quote?", "body": NESTED_QUOTES},
        {"title": TITLE, "body": "And another list. How?"},
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    summary = score_file(source, tmp_path / "out.jsonl", predictor)
    assert (summary.rows, summary.scored, summary.errors) == (3, 2, 1)
    error = _rows(tmp_path / "out.jsonl")[1]["error"]
    assert error.startswith("line 2: could not read it: RecursionError: maximum recursion")
    assert error.endswith("(this is a bug in askwell; please report it)")


def test_the_command_scores_a_file_with_blank_and_nested_quote_bodies(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "id,title,body\n"
        f'a,"{TITLE}",I have a list of pairs. How do I sort it?\n'
        f'b,"{TITLE}",\n'
        f'c,How do I quote a quote?,"{NESTED_QUOTES}"\n',
        encoding="utf-8",
    )
    out = tmp_path / "out.jsonl"
    result = run_askwell("score", str(source), str(out))
    assert result.returncode == 0, result.stderr
    assert "2 scored, 1 with errors (first: line 3: body is empty)" in result.stdout
    assert [r["error"] for r in _rows(out)] == [None, "line 3: body is empty", None]


# ----------------------------------------------------------------------------- 2: port in use


def test_serve_on_a_port_in_use_says_so_in_one_line_without_the_banner(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_askwell(
            "serve",
            "--port",
            str(port),
            "--database-url",
            f"sqlite:///{tmp_path / 'askwell.db'}",
            timeout=120,
        )
    line = one_line_error(result)
    assert line.startswith(f"error: cannot listen on 127.0.0.1:{port}: the port is in use")
    assert "askwell editor" not in result.stdout


def test_serve_still_serves_on_the_socket_it_checked(tmp_path: Path) -> None:
    with serving(tmp_path) as (port, log):
        pass  # it answered /readyz on the port it checked
    assert f"askwell editor: http://localhost:{port}/" in log.read_text()


# ----------------------------------------------------------------------------- 3: flags


def test_score_help_shows_json_and_html_as_flags() -> None:
    result = CliRunner().invoke(app, ["score", "--help"], env={"COLUMNS": "200"})
    assert re.search(r"--json\s+Print the result as JSON\.", result.output), result.output
    assert re.search(r"--html\s+The body \(file or column\) is HTML\.", result.output)


# ----------------------------------------------------------------------------- 4: piped output

LONG_SITE = "3dprinting.meta.stackexchange.com"


@pytest.mark.data
def test_piped_tables_keep_every_column_and_whole_site_names(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    ingest = piped("ingest", str(DUMPS / LONG_SITE), "-o", str(out), "--workers", "1")
    assert ingest.returncode == 0, ingest.stderr
    assert LONG_SITE in ingest.stdout and "…" not in ingest.stdout
    assert "skipped (post type)" in ingest.stdout  # the header, on one line
    assert "questions 158, answers 261" in ingest.stdout  # a cell, on one line
    profile = piped("data", "profile", str(out))
    assert profile.returncode == 0, profile.stderr
    assert LONG_SITE in profile.stdout and "…" not in profile.stdout
    lines = profile.stdout.splitlines()
    (row,) = [line for line in lines if LONG_SITE in line]  # one table, the name not wrapped
    top = next(line for line in lines if line.startswith("┏"))
    assert row.count("│") - 1 == top.count("┳") + 1 > 10  # a cell under every column
    assert "score" in profile.stdout and "block" in profile.stdout  # the last columns too


# ----------------------------------------------------------------------------- 5: JSON prose


# (The JSON's prose, item 5, is checked in test_cli.py's test_score_a_question_from_markdown.)


# ----------------------------------------------------------------------------- 6: the metric


def test_scoring_processes_metric_says_what_zero_means() -> None:
    page = Metrics().exposition()[0].decode()
    (help_line,) = [x for x in page.splitlines() if x.startswith("# HELP askwell_scoring_proc")]
    assert "every score is the fallback's" not in help_line
    assert "--workers 1" in help_line and "the server process scores" in help_line
