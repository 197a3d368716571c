"""askwell train from the command line: a bundle, an evaluation, a tracked run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from askwell.features.catalog import feature_names
from askwell.models.bundle import load_bundle
from tests.conftest import DUMPS, run_askwell

pytestmark = pytest.mark.data


def test_train_writes_bundle_evaluation_andrun_askwell(tmp_path: Path) -> None:
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
        "train:\n  max_word_features: 2000\n  max_char_features: 300\n"
    )
    out = tmp_path / "models" / "answered.askwell"
    result = run_askwell("train", str(ds), "-o", str(out), "--config", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "heuristic" in result.stdout and "tracked as MLflow run" in result.stdout

    _, info = load_bundle(out, feature_names())
    assert info.label["name"] == "answered" and info.metrics["test_roc_auc"] > 0.5
    evaluation = json.loads(out.with_suffix(".evaluation.json").read_text())
    assert set(evaluation["test"]["baselines"]) == {"random", "majority", "heuristic"}
    auc = evaluation["test"]["intervals"]["roc_auc"]
    assert auc["low"] <= auc["value"] <= auc["high"]
    # Test questions with an unknown label are dropped, never counted as negatives.
    assert 0 < evaluation["test"]["n_test"] <= evaluation["split"]["sizes"]["test"]

    listed = run_askwell("experiments", "list", "--config", str(config), cwd=tmp_path)
    assert listed.returncode == 0 and "answered" in listed.stdout


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
