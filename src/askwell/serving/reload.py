"""Following the registry without a restart: the champion and challenger aliases are read
every ``serve.registry_poll_s`` seconds (and at once on ``POST /admin/reload``); a version
that differs from the one serving is loaded, verified and smoke-scored before it takes
traffic. One that fails is refused: the previous model serves on, and /readyz and the
metrics say which version was refused and why."""

from __future__ import annotations

import asyncio
import logging
import threading

from starlette.concurrency import run_in_threadpool

from askwell.config import Settings
from askwell.errors import AskwellError
from askwell.serving.arms import CHALLENGER, CHAMPION
from askwell.serving.pool import freeze_loaded
from askwell.serving.service import ModelChoice, ScoringService, challenger_nice, prepare

log = logging.getLogger("askwell.serving")


class Reloader:
    def __init__(self, settings: Settings, service: ScoringService) -> None:
        self.settings = settings
        self.service = service
        self._lock = threading.Lock()  # one reload at a time: the poller's or an admin's
        self._refused: dict[str, int] = {}  # arm -> the version refused last (not retried)
        self._tracker: object | None = None

    def watched(self) -> list[str]:
        """The arms the registry decides: not one pinned to a bundle by the settings."""
        serve = self.settings.serve
        arms = [] if serve.bundle is not None else [CHAMPION]
        if serve.mode != "off" and serve.challenger is None:
            arms.append(CHALLENGER)
        return arms

    def check(self, *, force: bool = False) -> dict[str, str]:
        """Serves what the registry names now; with ``force``, retries a refused version.
        Returns, by arm, what serves (or why the registry could not say)."""
        from askwell.models.registry import Tracker

        with self._lock:
            arms = self.watched()
            if not arms:
                return {"registry": "not watched: the settings name the bundles to serve"}
            if self._tracker is None:
                self._tracker = Tracker(self.settings.tracking)
            tracker = self._tracker
            assert isinstance(tracker, Tracker)
            if not tracker.db_path.is_file():  # no registry yet: do not create one to look
                return {"registry": f"none at {tracker.db_path}"}
            outcome: dict[str, str] = {}
            for arm in arms:
                outcome[arm] = self._follow(tracker, arm, force)
            return outcome

    def _follow(self, tracker: object, arm: str, force: bool) -> str:
        from askwell.models.registry import Tracker

        assert isinstance(tracker, Tracker)
        service, metrics = self.service, self.service.metrics
        current = service.model if arm == CHAMPION else service.challenger
        serving = None if current is None else current.registry_version
        try:
            wanted = tracker.get_alias(arm)
        except AskwellError as exc:
            log.error("the registry's %s alias could not be read: %s", arm, exc)
            return f"registry unreadable: {exc}"
        if wanted is None and arm == CHALLENGER and serving is not None:
            # The alias is gone (promoted, or removed): its model leaves the canary or the
            # shadow; left there, a champion rolled back would still answer a share of people.
            service.retire_challenger()
            self._settled(arm)
            metrics.reloads.labels(arm, "ok").inc()
            return "none"
        if wanted is None or wanted == serving:
            self._settled(arm)
            return _serving(current)
        if not force and self._refused.get(arm) == wanted:
            return f"version {wanted} refused: {service.reload_problems.get(arm, '')}"
        try:
            path = tracker.version_bundle(wanted)  # its checksum, as registered
            fresh = prepare(
                path,
                f"registry {arm} v{wanted} ({path})",
                wanted,
                self.settings.serve.workers,
                nice=challenger_nice(self.settings) if arm == CHALLENGER else 0,
            )
        except Exception as exc:  # any failure to load or score: the previous model serves on
            self._refused[arm] = wanted
            kept = "none" if current is None else current.source
            reason = f"{arm} version {wanted} refused ({exc}); still serving: {kept}"
            service.reload_problems[arm] = reason
            metrics.reloads.labels(arm, "failed").inc()
            metrics.reload_failed.set(1)
            log.error("%s", reason)
            return reason
        service.swap(arm, fresh)
        freeze_loaded()  # out of the collector's walks, as the model loaded at start-up
        self._settled(arm)
        metrics.reloads.labels(arm, "ok").inc()
        return _serving(fresh)

    def _settled(self, arm: str) -> None:
        """The registry's choice for ``arm`` serves: whatever was refused before is moot."""
        self._refused.pop(arm, None)
        self.service.reload_problems.pop(arm, None)
        if not self.service.reload_problems:
            self.service.metrics.reload_failed.set(0)

    async def watch(self, every_s: float) -> None:
        """``check`` every ``every_s`` seconds, in a worker thread (loading takes seconds),
        until cancelled."""
        first = True
        while True:
            await asyncio.sleep(every_s)
            try:
                await run_in_threadpool(self.check)
            except Exception:  # the watcher must outlive a bad moment of the registry
                log.exception("reading the registry failed; trying again in %g s", every_s)
            if first:  # the registry's client, imported by the first look, lives on too
                await run_in_threadpool(freeze_loaded)
                first = False


def _serving(model: ModelChoice | None) -> str:
    if model is None:
        return "none"
    version = "" if model.registry_version is None else f"v{model.registry_version}: "
    return f"serving {version}{model.source}"
