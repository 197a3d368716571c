"""askwell labels: one model per label, judged on validation by the product outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from askwell.data.labels import LABELS
from tests.conftest import DUMPS, run_askwell

pytestmark = pytest.mark.data


def test_label_table_from_the_command_line(tmp_path: Path) -> None:
    ds = tmp_path / "ds"
    sites = ("beer.stackexchange.com", "ai.stackexchange.com", "coffee.stackexchange.com")
    ingest = run_askwell("ingest", *(str(DUMPS / s) for s in sites), "-o", str(ds))
    assert ingest.returncode == 0, ingest.stderr
    config = tmp_path / "c.yaml"
    config.write_text("train:\n  max_word_features: 2000\n  max_char_features: 300\n")
    out = tmp_path / "labels.json"
    result = run_askwell("labels", str(ds), "-o", str(out), "--config", str(config))
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())
    # The answer labels: closed is the closing model's, learned from its own data.
    assert [r["label"] for r in rows] == sorted(n for n, s in LABELS.items() if s.positive_is_good)
    assert "closed" not in [r["label"] for r in rows]
    for row in rows:
        assert set(row["positive_rate_by_part"]) == {"train", "val", "test"}
        if "error" in row:
            continue
        auc = row["roc_auc"]
        assert auc["low"] <= auc["value"] <= auc["high"]
        assert row["part"] == "val" and row["n_val"] > 0  # never the test part
        assert -1 <= row["spearman_answer_count"] <= 1
    # The book's label shows its age bias on a time split: newer questions look worse.
    book = next(r for r in rows if r["label"] == "score_above_median")
    assert book["positive_rate_by_part"]["train"] > book["positive_rate_by_part"]["test"]
    assert "rho answers" in result.stdout


def test_no_label_choice_moves_when_the_test_labels_are_shuffled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The label table and the label its rule picks are the same whatever the test part's
    outcomes are: every label's test values are flipped and shuffled, and nothing the
    choice reads moves (only the test part's own positive rate, shown for its age bias)."""
    from dataclasses import replace

    import numpy as np

    from askwell.data.dataset import Dataset
    from askwell.data.labels import LabelInputs
    from askwell.models.card import best_label
    from askwell.models.label_table import compare_labels
    from askwell.models.train import TrainConfig
    from tests.conftest import ingest_dataset

    sites = ("beer.stackexchange.com", "ai.stackexchange.com", "coffee.stackexchange.com")
    dataset: Dataset = ingest_dataset(tmp_path / "ds", *(DUMPS / s for s in sites))
    config = TrainConfig(max_word_features=2000, max_char_features=300)

    def table() -> list[dict[str, object]]:
        rows = compare_labels(dataset, config)
        for row in rows:
            rates = row["positive_rate_by_part"]
            assert isinstance(rates, dict)
            rates.pop("test", None)
        return rows

    before = table()
    rng = np.random.default_rng(3)
    for name, label in list(LABELS.items()):

        def flipped(inputs: LabelInputs, compute=label.compute):  # type: ignore[no-untyped-def]
            values = compute(inputs).astype("boolean")
            test = (inputs.questions["part"] == "test").to_numpy()
            values[test] = rng.permutation((~values[test]).to_numpy())
            return values

        monkeypatch.setitem(LABELS, name, replace(label, compute=flipped))
    after = table()
    assert after == before
    assert best_label(after) == best_label(before) is not None
