"""The rollout report (askwell.rollout, ``askwell models rollout-report``) on a real SQLite
store written through the store's own API. The predictions are made up so that each number
the report gives is known in advance: agreement of shadow pairs, stickiness, feedback and
revision differences, and each decision the thresholds lead to. The report on real served
traffic is in tests/test_lifecycle.py."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from typer.testing import CliRunner

from askwell.cli import app
from askwell.config import RolloutSettings
from askwell.errors import InputError
from askwell.rollout import Window, default_window, open_store, rollout_report
from askwell.store.db import PredictionRecord, Previous, Store, _alembic_config

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning")

_ids = itertools.count()
SMALL = RolloutSettings(min_predictions=20, min_sessions=5, min_pairs=20, n_boot=200)


def _record(arm: str, **fields: Any) -> PredictionRecord:
    values: dict[str, Any] = {
        "request_id": f"r-{next(_ids)}",
        "session_id": None,
        "site": None,
        "model_name": "m",
        "model_version": "champ-1" if arm == "champion" else "chall-2",
        "degraded": False,
        "score": 0.5,
        "band": "fair",
        "latency_ms": 10.0,
        "suggestions": [],
        "features": {},
        "arm": arm,
        "registry_version": 1 if arm == "champion" else 2,
        "closing_risk": 0.1,
        "verdict": "ready",
    }
    values.update(fields)
    return PredictionRecord(**values)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    opened = Store.open(f"sqlite:///{tmp_path / 'askwell.db'}")
    yield opened
    opened.close()


def _sessions(
    store: Store,
    arm: str,
    n: int,
    *,
    gain: float = 0.1,
    helpful: bool | None = True,
    degraded: bool = False,
    latency_ms: float = 10.0,
) -> None:
    """``n`` editing sessions on ``arm``: a first draft, then a revision that gains ``gain``
    and follows the one suggestion shown; feedback on the first answer's suggestion."""
    for i in range(n):
        session = f"{arm}-{i}"
        first = _record(
            arm,
            session_id=session,
            score=0.4 + 0.01 * (i % 5),
            suggestions=["show-code"],
            closing_risk=0.3,
            latency_ms=latency_ms,
        )
        store.record_prediction(first)
        second = _record(
            arm,
            session_id=session,
            score=first.score + gain,
            closing_risk=0.2,
            degraded=degraded,
            latency_ms=latency_ms,
        )
        store.record_prediction(second)
        previous = Previous(first.request_id, first.score, list(first.suggestions))
        store.record_revision(session, second.request_id, previous, second.score, ["show-code"])
        if helpful is not None:
            store.record_feedback(first.request_id, "show-code", helpful, None)


def _report(store: Store, settings: RolloutSettings = SMALL) -> dict[str, Any]:
    """Over every prediction: these are written arm after arm, not interleaved as served."""
    return rollout_report(store, Window(None, None, "every prediction"), settings)


def test_shadow_pairs_measure_agreement_on_the_same_drafts(store: Store) -> None:
    answers = [_record("champion", session_id=f"s-{i}", score=0.5) for i in range(40)]
    for i, answer in enumerate(answers):
        store.record_prediction(answer)
        differs = i % 4 == 0  # one pair in four: another verdict, a score 0.2 higher
        store.record_prediction(
            _record(
                "shadow",
                session_id=answer.session_id,
                score=0.7 if differs else 0.5,
                verdict="needs work" if differs else "ready",
                closing_risk=0.3 if differs else 0.1,
                shadow_of=answer.request_id,
            )
        )
    store.record_prediction(_record("shadow", shadow_of="r-not-an-answer"))  # unpaired
    report = _report(store)
    paired = report["shadow_vs_champion"]
    assert paired["pairs"] == 40
    assert paired["verdict_agreement"]["value"] == pytest.approx(0.75)
    assert paired["verdict_agreement"]["low"] < 0.75 < paired["verdict_agreement"]["high"]
    assert paired["score_difference"]["value"] == pytest.approx(0.05)
    assert paired["closing_risk_difference"]["value"] == pytest.approx(0.05)
    assert paired["verdict_changes"] == [{"champion": "ready", "shadow": "needs work", "n": 10}]
    assert report["arms"]["shadow"]["predictions"] == 41
    assert "feedback" not in report["arms"]["shadow"]  # never shown: nobody could react
    decision = report["decision"]
    assert decision["action"] == "canary"
    assert any("agreement below 80.0%" in r for r in decision["reasons"])


def test_too_little_traffic_waits(store: Store) -> None:
    _sessions(store, "champion", 10)
    _sessions(store, "challenger", 3)  # 6 predictions, 3 sessions
    decision = _report(store)["decision"]
    assert decision["action"] == "wait"
    assert "6 canary predictions so far, 20 needed" in decision["statement"]
    assert _report(store, SMALL.model_copy(update={"min_predictions": 6}))["decision"][
        "statement"
    ].endswith("3 canary sessions so far, 5 needed.")


def test_a_canary_no_worse_for_people_may_be_promoted(store: Store) -> None:
    _sessions(store, "champion", 40)
    _sessions(store, "challenger", 12)
    report = _report(store)
    canary = report["canary_vs_champion"]
    assert canary["sessions"] == {"challenger": 12, "champion": 40, "on_both_arms": 0}
    assert canary["helpful_difference"]["value"] == 0.0
    assert canary["revision_difference"]["value"] == pytest.approx(0.0)
    arm = report["arms"]["challenger"]
    assert arm["feedback"]["rate"]["value"] == pytest.approx(0.5)  # one answer in two
    assert arm["feedback"]["rules"]["show-code"] == {"shown": 12, "feedback": 12, "not_helpful": 0}
    assert arm["revisions"]["n"] == 12
    assert arm["revisions"]["score_change"]["value"] == pytest.approx(0.1)
    assert arm["revisions"]["risk_fall"]["value"] == pytest.approx(0.1)
    assert arm["revisions"]["followed_share"]["value"] == 1.0
    assert report["decision"]["action"] == "promote"
    assert "askwell models promote" in report["decision"]["statement"]


def test_people_faring_worse_holds_the_canary(store: Store) -> None:
    _sessions(store, "champion", 40, helpful=True, gain=0.1)
    _sessions(store, "challenger", 20, helpful=False, gain=0.1)
    decision = _report(store)["decision"]
    assert decision["action"] == "hold"
    assert decision["statement"].startswith("Do not promote: the share of feedback saying helpful")


def test_an_unclear_difference_keeps_the_canary_running(store: Store) -> None:
    _sessions(store, "champion", 40, helpful=None)
    _sessions(store, "challenger", 12, helpful=None)  # no feedback at all yet
    decision = _report(store)["decision"]
    assert decision["action"] == "hold"
    assert "no feedback on both arms to compare yet" in decision["statement"]


def test_failures_or_slowness_stop_the_rollout(store: Store) -> None:
    _sessions(store, "champion", 40)
    _sessions(store, "challenger", 20, degraded=True, latency_ms=40.0)
    decision = _report(store)["decision"]
    assert decision["action"] == "stop"
    assert "fell back to the rules on 50.0% of requests (champion 0.0%)" in decision["statement"]
    assert "p99 latency is 4.00x the champion's (bound 1.5x)" in decision["statement"]


def test_a_session_on_both_arms_is_reported(store: Store) -> None:
    _sessions(store, "champion", 30)
    store.record_prediction(_record("challenger", session_id="champion-0"))
    assert _report(store)["canary_vs_champion"]["sessions"]["on_both_arms"] == 1


def test_the_default_window_starts_with_the_newest_challenger(store: Store) -> None:
    store.record_prediction(_record("champion"))
    assert default_window(store).since is None
    store.record_prediction(_record("challenger", model_version="old"))
    store.record_prediction(_record("champion"))
    store.record_prediction(_record("challenger", model_version="new"))
    window = default_window(store)
    assert window.rule == "since challenger new first served"
    report = rollout_report(store, window, SMALL)
    assert report["window"]["predictions"] == 1
    every = rollout_report(store, Window(None, None, "all"), SMALL)
    assert every["window"]["predictions"] == 4


def test_a_missing_or_old_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no prediction store at"):
        open_store(f"sqlite:///{tmp_path / 'none.db'}")
    assert not (tmp_path / "none.db").exists()  # a report creates nothing
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    from alembic import command

    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0002")
    engine.dispose()
    with pytest.raises(InputError, match="schema is at 0002"):
        open_store(url)


def test_the_command_writes_the_report_and_states_the_decision(
    store: Store, tmp_path: Path
) -> None:
    # The default window starts with the challenger's first prediction: it comes first here.
    _sessions(store, "challenger", 12)
    _sessions(store, "champion", 40)
    config = tmp_path / "askwell.yaml"
    config.write_text(
        "rollout:\n  min_predictions: 20\n  min_sessions: 5\n  n_boot: 200\n", encoding="utf-8"
    )
    url = str(store.engine.url)
    result = CliRunner().invoke(
        app,
        ["models", "rollout-report", "--database", url, "-o", str(tmp_path / "r"),
         "--config", str(config)],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "promote: The challenger may be promoted" in " ".join(result.output.split())
    report = json.loads((tmp_path / "r.rollout.json").read_text())
    assert report["decision"]["action"] == "promote"
    page = (tmp_path / "r.rollout.md").read_text()
    assert page.startswith("# Rollout report\n\n**Decision (promote):**")
    assert "| predictions | 80 | 24 | — |" in page
    missing = CliRunner().invoke(
        app, ["models", "rollout-report", "--database", f"sqlite:///{tmp_path / 'x.db'}"]
    )
    assert missing.exit_code == 2 and "no prediction store at" in missing.output
    assert "Traceback" not in missing.output


@pytest.mark.postgres
def test_the_report_reads_postgresql_alike(postgres_url: str) -> None:
    store = Store.open(postgres_url)
    try:
        _sessions(store, "challenger", 12)
        _sessions(store, "champion", 40)
        report = rollout_report(store, default_window(store), SMALL)
    finally:
        store.close()
    assert report["arms"]["challenger"]["predictions"] == 24
    assert report["canary_vs_champion"]["sessions"]["on_both_arms"] == 0
    assert report["arms"]["challenger"]["revisions"]["followed_share"]["value"] == 1.0
    assert report["decision"]["action"] == "promote"
    reader = open_store(postgres_url)  # as the command opens it: at head, not migrated
    reader.close()
