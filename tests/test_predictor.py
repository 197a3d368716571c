"""Predictor on the bundled default model: one call, everything the editor shows."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from askwell.explain.highlights import sentence_highlights
from askwell.explain.predictor import ANSWER_TOLERANCE, TOP_FACTORS, Predictor
from askwell.explain.suggestions import candidates, ranked
from askwell.models.bands import BAND_NAMES
from askwell.models.bundle import BundleError
from askwell.records import Question

GOOD = Question.from_html(
    "How do I skip malformed lines when reading a CSV file with pandas?",
    "<p>Some lines of my CSV file have too many fields and the read fails.</p>"
    "<pre><code>df = pd.read_csv('a.csv')</code></pre>"
    "<p>I get <code>ParserError: Expected 3 fields in line 12, saw 4</code>. I expected the "
    "bad lines to be skipped. How can I skip them?</p>",
    ("python", "pandas", "csv"),
)
NOT_A_QUESTION = Question.from_html("This isn't even a question.", "")
NOISY = Question.from_html(
    "Problem with loop",
    "<p>Hi all!!! My loop NEVER stops. Thanks in advance, it is URGENT!!!</p>",
    ("python",),
)


@cache
def _predictor() -> Predictor:
    return Predictor.load()


def test_a_score_comes_with_band_evidence_factors_highlights_and_version() -> None:
    scored = _predictor().score(GOOD)
    assert 0 < scored.score < 1 and scored.band in BAND_NAMES
    assert 0 <= scored.band_good_rate <= 1 and 0 < scored.base_rate < 1
    assert scored.label == "good_answer_within_7d"
    assert scored.highlights and all(h.text for h in scored.highlights)
    assert 0 < len(scored.helping) <= TOP_FACTORS and len(scored.hurting) <= TOP_FACTORS
    assert all(f.push > 0 for f in scored.helping) and all(f.push < 0 for f in scored.hurting)
    assert "default" in scored.model_version
    assert all(s.effect > 0 for s in scored.suggestions)


def test_bands_order_a_good_question_above_a_non_question() -> None:
    good, bad = _predictor().score(GOOD), _predictor().score(NOT_A_QUESTION)
    # The answer model is the weaker signal (trained on first drafts, it puts this one at
    # "uncertain", just under the good question); the headline tells them apart clearly.
    assert bad.score < good.score and bad.band != "likely well received"
    assert bad.band_good_rate <= good.band_good_rate  # the evidence behind each band
    assert bad.verdict == "likely to be closed" and good.verdict == "ready to post"
    assert bad.highlights == []  # no prose, nothing to highlight
    assert "ask-in-the-body" in [s.id for s in bad.suggestions]  # no body question to title


class _Judged:
    """The closing model as the headline reads it: P(kept open) at the live closing rate."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def predict_proba(self, questions: list[Question]) -> Any:
        return self.model.live(self.model.predict_proba(questions))

    def contributions(self, questions: list[Question]) -> Any:
        return self.model.contributions(questions)


def test_one_pass_scoring_matches_each_part_scored_alone() -> None:
    """``score`` builds every feature row in one pass: the result must be what the scores,
    the highlights and the suggestions give when each is computed on its own."""
    predictor = _predictor()
    judged = _Judged(predictor.closing)
    for question in (GOOD, NOT_A_QUESTION, NOISY):
        scored = predictor.score(question)
        assert scored.score == pytest.approx(predictor.model.predict_proba([question])[0])
        assert scored.judgement == pytest.approx(judged.predict_proba([question])[0])
        assert scored.judgement == pytest.approx(predictor.judge([question])[0])
        assert scored.closing_risk == pytest.approx(1 - scored.judgement)
        assert scored.highlights == sentence_highlights(judged, question)
        # Kept: the suggestions that raise the judgement and do not lower the answer score
        # by more than the tolerance.
        found = candidates(question)
        what_ifs = [question, *(w for _, _, w in found)]
        answers = predictor.model.predict_proba(what_ifs)
        gains = judged.predict_proba(what_ifs)[1:] - judged.predict_proba([question])[0]
        gains[answers[1:] < answers[0] - ANSWER_TOLERANCE] = 0.0
        assert [s.id for s in scored.suggestions] == [s.id for s in ranked(question, found, gains)]


def test_the_headline_is_the_closing_models() -> None:
    good, bad = _predictor().score(GOOD), _predictor().score(NOT_A_QUESTION)
    assert good.judgement > bad.judgement and good.closing_risk < bad.closing_risk
    assert bad.verdict == "likely to be closed" and good.verdict == "ready to post"
    assert bad.closing is not None and bad.closing.reason in bad.closing.reasons
    assert list(bad.closing.reasons.values()) == sorted(bad.closing.reasons.values())[::-1]
    assert sum(bad.closing.reasons.values()) == pytest.approx(1)
    assert good.closing is not None and good.closing.closed_rate < bad.closing.closed_rate


def test_without_a_closing_model_the_answer_score_is_the_judgement() -> None:
    alone = Predictor.load(closing=False)
    scored = alone.score(GOOD)
    assert scored.closing is None and scored.judgement == scored.score
    assert scored.verdict == scored.band and alone.closing_prior is None


def test_same_question_same_result() -> None:
    assert _predictor().score(GOOD) == _predictor().score(GOOD)


def test_a_broken_bundle_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "m.askwell"
    broken.write_bytes(b"not a zip")
    with pytest.raises(BundleError, match="not a readable askwell bundle"):
        Predictor.load(broken)


def test_the_fast_calibration_is_scikit_learns() -> None:
    """``QualityModel.proba`` skips CalibratedClassifierCV's checks: same numbers."""
    model = _predictor().model
    questions = [GOOD, NOT_A_QUESTION, NOISY] + [
        Question.from_markdown(f"How do I fix error {k}?", "I tried it. It fails. " * k)
        for k in range(1, 20)
    ]
    x = model.transform(questions)
    assert model._platt is not None  # the default model takes the fast path
    assert (model.proba(x) == model.calibrated.predict_proba(x)[:, 1]).all()
