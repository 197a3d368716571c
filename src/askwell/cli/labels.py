"""``askwell labels``: which label tracks what the product promises?"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from askwell.cli.common import ConfigOption, console, load_settings, reports_errors


@reports_errors
def labels_command(
    dataset: Path = typer.Argument(
        ..., help="A dataset folder written by askwell ingest.", show_default=False
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Also write the table as JSON."),
    config: Path | None = ConfigOption,
) -> None:
    """Train one model per registered label (train settings from the config) and compare
    them on the validation part: ROC-AUC on their own label, and within-site Spearman rho
    with AnswerCount and with an accepted answer. The default label is chosen from this
    table, so it never reads the test part."""
    from askwell.data.dataset import Dataset
    from askwell.models.label_table import compare_labels
    from askwell.models.train import TrainConfig

    settings = load_settings(config)
    rows = compare_labels(Dataset.open(dataset), TrainConfig(**settings.train.model_dump()))
    table = Table(
        title="labels compared on validation (time split unless configured)",
        title_justify="left",
    )
    table.add_column("label", no_wrap=True)
    for col in (
        "ROC-AUC [95% CI]",
        "rho answers",
        "rho accepted",
        "positives train / test",
    ):
        table.add_column(col)
    for row in rows:
        rates = row["positive_rate_by_part"]
        positives = (
            f"{rates.get('train', float('nan')):.2f} / {rates.get('test', float('nan')):.2f}"
        )
        if "error" in row:
            table.add_row(row["label"], "cannot learn", "", "", positives)
            continue
        auc = row["roc_auc"]
        table.add_row(
            row["label"],
            f"{auc['value']:.3f} [{auc['low']:.3f}, {auc['high']:.3f}]",
            f"{row['spearman_answer_count']:.3f}",
            f"{row['spearman_accepted']:.3f}",
            positives,
        )
    console().print(table)
    if out is not None:
        out.write_text(json.dumps(rows, indent=2, default=float) + "\n", encoding="utf-8")
        console().print(f"table: {out}", highlight=False)
