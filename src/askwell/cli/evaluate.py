"""``askwell evaluate``: a model bundle → its evaluation, report and card, on a dataset."""

from __future__ import annotations

from pathlib import Path

import typer

from askwell.cli.common import ConfigOption, LabelsOption, console, load_settings, reports_errors


@reports_errors
def evaluate_command(
    bundle: Path = typer.Argument(..., help="A model bundle (*.askwell).", show_default=False),
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
    from askwell.cli.train import (
        data_summary,
        print_summary,
        read_label_table,
        write_evaluation,
    )
    from askwell.data.dataset import Dataset
    from askwell.explain.edit_check import check_edits
    from askwell.features.catalog import feature_names
    from askwell.models.bundle import load_bundle
    from askwell.models.evaluate import evaluate
    from askwell.models.ledger import record_read
    from askwell.models.train import TrainConfig, prepare

    settings = load_settings(config_file)
    comparison = read_label_table(labels_file) if labels_file is not None else None
    model, info = load_bundle(bundle, feature_names())
    data = Dataset.open(dataset)
    config = TrainConfig(**info.config)
    prepared = prepare(data, config)
    same_data = data.fingerprint == info.data_fingerprint
    summary = {
        **info.training,
        "config": info.config,
        "data": info.training.get("data", data_summary(data)),
        "evaluated_on": {
            "fingerprint": data.fingerprint,
            "same_as_training": same_data,
        },
        "test": {
            **evaluate(model, prepared, config.seed),
            "edit_check": check_edits(model, prepared.parts["test"].questions),
        },
    }
    summary["test"]["test_read"] = record_read(
        settings.tracking.test_ledger,
        reader=f"askwell evaluate {bundle}",
        fingerprint=prepared.fingerprint,
        config=info.config,
        metrics=summary["test"]["metrics"],
    )
    written = write_evaluation(summary, out, comparison)
    print_summary(summary)
    if not same_data:
        console().print(
            "note: this dataset is not the one the bundle was trained on; its test part may "
            "hold questions the model saw in training.",
            highlight=False,
        )
    for kind, path in written.items():
        console().print(f"{kind}: {path}", highlight=False)
