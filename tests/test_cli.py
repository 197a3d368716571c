"""The askwell command as a user runs it: help everywhere, summaries, exit codes."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DUMPS, SHARED_DATA, run_askwell

ASKWELL = [sys.executable, "-m", "askwell"]


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["ingest"],
        ["data"],
        ["data", "check"],
        ["data", "profile"],
        ["train"],
        ["evaluate"],
        ["labels"],
        ["score"],
        ["serve"],
        ["experiments"],
        ["experiments", "list"],
    ],
)
def test_every_command_and_group_has_help(command: list[str]) -> None:
    result = run_askwell(*command, "--help")
    assert result.returncode == 0
    assert "Usage: askwell" in result.stdout
    assert len(result.stdout.splitlines()) > 5
    assert "<bool>" not in result.stdout  # flags read as flags, not "--json <bool>"


def test_version() -> None:
    result = run_askwell("--version")
    assert result.returncode == 0 and result.stdout.startswith("askwell ")


@pytest.mark.data
def test_ingest_check_profile_round_trip(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    result = run_askwell(
        "ingest",
        str(DUMPS / "coffee.stackexchange.com"),
        str(SHARED_DATA / "book" / "writers.csv"),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    # The summary: read / kept / rejected by reason / skipped by post type.
    assert "ingest summary" in result.stdout
    assert "questions 225" in result.stdout and "malformed CSV row 1" in result.stdout
    assert "type 4: " in result.stdout  # tag wiki excerpts, skipped and counted
    assert f"dataset: {out} (complete)" in result.stdout
    assert "MB/s" not in result.stdout and "rows ━" not in result.stdout  # no bar off a TTY

    check = run_askwell("data", "check", str(out))
    assert check.returncode == 0 and "OK;" in check.stdout

    profile = run_askwell("data", "profile", str(out))
    assert profile.returncode == 0, profile.stderr
    assert "coffee.stackexchange.com" in profile.stdout
    assert (out / "profile.html").is_file()


@pytest.mark.data
def test_check_exits_non_zero_on_damage(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    assert (
        run_askwell("ingest", str(DUMPS / "coffee.stackexchange.com"), "-o", str(out)).returncode
        == 0
    )
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["tables"]["questions"]["rows"] += 1
    (out / "manifest.json").write_text(json.dumps(manifest))
    result = run_askwell("data", "check", str(out))
    assert result.returncode == 1 and "FAILED" in result.stdout


@pytest.mark.data
def test_progress_bar_shows_on_a_terminal(tmp_path: Path) -> None:
    cmd = shlex.join(
        [*ASKWELL, "ingest", str(DUMPS / "coffee.stackexchange.com"), "-o", str(tmp_path / "ds")]
    )
    result = subprocess.run(
        ["script", "-qec", cmd, "/dev/null"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "160"},
    )
    assert result.returncode == 0
    assert "592 rows" in result.stdout  # rows read, on the bar
    assert "kB" in result.stdout or "MB" in result.stdout  # bytes read, on the bar


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "/nonexistent/dump", "-o", "/tmp/x"], "/nonexistent/dump: no such file"),
        (["data", "check", "/nonexistent/ds"], "no such dataset folder"),
        (["data", "profile", "/tmp"], "not an askwell dataset"),
    ],
)
def test_user_errors_are_one_line_without_traceback(args: list[str], message: str) -> None:
    result = run_askwell(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_bad_config_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("ingest:\n  wrokers: 1\n")
    result = run_askwell(
        "ingest",
        str(DUMPS / "coffee.stackexchange.com"),
        "-o",
        str(tmp_path / "d"),
        "--config",
        str(config),
    )
    assert result.returncode == 2 and "ingest.wrokers" in result.stderr


def test_score_a_question_from_markdown(tmp_path: Path) -> None:
    body = tmp_path / "body.md"
    body.write_text(
        "My CSV read fails.\n\n```\ndf = pd.read_csv('a.csv')\n```\n\n"
        "How can I skip the bad lines? Thanks in advance!!!\n",
        encoding="utf-8",
    )
    args = ("score", "--title", "How do I skip bad CSV lines in pandas?", "--body", str(body))
    result = run_askwell(*args, "--tags", "python,pandas", "--json")
    assert result.returncode == 0, result.stderr
    scored = json.loads(result.stdout)
    assert 0 < scored["score"] < 1 and scored["label"] == "good_answer_within_7d"
    assert 0 < scored["closing"]["risk"] < 1 and scored["closing"]["reason"]
    assert scored["verdict"] in ("ready to post", "needs work", "likely to be closed")
    assert [h["text"] for h in scored["highlights"]] == [
        "My CSV read fails.", "How can I skip the bad lines?", "Thanks in advance!!!"
    ]  # fmt: skip
    prose = scored["prose"]  # what the highlights' offsets index, as in the API's answer
    assert "read_csv" not in prose  # code is not prose
    for h in scored["highlights"]:
        assert prose[h["start"] : h["end"]] == h["text"]
    shown = run_askwell(*args)
    assert shown.returncode == 0 and "chance of good_answer_within_7d" in shown.stdout
    assert "risk of being closed" in shown.stdout and "closing model: closing" in shown.stdout
    assert "How can I skip the bad lines?" in shown.stdout and "model: default" in shown.stdout


def test_score_reports_a_bad_body_file_in_one_line(tmp_path: Path) -> None:
    missing = run_askwell("score", "--title", "T", "--body", str(tmp_path / "no.md"))
    assert missing.returncode == 2 and f"{tmp_path / 'no.md'}: no such file" in missing.stderr
    binary = tmp_path / "b.md"
    binary.write_bytes(b"ok \xff\xfe")
    bad = run_askwell("score", "--title", "T", "--body", str(binary))
    assert bad.returncode == 2 and "not UTF-8 text (byte 3)" in bad.stderr
    assert "Traceback" not in missing.stderr + bad.stderr
