"""The training pipeline as stages: a dataset → a release (bundle, evaluation, report, card).

Each stage is a function from artifacts to an artifact with explicit inputs, so ``askwell
train`` and ``askwell evaluate``, ``bench/`` and the retraining loop run the same code:

1. :func:`fit`: prepare (split, label, first-posted text), train on train, choose on one
   validation slice and calibrate on the other, and the learning curve. No test read.
2. :func:`read_test`: the one read of the test part: the evaluation, recorded in the ledger.
3. :func:`package`: the self-describing bundle.
4. :func:`check_advice`: the advice against real edits, with the bundle as it ships.
5. :func:`write_release`: the evaluation (JSON), its report (HTML) and the model card.
6. :func:`track`: the run and its artifacts in the MLflow store.

It sits above ``models`` and ``explain`` (it uses both), below ``cli``, which parses and prints.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from askwell.config import TrackingSettings
from askwell.data.dataset import Dataset
from askwell.errors import InputError, OutputError
from askwell.models.train import PreparedData, TrainConfig, TrainResult


@dataclass
class Fitted:
    """What :func:`fit` makes: the prepared data, the trained model, and the training
    summary a bundle and its card carry."""

    prepared: PreparedData
    result: TrainResult
    training: dict[str, Any]


def fit(dataset: Dataset, config: TrainConfig) -> Fitted:
    """Stage 1: never reads the test part's labels (see ``models.train``)."""
    from askwell.models.train import learning_curve, prepare, train
    from askwell.versioning import code_version

    prepared = prepare(dataset, config)
    result = train(prepared, config)
    report = prepared.split_report
    training = {
        **result.summary(),
        "split": {
            "sizes": report.sizes,
            "duplicates_dropped": report.duplicates_dropped,
            "near_duplicates_dropped": report.near_duplicates_dropped,
            "undated_dropped": report.undated_dropped,
            "unknown_label_dropped": prepared.unknown_label,
            "censored_dropped": prepared.censored,
        },
        "data": data_summary(dataset),
        "code_version": code_version(),
        "learning_curve": learning_curve(prepared, config, chosen=result),
    }
    return Fitted(prepared, result, training)


def read_test(fitted: Fitted, dataset: Dataset, ledger: Path, reader: str) -> dict[str, Any]:
    """Stage 2: the test part, read once: metrics with intervals, baselines, slices, bands,
    the edit self-consistency check and, for first-posted training, the comparison with
    final text. The read is appended to ``ledger`` and its entry returned in the result."""
    from askwell.explain.edit_check import check_edits
    from askwell.models.evaluate import evaluate
    from askwell.models.ledger import record_read

    model, prepared, config = fitted.result.model, fitted.prepared, fitted.result.config
    evaluation = evaluate(model, prepared, config)
    evaluation["edit_check"] = check_edits(model, prepared.parts["test"].questions)
    if config.text == "first_posted":
        from askwell.models.first_posted import compare_text_versions

        evaluation["first_posted"] = compare_text_versions(
            dataset, config, prepared, model, config.n_boot
        )
    evaluation["test_read"] = record_read(
        ledger,
        reader=reader,
        fingerprint=prepared.fingerprint,
        config=fitted.training["config"],
        metrics=evaluation["metrics"],
    )
    return evaluation


def package(fitted: Fitted, evaluation: dict[str, Any], out: Path) -> Path:
    """Stage 3: the bundle at ``out``, describing itself (label, features, data, recipe,
    headline test metrics, training summary)."""
    from askwell.data.labels import get_label
    from askwell.features.catalog import feature_names
    from askwell.models.bundle import BundleInfo, save_bundle

    spec = get_label(fitted.result.config.label)
    info = BundleInfo(
        name=out.stem,
        label={"name": spec.name, "description": spec.description},
        feature_schema=feature_names(),
        data_fingerprint=fitted.prepared.fingerprint,
        config=fitted.training["config"],
        metrics=headline(evaluation),
        training=fitted.training,
        reference=fitted.result.reference,
    )
    return save_bundle(out, fitted.result.model, info)


def check_advice(bundle: Path, dataset: Dataset, fitted: Fitted) -> dict[str, Any] | None:
    """Stage 4: the advice against real edits on the test questions with a history, judged
    by the bundle as it ships (``explain.revision_check``); None without history."""
    from askwell.explain.revision_check import check_test_questions

    test = fitted.prepared.parts["test"].frame
    return check_test_questions(bundle, dataset, test, fitted.result.config.seed)


def train_release(
    dataset: Dataset, config: TrainConfig, out: Path, ledger: Path, reader: str
) -> tuple[dict[str, Any], Fitted]:
    """Stages 1 to 4: the bundle at ``out`` and the summary its evaluation files are written
    from (the training summary with the test evaluation under ``test``)."""
    fitted = fit(dataset, config)
    evaluation = read_test(fitted, dataset, ledger, reader)
    package(fitted, evaluation, out)
    # After saving: the check judges as the product does, with the bundle as it ships.
    evaluation["revision_check"] = check_advice(out, dataset, fitted)
    return {**fitted.training, "test": evaluation}, fitted


def evaluate_release(bundle: Path, dataset: Dataset, ledger: Path, reader: str) -> dict[str, Any]:
    """A bundle's evaluation on ``dataset``, split as the bundle was trained (its recorded
    recipe), recorded in ``ledger``: what ``askwell evaluate`` writes."""
    from askwell.explain.edit_check import check_edits
    from askwell.features.catalog import feature_names
    from askwell.models.bundle import load_bundle
    from askwell.models.evaluate import evaluate
    from askwell.models.ledger import record_read
    from askwell.models.train import prepare

    model, info = load_bundle(bundle, feature_names())
    config = TrainConfig(**info.config)
    prepared = prepare(dataset, config)
    summary = {
        **info.training,
        "config": info.config,
        "data": info.training.get("data", data_summary(dataset)),
        "evaluated_on": {
            "fingerprint": dataset.fingerprint,
            "same_as_training": dataset.fingerprint == info.data_fingerprint,
        },
        "test": {
            **evaluate(model, prepared, config),
            "edit_check": check_edits(model, prepared.parts["test"].questions),
        },
    }
    summary["test"]["test_read"] = record_read(
        ledger,
        reader=reader,
        fingerprint=prepared.fingerprint,
        config=info.config,
        metrics=summary["test"]["metrics"],
    )
    return summary


def write_release(
    summary: dict[str, Any], stem: Path, labels: list[dict[str, Any]] | None
) -> dict[str, Path]:
    """Stage 5: the evaluation as JSON, its HTML report and the model card, beside
    ``stem``; the paths written, by kind."""
    from askwell.models.card import model_card
    from askwell.models.report import write_report

    paths = {
        "evaluation": stem.with_suffix(".evaluation.json"),
        "report": stem.with_suffix(".report.html"),
        "model card": stem.with_suffix(".card.md"),
    }
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        paths["evaluation"].write_text(
            json.dumps(summary, indent=2, default=_jsonable) + "\n", encoding="utf-8"
        )
        paths["model card"].write_text(model_card(summary, labels), encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{stem.parent}: cannot write the evaluation ({exc})") from None
    write_report(summary, paths["report"])
    return paths


def track(
    settings: TrackingSettings,
    summary: dict[str, Any],
    bundle: Path,
    fitted: Fitted,
    artifacts: list[Path],
) -> str:
    """Stage 6: the run in the MLflow store (recipe, parameters, headline metrics, data
    fingerprint, code version, artifacts, bundle); its run id."""
    from askwell.models.registry import Tracker

    return Tracker(settings).log_run(
        run_name=bundle.stem,
        config=summary["config"],
        params=fitted.result.model.params,
        metrics=headline(summary["test"]),
        data_fingerprint=fitted.prepared.fingerprint,
        code_version=str(summary["code_version"]),
        artifacts=artifacts,
        bundle=bundle,
        label=fitted.result.config.label,
    )


def data_summary(dataset: Dataset) -> dict[str, Any]:
    """The dataset's fingerprint and, per site, the files read (names, not local paths) and
    the questions kept: what the model card lists and attributes."""
    sites: dict[str, dict[str, Any]] = {}
    for i in dataset.manifest.get("inputs", []):
        site = sites.setdefault(str(i.get("site")), {"site": i.get("site"), "files": [],
                                                     "questions": 0})  # fmt: skip
        site["files"].append("/".join(Path(str(i.get("source", ""))).parts[-2:]))
        site["questions"] += int((i.get("kept") or {}).get("questions", 0))
    return {"fingerprint": dataset.fingerprint, "sources": list(sites.values())}


def read_label_table(path: Path) -> list[dict[str, Any]]:
    """The label comparison written by ``askwell labels --out``."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (write it with askwell labels --out)") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a label comparison ({exc})") from None
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and "label" in r and ("error" in r or "roc_auc" in r) for r in rows
    ):
        raise InputError(
            f"{path}: not a label comparison (expected the JSON list askwell labels --out writes)"
        )
    return rows


def headline(evaluation: dict[str, Any]) -> dict[str, float]:
    """The numbers a bundle and a run carry: test metrics and their interval bounds."""
    out = {f"test_{k}": float(v) for k, v in evaluation["metrics"].items()}
    for name, est in evaluation["intervals"].items():
        out[f"test_{name}_low"] = est["low"]
        out[f"test_{name}_high"] = est["high"]
    out["test_spearman_answers_within_site"] = evaluation["kpi"][
        "spearman_answer_count_within_site"
    ]["weighted_mean"]
    return out


def _jsonable(value: object) -> object:
    return float(value) if hasattr(value, "__float__") else str(value)
