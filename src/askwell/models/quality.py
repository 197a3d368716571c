"""The model a bundle holds, and the serving format it is saved in: arrays and JSON, never
a pickle.

``QualityModel`` is what scores questions: the fitted feature pipeline, the estimator, its
Platt calibration, the threshold and bands. It lives here, apart from training
(``models.train`` imports pandas and the dataset code), so that a scoring process imports
only what scoring needs.

``to_members`` writes a model as ``model.json`` (every setting, vocabulary, band and
parameter) and one ``model/<name>.npy`` per array (weights, IDF, scaling, bin edges), and
``from_members`` rebuilds it from exactly those: it reads the JSON with ``json`` and the
arrays with ``allow_pickle=False``, and it builds only the classes named below, never one
a file names. A LightGBM estimator travels as LightGBM's own text model. The rebuilt model
computes the same numbers as the one saved, bit for bit (the same arrays through the same
code).
"""

from __future__ import annotations

import functools
import io
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.special import expit, logit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV, _CalibratedClassifier, _SigmoidCalibration
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder, StandardScaler

from askwell.features.pipeline import QuestionFeatures
from askwell.models.bands import Bands, BandStats, RiskBands, Verdict
from askwell.models.contributions import Contributions, contributions
from askwell.models.linear import DirectionalLogisticRegression
from askwell.models.reasons import ReasonModel
from askwell.records import Question

SPEC = "model.json"
ARRAYS = "model/"  # + name + ".npy"
BOOSTERS = "model/"  # + name + ".lightgbm.txt"
_KIND = "askwell.quality_model"
_DTYPES = {"float32": np.float32, "float64": np.float64, "int64": np.int64}


class ModelFormatError(ValueError):
    """The model members are not a model this code can rebuild."""


class QualityModel:
    """Features → estimator → calibrated P(good). What a bundle holds."""

    # Defaults for models pickled (format 2) before these existed.
    live_shift: float = 0.0
    reasons: ReasonModel | None = None
    risk_bands: RiskBands | None = None

    def __init__(
        self,
        features: QuestionFeatures,
        calibrated: CalibratedClassifierCV,
        threshold: float,
        params: dict[str, Any],
        bands: Bands,
        live_shift: float = 0.0,
        reasons: ReasonModel | None = None,
        risk_bands: RiskBands | None = None,
    ) -> None:
        self.features = features
        self.calibrated = calibrated
        self.threshold = threshold
        self.params = params
        self.bands = bands
        self.live_shift = live_shift
        self.reasons = reasons
        self.risk_bands = risk_bands  # for a bad-outcome label with a live rate (closed)

    def live(self, p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Calibrated scores moved from the calibration sample's base rate to the live
        site's (``TrainConfig.live_label_rate``): the sample's odds times the ratio of the
        two base rates' odds (Saerens et al., 2002). Unchanged without a live rate."""
        if not self.live_shift:
            return p
        return np.asarray(expit(logit(p) + self.live_shift), dtype=np.float64)

    def transform(
        self, questions: Sequence[Question], catalog: npt.NDArray[np.float64] | None = None
    ) -> sparse.csr_matrix:
        """The feature rows of ``questions``: build them once when both the scores and the
        contributions of the same questions are wanted."""
        return self.features.transform_with_catalog(questions, catalog)

    def predict_proba(
        self, questions: Sequence[Question], catalog: npt.NDArray[np.float64] | None = None
    ) -> npt.NDArray[np.float64]:
        return self.proba(self.transform(questions, catalog))

    def proba(self, x: sparse.csr_matrix) -> npt.NDArray[np.float64]:
        """Calibrated P(good) of feature rows ``x``."""
        platt = self._platt
        if platt is None:
            proba: npt.NDArray[np.float64] = self.calibrated.predict_proba(x)[:, 1]
            return proba
        # CalibratedClassifierCV's arithmetic for one sigmoid calibrator, without its
        # per-call checks (a third of the cost of scoring one question's rows).
        estimator, a, b = platt
        raw = (
            estimator.decision_function(x)
            if hasattr(estimator, "decision_function")
            else estimator.predict_proba(x)[:, 1]
        )
        return np.asarray(expit(-(a * raw + b)), dtype=np.float64)

    @functools.cached_property
    def _platt(self) -> tuple[Any, float, float] | None:
        """The estimator and the sigmoid's (a, b) when the calibration is one of those."""
        fitted = getattr(self.calibrated, "calibrated_classifiers_", [])
        if len(fitted) != 1 or fitted[0].method != "sigmoid" or len(fitted[0].calibrators) != 1:
            return None
        calibrator = fitted[0].calibrators[0]
        return self.estimator, float(calibrator.a_), float(calibrator.b_)

    @property
    def estimator(self) -> Any:
        """The fitted estimator under the calibration."""
        return self.calibrated.estimator.estimator  # CalibratedClassifierCV → FrozenEstimator

    def contributions(
        self, questions: Sequence[Question], catalog: npt.NDArray[np.float64] | None = None
    ) -> Contributions:
        """Each feature column's contribution to each question's (uncalibrated) logit."""
        return self.contributions_of(self.transform(questions, catalog))

    def contributions_of(self, x: sparse.csr_matrix) -> Contributions:
        """``contributions`` of feature rows ``x``."""
        return contributions(self.estimator, x, self.feature_names)

    @functools.cached_property
    def feature_names(self) -> tuple[str, ...]:
        """The columns' names, computed once (tens of thousands of strings)."""
        return tuple(str(n) for n in self.features.get_feature_names_out())


class MeanEstimator(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Averages fitted classifiers' probabilities. A linear model and a tree ensemble err on
    different questions, so their mean ranks more steadily than either alone."""

    def __init__(self, estimators: Sequence[Any]) -> None:
        self.estimators = list(estimators)
        self.classes_ = self.estimators[0].classes_

    def fit(self, x: Any, y: Any) -> Self:
        raise TypeError("MeanEstimator averages estimators fitted already")

    def predict_proba(self, x: Any) -> npt.NDArray[np.float64]:
        proba: npt.NDArray[np.float64] = np.mean([e.predict_proba(x) for e in self.estimators], 0)
        return proba

    def predict(self, x: Any) -> npt.NDArray[np.int64]:
        labels: npt.NDArray[np.int64] = self.classes_[self.predict_proba(x).argmax(1)]
        return labels


class BoosterClassifier(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """A binary LightGBM classifier rebuilt from its text model: what
    ``lightgbm.LGBMClassifier`` answers for ``predict_proba``, ``decision_function`` and
    ``booster_`` (exact contributions), computed by the same booster."""

    def __init__(
        self, booster: Any = None, classes: Any = None, threads: int | None = None
    ) -> None:
        self.booster = booster
        self.classes = classes
        self.threads = threads

    def __sklearn_is_fitted__(self) -> bool:
        return self.booster is not None

    @property
    def booster_(self) -> Any:
        return self.booster

    @property
    def classes_(self) -> npt.NDArray[Any]:
        return np.asarray(self.classes)

    @property
    def _threads(self) -> dict[str, int]:
        # LGBMClassifier passes its n_jobs on; the scores do not depend on it.
        return {} if self.threads is None else {"num_threads": self.threads}

    def decision_function(self, x: Any) -> npt.NDArray[np.float64]:
        raw: npt.NDArray[np.float64] = self.booster_.predict(x, raw_score=True, **self._threads)
        return raw

    def predict_proba(self, x: Any) -> npt.NDArray[np.float64]:
        p = self.booster_.predict(x, **self._threads)
        proba: npt.NDArray[np.float64] = np.vstack((1.0 - p, p)).transpose()
        return proba

    def predict(self, x: Any) -> npt.NDArray[Any]:
        labels: npt.NDArray[Any] = self.classes_[self.predict_proba(x).argmax(1)]
        return labels


# -- writing


class _Writer:
    def __init__(self) -> None:
        self.members: dict[str, bytes] = {}

    def array(self, name: str, value: Any) -> str:
        data = np.asarray(value)
        if data.dtype.hasobject:
            raise ModelFormatError(f"{name}: an array of Python objects cannot be saved safely")
        out = io.BytesIO()
        np.lib.format.write_array(out, np.ascontiguousarray(data), allow_pickle=False)
        self.members[f"{ARRAYS}{name}.npy"] = out.getvalue()
        return name

    def booster(self, name: str, booster: Any) -> str:
        self.members[f"{BOOSTERS}{name}.lightgbm.txt"] = booster.model_to_string().encode()
        return name


def to_members(model: QualityModel) -> dict[str, bytes]:
    """The model as bundle members: ``model.json`` and its arrays (see the module)."""
    out = _Writer()
    spec = {
        "kind": _KIND,
        "threshold": float(model.threshold),
        "params": _plain(model.params),
        "live_shift": float(model.live_shift),
        "bands": asdict(model.bands),
        "risk_bands": None if model.risk_bands is None else asdict(model.risk_bands),
        "features": _features_spec(model.features, out),
        "calibration": _calibration_spec(model.calibrated, out),
        "estimator": _estimator_spec(model.estimator, "estimator", out),
        "reasons": None if model.reasons is None else _reasons_spec(model.reasons, out),
    }
    text = json.dumps(spec, indent=1, ensure_ascii=False, allow_nan=True)
    return {SPEC: text.encode(), **out.members}


def _plain(value: Any) -> Any:
    """``value`` as JSON values, or ModelFormatError: nothing is saved that JSON cannot say."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.bool_ | np.integer | np.floating):
        return value.item()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, type) and np.dtype(value).name in _DTYPES:
        return {"dtype": np.dtype(value).name}
    raise ModelFormatError(f"cannot save {type(value).__name__} {value!r} as JSON")


def _params(estimator: Any, skip: Sequence[str] = ()) -> dict[str, Any]:
    params = estimator.get_params(deep=False)
    return {k: _plain(v) for k, v in params.items() if k not in skip}


def _features_spec(features: QuestionFeatures, out: _Writer) -> dict[str, Any]:
    params = {
        name: _plain(getattr(features, name))
        for name in QuestionFeatures._get_param_names()
        if hasattr(features, name)  # models older than a parameter keep its default
    }
    spec: dict[str, Any] = {"params": params, "catalog_names": list(features.catalog_names_)}
    if features.use_catalog:
        scaler = features.scaler_
        spec["scaler"] = {
            "params": _params(scaler),
            "n_samples_seen": _plain(scaler.n_samples_seen_),
            "mean": out.array("features.scaler.mean", scaler.mean_),
            "var": out.array("features.scaler.var", scaler.var_),
            "scale": out.array("features.scaler.scale", scaler.scale_),
        }
    bins = features.bins_
    if bins is not None:
        spec["moderate"] = [int(i) for i in features.moderate_]
        spec["bins"] = {
            "params": _params(bins),
            "n_bins": out.array("features.bins.n_bins", bins.n_bins_),
            "edges": [
                out.array(f"features.bins.edges.{i}", edges)
                for i, edges in enumerate(bins.bin_edges_)
            ],
        }
    for name in ("word", "char", "tags"):
        vectorizer = getattr(features, f"{name}_")
        spec[name] = None if vectorizer is None else _vectorizer_spec(vectorizer, name, out)
    return spec


def _vectorizer_spec(vectorizer: CountVectorizer, name: str, out: _Writer) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "class": type(vectorizer).__name__,
        "params": _params(vectorizer),
        "vocabulary": {str(k): int(v) for k, v in vectorizer.vocabulary_.items()},
    }
    if type(vectorizer) not in (CountVectorizer, TfidfVectorizer) or vectorizer.fixed_vocabulary_:
        raise ModelFormatError(f"features.{name}: cannot save {type(vectorizer).__name__}")
    if isinstance(vectorizer, TfidfVectorizer):
        weighting = vectorizer._tfidf
        spec["tfidf"] = {
            "params": _params(weighting),
            "idf": out.array(f"features.{name}.idf", weighting.idf_),
        }
    return spec


def _calibration_spec(calibrated: CalibratedClassifierCV, out: _Writer) -> dict[str, Any]:
    fitted = calibrated.calibrated_classifiers_
    if len(fitted) != 1 or fitted[0].method != "sigmoid" or len(fitted[0].calibrators) != 1:
        raise ModelFormatError("only one sigmoid (Platt) calibration can be saved")
    calibrator = fitted[0].calibrators[0]
    return {
        "params": _params(calibrated, skip=("estimator",)),
        "a": float(calibrator.a_),
        "b": float(calibrator.b_),
        "classes": out.array("calibration.classes", calibrated.classes_),
    }


def _estimator_spec(estimator: Any, name: str, out: _Writer) -> dict[str, Any]:
    if type(estimator) is DirectionalLogisticRegression:
        return {
            "kind": "directional_logistic_regression",
            "params": _params(estimator, skip=("signs",)),
            "signs": None
            if estimator.signs is None
            else out.array(f"{name}.signs", estimator.signs),
            "classes": out.array(f"{name}.classes", estimator.classes_),
            "coef": out.array(f"{name}.coef", estimator.coef_),
            "intercept": out.array(f"{name}.intercept", estimator.intercept_),
            "n_iter": int(estimator.n_iter_),
        }
    if type(estimator) is MeanEstimator:
        return {
            "kind": "mean",
            "members": [
                _estimator_spec(e, f"{name}.{i}", out) for i, e in enumerate(estimator.estimators)
            ],
        }
    booster = getattr(estimator, "booster_", None)
    if booster is not None and len(estimator.classes_) == 2:
        threads = getattr(estimator, "n_jobs", getattr(estimator, "threads", None))
        return {
            "kind": "lightgbm",
            "booster": out.booster(name, booster),
            "classes": out.array(f"{name}.classes", estimator.classes_),
            "threads": threads if isinstance(threads, int) else None,
        }
    raise ModelFormatError(f"cannot save a {type(estimator).__name__} estimator")


def _reasons_spec(reasons: ReasonModel, out: _Writer) -> dict[str, Any]:
    estimator = reasons.estimator
    if type(estimator) is not LogisticRegression:
        raise ModelFormatError(f"cannot save a {type(estimator).__name__} reason model")
    return {
        "reasons": list(reasons.reasons),
        "params": _params(estimator),
        "classes": [str(c) for c in estimator.classes_],
        "coef": out.array("reasons.coef", estimator.coef_),
        "intercept": out.array("reasons.intercept", estimator.intercept_),
        "n_iter": out.array("reasons.n_iter", estimator.n_iter_),
    }


# -- reading


class _Reader:
    def __init__(self, members: Mapping[str, bytes]) -> None:
        self.members = members

    def array(self, name: Any, dtype: str | None = None) -> npt.NDArray[Any]:
        data = self._member(f"{ARRAYS}{name}.npy")
        try:
            array = np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
        except ValueError as exc:  # object arrays included: they would need a pickle
            raise ModelFormatError(f"{ARRAYS}{name}.npy: {exc}") from None
        if dtype is not None and array.dtype.kind != dtype:
            raise ModelFormatError(f"{ARRAYS}{name}.npy: {array.dtype} where {dtype} is due")
        return array

    def booster(self, name: Any) -> Any:
        import lightgbm  # only for a model that has trees (it imports pandas)

        text = self._member(f"{BOOSTERS}{name}.lightgbm.txt").decode()
        return lightgbm.Booster(model_str=text)

    def _member(self, name: str) -> bytes:
        if not isinstance(name, str) or name not in self.members:
            raise ModelFormatError(f"the bundle lists no member {name}")
        return self.members[name]


def from_members(members: Mapping[str, bytes]) -> QualityModel:
    """The model saved by ``to_members``; ModelFormatError when the members are not one."""
    if SPEC not in members:
        raise ModelFormatError(f"the bundle holds no {SPEC}")
    try:
        spec = json.loads(members[SPEC])
        if not isinstance(spec, dict) or spec.get("kind") != _KIND:
            raise ModelFormatError(f"{SPEC} does not describe an askwell model")
        return _model(spec, _Reader(members))
    except ModelFormatError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        raise ModelFormatError(f"{SPEC}: {type(exc).__name__}: {exc}") from None


def _model(spec: dict[str, Any], read: _Reader) -> QualityModel:
    estimator = _estimator(spec["estimator"], read)
    return QualityModel(
        _features(spec["features"], read),
        _calibration(spec["calibration"], estimator, read),
        float(spec["threshold"]),
        dict(spec["params"]),
        _bands(spec["bands"]),
        live_shift=float(spec["live_shift"]),
        reasons=None if spec["reasons"] is None else _reasons(spec["reasons"], read),
        risk_bands=None if spec["risk_bands"] is None else _risk_bands(spec["risk_bands"]),
    )


def _value(value: Any) -> Any:
    """``_plain``'s JSON back: dtypes as numpy's scalar types."""
    if isinstance(value, dict) and set(value) == {"dtype"}:
        return _DTYPES[value["dtype"]]
    return value


def _build(cls: Callable[..., Any], params: dict[str, Any], tuples: Sequence[str] = ()) -> Any:
    """``cls(**params)``, each JSON list in ``tuples`` a tuple again (as it was fitted)."""
    return cls(
        **{k: tuple(v) if k in tuples and v is not None else _value(v) for k, v in params.items()}
    )


def _features(spec: dict[str, Any], read: _Reader) -> QuestionFeatures:
    features: QuestionFeatures = _build(QuestionFeatures, spec["params"], tuples=("char_ngrams",))
    features.catalog_names_ = [str(n) for n in spec["catalog_names"]]
    if "scaler" in spec:
        s = spec["scaler"]
        scaler = _build(StandardScaler, s["params"])
        scaler.mean_ = read.array(s["mean"], "f")
        scaler.var_ = read.array(s["var"], "f")
        scaler.scale_ = read.array(s["scale"], "f")
        scaler.n_features_in_ = len(scaler.mean_)
        scaler.n_samples_seen_ = np.float64(s["n_samples_seen"])
        features.scaler_ = scaler
    features.bins_ = None
    if "bins" in spec:
        b = spec["bins"]
        bins = _build(KBinsDiscretizer, b["params"])
        edges = np.empty(len(b["edges"]), dtype=object)  # as KBinsDiscretizer keeps them
        for i, name in enumerate(b["edges"]):
            edges[i] = read.array(name, "f")
        bins.bin_edges_ = edges
        bins.n_bins_ = read.array(b["n_bins"], "i")
        bins.n_features_in_ = len(edges)
        if "onehot" in bins.encode:  # KBinsDiscretizer.fit's encoder, fitted as it fits it
            bins._encoder = OneHotEncoder(
                categories=[np.arange(i) for i in bins.n_bins_],
                sparse_output=bins.encode == "onehot",
                dtype=bins.dtype if bins.dtype is not None else np.float64,
            ).fit(np.zeros((1, len(bins.n_bins_))))
        features.moderate_ = [int(i) for i in spec["moderate"]]
        features.bins_ = bins
    for name in ("word", "char", "tags"):
        v = spec[name]
        setattr(features, f"{name}_", None if v is None else _vectorizer(v, read))
    return features


def _vectorizer(spec: dict[str, Any], read: _Reader) -> CountVectorizer:
    classes = {"CountVectorizer": CountVectorizer, "TfidfVectorizer": TfidfVectorizer}
    if spec["class"] not in classes:
        raise ModelFormatError(f"unknown vectorizer {spec['class']!r}")
    vectorizer = _build(classes[spec["class"]], spec["params"], tuples=("ngram_range",))
    vectorizer.vocabulary_ = {str(k): int(v) for k, v in spec["vocabulary"].items()}
    vectorizer.fixed_vocabulary_ = False
    if isinstance(vectorizer, TfidfVectorizer):
        weighting = _build(TfidfTransformer, spec["tfidf"]["params"])
        weighting.idf_ = read.array(spec["tfidf"]["idf"], "f")
        weighting.n_features_in_ = len(weighting.idf_)
        vectorizer._tfidf = weighting
        vectorizer.stop_words_ = None  # as QuestionFeatures.fit leaves it
    return vectorizer


def _calibration(spec: dict[str, Any], estimator: Any, read: _Reader) -> CalibratedClassifierCV:
    frozen = FrozenEstimator(estimator)
    calibrated = _build(CalibratedClassifierCV, {**spec["params"], "estimator": None})
    calibrated.estimator = frozen
    sigmoid = _SigmoidCalibration()
    sigmoid.a_, sigmoid.b_ = np.float64(spec["a"]), np.float64(spec["b"])
    classes = read.array(spec["classes"])
    calibrated.calibrated_classifiers_ = [
        _CalibratedClassifier(frozen, [sigmoid], classes=classes, method="sigmoid")
    ]
    calibrated.classes_ = classes
    return calibrated


def _estimator(spec: dict[str, Any], read: _Reader) -> Any:
    kind = spec["kind"]
    if kind == "directional_logistic_regression":
        signs = None if spec["signs"] is None else read.array(spec["signs"], "i")
        estimator = _build(DirectionalLogisticRegression, {**spec["params"], "signs": signs})
        estimator.classes_ = read.array(spec["classes"])
        estimator.coef_ = read.array(spec["coef"], "f")
        estimator.intercept_ = read.array(spec["intercept"], "f")
        estimator.n_iter_ = int(spec["n_iter"])
        return estimator
    if kind == "mean":
        return MeanEstimator([_estimator(m, read) for m in spec["members"]])
    if kind == "lightgbm":
        threads = spec["threads"]
        return BoosterClassifier(
            read.booster(spec["booster"]),
            read.array(spec["classes"]),
            None if threads is None else int(threads),
        )
    raise ModelFormatError(f"unknown estimator kind {kind!r}")


def _reasons(spec: dict[str, Any], read: _Reader) -> ReasonModel:
    estimator = _build(LogisticRegression, spec["params"])
    estimator.classes_ = np.array([str(c) for c in spec["classes"]])
    estimator.coef_ = read.array(spec["coef"], "f")
    estimator.intercept_ = read.array(spec["intercept"], "f")
    estimator.n_iter_ = read.array(spec["n_iter"])
    estimator.n_features_in_ = estimator.coef_.shape[1]
    return ReasonModel(estimator, tuple(str(r) for r in spec["reasons"]))


def _bands(spec: dict[str, Any]) -> Bands:
    stats = tuple(
        BandStats(str(s["name"]), float(s["good_rate"]), int(s["n"])) for s in spec["stats"]
    )
    return Bands(float(spec["low"]), float(spec["high"]), float(spec["base_rate"]), stats)


def _risk_bands(spec: dict[str, Any]) -> RiskBands:
    stats = tuple(
        Verdict(str(s["name"]), float(s["closed_rate"]), int(s["n"])) for s in spec["stats"]
    )
    return RiskBands(float(spec["low"]), float(spec["high"]), float(spec["live_rate"]), stats)


# Questions that touch every part of the features (title, prose, code, links, tags, "?!").
_PROBES = (
    ("How do I sort a dict by value in Python?", "I have `d = {'a': 3, 'b': 1}`:\n\n"
     "    sorted(d)\n\ngives keys only. I read [the docs](https://docs.python.org/3/). "
     "Is there a way ? plz help!!!", ("python", "dictionary")),
    ("Best book?", "What is the best book to learn to write? Thanks.", ("books",)),
    ("", "", ()),
)  # fmt: skip


def same_scores(a: QualityModel, b: QualityModel) -> bool:
    """Whether two models give the same feature rows, scores, contributions and reasons,
    bit for bit, on probe questions (``bundles convert`` checks what it rewrote)."""
    questions = [Question.from_markdown(*probe) for probe in _PROBES]
    xa, xb = a.transform(questions), b.transform(questions)
    if xa.shape != xb.shape or (xa != xb).nnz or a.feature_names != b.feature_names:
        return False
    if not np.array_equal(a.proba(xa), b.proba(xb)):
        return False
    if not np.array_equal(a.calibrated.predict_proba(xa), b.calibrated.predict_proba(xb)):
        return False
    if (a.contributions_of(xa).values != b.contributions_of(xb).values).nnz:
        return False
    if (a.reasons is None) != (b.reasons is None):
        return False
    if a.reasons is not None and b.reasons is not None:
        same_reasons = a.reasons.reasons == b.reasons.reasons
        if not same_reasons or not np.array_equal(a.reasons.proba(xa), b.reasons.proba(xb)):
            return False

    # As JSON: an empty band's NaN rate equals itself there.
    def settings(m: QualityModel) -> str:
        bands = asdict(m.bands), None if m.risk_bands is None else asdict(m.risk_bands)
        return json.dumps([m.threshold, m.params, m.live_shift, bands], sort_keys=True)

    return settings(a) == settings(b)
