"""The evaluation page: built from a real evaluation, self-contained, escaped, and tolerant."""

from __future__ import annotations

import copy
import html
import math
import re
from pathlib import Path
from typing import Any

import pytest

from askwell.models.report import NA, write_report
from tests.conftest import DUMPS, ingest_dataset

pytestmark = pytest.mark.data

SITES = ("coffee.stackexchange.com", "beer.stackexchange.com")
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What ``askwell train`` passes to the report, from a small real training run."""
    from askwell.models.evaluate import evaluate
    from askwell.models.train import TrainConfig, learning_curve, prepare, train

    dataset = ingest_dataset(tmp_path_factory.mktemp("report") / "ds", *(DUMPS / s for s in SITES))
    config = TrainConfig(label="answered", max_word_features=2000, max_char_features=300)
    prepared = prepare(dataset, config)
    result = train(prepared, config)
    report = prepared.split_report
    return {
        **result.summary(),
        "split": {
            "sizes": report.sizes,
            "duplicates_dropped": report.duplicates_dropped,
            "undated_dropped": report.undated_dropped,
            "unknown_label_dropped": prepared.unknown_label,
        },
        "test": evaluate(result.model, prepared, config),
        "learning_curve": learning_curve(prepared, config),
    }


def test_report_is_complete_and_self_contained(summary: dict[str, Any], tmp_path: Path) -> None:
    out = write_report(summary, tmp_path / "m.report.html")
    assert out.is_file()
    page = out.read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 5
    assert "answered" in page
    for name in ("random", "majority", "heuristic"):
        assert f"the {name} baseline" in page
    for site in summary["test"]["per_site"]:
        assert html.escape(site) in page
    groups = summary["test"]["kpi"]["spearman_answer_count_within_site"]["per_group"]
    for site, (rho, n) in groups.items():  # per-site rho as kept in memory (tuples)
        assert f"<td>{html.escape(site)}</td><td class='num'>{rho:.3f}</td>" in page
        assert f"<td class='num'>{n:,}</td>" in page
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page  # no external assets


def test_site_names_are_escaped(summary: dict[str, Any], tmp_path: Path) -> None:
    evil = copy.deepcopy(summary)
    test = evil["test"]
    site = next(iter(test["per_site"]))
    test["per_site"][EVIL] = test["per_site"].pop(site)
    groups = test["kpi"]["spearman_answer_count_within_site"]["per_group"]
    groups[EVIL] = next(iter(groups.values()))
    page = write_report(evil, tmp_path / "evil.report.html").read_text(encoding="utf-8")
    assert EVIL not in page and "<script" not in page.lower()
    assert html.escape(EVIL) in page


def test_missing_sections_and_nan_render_as_not_available(
    summary: dict[str, Any], tmp_path: Path
) -> None:
    partial = copy.deepcopy(summary)
    test = partial["test"]
    del test["kpi"]
    test["metrics"]["roc_auc"] = math.nan
    test["intervals"]["roc_auc"] = {"value": math.nan, "low": math.nan, "high": math.nan}
    for site in test["per_site"].values():
        site["roc_auc"] = math.nan
    del test["curves"]
    page = write_report(partial, tmp_path / "partial.report.html").read_text(encoding="utf-8")
    assert NA in page and "KPI alignment: not available" in page
    assert "ROC curve: not available" in page
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", page)
    assert not re.search(r"\bnan\b", text, re.IGNORECASE)  # never a bare NaN
    # An empty evaluation still renders a page rather than crashing.
    assert write_report({}, tmp_path / "empty.report.html").is_file()


def test_slices_and_learning_curve_sections(summary: dict[str, Any], tmp_path: Path) -> None:
    assert "learning_curve" in summary and summary["test"]["slices"]
    page = write_report(summary, tmp_path / "m.report.html").read_text(encoding="utf-8")
    assert "<h2>Slices</h2>" in page and "<h2>Learning curve</h2>" in page
    assert "Main vs meta site" in page and "Diagnosis: <strong>" in page
    assert summary["learning_curve"][-1]["diagnosis"] in html.unescape(page)
    for tag in summary["test"]["slices"]["tag"]:
        assert f"<td>{html.escape(tag)}</td>" in page
    bare = copy.deepcopy(summary)
    del bare["test"]["slices"], bare["learning_curve"]
    page = write_report(bare, tmp_path / "bare.report.html").read_text(encoding="utf-8")
    assert f"Slices: {NA}." in page and f"Learning curve: {NA}." in page
