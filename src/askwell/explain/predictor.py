"""``Predictor``: one code path from a question to everything the editor shows about it.

Loaded once (the bundle is verified on load), then ``score`` per question: the calibrated
score, its band with the validation evidence behind it and a review flag, the ideas pushing
the score up and down, the sentence highlights and the ranked suggestions. Serving and
batch scoring share it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from askwell.explain.highlights import Highlight, assemble, pieces
from askwell.explain.suggestions import Suggestion, candidates, ranked
from askwell.features.catalog import feature_names
from askwell.models.bundle import BundleInfo, default_bundle, load_bundle
from askwell.models.contributions import Contributions
from askwell.records import Question

TOP_FACTORS = 3


@dataclass(frozen=True)
class Factor:
    """An idea (a feature group) and how far it pushes the score's logit."""

    group: str
    push: float


@dataclass(frozen=True)
class Scored:
    score: float  # calibrated probability of the model's label
    band: str
    # Of validation questions in this band, the share with a good outcome; and the same over
    # all validation questions. None from the rule-based fallback, which has no evidence.
    band_good_rate: float | None
    base_rate: float | None
    review: bool  # uncertain or at a band's edge: a person should look
    helping: list[Factor]
    hurting: list[Factor]
    highlights: list[Highlight]
    suggestions: list[Suggestion]
    model_version: str
    label: str = field(default="")
    features: dict[str, float] = field(default_factory=dict)  # catalog values, for the logs


class Predictor:
    """A loaded model bundle, ready to score questions."""

    def __init__(self, model: Any, info: BundleInfo) -> None:
        self.model = model
        self.info = info
        self.model_version = f"{info.name} {info.code_version} data {info.data_fingerprint[:12]}"

    @classmethod
    def load(cls, path: Path | None = None) -> Predictor:
        """The bundle at ``path`` (default: the model askwell ships), verified."""
        model, info = load_bundle(path or default_bundle(), feature_names())
        return cls(model, info)

    def score(self, question: Question) -> Scored:
        """Everything about ``question``. Its feature rows, those of its leave-one-out
        variants (from one read of it) and those of its suggestions' what-ifs are built
        together and scored in one model call: the editor calls this on every pause in
        typing."""
        spans = pieces(question.body.text)
        found = candidates(question)
        # Rows: the question, its variants without each sentence, the what-ifs.
        rows = self.model.features.transform_editor(question, spans, [w for _, _, w in found])
        x = rows.x
        scores = self.model.proba(x)
        p = float(scores[0])
        n = len(spans)

        # Grouped contributions of the question and of every variant, in one call: the
        # factors read row 0; the weakest sentences' reasons, their variants' rows.
        contributions: Contributions = self.model.contributions_of(x[: 1 + n])
        values, groups = contributions.grouped()

        def grouped(picked: list[int]) -> tuple[npt.NDArray[np.float64], list[str]]:
            return values[[0, *(1 + i for i in picked)]], groups

        row = values[0]
        order = np.argsort(-row, kind="stable")
        helping = [Factor(groups[i], float(row[i])) for i in order if row[i] > 0]
        hurting = [Factor(groups[i], float(row[i])) for i in order[::-1] if row[i] < 0]
        bands = self.model.bands
        band = bands.of(p)
        return Scored(
            score=p,
            band=band.name,
            band_good_rate=band.good_rate,
            base_rate=bands.base_rate,
            review=bands.needs_review(p),
            helping=helping[:TOP_FACTORS],
            hurting=hurting[:TOP_FACTORS],
            highlights=assemble(question, spans, p - scores[1 : 1 + n], grouped),
            suggestions=ranked(question, found, scores[1 + n :] - p),
            model_version=self.model_version,
            label=self.info.label.get("name", ""),
            features=dict(zip(feature_names(), rows.catalog.tolist(), strict=True)),
        )
