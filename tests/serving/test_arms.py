"""Shadow, canary and changes without a restart, on real apps, a real MLflow registry in a
temporary SQLite store and real bundles: the shipped model (version 1) and copies of it
re-saved under other names and signed with the test session's key (versions 2 and 3), so
each arm's predictions can be told apart by their model version.

One module-scoped registry: MLflow migrates each new store's schema, which takes seconds.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from askwell.config import ServeSettings, Settings, TrackingSettings, get_settings
from askwell.features.catalog import feature_names
from askwell.models.bundle import default_bundle, load_bundle, save_bundle
from askwell.models.registry import Tracker
from askwell.serving.app import create_app
from askwell.serving.arms import in_canary
from askwell.serving.service import ModelChoice, prepare
from askwell.store.db import Store, _alembic_config, head_revision, migrate
from tests.serving.test_api import MESSY

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning")

TOKEN = "correct-horse-battery-staple"
WAIT_S = 20.0  # a reload loads and smoke-scores a model: seconds on a busy machine


@dataclass(frozen=True)
class Registry:
    tracking: TrackingSettings
    shipped: Path  # registered as version 1
    other: Path  # version 2: the same model, another name (and so another model version)

    def tracker(self) -> Tracker:
        return Tracker(self.tracking)


def _renamed(path: Path, name: str, key: bytes | None = None) -> Path:
    """The shipped model re-saved as ``name``, signed with ``key`` (default: the session's)."""
    model, info = load_bundle(default_bundle(), feature_names())
    return save_bundle(path, model, dataclasses.replace(info, name=name), key=key)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    root = tmp_path_factory.mktemp("registry")
    tracking = TrackingSettings(
        uri=f"sqlite:///{root / 'mlflow.db'}", artifact_root=str(root / "artifacts")
    )
    shipped = Path(shutil.copy(default_bundle(), root / "shipped.askwell"))
    other = _renamed(root / "other.askwell", "askwell-test-other")
    tracker = Tracker(tracking)
    assert tracker.register_bundle(shipped) == 1
    assert tracker.register_bundle(other) == 2
    tracker.set_alias("champion", 1)
    return Registry(tracking, shipped, other)


@pytest.fixture(scope="module")
def other_model(registry: Registry) -> ModelChoice:
    """Version 2, verified and smoke-scored as a challenger is before it serves."""
    return prepare(registry.other, "test challenger", 2, workers=1)


def _settings(db: Path, registry: Registry, token: str | None = None, **serve: Any) -> Settings:
    overrides: dict[str, Any] = {
        "models.admin_token": token,
        "serve.database_url": f"sqlite:///{db}",
        "serve.allowed_hosts": [*ServeSettings().allowed_hosts, "testserver"],
        "serve.registry_poll_s": 0,
        "tracking.uri": registry.tracking.uri,
        "tracking.artifact_root": registry.tracking.artifact_root,
        **{f"serve.{k}": v for k, v in serve.items()},
    }
    return get_settings(overrides=overrides, environ={})


def _rows(db: Path) -> list[dict[str, Any]]:
    store = Store.open(f"sqlite:///{db}")
    try:
        return store.rows("predictions")
    finally:
        store.close()


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {WAIT_S:g} s: {what}")
        time.sleep(0.1)


def _metric(client: TestClient, line_start: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# -- canary


def test_canary_assignment_is_sticky_and_takes_its_share() -> None:
    ids = [f"session-{i}" for i in range(20_000)]
    chosen = [in_canary(s, 0.2) for s in ids]
    assert 0.19 < sum(chosen) / len(ids) < 0.21
    assert chosen == [in_canary(s, 0.2) for s in ids]  # the same session, the same arm
    # A hash of the id, not Python's salted hash(): the same in every process and restart.
    assert [in_canary(f"session-{i}", 0.2) for i in range(8)] == [
        in_canary(f"session-{i}", 0.2) for i in range(8)
    ]
    assert not any(in_canary(s, 0.0) for s in ids[:1000])
    assert all(in_canary(s, 1.0) for s in ids[:1000])


def test_canary_sessions_stay_on_their_arm_and_every_prediction_names_it(
    tmp_path: Path, registry: Registry, other_model: ModelChoice
) -> None:
    settings = _settings(tmp_path / "a.db", registry, mode="canary", canary_share=0.2)
    client = TestClient(create_app(settings, challenger=other_model))
    ids = [f"editor-{i}" for i in range(200)]
    canary = [s for s in ids if in_canary(s, 0.2)][:3]
    rest = [s for s in ids if not in_canary(s, 0.2)][:3]
    seen: dict[str, set[str]] = {}
    for _ in range(2):
        for session in (*canary, *rest):
            body = client.post("/v1/score", json={**MESSY, "session_id": session}).json()
            seen.setdefault(session, set()).add(body["model"]["version"])
        body = client.post("/v1/score", json=MESSY).json()  # no session: the champion's
        assert body["model"]["name"] != "askwell-test-other"
    assert all(len(v) == 1 for v in seen.values())  # sticky
    assert {v for s in canary for v in seen[s]} == {other_model.scorer.model_version}
    assert other_model.scorer.model_version not in {v for s in rest for v in seen[s]}

    rows = _rows(tmp_path / "a.db")
    by_session = {r["session_id"]: r for r in rows if r["session_id"]}
    for session in canary:
        row = by_session[session]
        assert row["arm"] == "challenger" and row["registry_version"] == 2
        assert row["model_version"] == other_model.scorer.model_version
    for session in rest:
        assert by_session[session]["arm"] == "champion"
    assert {r["arm"] for r in rows if not r["session_id"]} == {"champion"}
    ready = client.get("/readyz").json()
    assert ready["mode"] == "canary" and ready["challenger"] == "test challenger"
    assert _metric(client, 'askwell_arm_scores_total{arm="challenger"}') == 6


# -- shadow


def test_shadow_scores_off_the_request_path_and_is_never_shown(
    tmp_path: Path, registry: Registry, other_model: ModelChoice
) -> None:
    settings = _settings(tmp_path / "a.db", registry, mode="shadow")
    with TestClient(create_app(settings, challenger=other_model)) as client:  # starts the shadow
        answers = [
            client.post("/v1/score", json={**MESSY, "session_id": f"s-{i}"}).json()
            for i in range(3)
        ]
        _until(
            lambda: _metric(client, "askwell_shadow_scored_total") == 3,
            "the shadow scored every request",
        )
        for answer in answers:  # the champion's answer, as without a shadow
            assert answer["model"]["version"] != other_model.scorer.model_version
            assert answer["model"]["name"] != "askwell-test-other"
        shadows = [r for r in _rows(tmp_path / "a.db") if r["arm"] == "shadow"]
        assert len(shadows) == 3
        assert {r["model_version"] for r in shadows} == {other_model.scorer.model_version}
        assert {r["registry_version"] for r in shadows} == {2}
        assert {r["session_id"] for r in shadows} == {"s-0", "s-1", "s-2"}
        # Each names the answer it scored again (the rollout report pairs them), and keeps
        # the headline beside the answer score, as the answers do.
        assert sorted(r["shadow_of"] for r in shadows) == sorted(a["request_id"] for a in answers)
        for row in _rows(tmp_path / "a.db"):
            assert row["verdict"] and 0 <= row["closing_risk"] <= 1
        assert {a["verdict"] for a in answers} == {r["verdict"] for r in shadows}
        # Never shown: no feedback on it, and a session's next revision follows its last
        # answer, not the shadow's.
        r = client.post(
            "/v1/feedback", json={"request_id": shadows[0]["request_id"], "helpful": True}
        )
        assert r.status_code == 404
        again = client.post("/v1/score", json={**MESSY, "session_id": "s-0"}).json()
        assert again["logged"]
        store = Store.open(settings.serve.database_url)
        (revision,) = store.rows("revisions")
        store.close()
        assert revision["previous_request_id"] == answers[0]["request_id"]


def test_a_full_shadow_queue_drops_and_counts_without_delaying_answers(
    tmp_path: Path, registry: Registry, other_model: ModelChoice
) -> None:
    """Without its worker running (no lifespan: the app is never started), the queue fills:
    past its size, requests are answered as ever and the shadow's drops are counted."""
    settings = _settings(tmp_path / "a.db", registry, mode="shadow", shadow_queue=2)
    client = TestClient(create_app(settings, challenger=other_model))
    for _ in range(5):
        r = client.post("/v1/score", json=MESSY)
        assert r.status_code == 200 and r.json()["logged"]
    assert _metric(client, "askwell_shadow_dropped_total") == 3
    assert {r["arm"] for r in _rows(tmp_path / "a.db")} == {"champion"}


# -- changes without a restart


def test_promotion_rollback_and_a_tampered_champion_are_followed_without_restart(
    tmp_path: Path, registry: Registry
) -> None:
    tracker = registry.tracker()
    tracker.set_alias("champion", 1)
    db = tmp_path / "a.db"
    settings = _settings(db, registry, registry_poll_s=0.2)
    with TestClient(create_app(settings)) as client:

        def serving(version: int) -> Callable[[], bool]:
            return lambda: client.get("/readyz").json().get("registry_version") == str(version)

        assert serving(1)()
        first = client.post("/v1/score", json=MESSY).json()

        tracker.set_alias("champion", 2)  # a promotion
        _until(serving(2), "the promoted version serves")
        promoted = client.post("/v1/score", json=MESSY).json()
        assert promoted["model"]["name"] == "askwell-test-other"
        assert _metric(client, 'askwell_reloads_total{arm="champion",result="ok"}') == 1

        tracker.set_alias("champion", 1)  # a rollback
        _until(serving(1), "the rolled-back version serves")
        back = client.post("/v1/score", json=MESSY).json()
        assert back["model"]["version"] == first["model"]["version"]

        # A version whose registered file was replaced by one this deployment never signed.
        version = tracker.register_bundle(_renamed(tmp_path / "c.askwell", "askwell-test-c"))
        _renamed(tracker.version_bundle(version), "askwell-test-c", key=b"k" * 32)
        tracker.set_alias("champion", version)
        _until(
            lambda: "refused" in client.get("/readyz").json()["reload"],
            "the tampered version is refused",
        )
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True  # the previous serves
        assert ready.json()["registry_version"] == "1"
        assert f"champion version {version} refused" in ready.json()["reload"]
        assert _metric(client, "askwell_reload_failed ") == 1
        assert _metric(client, 'askwell_reloads_total{arm="champion",result="failed"}') == 1
        still = client.post("/v1/score", json=MESSY).json()
        assert still["model"]["version"] == first["model"]["version"] and not still["degraded"]

        tracker.set_alias("champion", 2)  # the next promotion clears it
        _until(serving(2), "a good version serves again")
        assert client.get("/readyz").json()["reload"] == "ok"
        assert _metric(client, "askwell_reload_failed ") == 0

    rows = _rows(db)
    assert [r["registry_version"] for r in rows] == [1, 2, 1, 1]
    assert {r["arm"] for r in rows} == {"champion"}


def test_the_admin_endpoint_reloads_only_with_the_token(tmp_path: Path, registry: Registry) -> None:
    tracker = registry.tracker()
    tracker.set_alias("champion", 1)
    settings = _settings(tmp_path / "a.db", registry, token=TOKEN)
    client = TestClient(create_app(settings))  # not watching: registry_poll_s is 0
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"Authorization": "Basic x"}).status_code == 401
    wrong = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}x"})
    assert wrong.status_code == 403
    tracker.set_alias("champion", 2)
    assert client.get("/readyz").json()["registry_version"] == "1"  # nobody looked yet
    r = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200 and r.json()["champion"].startswith("serving v2")
    assert client.get("/readyz").json()["registry_version"] == "2"
    tracker.set_alias("champion", 1)

    closed = TestClient(create_app(_settings(tmp_path / "b.db", registry)))  # no token set
    refused = closed.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == 403 and "no admin token" in refused.json()["detail"]


# -- the store


def test_an_existing_database_gains_the_arm_columns(tmp_path: Path) -> None:
    """A database from before arms: migrated in place, its rows served the champion."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0001")
        connection.exec_driver_sql(
            "INSERT INTO predictions (request_id, created_at, model_name, model_version, "
            "degraded, score, band, latency_ms, suggestions, features) VALUES "
            "('r-1', '2026-01-01 00:00:00', 'm', 'v', 0, 0.5, 'fair', 1.0, '[]', '{}')"
        )
    engine.dispose()
    store = Store.open(url)
    assert migrate(store.engine) == head_revision()
    (row,) = store.rows("predictions")
    assert row["arm"] == "champion" and row["registry_version"] is None
    assert row["closing_risk"] is None and row["verdict"] is None and row["shadow_of"] is None
    store.close()


def test_with_scoring_processes_a_promotion_moves_to_new_ones(
    tmp_path: Path, registry: Registry
) -> None:
    """With --workers, the new version is smoke-scored in scoring processes of its own, which
    then answer on the server's loop."""
    from askwell.serving.pool import ScoringPool

    tracker = registry.tracker()
    tracker.set_alias("champion", 1)
    settings = _settings(tmp_path / "a.db", registry, workers=2, registry_poll_s=0.2)
    with TestClient(create_app(settings)) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        old = service.model.scorer
        assert isinstance(old, ScoringPool)
        before = client.post("/v1/score", json=MESSY).json()
        tracker.set_alias("champion", 2)
        _until(
            lambda: client.get("/readyz").json().get("registry_version") == "2",
            "the promoted version serves",
        )
        assert isinstance(service.model.scorer, ScoringPool) and service.model.scorer is not old
        after = client.post("/v1/score", json=MESSY).json()
        assert after["model"]["name"] == "askwell-test-other" and not after["degraded"]
        assert after["score"] == pytest.approx(before["score"], abs=1e-12)  # the same weights
        assert client.get("/readyz").json()["scoring_processes"] == "2 of 2 running"
    tracker.set_alias("champion", 1)


@pytest.mark.parametrize(("mode", "lower_by"), [("shadow", 7), ("canary", 0)])
def test_the_shadow_scoring_processes_yield_the_cpu_and_the_canary_ones_do_not(
    tmp_path: Path, registry: Registry, mode: str, lower_by: int
) -> None:
    """In shadow mode the challenger's scoring processes run ``serve.shadow_nice`` lower, so
    they use only the CPU the answers leave idle; canary's answer people, at full priority."""
    import os

    from askwell.serving.pool import ScoringPool
    from askwell.serving.service import load_challenger

    settings = _settings(
        tmp_path / "a.db", registry, mode=mode, challenger=registry.other, workers=2, shadow_nice=7
    )
    challenger = load_challenger(settings)
    assert challenger is not None
    pool = challenger.scorer
    assert isinstance(pool, ScoringPool)
    try:
        pids = [p.process.pid for p in pool._all]
        assert len(pids) == 2
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids if pid] == [
            min(19, ours + lower_by)
        ] * 2
    finally:
        pool.close()


def test_a_shadow_challenger_from_the_registry_yields_the_cpu_too(
    tmp_path: Path, registry: Registry
) -> None:
    """A challenger the reloader puts in service in shadow mode is started lower in priority,
    as one loaded at start-up is."""
    import os

    from askwell.serving.pool import ScoringPool

    tracker = registry.tracker()
    settings = _settings(tmp_path / "a.db", registry, mode="shadow", workers=2, shadow_nice=5)
    with TestClient(create_app(settings)) as client:
        service = client.app.state.service  # type: ignore[attr-defined]
        assert service.challenger is None  # no challenger alias yet
        tracker.set_alias("challenger", 2)
        try:
            outcome = client.app.state.reloader.check()  # type: ignore[attr-defined]
        finally:
            tracker.delete_alias("challenger")
        assert outcome["challenger"].startswith("serving v2")
        champion, challenger = service.model.scorer, service.challenger.scorer
        assert isinstance(champion, ScoringPool) and isinstance(challenger, ScoringPool)
        ours = os.getpriority(os.PRIO_PROCESS, 0)
        for pool, nice in ((champion, ours), (challenger, min(19, ours + 5))):
            pids = [p.process.pid for p in pool._all]
            assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids if pid] == [nice] * 2


def test_a_model_with_scoring_processes_is_prepared_inside_a_running_event_loop(
    registry: Registry,
) -> None:
    """``prepare`` smoke-scores through the new pool on a loop of its own: called where a
    loop already runs (an async caller, or a test session holding Playwright's), it does
    that in a worker thread instead of failing (asyncio.run refuses to nest)."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from askwell.serving.pool import ScoringPool

    async def inside() -> ModelChoice:
        return prepare(registry.other, "prepared in a loop", 2, workers=2)

    # A thread of its own for the outer loop: this one may hold Playwright's already.
    with ThreadPoolExecutor(1) as thread:
        choice = thread.submit(asyncio.run, inside()).result()
    assert isinstance(choice.scorer, ScoringPool)
    try:
        assert choice.scorer.alive == 2
    finally:
        choice.scorer.close()
