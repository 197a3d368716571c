"""``askwell evaluate``: a model bundle → its evaluation, report and card, on a dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from askwell.cli.common import (
    BUNDLE_TRUST,
    ConfigOption,
    LabelsOption,
    console,
    load_settings,
    reports_errors,
)


@reports_errors
def evaluate_command(
    bundle: Path = typer.Argument(
        ..., help=f"A model bundle (*.askwell). {BUNDLE_TRUST}", show_default=False
    ),
    dataset: Path = typer.Argument(
        ..., help="A dataset folder written by askwell ingest.", show_default=False
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="Path stem for the outputs: STEM.evaluation.json, STEM.report.html, STEM.card.md.",
    ),
    labels_file: Path | None = LabelsOption,
    config_file: Path | None = ConfigOption,
) -> None:
    """Evaluate a bundle on the test part of a dataset, split as the bundle was trained
    (same label, split, fractions and seed), and write the evaluation, report and card.

    On the dataset it was trained on, this reproduces its training evaluation. On another
    dataset the test part is re-derived by the same rule; questions the two datasets share
    may then have been seen in training, and the output says so.
    """
    from askwell.cli.train import print_summary
    from askwell.data.dataset import Dataset
    from askwell.release import evaluate_release, read_label_table, write_release

    settings = load_settings(config_file)
    comparison = read_label_table(labels_file) if labels_file is not None else None
    summary = evaluate_release(
        bundle, Dataset.open(dataset), settings.tracking.test_ledger, f"askwell evaluate {bundle}"
    )
    same_data = summary["evaluated_on"]["same_as_training"]
    written = write_release(summary, out, comparison)
    print_summary(summary)
    if not same_data:
        console().print(
            "note: this dataset is not the one the bundle was trained on; its test part may "
            "hold questions the model saw in training.",
            highlight=False,
        )
    for kind, path in written.items():
        console().print(f"{kind}: {path}", highlight=False)
