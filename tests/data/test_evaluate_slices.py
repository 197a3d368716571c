"""Slices of the test part and the learning curve, on real dumps (main and meta sites)."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from askwell.features.text_stats import is_meta_site
from askwell.models.evaluate import MIN_SLICE, evaluate, slices
from askwell.models.train import (
    Part,
    PreparedData,
    TrainConfig,
    TrainResult,
    learning_curve,
    prepare,
    train,
)
from tests.conftest import DUMPS, ingest_dataset

pytestmark = pytest.mark.data

FRACTIONS = (0.1, 0.25, 0.5, 1.0)
CONFIG = TrainConfig(
    label="answered", max_word_features=2000, max_char_features=300, learning_fractions=FRACTIONS
)
# One main site and both spellings of a meta site.
SITES = ("beer.stackexchange.com", "ai.meta.stackexchange.com", "meta.mathoverflow.net")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> PreparedData:
    dataset = ingest_dataset(tmp_path_factory.mktemp("slices") / "ds", *(DUMPS / s for s in SITES))
    return prepare(dataset, CONFIG)


@pytest.fixture(scope="module")
def trained(prepared: PreparedData) -> TrainResult:
    return train(prepared, CONFIG)


@pytest.fixture(scope="module")
def evaluation(prepared: PreparedData, trained: TrainResult) -> dict[str, Any]:
    return evaluate(trained.model, prepared, CONFIG)


@pytest.fixture(scope="module")
def curve(prepared: PreparedData) -> list[dict[str, Any]]:
    return learning_curve(prepared, CONFIG)


def test_every_family_partitions_the_test_part(evaluation: dict[str, Any]) -> None:
    families = evaluation["slices"]
    assert set(families) == {"body_length", "code", "site_kind", "tag"}
    for family, by_slice in families.items():
        assert sum(s["n"] for s in by_slice.values()) == evaluation["n_test"], family
    assert len(families["tag"]) <= 9 and "other" in families["tag"]
    json.dumps(evaluation["slices"], allow_nan=False)  # plain JSON, None for undefined AUC


def test_slice_auc_is_defined_or_explained(evaluation: dict[str, Any]) -> None:
    for by_slice in evaluation["slices"].values():
        for s in by_slice.values():
            if s["roc_auc"] is None:
                assert s["reason"]
                assert s["n"] < MIN_SLICE or s["positive_rate"] in (0.0, 1.0)
            else:
                auc = s["roc_auc"]
                assert s["reason"] is None and s["n"] >= MIN_SLICE
                assert auc["low"] <= auc["value"] <= auc["high"]


def test_meta_and_main_split_the_sites(prepared: PreparedData, evaluation: dict[str, Any]) -> None:
    assert [is_meta_site(s) for s in SITES] == [False, True, True]
    sites = prepared.parts["test"].frame["site"]
    kinds = evaluation["slices"]["site_kind"]
    assert kinds["meta"]["n"] == int(sites.isin(SITES[1:]).sum()) > 0
    assert kinds["main"]["n"] == int((sites == SITES[0]).sum()) > 0


def test_tiny_or_one_class_slices_do_not_crash(prepared: PreparedData) -> None:
    test = prepared.parts["test"]
    q, sites = test.questions[:5], test.frame["site"].tolist()[:5]
    tiny = slices(q, sites, np.ones(5, np.int64), np.linspace(0, 1, 5))
    for by_slice in tiny.values():
        for s in by_slice.values():
            assert s["roc_auc"] is None and s["reason"]
    empty = slices([], [], np.array([], np.int64), np.array([], np.float64))
    assert empty["code"]["code"] == {
        "n": 0,
        "positive_rate": None,
        "roc_auc": None,
        "reason": f"fewer than {MIN_SLICE} questions",
    }


def test_learning_curve_points(prepared: PreparedData, curve: list[dict[str, Any]]) -> None:
    assert [p["fraction"] for p in curve] == list(FRACTIONS)
    sizes = [p["n_train"] for p in curve]
    assert sizes == sorted(set(sizes)) and sizes[-1] == len(prepared.parts["train"].y)
    for p in curve:
        assert 0.5 <= p["train_auc"] <= 1 and 0 <= p["val_auc"] <= 1
        assert p["diagnosis"].split(" (")[0] in {"high variance", "high bias", "balanced"}


def test_learning_curve_never_reads_test_and_is_deterministic(
    prepared: PreparedData, curve: list[dict[str, Any]]
) -> None:
    test = prepared.parts["test"]
    blind = PreparedData(
        {**prepared.parts, "test": Part([], np.array([], np.int64), test.frame.iloc[:0])},
        prepared.split_report,
        prepared.unknown_label,
        prepared.fingerprint,
    )
    again = learning_curve(blind, CONFIG)
    assert again == curve
    assert all(not math.isnan(p["val_auc"]) for p in again)
