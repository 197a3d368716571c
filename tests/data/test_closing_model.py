"""The closing model end to end on a real slice of the Stack Overflow closing data: the
``closed`` label, the first-tag split, the close-reason model, the live-rate risk and the
headline's verdicts."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from askwell.data.dataset import Dataset
from askwell.data.labels import LabelInputs, get_label
from askwell.data.split import split
from askwell.models.bands import VERDICT_NAMES
from askwell.models.evaluate import evaluate
from askwell.models.train import TrainConfig, prepare, reasons_of, train
from tests.conftest import SHARED_DATA, ingest_dataset

pytestmark = pytest.mark.data

SOURCE = SHARED_DATA / "stackoverflow-closed" / "train-sample.csv"
ROWS = 4000  # every 11th row of the real file: all years, all reasons, small enough to fit fast
CONFIG = TrainConfig(
    label="closed",
    max_word_features=5000,
    max_char_features=1000,
    word_ngrams=3,
    word_punctuation=True,
    char_ngrams=(2, 5),
    grid_c=(0.5,),
    live_label_rate=0.06,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    folder = tmp_path_factory.mktemp("closing")
    sample = folder / "closed-sample.csv"
    with (
        SOURCE.open(encoding="utf-8", newline="") as src,
        sample.open("w", encoding="utf-8", newline="") as out,
    ):
        reader, writer = csv.reader(src), csv.writer(out)
        writer.writerow(next(reader))
        for i, row in enumerate(reader):
            if i % 11 == 0 and i // 11 < ROWS:
                writer.writerow(row)
    return ingest_dataset(folder / "ds", sample)


def test_the_good_outcome_of_closed_is_staying_open(dataset: Dataset) -> None:
    inputs = LabelInputs.from_dataset(dataset)
    label = get_label("closed")
    closed, good = label(inputs), label.good(inputs)
    assert closed.notna().all() and 0.4 < closed.mean() < 0.6  # the sample is balanced
    assert (good == ~closed).all()


def test_first_tag_split_keeps_each_first_tag_in_one_part(dataset: Dataset) -> None:
    frame, report = split(LabelInputs.from_dataset(dataset).questions, "first_tag")
    first = frame["tags"].map(lambda tags: tags[0])
    assert (frame.groupby(first)["part"].nunique() == 1).all()
    assert 0.15 <= report.sizes["test"] / len(frame) <= 0.25


@pytest.fixture(scope="module")
def trained(dataset: Dataset) -> tuple[object, object]:
    data = prepare(dataset, CONFIG)
    return data, train(data, CONFIG)


def test_reasons_are_learned_from_closed_training_questions_only(trained: tuple) -> None:
    data, result = trained
    reasons = result.model.reasons
    assert reasons is not None
    assert reasons.reasons == (
        "not a real question", "not constructive", "off topic", "too localized"
    )  # fmt: skip
    known = reasons_of(data.parts["train"])
    assert (data.parts["train"].y[known != None] == 0).all()  # noqa: E711 (closed only)
    assert set(result.reason_macro_f1) == {"C=0.5"}


def test_the_risk_is_stated_at_the_live_rate(trained: tuple) -> None:
    data, result = trained
    model, val = result.model, data.parts["val"]
    p = model.predict_proba(val.questions)
    risk = 1 - model.live(p)
    # The sample is about half closed. Reweighted to a site that closes 6% (each closed
    # question counting 0.06 / its share, each open one 0.94 / its share), the calibrated
    # risk averages about 6%: what a live site would see.
    closed = 1 - val.y
    weight = np.where(closed == 1, 0.06 / closed.mean(), 0.94 / (1 - closed.mean()))
    assert (1 - p).mean() > 0.3
    assert np.average(risk, weights=weight) == pytest.approx(0.06, abs=0.02)
    assert np.all(np.argsort(risk, kind="stable") == np.argsort(1 - p, kind="stable"))
    bands = model.risk_bands
    assert bands is not None and bands.live_rate == 0.06
    assert [s.name for s in bands.stats] == list(VERDICT_NAMES)
    rates = [s.closed_rate for s in bands.stats]
    assert rates == sorted(rates)  # the worse the verdict, the more were closed


def test_evaluation_reports_reasons_against_the_majority(trained: tuple) -> None:
    data, result = trained
    evaluation = evaluate(result.model, data, CONFIG)
    reasons = evaluation["reasons"]
    assert reasons["n"] == int((reasons_of(data.parts["test"]) != None).sum())  # noqa: E711
    assert reasons["macro_f1"]["value"] > reasons["majority"]["macro_f1"]["value"]
    assert evaluation["intervals"]["roc_auc"]["value"] > 0.7
    assert "reputation" in evaluation["slices"]
