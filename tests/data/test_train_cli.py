"""askwell train from the command line: a bundle, an evaluation, a tracked run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from askwell.features.catalog import feature_names
from askwell.models.bundle import load_bundle
from tests.conftest import DUMPS, run_askwell

pytestmark = pytest.mark.data


def test_train_writes_bundle_evaluation_report_card_and_run(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    sites = ("beer.stackexchange.com", "ai.stackexchange.com", "coffee.stackexchange.com")
    assert (
        run_askwell(
            "ingest", *(str(DUMPS / s) for s in sites), "-o", str(ds), cwd=tmp_path
        ).returncode
        == 0
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        f"tracking:\n  uri: sqlite:///{tmp_path}/mlflow.db\n"
        f"  artifact_root: {tmp_path}/artifacts\n"
        "train:\n  max_word_features: 2000\n  max_char_features: 300\n  text: first_posted\n"
    )
    out = tmp_path / "models" / "answered.askwell"
    result = run_askwell("train", str(ds), "-o", str(out), "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "heuristic" in result.stdout and "tracked as MLflow run" in result.stdout

    _, info = load_bundle(out, feature_names())
    assert info.label["name"] == "good_answer_within_7d"  # the default label
    assert info.metrics["test_roc_auc"] > 0.5
    evaluation = json.loads(out.with_suffix(".evaluation.json").read_text())
    assert set(evaluation["test"]["baselines"]) == {"random", "majority", "heuristic"}
    auc = evaluation["test"]["intervals"]["roc_auc"]
    assert auc["low"] <= auc["value"] <= auc["high"]
    # Test questions with an unknown label are dropped, never counted as negatives.
    assert 0 < evaluation["test"]["n_test"] <= evaluation["split"]["sizes"]["test"]

    errors = evaluation["test"]["errors"]
    assert 0 < len(errors["worst"]) <= 100 and errors["n_mistakes"] >= len(errors["worst"])
    assert sum(c["n"] for c in errors["causes"]) == len(errors["worst"])
    assert "Error analysis" in out.with_suffix(".report.html").read_text()
    check = evaluation["test"]["edit_check"]
    assert check["n_questions"] == evaluation["test"]["n_test"]
    assert check["with_a_shown_edit"] > 0 and check["shown"]["share_raised"] == 1.0
    assert check["applicable"]["n"] >= check["with_a_shown_edit"]
    assert check["with_contradictory_suggestions"] == 0
    assert "Advice check" in out.with_suffix(".report.html").read_text()
    card = out.with_suffix(".card.md").read_text()
    for section in ("## Intended use", "## Data", "CC BY-SA", "## Metrics", "## Limitations",
                    "## Ethical considerations", "beer.stackexchange.com"):  # fmt: skip
        assert section in card

    # ai.stackexchange.com has PostHistory.xml: its questions are read as first posted, the
    # card compares that with training on final text, and checks the advice against the
    # real revisions of the test questions.
    first = evaluation["test"]["first_posted"]
    assert 0 < first["coverage"]["test"]["first_posted"] < first["coverage"]["test"]["n"]
    assert first["n_test"] == first["coverage"]["test"]["first_posted"]
    for trained_on in ("final", "first_posted"):
        auc = first["roc_auc"][trained_on]
        assert 0 < auc["low"] <= auc["value"] <= auc["high"] < 1
    assert "## Questions as first posted" in card and "text as first posted (shipped)" in card
    check = evaluation["test"]["revision_check"]
    assert check["part"] == "test" and check["n_pairs"] > 0
    assert check["n_questions"] <= first["coverage"]["test"]["first_posted"]
    assert "## Advice against real edits" in card and "(a) The judgement" in card

    # The test read is in the ledger (relative to the working directory), and the card says
    # it is the first.
    ledger = tmp_path / "evidence" / "test-ledger.jsonl"
    (entry,) = [json.loads(line) for line in ledger.read_text().splitlines()]
    assert entry["fingerprint"] == info.data_fingerprint
    assert entry["protocol"]["label"] == "good_answer_within_7d"
    assert entry["metrics"]["roc_auc"] == pytest.approx(info.metrics["test_roc_auc"], abs=1e-6)
    assert "has now been read once" in card

    listed = run_askwell("experiments", "list", "--config", str(config), cwd=tmp_path)
    assert listed.returncode == 0 and "answered" in listed.stdout  # the run, named for its file

    # askwell evaluate on the same dataset reproduces the training evaluation exactly.
    again = tmp_path / "again" / "answered"
    result = run_askwell("evaluate", str(out), str(ds), "-o", str(again), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "not the one the bundle was trained on" not in result.stdout
    reevaluated = json.loads(again.with_suffix(".evaluation.json").read_text())
    assert reevaluated["test"]["metrics"] == evaluation["test"]["metrics"]
    assert reevaluated["test"]["errors"] == evaluation["test"]["errors"]
    assert reevaluated["learning_curve"] == evaluation["learning_curve"]
    assert again.with_suffix(".report.html").exists() and again.with_suffix(".card.md").exists()
    # ... and it is a second read of the same test split: the ledger and the card say so.
    assert len(ledger.read_text().splitlines()) == 2
    assert "has now been read 2 times" in again.with_suffix(".card.md").read_text()
    assert "read 2 times" in again.with_suffix(".report.html").read_text()

    # On another dataset it says so; a broken label table is one clear line.
    other = tmp_path / "other"
    assert (
        run_askwell("ingest", str(DUMPS / sites[0]), "-o", str(other), cwd=tmp_path).returncode == 0
    )
    result = run_askwell(
        "evaluate", str(out), str(other), "-o", str(tmp_path / "o" / "x"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "not the one the bundle was trained on" in result.stdout
    bad = tmp_path / "labels.json"
    bad.write_text('{"not": "a list"}')
    result = run_askwell(
        "evaluate", str(out), str(ds), "-o", str(tmp_path / "y"), "--labels", str(bad),
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2 and f"{bad}: not a label comparison" in result.stderr


def test_unknown_label_is_a_clear_error(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    assert (
        run_askwell(
            "ingest", str(DUMPS / "coffee.stackexchange.com"), "-o", str(ds), cwd=tmp_path
        ).returncode
        == 0
    )
    result = run_askwell(
        "train",
        str(ds),
        "-o",
        str(tmp_path / "m.askwell"),
        "--label",
        "good",
        "--no-track",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "unknown label 'good'; valid labels are accepted, answered" in result.stderr
