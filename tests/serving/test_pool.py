"""Scoring processes (``serve.workers`` above 1): the same answers as scoring in process; a
process that dies costs at most the request it was scoring a fallback, never the service;
answers never cross, not even when a request is cancelled while its question is scored."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from askwell.explain.predictor import Predictor
from askwell.models.bundle import default_bundle
from askwell.records import Question
from askwell.serving.pool import ScoringPool, ScoringProcessError, _gone, _run
from askwell.serving.service import load_model
from tests.serving.conftest import client_for, settings_for
from tests.serving.test_api import BETTER, MESSY

QUESTION = Question.from_markdown(MESSY["title"], MESSY["body"], tuple(MESSY["tags"]))
OTHER = Question.from_markdown(BETTER["title"], BETTER["body"], tuple(BETTER["tags"]))


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor.load()


@pytest.fixture(scope="module")
def pool() -> Iterator[ScoringPool]:
    started = ScoringPool(default_bundle(), 2, "test")
    yield started
    started.close()


def _pids(pool: ScoringPool) -> list[int]:
    return [p.process.pid for p in pool._all if p.process.pid is not None]


def _kill(pool: ScoringPool, pid: int) -> None:
    """SIGKILL, and wait until its end of the pipe is closed (not reaping it: the pool does)."""
    [killed] = [p for p in pool._all if p.process.pid == pid]
    os.kill(pid, signal.SIGKILL)
    _eventually(lambda: _gone(killed), 10)


def _eventually(check: Callable[[], bool], within_s: float = 60) -> None:
    deadline = time.monotonic() + within_s
    while not check():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)


def test_a_pool_scores_as_the_predictor_does(pool: ScoringPool, predictor: Predictor) -> None:
    assert pool.score(QUESTION) == predictor.score(QUESTION)
    assert pool.score(OTHER) == predictor.score(OTHER)


def test_concurrent_requests_get_their_own_answers(pool: ScoringPool, predictor: Predictor) -> None:
    """More requests than processes: they wait their turn, and each gets its own answer."""

    async def many() -> list[float]:
        questions = [QUESTION, OTHER] * 5
        return [s.score for s in await asyncio.gather(*(pool.submit(q) for q in questions))]

    assert _run(many()) == [predictor.score(QUESTION).score, predictor.score(OTHER).score] * 5


def test_a_cancelled_request_does_not_pass_its_answer_on(
    pool: ScoringPool, predictor: Predictor
) -> None:
    """Requests cancelled while their questions are scored (a client gone): the processes'
    answers to them are read and dropped, so the next questions get their own."""

    async def cancel_then_ask() -> list[float]:
        doomed = [asyncio.create_task(pool.submit(QUESTION)) for _ in range(pool.alive)]
        await asyncio.sleep(0)  # they have sent their questions
        assert [len(p.sent) for p in pool._all] == [1] * pool.alive
        for task in doomed:
            task.cancel()
        answers = await asyncio.gather(*(pool.submit(OTHER) for _ in range(pool.alive)))
        return [s.score for s in answers]

    assert _run(cancel_then_ask()) == [predictor.score(OTHER).score] * pool.alive


def test_a_failure_of_the_model_fails_that_question_only(pool: ScoringPool) -> None:
    with pytest.raises(ScoringProcessError, match="the model failed: AttributeError"):
        pool.score("not a question")  # type: ignore[arg-type]
    assert pool.alive == 2
    assert pool.score(QUESTION).score > 0


def test_a_process_found_dead_is_passed_over_and_replaced(pool: ScoringPool) -> None:
    before = _pids(pool)
    _kill(pool, before[0])
    answers = [pool.score(QUESTION) for _ in range(4)]  # none falls back: the living one answers
    assert len({a.score for a in answers}) == 1
    _eventually(lambda: pool.alive == 2)
    assert before[0] not in _pids(pool) and before[1] in _pids(pool)


def test_a_process_dying_on_a_question_fails_that_question_only(pool: ScoringPool) -> None:
    async def die_on_it() -> None:
        for pid in _pids(pool):  # hold both so that the question waits in the pipe
            os.kill(pid, signal.SIGSTOP)
        try:
            doomed = asyncio.create_task(pool.submit(QUESTION))
            await asyncio.sleep(0)
            [busy] = [p for p in pool._all if p.sent]
            assert busy.process.pid is not None
            os.kill(busy.process.pid, signal.SIGKILL)
            with pytest.raises(ScoringProcessError, match="died on this question"):
                await doomed
        finally:
            for pid in _pids(pool):
                os.kill(pid, signal.SIGCONT)

    _run(die_on_it())
    assert pool.alive == 1
    assert pool.score(QUESTION).score > 0  # the other one answers meanwhile
    _eventually(lambda: pool.alive == 2)


def test_with_every_process_dead_requests_fall_back_until_one_is_back(
    pool: ScoringPool,
) -> None:
    for pid in _pids(pool):
        _kill(pool, pid)
    with pytest.raises(ScoringProcessError, match="no scoring process is running"):
        pool.score(QUESTION)  # at once: no request waits seconds for a process to start
    _eventually(lambda: pool.alive == 2)
    assert pool.score(QUESTION).score > 0


def test_a_pool_that_cannot_start_leaves_nothing_running(tmp_path: Path) -> None:
    before = set(multiprocessing.active_children())
    with pytest.raises(ScoringProcessError, match="cannot load"):
        ScoringPool(tmp_path / "missing.askwell", 2, "test")
    assert set(multiprocessing.active_children()) == before


def test_closing_stops_the_processes_and_fails_what_waits() -> None:
    pool = ScoringPool(default_bundle(), 1, "test")
    [process] = [p.process for p in pool._all]

    async def close_under_load() -> list[BaseException | object]:
        tasks = [asyncio.create_task(pool.submit(QUESTION)) for _ in range(3)]
        await asyncio.sleep(0)  # one is scored, two wait for the process
        pool.close()
        return await asyncio.gather(*tasks, return_exceptions=True)

    outcomes = _run(close_under_load())
    assert all(isinstance(o, ScoringProcessError) for o in outcomes)
    process.join(timeout=10)
    assert not process.is_alive()
    with pytest.raises(ScoringProcessError, match="stopped"):
        pool.score(QUESTION)


def test_the_service_with_two_scoring_processes(sqlite_url: str) -> None:
    client: TestClient = client_for(sqlite_url, load=True, workers=2, bundle=default_bundle())
    with client:  # runs the app's lifespan: the pool is closed at the end
        service = client.app.state.service  # type: ignore[attr-defined]
        pool = service.model.scorer
        assert isinstance(pool, ScoringPool)
        answers = [client.post("/v1/score", json=MESSY).json() for _ in range(4)]
        assert all(a["degraded"] is False and a["logged"] for a in answers)
        assert len({a["score"] for a in answers}) == 1
        assert client.get("/readyz").json()["scoring_processes"] == "2 of 2 running"
        assert "askwell_scoring_processes 2.0" in client.get("/metrics").text
        for pid in _pids(pool):
            _kill(pool, pid)
        assert client.post("/v1/score", json=MESSY).json()["degraded"] is True  # not an error
        _eventually(lambda: pool.alive == 2)
        assert client.post("/v1/score", json=MESSY).json()["degraded"] is False  # it is back
    assert pool.alive == 0


def test_workers_0_means_one_scoring_process_per_core(sqlite_url: str) -> None:
    client = client_for(sqlite_url, load=True, workers=0, bundle=default_bundle())
    with client:
        scorer = client.app.state.service.model.scorer  # type: ignore[attr-defined]
        cores = os.cpu_count() or 1
        if cores > 1:
            assert isinstance(scorer, ScoringPool) and scorer.alive == scorer.processes == cores
        else:  # one core: scored in the HTTP process
            assert not isinstance(scorer, ScoringPool)
        assert client.post("/v1/score", json=MESSY).json()["degraded"] is False


def test_processes_that_cannot_be_replaced_leave_the_service_degraded_visibly(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Every scoring process died and the bundle is gone (a bad deploy): each request falls
    back at once, /readyz says why with a 503, and the pool keeps trying."""
    bundle = Path(shutil.copy(default_bundle(), tmp_path / "m.askwell"))
    client = client_for(sqlite_url, load=True, workers=2, bundle=bundle)
    with client:
        pool = client.app.state.service.model.scorer  # type: ignore[attr-defined]
        assert isinstance(pool, ScoringPool)
        bundle.unlink()
        for pid in _pids(pool):
            _kill(pool, pid)
        answers = [client.post("/v1/score", json=MESSY) for _ in range(3)]
        assert [a.status_code for a in answers] == [200] * 3
        assert all(a.json()["degraded"] for a in answers)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["scoring_processes"] == "0 of 2 running"
        assert "no scoring process is running" in ready.json()["model"]
        page = client.get("/metrics").text
        assert "askwell_scoring_processes 0.0" in page
        assert "askwell_fallbacks_total 3.0" in page


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
