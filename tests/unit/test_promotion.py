"""The promotion stages that need no registry or trained model: the contrast-pair check any
judge can be put through, the gate report's page, and the admin token's rules."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from askwell.config import ModelsSettings, get_settings
from askwell.errors import ConfigError
from askwell.models.behaviour import contrast_check, contrast_pairs
from askwell.promotion import gate_markdown
from askwell.records import Question


def _constant(questions: Sequence[Question]) -> npt.NDArray[np.float64]:
    return np.full(len(questions), 0.5)


def _longer_body(questions: Sequence[Question]) -> npt.NDArray[np.float64]:
    return np.array([float(len(q.body.text)) for q in questions])


def _odd_title(questions: Sequence[Question]) -> npt.NDArray[np.float64]:
    return np.array([float(len(q.title) % 2) for q in questions])


def test_a_tie_is_not_a_pair_ranked_right() -> None:
    check = contrast_check(_constant)
    assert check["right"] == 0 and check["share"] == 0.0
    assert check["wrong"] == [p["id"] for p in contrast_pairs()]


def test_the_check_counts_what_a_judge_ranks_right() -> None:
    # Length alone ranks every pair right: the gate compares shares with the champion's,
    # it does not certify a model that passes it.
    assert contrast_check(_longer_body)["wrong"] == []
    check = contrast_check(_odd_title)
    assert 0 < check["right"] < check["n"] == len(contrast_pairs())
    assert check["share"] == check["right"] / check["n"]
    assert len(check["wrong"]) == check["n"] - check["right"]


def _report(approval: dict[str, str] | None) -> dict[str, object]:
    gate = {"name": "roc_auc", "value": -0.02, "threshold": -0.01, "passed": False}
    return {
        "model": "m",
        "time": "2026-12-03T10:00:00+00:00",
        "passed": False,
        "challenger": {"version": 2, "bundle": "b", "sha256": "ab" * 32, "roc_auc": 0.61},
        "reference": {
            "name": "champion (version 1)",
            "bundle": "a",
            "sha256": "cd" * 32,
            "roc_auc": 0.63,
        },
        "protocol": {
            "rule": "the test part",
            "split": {"label": "l", "split": "time", "seed": 0, "test_fraction": 0.2},
            "n_test": 155,
            "positive_rate": 0.8,
            "dataset_fingerprint": "ef" * 32,
        },
        "test_read": {"nth": 3, "ledger": "ledger.jsonl"},
        "gates": [gate, {**gate, "name": "slices", "value": None, "passed": True}],
        "approval": approval,
    }


def test_the_report_page_shows_each_gate_and_the_approval() -> None:
    page = gate_markdown(_report(None))
    assert "**FAILED**" in page and "| roc_auc | -0.0200 | ≥ -0.0100 | **FAIL** |" in page
    assert "| slices | — |" in page and "Not approved yet" in page
    assert "#3 of this split" in page
    approved = gate_markdown(_report({"by": "Ada", "time": "t", "reason": "why"}))
    assert "Approved by **Ada** at t: why" in approved


def test_the_admin_token_comes_from_the_environment_and_stays_secret() -> None:
    settings = get_settings(environ={"ASKWELL_MODELS__ADMIN_TOKEN": "s3cret-s3cret-s3cret"})
    assert settings.models.admin_token is not None
    assert settings.models.admin_token.get_secret_value() == "s3cret-s3cret-s3cret"
    assert "s3cret" not in str(settings)
    with pytest.raises(ConfigError, match=r"models\.admin_token"):
        get_settings(environ={"ASKWELL_MODELS__ADMIN_TOKEN": "short"})
    assert ModelsSettings().admin_token is None  # unset: approve, promote, rollback refused
