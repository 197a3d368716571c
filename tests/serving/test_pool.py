"""Scoring processes (``serve.workers`` above 1): the same answers as scoring in process,
and a scoring process that dies costs one request a fallback, not the service."""

from __future__ import annotations

import os
import shutil
import signal
import time
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from askwell.explain.predictor import Predictor
from askwell.models.bundle import default_bundle
from askwell.records import Question
from askwell.serving.pool import ScoringPool
from askwell.serving.service import load_model
from tests.serving.conftest import client_for, settings_for
from tests.serving.test_api import MESSY

QUESTION = Question.from_markdown(MESSY["title"], MESSY["body"], tuple(MESSY["tags"]))


@pytest.fixture(scope="module")
def pool() -> Iterator[ScoringPool]:
    started = ScoringPool(default_bundle(), 2, "test")
    yield started
    started.close()


def test_a_pool_scores_as_the_predictor_does(pool: ScoringPool) -> None:
    assert pool.score(QUESTION) == Predictor.load().score(QUESTION)


def _kill_one(pool: ScoringPool) -> None:
    """Kills a scoring process and waits until the pool knows (it checks in a thread)."""
    executor = pool._pool
    os.kill(next(iter(executor._processes)), signal.SIGKILL)
    deadline = time.monotonic() + 30
    while not executor._broken and time.monotonic() < deadline:
        time.sleep(0.02)


def test_a_dead_scoring_process_is_replaced(pool: ScoringPool) -> None:
    _kill_one(pool)
    with pytest.raises(BrokenProcessPool):  # the caller falls back for this one
        pool.score(QUESTION)
    assert pool.score(QUESTION).score > 0  # a new pool took over


def test_the_service_with_two_scoring_processes(sqlite_url: str) -> None:
    client: TestClient = client_for(sqlite_url, load=True, workers=2, bundle=default_bundle())
    with client:  # runs the app's lifespan: the pool is closed at the end
        service = client.app.state.service  # type: ignore[attr-defined]
        assert isinstance(service.model.scorer, ScoringPool)
        answers = [client.post("/v1/score", json=MESSY).json() for _ in range(4)]
        assert all(a["degraded"] is False and a["logged"] for a in answers)
        assert len({a["score"] for a in answers}) == 1
        _kill_one(service.model.scorer)
        after = [client.post("/v1/score", json=MESSY).json() for _ in range(2)]
        assert after[0]["degraded"] is True  # answered by the fallback, not an error
        assert after[1]["degraded"] is False  # and the model is back


def test_scoring_stays_in_process_when_the_pool_cannot_start(
    sqlite_url: str, tmp_path: Path
) -> None:
    """The bundle read at start-up is gone before the scoring processes read it (a deploy
    replacing files): the service scores in its own process rather than not starting."""
    bundle = Path(shutil.copy(default_bundle(), tmp_path / "m.askwell"))
    choice = load_model(settings_for(sqlite_url, bundle=bundle))
    bundle.unlink()
    client = client_for(sqlite_url, model=choice, workers=2)
    assert not isinstance(client.app.state.service.model.scorer, ScoringPool)  # type: ignore[attr-defined]
    assert client.post("/v1/score", json=MESSY).json()["degraded"] is False
