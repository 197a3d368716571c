"""Scoring processes. With ``serve.workers`` above 1, the one HTTP process hands each question
to the next free scoring process: every request waits in one queue and the cores share the
work evenly. (Separate server processes, uvicorn's way, keep a connection on the process that
accepted it; on two cores, six of eight clients could land on one process while the other
idled, and the slowest answers took twice as long.)

Each process loads the bundle once, when the pool starts. A process that dies is replaced:
the request it was scoring falls back to the rule-based scorer, like any model failure.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from askwell.explain.predictor import Predictor, Scored
from askwell.records import Question

log = logging.getLogger("askwell.serving")
_STARTUP_S = 180.0  # loading a bundle takes a second or two; a slow disk, more

_predictor: Predictor | None = None  # in each scoring process


def _load(bundle: str) -> None:
    global _predictor
    _predictor = Predictor.load(Path(bundle))
    freeze_loaded()


def freeze_loaded() -> None:
    """Moves everything allocated so far (the model: hundreds of thousands of vocabulary
    strings) out of the garbage collector's reach: it lives as long as the process, and
    every full collection walking it stalled a request by milliseconds."""
    gc.collect()
    gc.freeze()


def _score(question: Question) -> Scored:
    assert _predictor is not None, "the scoring process has no model"
    return _predictor.score(question)


def _ready(hold_s: float) -> int:
    time.sleep(hold_s)  # hold this process so that the next ping starts another
    return 1


class ScoringPool:
    """``Predictor.score`` in ``processes`` scoring processes; the same interface."""

    def __init__(self, bundle: Path, processes: int, model_version: str) -> None:
        self.bundle = bundle
        self.processes = processes
        self.model_version = model_version
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=self.processes,
            # Forking a process that runs threads (the server's) can copy a held lock.
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load,
            initargs=(str(self.bundle),),
        )
        # Start every process and load its model now, not on the first requests.
        pings = [pool.submit(_ready, 0.2) for _ in range(self.processes)]
        for ping in pings:
            ping.result(timeout=_STARTUP_S)
        return pool

    def score(self, question: Question) -> Scored:
        pool = self._pool
        try:
            return pool.submit(_score, question).result()
        except BrokenProcessPool:
            self._replace(pool)
            raise

    async def submit(self, question: Question) -> Scored:
        """``score`` for the event loop: the answer is awaited, no thread waits for it."""
        pool = self._pool
        try:
            return await asyncio.wrap_future(pool.submit(_score, question))
        except BrokenProcessPool:
            await asyncio.to_thread(self._replace, pool)  # seconds: not on the event loop
            raise

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A new pool for one whose process died (the request in flight falls back)."""
        log.error("a scoring process died; starting a new pool")
        with self._lock:
            if self._pool is broken:  # not already replaced by another request
                self._pool = self._start()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
