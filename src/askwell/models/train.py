"""Training: labelled, split questions → a tuned, calibrated model.

Honest by construction: features and model are fitted on the training part only;
hyperparameters are chosen by validation ROC-AUC; probabilities are calibrated (Platt) on
the validation part; the decision threshold is chosen on validation. The test part is not
read here: ``evaluate`` scores it once, for the report.

What it builds, ``QualityModel`` (and ``MeanEstimator``), lives in ``models.quality``, which
scoring imports without this module's pandas and dataset code; both are re-exported here,
where training code and format-2 (pickled) bundles name them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import product
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import sparse
from scipy.special import logit
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score

from askwell.data.dataset import Dataset
from askwell.data.labels import LabelInputs, get_label
from askwell.data.split import SplitConfig, SplitReport, split
from askwell.errors import AskwellError
from askwell.features.catalog import feature_matrix
from askwell.features.pipeline import QuestionFeatures
from askwell.models.bands import Bands, RiskBands
from askwell.models.linear import DirectionalLogisticRegression, directions
from askwell.models.metrics import choose_threshold
from askwell.models.quality import MeanEstimator as MeanEstimator
from askwell.models.quality import QualityModel as QualityModel
from askwell.models.reasons import ReasonModel, fit_reasons
from askwell.monitoring.reference import model_reference
from askwell.records import Question

ModelKind = Literal["logreg", "lightgbm", "blend"]
_TEXT_COLUMNS = [
    "site", "id", "title", "tags", "body_text", "code_blocks", "inline_code", "links",
    "images", "quotes", "n_lists", "n_list_items", "n_paragraphs", "n_blockquotes",
]  # fmt: skip


class TrainingError(AskwellError):
    """The data cannot train a model (too few labelled questions, one class only…)."""


@dataclass(frozen=True)
class TrainConfig:
    label: str = "good_answer_within_7d"
    split: str = "time"
    model: ModelKind = "logreg"
    seed: int = 0
    test_fraction: float = 0.2
    val_fraction: float = 0.1
    calibration_share: float = 0.5  # see TrainSettings
    near_duplicates: float | None = 0.8  # see TrainSettings
    text: Literal["final", "first_posted"] = "final"  # see TrainSettings
    max_word_features: int = 20_000
    max_char_features: int = 5_000
    min_df: int = 2
    max_df: float = 0.5
    word_ngrams: int = 2
    word_punctuation: bool = False
    char_ngrams: tuple[int, int] = (3, 5)
    grid_c: tuple[float, ...] = (0.03, 0.1, 0.3, 1.0, 3.0)
    grid_num_leaves: tuple[int, ...] = (15, 31)
    grid_n_estimators: tuple[int, ...] = (200, 500)
    lightgbm_learning_rate: float = 0.05
    lightgbm_min_child_samples: int = 20
    lightgbm_colsample: float = 0.5
    lightgbm_subsample: float = 0.8
    band_shares: tuple[float, float] = (0.2, 0.3)  # see TrainSettings
    n_boot: int = 1000  # bootstrap resamples of the test intervals
    slice_n_boot: int = 300
    learning_fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)
    live_label_rate: float | None = None  # see TrainSettings
    verdict_multiples: tuple[float, float] = (1.0, 3.0)  # see TrainSettings
    use_catalog: bool = True
    use_tags: bool = True
    moderate_bins: int = 5  # quantile bins for features best in a middle range (0: none)
    directional: bool = True  # catalog features push only the way the catalog says is better


@dataclass
class Part:
    """One part of the split: questions, their labels, and their rows (for slices, KPIs)."""

    questions: list[Question]
    y: npt.NDArray[np.int64]
    frame: pd.DataFrame
    catalog: npt.NDArray[np.float64] | None = None  # computed once, reused
    # Per question: its text is as first posted (from PostHistory); None: final text only.
    first_posted: npt.NDArray[np.bool_] | None = None


@dataclass
class PreparedData:
    parts: dict[str, Part]
    split_report: SplitReport
    unknown_label: int
    fingerprint: str
    censored: int = 0  # of unknown_label: too young for the label's window at the data's end


def prepare(dataset: Dataset, config: TrainConfig) -> PreparedData:
    """Splits the dataset's questions, labels them, and drops those whose label is unknown."""
    inputs = LabelInputs.from_dataset(dataset)
    label = get_label(config.label)
    frame, report = split(
        inputs.questions,
        config.split,
        SplitConfig(config.test_fraction, config.val_fraction, config.seed, config.near_duplicates),
    )
    labelled = LabelInputs(frame, inputs.answers, inputs.sources_without_accepted)
    values = label.good(labelled)
    censored = int(label.censored(labelled).sum())
    known = values.notna()
    frame = frame[known].assign(y=values[known].astype(int))
    text = dataset.table("questions", _TEXT_COLUMNS).to_pandas()
    text = text.set_index(["site", "id"])
    parts = {}
    for name in ("train", "val", "test"):
        rows = frame[frame["part"] == name]
        records = text.loc[list(zip(rows["site"], rows["id"], strict=True))].reset_index()
        questions = [Question.from_row(r) for r in records.to_dict("records")]
        parts[name] = Part(questions, rows["y"].to_numpy(np.int64), rows.reset_index(drop=True))
    for name, part in parts.items():
        classes = len(set(part.y.tolist()))
        if classes < 2:
            has = (
                "no labelled questions"
                if not classes
                else (f"{len(part.y)} labelled questions, all of one class")
            )
            raise TrainingError(
                f"the {name} part has {has}; label {config.label!r} cannot be learned and "
                "evaluated from this dataset and split"
            )
    if config.text == "first_posted":
        as_first_posted(dataset, parts)
    return PreparedData(parts, report, int((~known).sum()), dataset.fingerprint, censored)


def as_first_posted(dataset: Dataset, parts: dict[str, Part]) -> None:
    """Each question with history (PostHistory.xml) as its author first posted it: the text
    the editor sees is a first draft, not the edited final version. Questions without
    history keep their final text; ``Part.first_posted`` says which is which."""
    firsts = first_versions(dataset)
    for part in parts.values():
        keys = list(zip(part.frame["site"], part.frame["id"], strict=True))
        part.questions = first_posted(firsts, keys, part.questions)
        part.first_posted = np.array([k in firsts for k in keys], dtype=bool)
        part.catalog = None  # the text changed


def first_versions(dataset: Dataset) -> dict[tuple[str, int], Any]:
    """Each question with history, by (site, id): its first revision."""
    from askwell.data.revisions import question_revisions

    return {key: versions[0] for key, versions in question_revisions(dataset).items()}


def first_posted(
    firsts: dict[tuple[str, int], Any], keys: Sequence[tuple[str, int]], questions: list[Question]
) -> list[Question]:
    """``questions`` (their ``keys``) as first posted where ``firsts`` has their history."""
    return [
        firsts[k].question() if k in firsts else q for k, q in zip(keys, questions, strict=True)
    ]


@dataclass
class TrainResult:
    model: QualityModel
    config: TrainConfig
    validation_auc: dict[str, float] = field(default_factory=dict)  # per candidate
    reason_macro_f1: dict[str, float] = field(default_factory=dict)  # per candidate, on val
    # Validation questions that chose the hyperparameters and that calibrated.
    validation_slices: dict[str, int | bool] = field(default_factory=dict)
    # What serving logs, on the calibrating questions: the drift monitor's reference.
    reference: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "config": asdict(self.config),
            "params": self.model.params,
            "threshold": self.model.threshold,
            "bands": asdict(self.model.bands),
            "validation_auc": self.validation_auc,
            "validation_slices": self.validation_slices,
            "reasons_validation_macro_f1": self.reason_macro_f1,
            "reasons": list(self.model.reasons.reasons) if self.model.reasons else [],
            "live_shift": self.model.live_shift,
            "risk_bands": asdict(self.model.risk_bands) if self.model.risk_bands else None,
        }


def _estimator(
    kind: Literal["logreg", "lightgbm"],
    params: dict[str, Any],
    config: TrainConfig,
    signs: npt.NDArray[np.int64] | None = None,
) -> Any:
    """An unfitted estimator; ``signs`` (per column: +1, -1 or 0) bounds the way each
    column may push the score, as coefficient signs or as LightGBM monotone constraints."""
    if kind == "logreg":
        return DirectionalLogisticRegression(C=params["C"], signs=signs)
    from lightgbm import LGBMClassifier

    if signs is not None:
        params = {**params, "monotone_constraints": signs.tolist()}
    return LGBMClassifier(
        learning_rate=config.lightgbm_learning_rate,
        colsample_bytree=config.lightgbm_colsample,
        subsample=config.lightgbm_subsample,
        subsample_freq=1,
        min_child_samples=config.lightgbm_min_child_samples,
        random_state=config.seed,
        n_jobs=2,
        verbose=-1,
        deterministic=True,
        force_row_wise=True,
        **params,
    )


def _search(
    kind: Literal["logreg", "lightgbm"],
    x_train: Any,
    y_train: npt.NDArray[np.int64],
    x_val: Any,
    y_val: npt.NDArray[np.int64],
    config: TrainConfig,
    signs: npt.NDArray[np.int64] | None,
) -> tuple[tuple[float, dict[str, Any], Any], dict[str, float]]:
    """Fits every point of the kind's grid on train; the best by validation ROC-AUC (its
    AUC, parameters and estimator), and every point's validation AUC."""
    grid: dict[str, Sequence[Any]] = (
        {"C": config.grid_c}
        if kind == "logreg"
        else {"num_leaves": config.grid_num_leaves, "n_estimators": config.grid_n_estimators}
    )
    scores: dict[str, float] = {}
    best: tuple[float, dict[str, Any], Any] | None = None
    for values in product(*grid.values()):
        params = dict(zip(grid, values, strict=True))
        estimator = _estimator(kind, params, config, signs).fit(x_train, y_train)
        auc = float(roc_auc_score(y_val, estimator.predict_proba(x_val)[:, 1]))
        scores[",".join(f"{k}={v}" for k, v in params.items())] = auc
        if best is None or auc > best[0]:
            best = (auc, params, estimator)
    assert best is not None
    return best, scores


def _ensure_catalog(part: Part) -> npt.NDArray[np.float64]:
    """The part's catalog features, computed once and kept on the part."""
    if part.catalog is None:
        part.catalog = feature_matrix(part.questions)
    return part.catalog


def validation_slices(
    y: npt.NDArray[np.int64], share: float, seed: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """Rows of the validation part that choose the hyperparameters, and rows held out to
    calibrate (Platt), set the threshold and fit the bands: a seeded draw of ``share`` of
    each outcome's questions, at least one of each outcome on either side. Choosing and
    calibrating on the same questions would let one's noise flatter the other. None when an
    outcome has fewer than two questions: no two slices can hold both."""
    rng = np.random.default_rng(seed)
    calibrate: list[npt.NDArray[np.int64]] = []
    for outcome in (0, 1):
        rows = np.flatnonzero(y == outcome)
        if len(rows) < 2:
            return None
        n = min(len(rows) - 1, max(1, round(share * len(rows))))
        calibrate.append(rng.permutation(rows)[:n])
    held = np.sort(np.concatenate(calibrate))
    return np.setdiff1d(np.arange(len(y)), held), held


def train(data: PreparedData, config: TrainConfig, reasons: bool = True) -> TrainResult:
    """Fits on train, chooses hyperparameters on one slice of validation and calibrates
    (probabilities, threshold, bands) on the other. Never reads the test part.
    ``reasons=False`` leaves the close-reason model out (the learning curve's subsets)."""
    train_part = data.parts["train"]
    _ensure_catalog(train_part)
    rows = validation_slices(data.parts["val"].y, config.calibration_share, config.seed)
    if rows is None:  # too small to split: one slice does both, and the summary says so
        val_part = calibration = data.parts["val"]
        _ensure_catalog(val_part)
    else:
        val_part, calibration = (_subset(data.parts["val"], r) for r in rows)
    features = QuestionFeatures(
        use_catalog=config.use_catalog,
        max_word_features=config.max_word_features,
        max_char_features=config.max_char_features,
        min_df=config.min_df,
        max_df=config.max_df,
        use_tags=config.use_tags,
        moderate_bins=config.moderate_bins,
        word_ngrams=config.word_ngrams,
        word_punctuation=config.word_punctuation,
        char_ngrams=(config.char_ngrams[0], config.char_ngrams[1]),  # a list from JSON
    ).fit(train_part.questions)
    x_train = features.transform_with_catalog(train_part.questions, train_part.catalog)
    x_val = features.transform_with_catalog(val_part.questions, val_part.catalog)
    names = [str(n) for n in features.get_feature_names_out()]
    signs = directions(names) if config.directional else None
    kinds: tuple[Literal["logreg", "lightgbm"], ...] = (
        ("logreg", "lightgbm") if config.model == "blend" else (config.model,)
    )
    scores: dict[str, float] = {}
    chosen: list[tuple[float, dict[str, Any], Any]] = []
    for kind in kinds:
        best = _search(kind, x_train, train_part.y, x_val, val_part.y, config, signs)
        chosen.append(best[0])
        prefix = f"{kind}:" if config.model == "blend" else ""
        scores.update({prefix + k: v for k, v in best[1].items()})
    if config.model == "blend":
        estimator: Any = MeanEstimator([e for _, _, e in chosen])
        params: dict[str, Any] = {kind: p for kind, (_, p, _) in zip(kinds, chosen, strict=True)}
        scores["blend"] = float(roc_auc_score(val_part.y, estimator.predict_proba(x_val)[:, 1]))
    else:
        _, params, estimator = chosen[0]
    shared = rows is None
    calibrated, x_held = _calibrate(estimator, features, calibration)
    if not shared and not _keeps_order(calibrated):
        # A held-out slice too small or noisy to rank by reverses the model's order: calibrate
        # on the whole validation part instead (in-sample, and the summary says so).
        shared, calibration = True, data.parts["val"]
        _ensure_catalog(calibration)
        calibrated, x_held = _calibrate(estimator, features, calibration)
    held_p = calibrated.predict_proba(x_held)[:, 1]
    reason_model, reason_scores = (
        _reasons(train_part, val_part, config, x_train, x_val) if reasons else (None, {})
    )
    model = QualityModel(
        features,
        calibrated,
        choose_threshold(calibration.y, held_p),
        params,
        Bands.fit(calibration.y, held_p, (config.band_shares[0], config.band_shares[1])),
        live_shift=_live_shift(config, calibration.y),
        reasons=reason_model,
    )
    if config.live_label_rate is not None and not get_label(config.label).positive_is_good:
        model.risk_bands = RiskBands.fit(
            1 - calibration.y, 1 - model.live(held_p), config.live_label_rate,
            (config.verdict_multiples[0], config.verdict_multiples[1]),
        )  # fmt: skip
    slices = {"choose": len(val_part.y), "calibrate": len(calibration.y), "shared": shared}
    reference = model_reference(
        model, calibration.questions, _ensure_catalog(calibration), calibration.y
    )
    return TrainResult(model, config, scores, reason_scores, slices, reference)


def _calibrate(
    estimator: Any, features: QuestionFeatures, part: Part
) -> tuple[CalibratedClassifierCV, sparse.csr_matrix]:
    """Platt scaling of the fitted ``estimator`` on ``part``; and the part's feature rows."""
    x = features.transform_with_catalog(part.questions, part.catalog)
    calibrated = CalibratedClassifierCV(FrozenEstimator(estimator), method="sigmoid")
    return calibrated.fit(x, part.y), x


def _keeps_order(calibrated: CalibratedClassifierCV) -> bool:
    """Whether the fitted sigmoid rises with the model's score (sklearn's is
    ``expit(-(a * score + b))``: rising for a negative ``a``)."""
    return all(c.a_ < 0 for f in calibrated.calibrated_classifiers_ for c in f.calibrators)


def _live_shift(config: TrainConfig, y_val: npt.NDArray[np.int64]) -> float:
    """The logit shift from the calibration (validation) base rate of the good outcome to
    the live one; 0 without a live rate."""
    if config.live_label_rate is None:
        return 0.0
    live_good = (
        config.live_label_rate if get_label(config.label).positive_is_good
        else 1.0 - config.live_label_rate
    )  # fmt: skip
    return prior_shift(float(y_val.mean()), live_good)


def prior_shift(rate_from: float, rate_to: float) -> float:
    """The logit shift that moves calibrated probabilities from one base rate to another
    (Bayes: the ratio of the odds)."""
    a, b = (float(np.clip(r, 1e-6, 1 - 1e-6)) for r in (rate_from, rate_to))
    return float(logit(b) - logit(a))


def reasons_of(part: Part) -> npt.NDArray[np.object_]:
    """Each question's reason for its bad outcome (e.g. why it was closed), or None."""
    if "close_reason" not in part.frame:
        return np.full(len(part.y), None, dtype=object)
    reasons = part.frame["close_reason"].astype(object).to_numpy()
    known = part.frame["close_reason"].notna().to_numpy() & (part.y == 0)
    out = np.full(len(part.y), None, dtype=object)
    out[known] = reasons[known]
    return out


def _reasons(
    train_part: Part, val_part: Part, config: TrainConfig, x_train: Any, x_val: Any
) -> tuple[ReasonModel | None, dict[str, float]]:
    """For a label whose bad outcome has recorded reasons (closed), the reason model fitted
    on the training questions that have one and chosen on ``val_part``'s."""
    train_reasons = reasons_of(train_part)
    val_reasons = reasons_of(val_part)
    has_train, has_val = train_reasons != None, val_reasons != None  # noqa: E711
    if len(set(train_reasons[has_train])) < 2 or not has_val.any():
        return None, {}
    return fit_reasons(
        x_train[has_train],
        train_reasons[has_train].tolist(),
        x_val[has_val],
        val_reasons[has_val].tolist(),
        config.grid_c,
        config.seed,
    )


_GAP = 0.1  # train minus validation AUC above this: the model fits noise of its rows
_CLOSE = 0.05  # train and validation AUC within this: more capacity, not data, would help
_LOW = 0.7
_RISING = 0.005  # a validation gain below this is noise, not "still rising"


def _subset(part: Part, rows: npt.NDArray[np.int64]) -> Part:
    catalog = _ensure_catalog(part)
    return Part(
        [part.questions[i] for i in rows],
        part.y[rows],
        part.frame.iloc[rows].reset_index(drop=True),
        catalog[rows],
    )


def _ranking_auc(model: QualityModel, part: Part) -> float:
    """ROC-AUC of the fitted estimator before calibration: Platt scaling fitted on a small
    validation part can turn negative and reverse the ranking, hiding what was learned."""
    x = model.features.transform_with_catalog(part.questions, part.catalog)
    return float(roc_auc_score(part.y, model.estimator.predict_proba(x)[:, 1]))


def _diagnose(points: list[dict[str, Any]]) -> str:
    """One line on the curve so far: high variance, high bias, or balanced."""
    known = [pt for pt in points if pt["train_auc"] is not None]
    if not known:
        return "not available (no subset had both classes)"
    last = known[-1]
    gap = last["train_auc"] - last["val_auc"]
    rising = len(known) > 1 and last["val_auc"] - known[-2]["val_auc"] > _RISING
    if gap > _GAP and rising:
        return f"high variance (gap > {_GAP} and validation still rising)"
    if abs(gap) <= _CLOSE and max(last["train_auc"], last["val_auc"]) < _LOW:
        return f"high bias (train and validation close and both low, < {_LOW})"
    return "balanced"


def learning_curve(
    data: PreparedData,
    config: TrainConfig,
    chosen: TrainResult | None = None,
) -> list[dict[str, Any]]:
    """Trains on growing seeded random subsets of the training part (the config's
    ``learning_fractions``); per fraction, the
    training ROC-AUC (on the subset fitted) and validation ROC-AUC. Never reads test.

    Each point's ``diagnosis`` reads the curve up to that point, so the last reads it all.
    Subsets are nested (prefixes of one seeded permutation), so points differ by data added,
    not by which rows were drawn. Given the ``chosen`` result of ``train`` on all of it, the
    curve is that model's: a logistic regression keeps its chosen penalty at every point
    (no search per subset), and the whole training part's point is the model itself.
    """
    if chosen is not None and config.model == "logreg":
        config = replace(config, grid_c=(float(chosen.model.params["C"]),))
    train_part = data.parts["train"]
    order = np.random.default_rng(config.seed).permutation(len(train_part.y))
    points: list[dict[str, Any]] = []
    for fraction in sorted(config.learning_fractions):
        n = max(1, round(fraction * len(order)))
        part = _subset(train_part, np.sort(order[:n]))
        point: dict[str, Any] = {
            "fraction": fraction,
            "n_train": n,
            "train_auc": None,
            "val_auc": None,
        }
        if len(set(part.y.tolist())) == 2:
            # Only train and val travel: the subset data cannot reach the test part.
            subset = replace(data, parts={"train": part, "val": data.parts["val"]})
            model = (
                chosen.model
                if chosen is not None and n == len(order)
                else train(subset, config, reasons=False).model
            )
            point["train_auc"] = _ranking_auc(model, part)
            point["val_auc"] = _ranking_auc(model, data.parts["val"])
        points.append(point)
        point["diagnosis"] = _diagnose(points)
    return points
