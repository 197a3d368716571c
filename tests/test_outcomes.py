"""Late outcomes (``askwell monitor outcomes``): real Stack Overflow questions of three months
(never trained on: the newest of the sample), scored in batch by ``askwell score`` as a user
runs it, then joined with their closing outcomes from an ingested dataset by site and id.

The months are drawn at the live closing rate, so the closing risk (stated at that rate) is
judged on the traffic it is calibrated for. One month's scores are shuffled among its rows:
a model that ranks no better than chance there. The alert must fire for that month only.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from askwell.cli import app
from askwell.config import MonitorSettings
from askwell.data.dataset import Dataset
from askwell.models.bundle import default_bundle
from askwell.monitoring.outcomes import join_outcomes, performance_over_time, read_scores
from tests.conftest import SHARED_DATA, ingest_dataset

pytestmark = [
    pytest.mark.data,
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning"),
]

MONTHS = ("2012-04", "2012-05", "2012-06")
PER_MONTH = 250
CLOSED_SHARE = 0.06  # about the live closing rate the closing risk is stated at
SETTINGS = MonitorSettings(min_n=100, n_boot=300)


@dataclass(frozen=True)
class Scored:
    dataset: Dataset
    scores: Path
    site: str


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> Scored:
    root = tmp_path_factory.mktemp("outcomes")
    frame = pd.read_csv(
        SHARED_DATA / "stackoverflow-closed" / "train-sample.csv", dtype=str, keep_default_na=False
    )
    month = pd.to_datetime(frame["PostCreationDate"], format="%m/%d/%Y %H:%M:%S").dt.strftime(
        "%Y-%m"
    )
    picked = []
    n_closed = round(PER_MONTH * CLOSED_SHARE)
    for m in MONTHS:
        inside = frame[month == m]
        picked += [
            inside[inside["OpenStatus"] == "open"].sample(PER_MONTH - n_closed, random_state=0),
            inside[inside["OpenStatus"] != "open"].sample(n_closed, random_state=0),
        ]
    sample = pd.concat(picked)
    source = root / "so-sample.csv"
    sample.to_csv(source, index=False, quoting=csv.QUOTE_NONNUMERIC)
    dataset = ingest_dataset(root / "ds", source)
    site = str(dataset.table("questions", ["site"]).to_pandas()["site"].iloc[0])
    typed = root / "drafts.csv"
    pd.DataFrame(
        {
            "id": sample["PostId"],
            "site": site,
            "title": sample["Title"],
            "body": sample["BodyMarkdown"],
            "tags": [
                ",".join(t for t in row if t)
                for row in sample[["Tag1", "Tag2", "Tag3", "Tag4", "Tag5"]].itertuples(index=False)
            ],
        }
    ).to_csv(typed, index=False)
    scores = root / "scores.csv"
    result = CliRunner().invoke(
        app, ["score", str(typed), str(scores), "--bundle", str(default_bundle())]
    )
    assert result.exit_code == 0, result.output
    return Scored(dataset, scores, site)


def test_outcomes_join_by_site_and_id_and_the_model_holds_up_month_by_month(
    scored: Scored,
) -> None:
    scores = read_scores(scored.scores)
    assert len(scores) == len(MONTHS) * PER_MONTH and set(scores["site"]) == {scored.site}
    joined = join_outcomes(scores, scored.dataset, "closed")
    assert len(joined) == len(scores)  # every scored question found, by site and id
    assert joined["good"].notna().all()  # closing data: every outcome known
    result = performance_over_time(joined, SETTINGS, reference_auc=0.847)
    months = [w["month"] for w in result["performance"]]
    assert months == list(MONTHS)
    for w in result["performance"]:
        assert w["n"] == PER_MONTH and w["judged"]
        assert w["roc_auc"]["low"] < w["roc_auc"]["value"] < w["roc_auc"]["high"]
        assert w["roc_auc"]["value"] > 0.7  # far better than chance on later questions
    assert result["alerts"] == [], result["alerts"]


def test_a_month_that_ranks_no_better_than_chance_raises_the_alert(
    scored: Scored, tmp_path: Path
) -> None:
    frame = pd.read_csv(scored.scores, dtype=str, keep_default_na=False)
    dates = scored.dataset.table("questions", ["id", "creation_date"]).to_pandas()
    month = dict(
        zip(dates["id"].astype(str), dates["creation_date"].dt.strftime("%Y-%m"), strict=True)
    )
    broken = frame["id"].map(month) == MONTHS[1]
    rng = np.random.default_rng(0)
    frame.loc[broken, "closing_risk"] = rng.permutation(
        frame.loc[broken, "closing_risk"].to_numpy()
    )
    damaged = tmp_path / "scores.csv"
    frame.to_csv(damaged, index=False)
    result = CliRunner().invoke(
        app,
        ["monitor", "outcomes", str(damaged), str(scored.dataset.folder), "-o",
         str(tmp_path / "o"), "--bundle", str(default_bundle())],
        env={"COLUMNS": "200", "ASKWELL_MONITOR__MIN_N": "100", "ASKWELL_MONITOR__N_BOOT": "300"},
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    report = json.loads((tmp_path / "o.outcomes.json").read_text())
    alerts = [a for a in report["alerts"] if a["kind"] == "performance"]
    assert [a["window_end"][:7] for a in alerts] == ["2012-06"]  # the end of May's window
    assert report["reference_roc_auc"] == pytest.approx(0.8468, abs=1e-3)
    assert "| 2012-05 |" in (tmp_path / "o.outcomes.md").read_text()


def test_a_file_that_is_not_a_batch_output_is_refused(tmp_path: Path, scored: Scored) -> None:
    other = tmp_path / "other.csv"
    other.write_text("title,body\nHow?,Why?\n", encoding="utf-8")
    result = CliRunner().invoke(
        app, ["monitor", "outcomes", str(other), str(scored.dataset.folder)]
    )
    assert result.exit_code == 2 and "not an output of askwell score" in result.output
    assert "Traceback" not in result.output
