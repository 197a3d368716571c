"""The model card: written from the evaluation, and honest about the label rule."""

from __future__ import annotations

from typing import Any

from askwell.models.card import best_label, model_card


def _row(label: str, low: float, rho: float) -> dict[str, Any]:
    return {
        "label": label,
        "model": "logreg",
        "roc_auc": {"value": low + 0.03, "low": low, "high": low + 0.06},
        "spearman_answer_count": rho,
        "spearman_accepted": rho / 2,
        "positive_rate_by_part": {"train": 0.5, "test": 0.4},
    }


LABELS = [
    _row("answered", 0.62, 0.17),
    _row("score_above_median", 0.60, 0.05),
    _row("lucky", 0.45, 0.40),  # tracks answers best, but cannot be learned: not picked
    {"label": "accepted", "error": "the test part has no labelled questions",
     "positive_rate_by_part": {}},
]  # fmt: skip

SUMMARY: dict[str, Any] = {
    "config": {"label": "answered", "model": "blend", "split": "time", "seed": 0},
    "params": {"logreg": {"C": 0.1}},
    "threshold": 0.4,
    "bands": {"low": 0.7, "high": 0.88, "base_rate": 0.77, "stats": [
        {"name": "likely to struggle", "good_rate": 0.61, "n": 108},
        {"name": "uncertain", "good_rate": 0.78, "n": 270},
        {"name": "likely well received", "good_rate": 0.9, "n": 162}]},
    "data": {"fingerprint": "ab" * 32, "sources": [
        {"site": "beer.stackexchange.com", "questions": 1234,
         "files": ["beer.stackexchange.com/Posts.xml", "beer.stackexchange.com/Votes.xml"]}]},
    "test": {
        "intervals": {"roc_auc": {"value": 0.68, "low": 0.65, "high": 0.71}},
        "baselines": {"heuristic": {"roc_auc": {"value": 0.55, "low": 0.52, "high": 0.58},
                                    "model_minus_baseline": {"p_value_one_sided": 0.001}}},
        "kpi": {"spearman_answer_count_within_site": {"weighted_mean": 0.18,
                                                      "per_group": {"beer": [0.18, 300]}},
                "deciles": [{"bin": 1, "count": 30, "mean_model_score": 0.2,
                             "mean_answered": 0.5, "mean_accepted": 0.2, "median_score": 1.0}]},
        "per_site": {"beer.stackexchange.com": {"n": 300, "roc_auc": 0.66}},
        "errors": {"causes": [{"kind": "false positive", "cause": "wording", "n": 40,
                               "share": 0.4, "examples": ["A | title"]}]},
    },
}  # fmt: skip


def test_the_rule_picks_the_learnable_label_that_tracks_answers_best() -> None:
    assert best_label(LABELS) == "answered"
    assert best_label([LABELS[2], LABELS[3]]) is None


def test_card_has_every_section_and_the_numbers() -> None:
    card = model_card(SUMMARY, LABELS)
    for text in (
        "## Intended use", "## Data", "CC BY-SA",
        "| beer.stackexchange.com | Posts.xml, Votes.xml | 1,234 |",
        "### Why this label", "`answered` is the label this rule picks", "0.50 / 0.40",
        "0.680 [0.650, 0.710]", "one-sided p = 0.001", "**0.180**", "## Slices",
        "## Where it fails", "A / title", "## Bands", "| likely to struggle | 108 | 61.0% |",
        "## Limitations", "## Ethical considerations",
    ):  # fmt: skip
        assert text in card, text


def test_card_says_when_the_model_does_not_follow_the_rule() -> None:
    summary = {**SUMMARY, "config": {**SUMMARY["config"], "label": "score_above_median"}}
    assert "The rule picks `answered`, not `score_above_median`" in model_card(summary, LABELS)
    assert "No label comparison was given" in model_card(summary)


def test_card_re_checks_the_band_evidence_on_test_and_names_the_slices() -> None:
    test = {
        **SUMMARY["test"],
        "bands": {"bands": [{"name": "likely to struggle", "calibration": {"n": 108, "rate": 0.61},
                             "test": {"value": 0.58, "low": 0.52, "high": 0.64, "n": 250}}]},
    }  # fmt: skip
    summary = {**SUMMARY, "test": test, "validation_slices": {"choose": 270, "calibrate": 271}}
    card = model_card(summary, LABELS)
    assert "| likely to struggle | 108 | 61.0% | 250 | 58.0% [52.0%, 64.0%] |" in card
    assert "test questions" in card and "calibration questions" in card
    assert "270 questions chose the hyperparameters" in card
    assert "other 271" in card


def test_card_says_when_one_validation_slice_chose_and_calibrated() -> None:
    summary = {**SUMMARY, "validation_slices": {"choose": 40, "calibrate": 40, "shared": True}}
    assert "band evidence below is in-sample" in model_card(summary, LABELS)
