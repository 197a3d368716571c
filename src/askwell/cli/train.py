"""``askwell train``: a dataset → a tuned, calibrated model bundle, evaluated once on test."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from askwell.cli.common import ConfigOption, LabelsOption, console, load_settings, reports_errors


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
    """Train on the training part, choose hyperparameters on one slice of validation and
    calibrate (probabilities, threshold, bands) on the other, evaluate once on test (with 95%
    bootstrap intervals and every baseline; the read is recorded in the test ledger), and
    write a self-describing bundle with, beside it, the evaluation (JSON), its report (HTML)
    and the model card (Markdown)."""
    from askwell.data.dataset import Dataset
    from askwell.data.labels import get_label
    from askwell.models.train import TrainConfig
    from askwell.release import read_label_table, train_release, write_release
    from askwell.release import track as track_run

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
    get_label(train_config.label)  # an unknown name fails before any work
    summary, fitted = train_release(
        data, train_config, out, settings.tracking.test_ledger, f"askwell train --out {out}"
    )
    written = write_release(summary, out, comparison)
    print_summary(summary)
    console().print(f"bundle: {out}", highlight=False)
    for kind, path in written.items():
        console().print(f"{kind}: {path}", highlight=False)
    if track:
        run_id = track_run(settings.tracking, summary, out, fitted, list(written.values()))
        console().print(f"tracked as MLflow run {run_id}", highlight=False)


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
