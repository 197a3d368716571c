"""The replay (``askwell monitor replay``) end to end on real data, small: Stack Overflow
questions of July 2010 to March 2011 from the closing data, a small recipe trained on those
before 2011, the three later months served, monitored and judged as their close
dates arrive. What the replay finds on the full data is in the README (a longer run)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from askwell.cli import app
from askwell.models.bundle import read_info
from tests.conftest import SHARED_DATA, ingest_dataset

pytestmark = [
    pytest.mark.data,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The least populated class:UserWarning"),
]

RECIPE = """\
train:
  label: closed
  split: time
  model: logreg
  max_word_features: 3000
  max_char_features: 500
  grid_c: [1.0]
  n_boot: 100
  slice_n_boot: 100
  learning_fractions: [1.0]
  live_label_rate: 0.06
  verdict_multiples: [1.0, 3.0]
monitor:
  min_n: 50
  n_boot: 200
"""


def test_the_replay_trains_on_the_past_serves_the_future_and_reports(tmp_path: Path) -> None:
    frame = pd.read_csv(
        SHARED_DATA / "stackoverflow-closed" / "train-sample.csv", dtype=str, keep_default_na=False
    )
    month = pd.to_datetime(frame["PostCreationDate"], format="%m/%d/%Y %H:%M:%S").dt.strftime(
        "%Y-%m"
    )
    months = [f"2010-{m:02d}" for m in range(7, 13)] + ["2011-01", "2011-02", "2011-03"]
    sample = pd.concat(
        frame[month == m].sample(min(300, int((month == m).sum())), random_state=0) for m in months
    )
    source = tmp_path / "so.csv"
    sample.to_csv(source, index=False, quoting=csv.QUOTE_NONNUMERIC)
    dataset = ingest_dataset(tmp_path / "ds", source)
    config = tmp_path / "recipe.yaml"
    config.write_text(RECIPE, encoding="utf-8")
    out = tmp_path / "replay"
    result = CliRunner().invoke(
        app,
        ["monitor", "replay", str(dataset.folder), "--until", "2011-01-01", "--per-month", "150",
         "--out", str(out), "--config", str(config)],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "trained on questions before 2011-01-01" in flat and "stable windows" in flat

    replay = json.loads((out / "replay.json").read_text())
    assert replay["served"]["later"] == 3 * 150
    assert replay["served"]["past_test_months"] > 0  # the past's own test months
    later = [w for w in replay["performance"] if w["month"] >= "2011-01"]
    assert [w["month"] for w in later] == ["2011-01", "2011-02", "2011-03"]
    for w in later:  # outcomes arrived: each month judged with an interval
        assert w["n"] == 150 and w["roc_auc"]["low"] < w["roc_auc"]["high"]
        assert w["known_at"] > w["window_end"]
    windows = replay["drift_by_window"]
    assert any(w["after_training"] for w in windows) and any(
        not w["after_training"] for w in windows
    )
    fa = replay["false_alarms"]
    assert fa["stable_windows"] >= 1 and fa["feature_tests"] > 0
    assert 0 <= fa["window_rate"] <= 1
    assert isinstance(replay["detection"], list)
    page = (out / "replay.md").read_text()
    assert "## False alarms on stable windows" in page and "## Detection delay" in page
    assert (out / "replay.monitor.json").is_file() and (out / "replay.outcomes.json").is_file()
    html = (out / "replay.html").read_text()
    assert "data:image/png;base64," in html and "2011-03" in html
    # The model is a bundle like any other, with its reference; its test read is recorded
    # in the replay's own ledger, not the project's.
    info = read_info(out / "model.askwell")
    assert info.reference["outputs"].keys() == {"closing_risk", "verdict"}
    assert len((out / "ledger.jsonl").read_text().splitlines()) == 1
