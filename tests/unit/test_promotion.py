"""The promotion stages that need no registry or trained model: the behavioural checks any
judge can be put through (contrast pairs, directional and invariance edits) and the gate
built on them, the gate report's page, and the admin token's rules."""

from __future__ import annotations

import functools
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import numpy.typing as npt
import pytest

from askwell.config import ModelsSettings, get_settings
from askwell.errors import ConfigError
from askwell.models.behaviour import (
    contrast_check,
    contrast_pairs,
    directional_check,
    invariance_check,
    question,
)
from askwell.models.perturbations import DIRECTIONAL, INVARIANT
from askwell.promotion import _behaviour, gate_markdown
from askwell.records import Question

if TYPE_CHECKING:
    from askwell.explain.predictor import Predictor

Judge = Callable[[Sequence[Question]], npt.NDArray[np.float64]]


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


# -- directional and invariance checks, on the contrast pairs' questions (real-looking
# questions with code, questions asked, tags; the gate gives the test part's questions)


@functools.cache
def _questions() -> tuple[Question, ...]:
    return tuple(question(p[side]) for p in contrast_pairs() for side in ("good", "bad"))


def _sensible(questions: Sequence[Question]) -> npt.NDArray[np.float64]:
    """Code, a question asked and length count; nothing else does."""
    return np.array(
        [
            0.3 * bool(q.body.code_blocks)
            + 0.2 * ("?" in q.body.text)
            + 0.1 * ("?" in q.title)
            + len(q.body.text) / 100_000
            for q in questions
        ]
    )


def _blind_to_code(questions: Sequence[Question]) -> npt.NDArray[np.float64]:
    return np.array(
        [
            0.2 * ("?" in q.body.text) + 0.1 * ("?" in q.title) + len(q.body.text) / 100_000
            for q in questions
        ]
    )


def _noise_sensitive(questions: Sequence[Question]) -> npt.NDArray[np.float64]:
    """Any change at all moves it anywhere in [0, 1)."""
    return np.array([zlib.crc32(repr(q).encode()) / 2**32 for q in questions])


def test_the_directional_check_fails_a_judge_that_ignores_code() -> None:
    sensible = directional_check(_sensible, _questions(), per_edit=50)
    blind = directional_check(_blind_to_code, _questions(), per_edit=50)
    assert set(sensible["edits"]) == set(DIRECTIONAL)
    assert sensible["edits"]["without-code"] == {"n": 50, "right": 50, "share": 1.0}
    assert blind["edits"]["without-code"]["share"] == 0.0  # a tie is not "worse"
    assert blind["edits"]["without-the-question"] == sensible["edits"]["without-the-question"]
    assert sensible["n"] == 150 and sensible["share"] == sensible["right"] / 150 > 0.95
    assert blind["share"] < sensible["share"] - 0.3


def test_the_invariance_check_fails_a_judge_that_noise_moves() -> None:
    sensible = invariance_check(_sensible, _questions(), per_edit=50, tolerance=0.02)
    noisy = invariance_check(_noise_sensitive, _questions(), per_edit=50, tolerance=0.02)
    assert set(sensible["edits"]) == set(INVARIANT)
    assert all(e["n"] >= 20 for e in sensible["edits"].values()), sensible
    assert sensible["share"] == 1.0 and sensible["within"] == sensible["n"]
    assert noisy["share"] < 0.1 and noisy["n"] == sensible["n"]


def test_the_checks_take_the_same_seeded_questions_for_every_judge() -> None:
    a = directional_check(_sensible, _questions(), per_edit=10, seed=3)
    assert a == directional_check(_sensible, _questions(), per_edit=10, seed=3)
    # Another judge, the same pairs: only the counts of "right" may differ.
    b = directional_check(_blind_to_code, _questions(), per_edit=10, seed=3)
    assert {k: e["n"] for k, e in a["edits"].items()} == {k: e["n"] for k, e in b["edits"].items()}
    empty = invariance_check(_sensible, [], per_edit=10, tolerance=0.02)
    assert empty["n"] == 0 and empty["share"] is None


@dataclass(frozen=True)
class _Model:
    """What the behaviour gate reads of a predictor: its judge."""

    judge: Judge


def _gate(challenger: Judge, reference: Judge, **settings: Any) -> dict[str, Any]:
    return asdict(
        _behaviour(
            cast("Predictor", _Model(challenger)),
            cast("Predictor", _Model(reference)),
            _questions(),
            ModelsSettings(behaviour_questions=50, **settings),
        )
    )


def test_the_behaviour_gate_passes_a_model_against_itself() -> None:
    gate = _gate(_sensible, _sensible)
    assert gate["passed"] and gate["value"] == 0.0 and gate["threshold"] == 0.0
    parts = gate["detail"]["parts"]
    assert set(parts) == {"contrast", "directional", "invariance"}
    assert all(p["change"] == 0.0 for p in parts.values())
    assert gate["detail"]["challenger"] == gate["detail"]["reference"]


def test_the_behaviour_gate_fails_a_challenger_that_ignores_code_or_follows_noise() -> None:
    blind = _gate(_blind_to_code, _sensible)
    assert not blind["passed"] and blind["detail"]["worst"] == "directional"
    parts = blind["detail"]["parts"]
    assert blind["value"] == parts["directional"]["change"] < -0.3
    assert parts["invariance"]["change"] == 0.0
    noisy = _gate(_noise_sensitive, _sensible, behaviour_tolerance=0.5)
    assert not noisy["passed"] and noisy["detail"]["worst"] == "invariance"
    assert noisy["value"] < -0.5 and noisy["threshold"] == -0.5
    # The reverse: a challenger better than the reference passes.
    assert _gate(_sensible, _blind_to_code)["passed"]


def test_the_report_page_shows_the_behaviour_gate_per_edit() -> None:
    gate = _gate(_blind_to_code, _sensible)
    page = gate_markdown({**_report(None), "gates": [gate]})
    assert "## Behaviour" in page and "at most 50 per edit" in page
    assert "| **contrast pairs ranked right** |" in page
    assert "| &nbsp;&nbsp;without-code | 0.000 (50) | 1.000 (50) | -1.000 |" in page
    assert all(f"&nbsp;&nbsp;{name} |" in page for name in [*DIRECTIONAL, *INVARIANT])


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
