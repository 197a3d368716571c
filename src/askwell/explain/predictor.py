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

from askwell.explain.highlights import Highlight, sentence_highlights
from askwell.explain.suggestions import Suggestion, suggest
from askwell.features.catalog import feature_names
from askwell.models.bundle import BundleInfo, default_bundle, load_bundle
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
    band_good_rate: float  # of validation questions in this band, the share with a good outcome
    base_rate: float  # the same, over all validation questions
    review: bool  # uncertain or at a band's edge: a person should look
    helping: list[Factor]
    hurting: list[Factor]
    highlights: list[Highlight]
    suggestions: list[Suggestion]
    model_version: str
    label: str = field(default="")


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
        p = float(self.model.predict_proba([question])[0])
        bands = self.model.bands
        band = bands.of(p)
        grouped, groups = self.model.contributions([question]).grouped()
        order = np.argsort(-grouped[0], kind="stable")
        helping = [Factor(groups[i], float(grouped[0][i])) for i in order if grouped[0][i] > 0]
        hurting = [
            Factor(groups[i], float(grouped[0][i])) for i in order[::-1] if grouped[0][i] < 0
        ]
        return Scored(
            score=p,
            band=band.name,
            band_good_rate=band.good_rate,
            base_rate=bands.base_rate,
            review=bands.needs_review(p),
            helping=helping[:TOP_FACTORS],
            hurting=hurting[:TOP_FACTORS],
            highlights=sentence_highlights(self.model, question),
            suggestions=suggest(self.model, question),
            model_version=self.model_version,
            label=self.info.label.get("name", ""),
        )
