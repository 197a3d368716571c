"""Training on real dumps: honest by construction, deterministic, and bundle-able."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from askwell.data.dataset import Dataset
from askwell.features.catalog import feature_names
from askwell.models.bundle import BundleInfo, load_bundle, save_bundle
from askwell.models.metrics import binary_metrics
from askwell.models.train import Part, TrainConfig, TrainingError, prepare, train
from tests.conftest import DUMPS, ingest_dataset

pytestmark = pytest.mark.data

CONFIG = TrainConfig(label="answered", max_word_features=3000, max_char_features=500)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    sites = [
        "beer.stackexchange.com",
        "ai.stackexchange.com",
        "coffee.stackexchange.com",
        "quantumcomputing.stackexchange.com",
    ]
    return ingest_dataset(tmp_path_factory.mktemp("train") / "ds", *(DUMPS / s for s in sites))


def test_train_never_reads_the_test_part(dataset: Dataset) -> None:
    data = prepare(dataset, CONFIG)
    assert {k: len(p.y) > 50 for k, p in data.parts.items()} == dict.fromkeys(data.parts, True)
    data.parts["test"] = Part([], np.array([], np.int64), data.parts["test"].frame.iloc[:0])
    result = train(data, CONFIG)  # works without any test question
    p = result.model.predict_proba(data.parts["val"].questions)
    assert ((p > 0) & (p < 1)).all()
    assert 0 < result.model.threshold < 1
    assert set(result.validation_auc) == {f"C={c}" for c in (0.03, 0.1, 0.3, 1.0, 3.0)}


def test_no_choice_moves_when_the_test_labels_are_shuffled(dataset: Dataset) -> None:
    """Hyperparameters, calibration, threshold, bands and the validation grid are the same
    whatever the test labels are: nothing is chosen on test (the label is chosen by
    askwell labels on validation; see test_label_table)."""
    data = prepare(dataset, CONFIG)
    before = train(data, CONFIG).summary()
    test = data.parts["test"]
    test.y = np.random.default_rng(7).permutation(1 - test.y)
    after = train(data, CONFIG).summary()
    assert after == before


def test_prepared_questions_carry_their_stored_structure(dataset: Dataset) -> None:
    # Regression: list cells reached the model as numpy arrays and were read as empty, so
    # every tag, code block and link feature was zero.
    questions = [q for part in prepare(dataset, CONFIG).parts.values() for q in part.questions]
    stored = dataset.table("questions", ["tags", "code_blocks", "links"]).to_pylist()
    assert sum(map(len, (q.tags for q in questions))) > 0.9 * sum(len(r["tags"]) for r in stored)
    assert sum(len(q.body.code_blocks) for q in questions) > 0
    assert sum(len(q.body.links) for q in questions) > 0
    with_tags = next(q for q in questions if q.tags)
    assert all(isinstance(t, str) and t for t in with_tags.tags)


def test_same_seed_same_model(dataset: Dataset) -> None:
    first = train(prepare(dataset, CONFIG), CONFIG)
    second = train(prepare(dataset, CONFIG), CONFIG)
    questions = prepare(dataset, CONFIG).parts["val"].questions
    assert np.array_equal(
        first.model.predict_proba(questions), second.model.predict_proba(questions)
    )
    assert first.validation_auc == second.validation_auc


def test_blend_with_lightgbm_trains_identically_twice(dataset: Dataset) -> None:
    config = replace(CONFIG, model="blend")
    runs = []
    for _ in range(2):
        data = prepare(dataset, config)
        result = train(data, config)
        test = data.parts["test"]
        runs.append(
            (
                binary_metrics(test.y, result.model.predict_proba(test.questions), 0.5),
                result.validation_auc,
            )
        )
    assert runs[0] == runs[1]
    assert {k.split(":")[0] for k in runs[0][1]} == {"logreg", "lightgbm", "blend"}


def test_model_learns_something_on_validation(dataset: Dataset) -> None:
    result = train(prepare(dataset, CONFIG), CONFIG)
    assert max(result.validation_auc.values()) > 0.55


@pytest.mark.parametrize("kind", ["logreg", "blend"])
def test_trained_model_round_trips_through_a_bundle(
    dataset: Dataset, tmp_path: Path, kind: str
) -> None:
    """Train, save (arrays and JSON), load: the same scores, bit for bit, for a linear model
    and for the blend (LightGBM's trees travel as its text model)."""
    config = replace(
        CONFIG, model=kind, grid_c=(0.3,), grid_num_leaves=(7,), grid_n_estimators=(50,)
    )  # type: ignore[arg-type]
    data = prepare(dataset, config)
    result = train(data, config)
    info = BundleInfo(
        "test",
        {"name": config.label, "description": "answered"},
        feature_names(),
        data.fingerprint,
        result.summary(),
    )
    path = save_bundle(tmp_path / "m.askwell", result.model, info)
    model, loaded = load_bundle(path, feature_names())
    questions = data.parts["val"].questions
    assert np.array_equal(model.predict_proba(questions), result.model.predict_proba(questions))
    x = result.model.transform(questions)
    assert (model.transform(questions) != x).nnz == 0
    assert (model.contributions_of(x).values != result.model.contributions_of(x).values).nnz == 0
    assert loaded.data_fingerprint == dataset.fingerprint


def test_a_label_with_one_class_cannot_train(dataset: Dataset) -> None:
    with pytest.raises(TrainingError, match="the test part has no labelled questions"):
        prepare(dataset, replace(CONFIG, test_fraction=0.0005))


def test_validation_slices_choose_and_calibrate_on_different_questions() -> None:
    from askwell.models.train import validation_slices

    y = np.array([1] * 70 + [0] * 30, dtype=np.int64)
    chosen, held = validation_slices(y, 0.5, seed=0)
    assert not set(chosen) & set(held) and len(chosen) + len(held) == 100
    assert (y[held] == 1).sum() == 35 and (y[held] == 0).sum() == 15  # each outcome halved
    again = validation_slices(y, 0.5, seed=0)
    assert np.array_equal(again[0], chosen) and np.array_equal(again[1], held)
    assert validation_slices(np.array([1, 1, 1, 0], dtype=np.int64), 0.5, seed=0) is None


def test_the_recipe_comes_from_the_config(dataset: Dataset) -> None:
    """Band shares and the grid are the config's, and the summary records the slices."""
    config = replace(CONFIG, band_shares=(0.1, 0.5), grid_c=(0.3, 1.0))
    result = train(prepare(dataset, config), config)
    assert set(result.validation_auc) == {"C=0.3", "C=1.0"}
    stats = {s.name: s.n for s in result.model.bands.stats}
    total = sum(stats.values())
    assert total == result.validation_slices["calibrate"]
    assert stats["likely to struggle"] / total == pytest.approx(0.1, abs=0.02)
    assert stats["likely well received"] / total == pytest.approx(0.5, abs=0.02)
