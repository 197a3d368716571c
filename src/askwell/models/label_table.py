"""Which label should the product learn? One model per label, judged by what it promises.

For every registered label: a model is trained on it (same split, features and model kind),
and its validation score is measured twice (the choice of label is a choice like any other,
so the test part is never read for it): against its own label (ROC-AUC with a 95% interval),
and against the product outcome, within each site (Spearman rho with AnswerCount and with
having an accepted answer, size-weighted; pooled rho would be inflated by site base rates).
The positive rate per part shows each label's age bias on a time split.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from askwell.data.dataset import Dataset
from askwell.data.labels import LABELS, LabelInputs, positive_rate_by_part
from askwell.data.split import SplitConfig, split
from askwell.models import metrics as m
from askwell.models.train import TrainConfig, TrainingError, prepare, train


def compare_labels(
    dataset: Dataset, config: TrainConfig, labels: list[str] | None = None
) -> list[dict[str, Any]]:
    """One row per label (see the module docstring); a label that cannot be learned on this
    dataset gets a row saying why instead of numbers."""
    rows = []
    inputs = LabelInputs.from_dataset(dataset)
    frame, _ = split(
        inputs.questions,
        config.split,
        SplitConfig(config.test_fraction, config.val_fraction, config.seed, config.near_duplicates),
    )
    labelled = LabelInputs(frame, inputs.answers, inputs.sources_without_accepted)
    # By default the answer labels: the comparison chooses what the answer model learns.
    # ``closed`` is another promise, learned by the closing model from its own data.
    answer_labels = sorted(n for n, spec in LABELS.items() if spec.positive_is_good)
    for name in labels or answer_labels:
        label = LABELS[name]
        row: dict[str, Any] = {
            "label": name,
            "description": label.description,
            "model": config.model,
        }
        row["positive_rate_by_part"] = positive_rate_by_part(label(labelled), frame["part"])
        try:
            data = prepare(dataset, replace(config, label=name))
        except TrainingError as exc:
            rows.append({**row, "error": str(exc)})
            continue
        model = train(data, replace(config, label=name)).model
        val = data.parts["val"]
        p = model.predict_proba(val.questions, val.catalog)
        auc = m.bootstrap_ci(val.y, p, m.roc_auc, n_boot=300, seed=config.seed)
        sites = val.frame["site"].astype(str).to_numpy()
        answers = val.frame["answer_count"].to_numpy(dtype=float, na_value=np.nan)
        known = ~np.isnan(answers)
        accepted = val.frame["accepted_answer_id"].notna().to_numpy(dtype=float)
        # An export without the AcceptedAnswerId column says nothing about acceptance.
        no_column = val.frame["source"].isin(inputs.sources_without_accepted).to_numpy()
        accepted[no_column] = np.nan
        has_accepted = ~np.isnan(accepted)
        row.update(
            part="val",
            n_val=len(val.y),
            roc_auc={"value": auc.value, "low": auc.low, "high": auc.high},
            spearman_answer_count=m.spearman_by_group(
                p[known], answers[known], sites[known]
            ).weighted_mean,
            spearman_accepted=m.spearman_by_group(
                p[has_accepted], accepted[has_accepted], sites[has_accepted]
            ).weighted_mean,
        )
        rows.append(row)
    return rows
