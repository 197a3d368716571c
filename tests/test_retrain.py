"""``askwell retrain`` end to end on real data, small: a closing model trained on Stack
Overflow questions of the second half of 2010 is the champion; a newer export (to March 2011)
and reviewers' labels arrive; retraining builds data with provenance, trains a challenger
with the champion's recipe, gates it, and leaves it waiting for a person. The same inputs
make no second challenger; nothing is promoted without approval."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert
from typer.testing import CliRunner

from askwell.cli import app
from askwell.config import get_settings
from askwell.data.dataset import Dataset
from askwell.loop.retrain import FAILED, NOT_NEEDED, PENDING, UNCHANGED, reasons_to_retrain
from askwell.loop.sources import REVIEW, Sources, build
from askwell.models.registry import CHALLENGER, CHAMPION, Tracker
from askwell.store.db import Store
from askwell.store.tables import feedback, predictions, review_items, review_labels
from tests.conftest import SHARED_DATA, ingest_dataset

pytestmark = [
    pytest.mark.data,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The least populated class:UserWarning"),
]

TOKEN = "retrain-test-admin-token-0123456789"
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
models:
  n_boot: 200
  behaviour_questions: 40
  latency_questions: 20
  latency_ratio: 5.0
"""


def _sample(tmp: Path, months: list[str], name: str) -> Path:
    frame = pd.read_csv(
        SHARED_DATA / "stackoverflow-closed" / "train-sample.csv", dtype=str, keep_default_na=False
    )
    month = pd.to_datetime(frame["PostCreationDate"], format="%m/%d/%Y %H:%M:%S").dt.strftime(
        "%Y-%m"
    )
    sample = pd.concat(
        frame[month == m].sample(min(250, int((month == m).sum())), random_state=0) for m in months
    )
    path = tmp / f"{name}.csv"
    sample.to_csv(path, index=False, quoting=csv.QUOTE_NONNUMERIC)
    return path


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("retrain")
    old = [f"2010-{m:02d}" for m in range(7, 13)]
    new = [*old, "2011-01", "2011-02", "2011-03"]
    ds_old = ingest_dataset(tmp / "ds-old", _sample(tmp, old, "old")).folder
    ds_new = ingest_dataset(tmp / "ds-new", _sample(tmp, new, "new")).folder
    config = tmp / "askwell.yaml"
    config.write_text(
        RECIPE + f"tracking:\n  uri: sqlite:///{tmp}/mlflow.db\n  artifact_root: {tmp}/artifacts\n"
        f"  model_name: askwell-closing\n  test_ledger: {tmp}/ledger.jsonl\n"
        f"serve:\n  database_url: sqlite:///{tmp}/askwell.db\n"
        f"retrain:\n  work: {tmp}/work\n",
        encoding="utf-8",
    )
    return {"tmp": tmp, "old": ds_old, "new": ds_new, "config": config}


def _cli(world: dict[str, Path], *args: str) -> str:
    result = CliRunner().invoke(
        app,
        [*args, "--config", str(world["config"])],
        env={"COLUMNS": "200", "ASKWELL_MODELS__ADMIN_TOKEN": TOKEN},
    )
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _review(world: dict[str, Path]) -> list[tuple[str, int]]:
    """Two reviewed questions of the new export (one agreed label that flips its outcome,
    one disagreement), a shared draft labelled closed, and advice feedback."""
    store = Store.open(f"sqlite:///{world['tmp']}/askwell.db")
    questions = Dataset.open(world["new"]).table("questions", ["site", "id", "closed"])
    rows = questions.to_pylist()
    open_q = next(r for r in rows if not r["closed"])
    other = next(r for r in rows if r["id"] != open_q["id"])
    now = datetime(2011, 4, 1, tzinfo=UTC)
    item = {
        "source": "batch", "tags": "", "strategy": "diverse", "needs": 2, "added_at": now,
        "added_by": "test", "title": "t", "body": "b",
    }  # fmt: skip
    with store.engine.begin() as c:
        c.execute(insert(review_items), [
            {**item, "item_key": f"{open_q['site']}:{open_q['id']}", "site": open_q["site"],
             "question_id": open_q["id"]},
            {**item, "item_key": f"{other['site']}:{other['id']}", "site": other["site"],
             "question_id": other["id"]},
            {**item, "item_key": "draft:1", "source": "editor (opted in)", "needs": 1,
             "site": None, "question_id": None,
             "title": "plz help urgent!!!", "body": "my code doesnt work", "tags": "<python>"},
        ])  # fmt: skip
        label = {"clear": False, "created_at": now}
        c.execute(insert(review_labels), [
            {**label, "item_id": 1, "reviewer": "ana", "closed": True, "reason": "too localized"},
            {**label, "item_id": 1, "reviewer": "ben", "closed": True, "reason": "too localized"},
            {**label, "item_id": 2, "reviewer": "ana", "closed": True, "reason": "off topic"},
            {**label, "item_id": 2, "reviewer": "ben", "closed": False, "reason": None},
            {**label, "item_id": 3, "reviewer": "ana", "closed": True,
             "reason": "not a real question"},
        ])  # fmt: skip
        c.execute(insert(predictions), {
            "request_id": "r1", "created_at": now, "session_id": "s1", "model_name": "m",
            "model_version": "v", "degraded": False, "score": 0.5, "band": "b",
            "latency_ms": 1.0, "suggestions": ["ask-a-question"], "features": {},
        })  # fmt: skip
        c.execute(insert(feedback), {
            "request_id": "r1", "suggestion_id": "ask-a-question", "helpful": False,
            "ignored": True, "created_at": now,
        })  # fmt: skip
    store.close()
    return [(open_q["site"], open_q["id"]), (other["site"], other["id"])]


def test_training_data_carries_provenance_and_a_fingerprint(
    world: dict[str, Path], tmp_path: Path
) -> None:
    flipped, disputed = _review(world)
    db = f"sqlite:///{world['tmp']}/askwell.db"
    built = build(Sources((world["old"], world["new"]), db), tmp_path / "a")
    q = built.dataset.table("questions", ["site", "id", "closed", "close_reason"]).to_pylist()
    by_key = {(r["site"], r["id"]): r for r in q}
    assert len(by_key) == len(q)  # the newer export replaced the older copies
    assert by_key[flipped]["closed"] is True and by_key[flipped]["close_reason"] == "too localized"
    prov = {(r["site"], r["id"]): r for r in built.dataset.table("provenance").to_pylist()}
    assert prov[flipped]["label_source"] == REVIEW and prov[flipped]["label_by"] == "ana, ben"
    assert prov[disputed]["label_source"] == "outcome"  # reviewers disagreed: left as it was
    draft = by_key[("review queue", -3)]
    assert draft["closed"] is True and draft["close_reason"] == "not a real question"
    assert built.summary["reviews"]["disagreed_left_out"] == 1
    advice = built.dataset.table("advice_feedback").to_pylist()
    assert [(a["rule"], a["kind"], a["who"]) for a in advice] == [
        ("ask-a-question", "ignored", "editing session s1")
    ]
    # Same inputs, same fingerprint; without the reviews, another.
    again = build(Sources((world["old"], world["new"]), db), tmp_path / "b")
    assert again.dataset.fingerprint == built.dataset.fingerprint
    plain = build(Sources((world["old"], world["new"]), db, reviews=False), tmp_path / "c")
    assert plain.dataset.fingerprint != built.dataset.fingerprint
    checked = CliRunner().invoke(app, ["data", "check", str(built.dataset.folder)])
    assert checked.exit_code == 0, checked.output


def test_retrain_gates_a_challenger_that_waits_for_a_person(world: dict[str, Path]) -> None:
    settings = get_settings(world["config"])
    tracker = Tracker(settings.tracking)
    # The deployment's starting point: a champion trained on the older export.
    v1 = world["tmp"] / "v1.askwell"
    _cli(world, "train", str(world["old"]), "--out", str(v1), "--no-track")
    _cli(world, "models", "register", str(v1))
    tracker.set_alias(CHAMPION, 1)
    tracker.delete_alias(CHALLENGER)
    reads = len((world["tmp"] / "ledger.jsonl").read_text().splitlines())  # v1's own

    out = _cli(world, "retrain", "--outcomes", str(world["new"]))
    report = json.loads((world["tmp"] / "work" / "report.retrain.json").read_text())
    assert report["status"] in (PENDING, FAILED) and report["version"] == 2
    assert f"retraining: {report['status']}" in out
    assert report["recipe"]["from"] == "champion (version 1)"
    assert report["data"]["labels_by_source"]["review"] >= 2
    assert tracker.get_alias(CHALLENGER) == 2 and tracker.get_alias(CHAMPION) == 1
    gates = json.loads(Path(report["gates"]["report"]).read_text())
    assert gates["challenger"]["version"] == 2 and gates["reference"]["version"] == 1
    ledger = (world["tmp"] / "ledger.jsonl").read_text().splitlines()
    assert len(ledger) == reads + 2  # the challenger's own test read and the gates'
    assert [json.loads(line)["reader"] for line in ledger[reads:]] == ["askwell retrain"] * 2

    # Nothing is promoted without a person's approval.
    refused = CliRunner().invoke(
        app,
        ["models", "promote", "2", "--token", TOKEN, "--config", str(world["config"])],
        env={"COLUMNS": "200", "ASKWELL_MODELS__ADMIN_TOKEN": TOKEN},
    )
    assert refused.exit_code != 0 and tracker.get_alias(CHAMPION) == 1
    assert "approve" in refused.output or "failed" in refused.output

    # The same inputs: the same challenger, nothing trained again.
    _cli(world, "retrain", "--outcomes", str(world["new"]))
    again = json.loads((world["tmp"] / "work" / "report.retrain.json").read_text())
    assert again["status"] == UNCHANGED and again["version"] == 2
    assert [v.version for v in tracker.versions()] == [2, 1]
    assert len((world["tmp"] / "ledger.jsonl").read_text().splitlines()) == reads + 2

    if report["status"] == PENDING:
        _cli(world, "models", "approve", "2", "--by", "Ana", "--reason", "gates and card read",
             "--token", TOKEN)  # fmt: skip
        _cli(world, "models", "promote", "2", "--token", TOKEN)
        assert tracker.get_alias(CHAMPION) == 2


def test_if_needed_retrains_only_for_a_reason(world: dict[str, Path], tmp_path: Path) -> None:
    settings = get_settings(world["config"])
    tracker = Tracker(settings.tracking)
    db = settings.serve.database_url
    now = datetime.now(UTC)
    quiet = reasons_to_retrain(settings, tracker, db, None, now)
    assert tracker.versions() and quiet.reasons == []  # a fresh version, no drift run yet
    later = reasons_to_retrain(settings, tracker, db, None, now + timedelta(days=31))
    assert any("days old" in r for r in later.reasons)
    store = Store.open(db)
    window = {
        "start": "2011-03-01T00:00:00+00:00", "end": "2011-04-01T00:00:00+00:00", "n": 500,
        "alerts": [{"kind": "feature_drift", "subject": "title_words", "message": "drifted"}],
    }  # fmt: skip
    store.record_monitor_run(now, [window])
    store.close()
    drift = reasons_to_retrain(settings, tracker, db, None, now)
    assert drift.reasons and "title_words" in drift.reasons[0]
    outcomes = tmp_path / "outcomes.json"
    outcomes.write_text(json.dumps({"alerts": [{"message": "2011-03: ROC AUC 0.71"}]}))
    perf = reasons_to_retrain(settings, tracker, None, outcomes, now)
    assert perf.reasons and "0.71" in perf.reasons[0]

    # Through the command: nothing new to learn from, so the same challenger, said why.
    _cli(world, "retrain", "--outcomes", str(world["new"]), "--if-needed")
    report = json.loads((world["tmp"] / "work" / "report.retrain.json").read_text())
    assert report["status"] in (UNCHANGED, NOT_NEEDED)
    assert report["trigger"]["reasons"]  # the drift run above is a reason
