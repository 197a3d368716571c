"""Scoring processes. With ``serve.workers`` above 1, the one HTTP process hands each request
to a scoring process as the text it received (a ``Draft``): reading its Markdown, which grows
with the text, happens there with the scoring, so the HTTP process's event loop only moves
bytes and /healthz answers while 50 kB bodies are scored. Every request waits in one queue
and the cores share the work evenly. (Separate server processes, uvicorn's way, keep a
connection on the process that accepted it; on two cores, six of eight clients could land
on one process while the other idled, and the slowest answers took twice as long.)

Each process loads the bundle once and then answers over a pipe of its own, in the order the
work came (``Predictor.score_draft`` for a draft; ``Predictor.score`` for a question already
read, as batch scoring sends). The event loop writes the requests and reads the answers
itself: no thread in the HTTP process takes part in a request.
(``concurrent.futures.ProcessPoolExecutor`` runs a manager thread and a queue feeder thread
there: three thread hand-overs under the interpreter lock per request.) Under load a process
holds the next request in its pipe (``_DEPTH``): it starts on it the moment it answers, not
when the event loop, busy with HTTP or sharing the cores with the scorers, gets round to
sending it.

A process that dies is replaced in the background. Only the requests it held fall back to the
rule-based scorer, like any model failure; a process found dead before it is given a question
is passed over.

A pool started with ``nice`` (the shadow challenger's) runs its processes at that much lower
OS priority: they take only the CPU the answering processes leave idle. (Not Linux's idle
scheduling class: under sustained load a process in it may never get the CPU to load its
model or answer the smoke question, and the challenger would never start.)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any, TypeVar

from askwell.errors import AskwellError
from askwell.explain.predictor import Draft, Predictor, Reading, Scored
from askwell.records import Question
from askwell.serving import scoring_process

T = TypeVar("T")
log = logging.getLogger("askwell.serving")
_STARTUP_S = 180.0  # loading a bundle takes a second or two; a slow disk, more
_RETRY_S = (1.0, 5.0, 30.0)  # between attempts to replace a dead process, then the last
_DEPTH = 2  # questions sent to a process and not answered yet, at most


class ScoringProcessError(AskwellError):
    """A scoring process died, failed on a question, or none is running: the caller falls
    back to the rule-based scorer for this request."""


def freeze_loaded() -> None:
    """Moves everything allocated so far (the model: hundreds of thousands of vocabulary
    strings) out of the garbage collector's reach: it lives as long as the process, and
    every full collection walking it stalled a request by milliseconds."""
    gc.collect()
    gc.freeze()


def _serve(conn: Connection, bundle: str, nice: int = 0) -> None:
    """A scoring process (started by ``scoring_process.run``, which first refuses pandas,
    MLflow and the training code): lower its priority by ``nice``, load the bundle, say so,
    then answer questions until the server closes its end of the pipe."""
    # Ctrl+C reaches the whole process group; the server stops its scoring processes itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if nice > 0:  # before loading: a reload's model load must not slow the answers either
        os.nice(nice)
    try:
        predictor = Predictor.load(Path(bundle))
    except Exception as exc:  # reported to the server, which decides what to do
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    freeze_loaded()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):  # the server has gone or closed the pool
            return
        try:
            scored = (
                predictor.score_draft(item) if isinstance(item, Draft) else predictor.score(item)
            )
            answer: tuple[str, object] = ("ok", scored)
        except Exception as exc:  # this question only: the server falls back for it
            answer = ("error", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(answer)
        except OSError:  # the pool was closed while this question was scored
            return


@dataclass(eq=False)
class _Job:
    """A request's question (or draft), and the future (on the pool's loop) its answer goes
    to."""

    question: Question | Draft
    answer: asyncio.Future[Any]

    def fail(self, why: str) -> None:
        if not self.answer.done():
            self.answer.set_exception(ScoringProcessError(why))


@dataclass(eq=False)
class _Process:
    process: BaseProcess
    conn: Connection
    fd: int = -1
    sent: deque[_Job] = field(default_factory=deque)  # not answered yet, oldest first

    def __post_init__(self) -> None:
        self.fd = self.conn.fileno()


class ScoringPool:
    """``Predictor.score`` and ``score_draft`` in ``processes`` scoring processes, awaited
    on an event loop (``submit``, ``submit_draft``; one loop at a time); ``score`` is the
    same for code outside any loop. ``nice`` above 0 lowers its processes' OS priority by that
    much (replacements too): for work that must only use CPU the rest of the server leaves
    idle."""

    def __init__(self, bundle: Path, processes: int, model_version: str, *, nice: int = 0) -> None:
        self.bundle = bundle
        self.processes = processes
        self.model_version = model_version
        self.nice = nice
        self._context = multiprocessing.get_context("spawn")  # no copied locks or sockets
        # Everything runs on the loop except replacements (a thread) and close (any thread).
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: deque[_Job] = deque()  # waiting for a process with room
        self._closed = False
        # Started and not known to be dead; raises if one cannot start (none is left running).
        self._all: list[_Process] = self._start(processes)

    @property
    def alive(self) -> int:
        """Scoring processes running (busy or idle), as far as the pool knows."""
        return len(self._all)

    # -- starting

    def _start(self, n: int) -> list[_Process]:
        """Starts ``n`` processes together (their models load in parallel) and waits until
        each has loaded its model."""
        started = []
        for _ in range(n):
            ours, theirs = self._context.Pipe()
            process = self._context.Process(
                target=scoring_process.run,
                args=(theirs, str(self.bundle), self.nice),
                daemon=True,
                name="askwell-scorer",
            )
            process.start()
            theirs.close()  # the child's end: its EOF must reach us when the child dies
            started.append(_Process(process, ours))
        try:
            deadline = time.monotonic() + _STARTUP_S
            waiting = {p.conn: p for p in started}
            while waiting:
                ready = wait(list(waiting), timeout=max(0.0, deadline - time.monotonic()))
                if not ready:
                    raise ScoringProcessError(f"no scoring process ready in {_STARTUP_S:g} s")
                for conn in ready:
                    assert isinstance(conn, Connection)
                    try:
                        kind, detail = conn.recv()
                    except (EOFError, OSError):
                        kind, detail = "failed", "the process exited while loading the model"
                    if kind != "ready":
                        raise ScoringProcessError(f"cannot load {self.bundle}: {detail}")
                    del waiting[conn]
        except BaseException:
            for p in started:
                _stop(p)
            raise
        return started

    def _replace_later(self) -> None:
        """Starts a process in place of a dead one, in a thread: loading takes seconds."""

        def replace() -> None:
            for attempt in itertools.count():
                if self._closed:
                    return
                try:
                    [fresh] = self._start(1)
                except Exception as exc:  # e.g. the bundle file is gone: try again later
                    wait_s = _RETRY_S[min(attempt, len(_RETRY_S) - 1)]
                    log.error("cannot replace a scoring process (%s); again in %g s", exc, wait_s)
                    time.sleep(wait_s)
                    continue
                with self._lock:
                    if not self._closed:
                        self._all.append(fresh)
                if self._closed:
                    _stop(fresh)
                    return
                log.info("a new scoring process is ready (%d running)", self.alive)
                loop = self._loop
                if loop is not None and not loop.is_closed():
                    with contextlib.suppress(RuntimeError):  # closed just now
                        loop.call_soon_threadsafe(self._drain)  # questions may be waiting
                return

        threading.Thread(target=replace, name="askwell-scorer-replace", daemon=True).start()

    def _lost(self, p: _Process) -> None:
        """``p`` died: its requests fall back, another process is started, and if none is
        left the waiting requests fall back now rather than wait seconds for it."""
        with self._lock:
            if p not in self._all:
                return
            self._all.remove(p)
            held, p.sent = list(p.sent), deque()
            waiting = [] if self._all else list(self._queue)
            if waiting:
                self._queue.clear()
        if self._loop is not None:
            self._loop.remove_reader(p.fd)  # before the number can be reused
        log.error("a scoring process died (%d left); starting another", self.alive)
        _stop(p)
        for job in held:
            job.fail("the scoring process died on this question")
        for job in waiting:
            job.fail("no scoring process is running")
        self._replace_later()

    # -- scoring (on the loop)

    async def submit(self, question: Question) -> Scored:
        """The answer for ``question``, from the first process with room."""
        scored: Scored = await self._submit(question)
        return scored

    async def submit_draft(self, draft: Draft) -> Reading:
        """``Predictor.score_draft`` of ``draft``, from the first process with room."""
        reading: Reading = await self._submit(draft)
        return reading

    async def _submit(self, item: Question | Draft) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._bind(loop)
        job = _Job(item, loop.create_future())
        with self._lock:
            if self._closed:
                raise ScoringProcessError("the scoring processes are stopped")
            if not self._all:
                raise ScoringProcessError("no scoring process is running")
            self._queue.append(job)
        self._drain()
        return await job.answer

    def _bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve ``loop`` from now on. The last one must be closed: the answers still due
        to it (requests cancelled when it ended) are read and dropped first."""
        if self._loop is not None and not self._loop.is_closed():
            raise RuntimeError("a scoring pool serves one running event loop at a time")
        for p in list(self._all):
            while p.sent:
                if not p.conn.poll(_STARTUP_S):
                    self._lost(p)
                    break
                try:
                    p.conn.recv()
                except (EOFError, OSError):
                    self._lost(p)
                    break
                p.sent.popleft()
        self._loop = loop

    def _drain(self) -> None:
        """Sends waiting questions to the processes with room, the least loaded first."""
        while True:
            with self._lock:
                while self._queue and self._queue[0].answer.done():
                    self._queue.popleft()  # cancelled while it waited
                if not self._queue or not self._all:
                    return
                p = min(self._all, key=lambda p: len(p.sent))
                if len(p.sent) >= _DEPTH:
                    return
                job = self._queue.popleft()
            self._send(p, job)

    def _send(self, p: _Process, job: _Job) -> None:
        if not p.sent and _gone(p):  # died while idle: the question waits for another
            with self._lock:
                self._queue.appendleft(job)
            self._lost(p)
            return
        try:
            p.conn.send(job.question)
        except OSError:  # died since
            with self._lock:
                self._queue.appendleft(job)
            self._lost(p)
            return
        p.sent.append(job)
        if len(p.sent) == 1:
            assert self._loop is not None
            self._loop.add_reader(p.fd, self._answered, p)

    def _answered(self, p: _Process) -> None:
        # Every answer is read, also for a request cancelled meanwhile: answers never cross.
        try:
            kind, value = p.conn.recv()
        except (EOFError, OSError):
            self._lost(p)
            return
        job = p.sent.popleft()
        if not p.sent:
            assert self._loop is not None
            self._loop.remove_reader(p.fd)
        self._drain()  # the next question goes out before this answer is handled
        if kind == "ok":
            if not job.answer.done():
                job.answer.set_result(value)
        else:
            job.fail(f"the model failed: {value}")

    def score(self, question: Question) -> Scored:
        """``submit`` for code outside the pool's loop."""
        return _run(self.submit(question))

    def score_all(self, questions: Sequence[Question]) -> list[Scored | BaseException]:
        """Every question's answer, in order, every process at work (batch scoring, outside
        the pool's loop); a question that failed gives its error in its place."""

        async def every() -> list[Scored | BaseException]:
            return await asyncio.gather(
                *(self.submit(q) for q in questions), return_exceptions=True
            )

        return _run(every())

    def close(self) -> None:
        """Stops every process; the requests they hold or that wait for one fall back."""
        with self._lock:
            self._closed = True
            everything, self._all = self._all, []
            orphans = [job for p in everything for job in p.sent] + list(self._queue)
            self._queue.clear()
        loop = self._loop

        def stop() -> None:
            for p in everything:
                if loop is not None and not loop.is_closed():
                    loop.remove_reader(p.fd)  # before the number can be reused
                p.sent.clear()
            for job in orphans:
                job.fail("the server is stopping")
            for p in everything:
                _stop(p)

        if loop is None or loop.is_closed() or _running_loop() is loop:
            stop()
        else:  # the loop's own thread must touch its readers and futures
            loop.call_soon_threadsafe(stop)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run``, in a thread of its own if this one runs a loop already."""
    if _running_loop() is None:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _gone(p: _Process) -> bool:
    """An idle process never writes: anything to read on its pipe is the end of it."""
    try:
        return p.conn.poll()
    except OSError:
        return True


def _stop(p: _Process) -> None:
    """Closing our end tells the process to exit; one that does not is terminated."""
    with contextlib.suppress(OSError):
        p.conn.close()
    p.process.join(timeout=2)
    if p.process.is_alive():
        p.process.terminate()
        p.process.join(timeout=2)
