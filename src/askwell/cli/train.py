"""``askwell train``: a dataset → a tuned, calibrated model bundle, evaluated once on test."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from askwell.cli.common import ConfigOption, LabelsOption, console, load_settings, reports_errors
from askwell.errors import InputError, OutputError

if TYPE_CHECKING:
    from askwell.data.dataset import Dataset


@reports_errors
def train_command(
    dataset: Path = typer.Argument(
        ..., help="A dataset folder written by askwell ingest.", show_default=False
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Where to write the model bundle (*.askwell); the evaluation, report and model card "
        "go beside it.",
    ),
    label: str | None = typer.Option(
        None, "--label", help="What 'good' means (see the labels registry). [config: train.label]"
    ),
    split: str | None = typer.Option(
        None, "--split", help="time, author or random. [config: train.split]"
    ),
    model: str | None = typer.Option(
        None, "--model", help="logreg, lightgbm or blend. [config: train.model]"
    ),
    seed: int | None = typer.Option(None, "--seed", help="[config: train.seed]"),
    track: bool = typer.Option(
        True,
        "--track/--no-track",
        help="Log the run to the MLflow store (see askwell experiments).",
    ),
    labels_file: Path | None = LabelsOption,
    config: Path | None = ConfigOption,
) -> None:
    """Train on the training part, tune and calibrate on validation, evaluate once on test
    (with 95% bootstrap intervals and every baseline), and write a self-describing bundle with,
    beside it, the evaluation (JSON), its report (HTML) and the model card (Markdown)."""
    from askwell.data.dataset import Dataset
    from askwell.data.labels import get_label
    from askwell.explain.edit_check import check_edits
    from askwell.explain.revision_check import check_test_questions
    from askwell.features.catalog import feature_names
    from askwell.models.bundle import BundleInfo, save_bundle
    from askwell.models.evaluate import evaluate
    from askwell.models.ledger import record_read
    from askwell.models.train import TrainConfig, learning_curve, prepare, train
    from askwell.versioning import code_version

    settings = load_settings(
        config,
        **{
            "train.label": label,
            "train.split": split,
            "train.model": model,
            "train.seed": seed,
        },
    )
    train_config = TrainConfig(**settings.train.model_dump())
    comparison = read_label_table(labels_file) if labels_file is not None else None
    data = Dataset.open(dataset)
    label_spec = get_label(train_config.label)  # an unknown name fails before any work
    prepared = prepare(data, train_config)
    result = train(prepared, train_config)
    training = {
        **result.summary(),
        "split": {
            "sizes": prepared.split_report.sizes,
            "duplicates_dropped": prepared.split_report.duplicates_dropped,
            "near_duplicates_dropped": prepared.split_report.near_duplicates_dropped,
            "undated_dropped": prepared.split_report.undated_dropped,
            "unknown_label_dropped": prepared.unknown_label,
            "censored_dropped": prepared.censored,
        },
        "data": data_summary(data),
        "code_version": code_version(),
        "learning_curve": learning_curve(prepared, train_config, chosen=result),
    }
    evaluation = evaluate(result.model, prepared, train_config.seed)
    evaluation["edit_check"] = check_edits(result.model, prepared.parts["test"].questions)
    if train_config.text == "first_posted":
        from askwell.models.first_posted import compare_text_versions

        evaluation["first_posted"] = compare_text_versions(
            data, train_config, prepared, result.model
        )
    evaluation["test_read"] = record_read(
        settings.tracking.test_ledger,
        reader=f"askwell train --out {out}",
        fingerprint=prepared.fingerprint,
        config=training["config"],
        metrics=evaluation["metrics"],
    )
    info = BundleInfo(
        name=out.stem,
        label={"name": label_spec.name, "description": label_spec.description},
        feature_schema=feature_names(),
        data_fingerprint=prepared.fingerprint,
        config=training["config"],
        metrics=headline(evaluation),
        training=training,
    )
    save_bundle(out, result.model, info)
    # After saving: the check judges as the product does, with the bundle as it ships.
    evaluation["revision_check"] = check_test_questions(
        out, data, prepared.parts["test"].frame, train_config.seed
    )
    summary = {**training, "test": evaluation}
    written = write_evaluation(summary, out, comparison)
    print_summary(summary)
    console().print(f"bundle: {out}", highlight=False)
    for kind, path in written.items():
        console().print(f"{kind}: {path}", highlight=False)
    if track:
        from askwell.models.registry import Tracker

        run_id = Tracker(settings.tracking).log_run(
            run_name=out.stem,
            config=summary["config"],
            params=result.model.params,
            metrics=headline(evaluation),
            data_fingerprint=prepared.fingerprint,
            code_version=info.code_version,
            artifacts=list(written.values()),
            bundle=out,
            label=label_spec.name,
        )
        console().print(f"tracked as MLflow run {run_id}", highlight=False)


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


def write_evaluation(
    summary: dict[str, Any], stem: Path, labels: list[dict[str, Any]] | None
) -> dict[str, Path]:
    """The evaluation as JSON, its HTML report and the model card, beside ``stem``."""
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


def print_summary(summary: dict[str, Any]) -> None:
    test = summary["test"]
    table = Table(
        title=f"{summary['config']['label']} · {summary['config']['model']} · "
        f"{summary['config']['split']} split · test n={test['n_test']:,}",
        title_justify="left",
    )
    for col in ("scorer", "ROC-AUC [95% CI]", "vs model: one-sided p"):
        table.add_column(col)
    auc = test["intervals"]["roc_auc"]
    table.add_row("model", f"{auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]", "")
    for name, b in test["baselines"].items():
        e = b["roc_auc"]
        p = b["model_minus_baseline"]["p_value_one_sided"]
        table.add_row(name, f"{e['value']:.3f} [{e['low']:.3f}, {e['high']:.3f}]", f"{p:.3g}")
    out = console()
    out.print(table)
    ece = test["intervals"]["ece"]
    rho = test["kpi"]["spearman_answer_count_within_site"]["weighted_mean"]
    tracks = (
        ""
        if math.isnan(rho)  # no answer counts in the data (the closing data)
        else f"; Spearman rho(score, answers) within site, size-weighted: {rho:.3f}"
    )
    out.print(
        f"ECE {ece['value']:.3f} [{ece['low']:.3f}, {ece['high']:.3f}]{tracks}", highlight=False
    )
    reasons = test.get("reasons")
    if reasons:
        f1, base = reasons["macro_f1"], reasons["majority"]["macro_f1"]
        out.print(
            f"close reason macro-F1 {f1['value']:.3f} [{f1['low']:.3f}, {f1['high']:.3f}] on "
            f"{reasons['n']:,} closed test questions; majority baseline {base['value']:.3f}",
            highlight=False,
        )
