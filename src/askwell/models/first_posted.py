"""What training on final, edited text costs a model that scores first drafts.

The editor sees a question as its author types it; the dumps hold it as last edited (most
questions are edited, many after their first answer). Where a dump has PostHistory.xml, each
question can be rebuilt as first posted. Two models are trained with the same recipe, split
and label, one on final text and one on first-posted text, and both are measured on the same
test questions as first posted: the questions the product will see.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import numpy as np

from askwell.data.dataset import Dataset
from askwell.models import metrics as m
from askwell.models.train import PreparedData, QualityModel, TrainConfig, prepare, train

MIN_TEST = 30  # first-posted test questions below which no comparison is worth reporting


def coverage(data: PreparedData) -> dict[str, dict[str, int]]:
    """Per part: questions, and how many of them are read as first posted."""
    return {
        name: {
            "n": len(part.y),
            "first_posted": int(part.first_posted.sum()) if part.first_posted is not None else 0,
        }
        for name, part in data.parts.items()
    }


def compare_text_versions(
    dataset: Dataset,
    config: TrainConfig,
    first_posted: PreparedData,
    trained: QualityModel,
    n_boot: int = 1000,
) -> dict[str, Any]:
    """``trained`` (fitted on ``first_posted``, the config's data) against the same recipe
    fitted on final text, on the test questions that have a first-posted version."""
    out: dict[str, Any] = {"coverage": coverage(first_posted)}
    test = first_posted.parts["test"]
    rows = np.flatnonzero(test.first_posted) if test.first_posted is not None else np.array([])
    y = test.y[rows]
    if len(rows) < MIN_TEST or len(set(y.tolist())) < 2:
        out["note"] = (
            f"{len(rows)} test questions have a first-posted version (PostHistory.xml): "
            f"too few to compare (at least {MIN_TEST}, both outcomes)"
        )
        return out
    final_config = replace(config, text="final")
    final = train(prepare(dataset, final_config), final_config, reasons=False).model
    questions = [test.questions[i] for i in rows]
    scores = {
        "final": final.predict_proba(questions),
        "first_posted": trained.predict_proba(questions),
    }
    seed = config.seed
    out.update(
        n_test=len(rows),
        positive_rate=float(y.mean()),
        roc_auc={
            k: asdict(m.bootstrap_ci(y, p, m.roc_auc, n_boot=n_boot, seed=seed))
            for k, p in scores.items()
        },
        ece={
            k: asdict(m.bootstrap_ci(y, p, m.expected_calibration_error, n_boot=n_boot, seed=seed))
            for k, p in scores.items()
        },
        first_posted_minus_final=asdict(
            m.paired_bootstrap(
                y, scores["first_posted"], scores["final"], m.roc_auc, n_boot=n_boot, seed=seed
            )
        ),
    )
    return out
