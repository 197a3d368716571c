"""The challenger's two parts beside the champion: canary (a sticky share of editor sessions
sees it) and shadow (it scores the same requests off the request path, through a bounded
queue; what it says is logged, never shown)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from askwell.serving.metrics import Metrics

CHAMPION = "champion"
CHALLENGER = "challenger"
T = TypeVar("T")
log = logging.getLogger("askwell.serving")


def in_canary(session_id: str, share: float) -> bool:
    """Whether the challenger answers this editor session: a SHA-256 of its id (not Python's
    ``hash``, salted per process) read as a number in [0, 1), so a session stays on its arm
    across requests, server processes and restarts."""
    digest = hashlib.sha256(session_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


class ShadowQueue(Generic[T]):
    """Work for the shadow challenger. ``offer`` never waits: past ``size`` waiting items it
    drops the new one and counts it. ``run`` (a task on the server's loop, started with the
    app) does the work one item at a time, so the shadow takes one scorer's worth of the
    machine at most."""

    def __init__(self, size: int, metrics: Metrics, work: Callable[[T], Awaitable[None]]) -> None:
        self.size = size
        self._metrics = metrics
        self._work = work
        self._items: deque[T] = deque()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: T) -> bool:
        """Queues ``item``; False (counted) when the queue is full."""
        if len(self._items) >= self.size:
            self._metrics.shadow_dropped.inc()
            return False
        self._items.append(item)
        wake, loop = self._wake, self._loop
        if wake is not None and loop is not None:
            if _running_loop() is loop:
                wake.set()
            else:  # from a worker thread: the event belongs to the worker's loop
                loop.call_soon_threadsafe(wake.set)
        return True

    async def run(self) -> None:
        """Works through the queue until cancelled."""
        self._wake, self._loop = asyncio.Event(), asyncio.get_running_loop()
        try:
            while True:
                while self._items:
                    item = self._items.popleft()
                    try:
                        await self._work(item)
                    except Exception:  # the shadow never takes the server down
                        log.exception("the shadow challenger failed on a request")
                        self._metrics.errors.labels("shadow").inc()
                self._wake.clear()
                if not self._items:
                    await self._wake.wait()
        finally:
            self._wake = self._loop = None


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
