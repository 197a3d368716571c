"""What the API does, apart from HTTP: score a request (with the fallback when the model
fails), log it with its features, link it to the session's previous score, take feedback.

One instance per server process, built once at start-up by ``create_app``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import threading
import time
import uuid
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

from starlette.concurrency import run_in_threadpool

from askwell.config import Settings, processes
from askwell.errors import AskwellError
from askwell.explain.fallback import FallbackPredictor
from askwell.explain.predictor import Draft, Predictor, Reading, Scored, score_draft
from askwell.models.bundle import default_bundle
from askwell.records import Question
from askwell.serving import api_models as api
from askwell.serving.arms import CHALLENGER, CHAMPION, ShadowQueue, in_canary
from askwell.serving.metrics import MULTIPROC_ENV, Metrics
from askwell.serving.pool import ScoringPool
from askwell.store.db import SHADOW, PredictionRecord, Store, StoreError, migrate

T = TypeVar("T")
log = logging.getLogger("askwell.serving")


class Scorer(Protocol):
    model_version: str

    def score(self, question: Question) -> Scored: ...


class FeedbackNotStoredError(AskwellError):
    """Feedback that the database did not take: the client must be told."""


class UnknownRequestError(AskwellError):
    """Feedback about a request_id that was never logged."""


class UnshownSuggestionError(AskwellError):
    """Feedback about a suggestion that the score it names did not show."""


@dataclass(frozen=True)
class ModelChoice:
    scorer: Scorer
    name: str
    source: str  # where it came from, for /readyz
    failure: str | None  # why no model is in use: the rule-based fallback answers (None: one is)
    bundle: Path | None = None  # the file it was loaded from
    problem: str | None = None  # a model serves, but not the one intended, and why
    registry_version: int | None = None  # its version in the registry; None: not from it

    @property
    def degraded(self) -> str | None:
        """What /readyz reports: why the service is not what it was set up to be."""
        return self.failure or self.problem


def load_model(settings: Settings) -> ModelChoice:
    """The bundle to serve: the configured one, else the registry's champion, else the
    bundled default; the rule-based fallback when that cannot be loaded. A registry that
    exists but cannot be read leaves the bundled model serving, degraded: it is not the
    version the deployment chose, and /readyz says why."""
    bundle = settings.serve.bundle
    source = str(bundle) if bundle is not None else "bundled default model"
    problem = None
    version = None
    try:
        if bundle is None:
            champion, version, problem = _registered(settings, CHAMPION)
            if champion is not None:
                bundle, source = champion, f"registry champion v{version} ({champion})"
        bundle = bundle or default_bundle()
        predictor = Predictor.load(bundle)
    except (AskwellError, OSError) as exc:
        reason = f"cannot load {source}: {exc}"
        log.error("%s; answering with the rule-based fallback", reason)
        return ModelChoice(FallbackPredictor(reason), "heuristic", source, reason)
    return ModelChoice(predictor, predictor.info.name, source, None, bundle, problem, version)


def load_challenger(settings: Settings) -> ModelChoice | None:
    """The challenger for shadow or canary (``serve.challenger``, else the registry's
    'challenger' alias), verified and smoke-scored; None when there is none or it cannot be
    loaded (the champion answers everything, and /readyz says why)."""
    if settings.serve.mode == "off":
        return None
    bundle, version = settings.serve.challenger, None
    if bundle is None:
        bundle, version, problem = _registered(settings, CHALLENGER)
        if bundle is None:
            if problem is not None:
                log.error("no challenger: %s", problem)
            return None
    try:
        return prepare(
            bundle,
            f"{CHALLENGER} ({bundle})",
            version,
            settings.serve.workers,
            nice=challenger_nice(settings),
        )
    except Exception as exc:  # any failure to load or score: no challenger, said why
        log.error("challenger %s not served: %s", bundle, exc)
        return None


def challenger_nice(settings: Settings) -> int:
    """How much lower the challenger's scoring processes run: ``serve.shadow_nice`` in shadow
    mode, where it only repeats work already answered; 0 in canary mode, where it answers."""
    return settings.serve.shadow_nice if settings.serve.mode == "shadow" else 0


def _registered(settings: Settings, alias: str) -> tuple[Path | None, int | None, str | None]:
    """The verified bundle and version that ``alias`` names, if a registry exists here and
    names one; or why the registry could not say."""
    from askwell.models.registry import Tracker

    registry = Tracker(settings.tracking)
    if not registry.db_path.is_file():  # no registry yet: do not create one to look
        return None, None, None
    try:
        version = registry.get_alias(alias)
        if version is None:
            return None, None, None
        return registry.version_bundle(version), version, None
    except AskwellError as exc:
        reason = f"the registry's {alias} could not be read ({exc}); serving the bundled model"
        log.error("%s", reason)
        return None, None, reason


# A fixed question every new model must score before it takes traffic.
SMOKE = Draft(
    "How do I skip malformed lines when reading a CSV file with pandas?",
    "I read a CSV file with `pd.read_csv('a.csv')` and it fails on lines with too many "
    "fields. I expected those lines to be skipped. How can I skip them?",
    ("python", "pandas"),
)


def prepare(
    bundle: Path, source: str, registry_version: int | None, workers: int, *, nice: int = 0
) -> ModelChoice:
    """The model at ``bundle``, verified (``load_bundle`` refuses an unsigned or altered
    one), smoke-scored in this process and, with ``workers`` above 1, in scoring processes
    of its own, ``nice`` lower in priority; raises when any of that fails."""
    predictor = Predictor.load(bundle)
    _smoke(predictor.score_draft(SMOKE))
    choice = ModelChoice(
        predictor, predictor.info.name, source, None, bundle, None, registry_version
    )
    n = processes(workers)
    if n > 1:
        pool = ScoringPool(bundle, n, predictor.model_version, nice=nice)
        try:
            _smoke(_on_own_loop(pool.submit_draft(SMOKE)))
        except BaseException:
            pool.close()
            raise
        choice = ModelChoice(pool, choice.name, source, None, bundle, None, registry_version)
    return choice


def _on_own_loop(work: Coroutine[Any, Any, T]) -> T:
    """``work`` run to its end on an event loop of its own: in this thread, or in a worker
    thread when this one already runs a loop (``asyncio.run`` refuses to nest)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, work).result()


def _smoke(reading: Reading) -> None:
    score = reading.scored.score
    if not (math.isfinite(score) and 0 <= score <= 1):
        raise ScoringFailedError(f"the smoke question scored {score!r}, not a probability")


class ScoringFailedError(AskwellError):
    """A model that loaded but does not score: it never takes traffic."""


def retire(model: ModelChoice, grace_s: float = 30.0) -> None:
    """Stops a replaced model's scoring processes once the requests they hold are answered."""
    scorer = model.scorer
    if isinstance(scorer, ScoringPool):
        timer = threading.Timer(grace_s, scorer.close)
        timer.daemon = True
        timer.start()


Mode = Literal["off", "shadow", "canary"]


@dataclass(frozen=True)
class _ShadowJob:
    draft: Draft
    session_id: str | None
    site: str | None
    request_id: str  # of the answer the champion gave


class ScoringService:
    """Scores with the champion, or in canary mode with the challenger for its share of
    sessions; in shadow mode the challenger also scores each request, off the request path.
    ``swap`` puts a new model in place while the server runs."""

    def __init__(
        self,
        model: ModelChoice,
        store: Store,
        metrics: Metrics,
        max_text_bytes: int,
        *,
        challenger: ModelChoice | None = None,
        mode: Mode = "off",
        canary_share: float = 0.2,
        shadow_queue: int = 100,
    ) -> None:
        self.model = model
        self.challenger = challenger if mode != "off" else None
        self.mode = mode
        self.canary_share = canary_share
        self.store = store
        self.metrics = metrics
        self.max_text_bytes = max_text_bytes
        self.shadow: ShadowQueue[_ShadowJob] = ShadowQueue(shadow_queue, metrics, self._shadow)
        # Why a model the registry names is not serving, by arm (set by the reloader).
        self.reload_problems: dict[str, str] = {}
        self._generic_fallback = FallbackPredictor("the model failed on a request")
        self._show(CHAMPION, model)
        if self.challenger is not None:
            self._show(CHALLENGER, self.challenger)
        if not os.environ.get(MULTIPROC_ENV):
            metrics.scoring_processes.set_function(self._alive)  # read when scraped

    @property
    def fallback(self) -> FallbackPredictor:
        scorer = self.model.scorer
        if isinstance(scorer, FallbackPredictor):
            return scorer
        return self._generic_fallback

    def _alive(self) -> int:
        pool = self.model.scorer
        return pool.alive if isinstance(pool, ScoringPool) else 0

    # -- the models in service

    def swap(self, arm: str, model: ModelChoice) -> None:
        """Puts ``model`` in service as ``arm`` (champion or challenger); the one it replaces
        finishes the requests it holds and is stopped."""
        old = self.model if arm == CHAMPION else self.challenger
        if arm == CHAMPION:
            self.model = model
        else:
            self.challenger = model
        if old is not None:
            self._unshow(arm, old)
            retire(old)
        self._show(arm, model)
        log.info("%s now serves %s", arm, model.source)

    def retire_challenger(self) -> None:
        """No challenger any more: the champion answers every session, nothing shadows it."""
        old, self.challenger = self.challenger, None
        if old is not None:
            self._unshow(CHALLENGER, old)
            retire(old)
            log.info("the challenger %s no longer serves", old.source)

    def _labels(self, arm: str, model: ModelChoice) -> tuple[str, str, str]:
        version = "" if model.registry_version is None else str(model.registry_version)
        return arm, version, model.scorer.model_version

    def _show(self, arm: str, model: ModelChoice) -> None:
        self.metrics.serving.labels(*self._labels(arm, model)).set(1)
        if arm == CHAMPION:
            self.metrics.degraded.set(1 if model.degraded else 0)

    def _unshow(self, arm: str, model: ModelChoice) -> None:
        with contextlib.suppress(KeyError):  # never shown
            self.metrics.serving.remove(*self._labels(arm, model))

    def arm_for(self, session_id: str | None) -> tuple[str, ModelChoice]:
        """The arm that answers this request: the challenger for a canary share of editor
        sessions (sticky), the champion for the rest and for requests without a session."""
        challenger = self.challenger
        if (
            self.mode == "canary"
            and challenger is not None
            and challenger.failure is None
            and session_id
            and in_canary(session_id, self.canary_share)
        ):
            return CHALLENGER, challenger
        return CHAMPION, self.model

    # -- scoring

    def draft(self, request: api.ScoreRequest) -> Draft:
        return Draft(request.title, request.body, tuple(request.tags), request.site)

    async def score_async(self, request: api.ScoreRequest) -> api.ScoreResponse:
        """``score`` for the event loop. With scoring processes, the raw text goes to them
        (reading the Markdown, which grows with the text, happens there, not in this
        process) and their answer is awaited on the loop; the answer is logged and built in
        a worker thread (the store's write). Without them, ``score`` runs in a worker
        thread. In shadow mode the request is then offered to the challenger's queue."""
        arm, model = self.arm_for(request.session_id)
        scorer = model.scorer
        if not isinstance(scorer, ScoringPool):
            answer = await run_in_threadpool(self._score_with, request, arm, model)
        else:
            started = time.perf_counter()
            draft = self.draft(request)
            try:
                reading, degraded = await scorer.submit_draft(draft), False
            except Exception:  # any failure of the model on this input: fall back, visibly
                self._model_failed()
                reading, degraded = await run_in_threadpool(self._fallback, draft), True
            answer = await run_in_threadpool(
                self._answer, request, reading, degraded, started, arm, model
            )
        self._offer_shadow(request, answer.request_id)
        return answer

    def score(self, request: api.ScoreRequest) -> api.ScoreResponse:
        arm, model = self.arm_for(request.session_id)
        answer = self._score_with(request, arm, model)
        self._offer_shadow(request, answer.request_id)
        return answer

    def _score_with(
        self, request: api.ScoreRequest, arm: str, model: ModelChoice
    ) -> api.ScoreResponse:
        started = time.perf_counter()
        reading, degraded = self._score(self.draft(request), model)
        return self._answer(request, reading, degraded, started, arm, model)

    def _answer(
        self,
        request: api.ScoreRequest,
        reading: Reading,
        degraded: bool,
        started: float,
        arm: str,
        model: ModelChoice,
    ) -> api.ScoreResponse:
        request_id = str(uuid.uuid4())
        scored = reading.scored
        logged = self._log(request, request_id, reading, degraded, started, arm, model)
        self.metrics.scores.labels(scored.band).observe(scored.score)
        self.metrics.arm_requests.labels(arm).inc()
        return _response(
            reading,
            request_id=request_id,
            model_name="heuristic" if degraded else model.name,
            degraded=degraded,
            logged=logged,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    # -- shadow

    def _offer_shadow(self, request: api.ScoreRequest, request_id: str) -> None:
        challenger = self.challenger
        if self.mode == "shadow" and challenger is not None and challenger.failure is None:
            job = _ShadowJob(self.draft(request), request.session_id, request.site, request_id)
            self.shadow.offer(job)

    async def _shadow(self, job: _ShadowJob) -> None:
        """The challenger's score of a request already answered: logged as arm "shadow",
        naming that answer. A failure of the challenger is logged as a degraded prediction
        (the fallback's, as an answer would have been): the rollout report counts it."""
        model = self.challenger
        if model is None or model.failure is not None:
            return
        started = time.perf_counter()
        scorer = model.scorer
        used: ModelChoice | None = model
        try:
            if isinstance(scorer, ScoringPool):
                reading = await scorer.submit_draft(job.draft)
            else:
                reading = await run_in_threadpool(_read, scorer, job.draft)
        except Exception:  # the shadow never takes the server down
            log.exception("the shadow challenger failed on a request")
            self.metrics.errors.labels("shadow").inc()
            reading, used = (
                await run_in_threadpool(score_draft, self.fallback.score, job.draft),
                None,
            )
        record = _record(
            str(uuid.uuid4()),
            job.session_id,
            job.site,
            reading.scored,
            started,
            SHADOW,
            used,
            shadow_of=job.request_id,
        )
        try:
            await run_in_threadpool(self.store.record_prediction, record)
        except StoreError as exc:
            log.error("shadow prediction not logged: %s", exc)
            self.metrics.errors.labels("store").inc()
            return
        self.metrics.shadow_scored.inc()

    # -- the champion's or canary's answer

    def _score(self, draft: Draft, model: ModelChoice) -> tuple[Reading, bool]:
        scorer = model.scorer
        if model.failure is None:
            try:
                return _read(scorer, draft), False
            except Exception:  # any failure of the model on this input: fall back, visibly
                self._model_failed()
        return self._fallback(draft), True

    def _model_failed(self) -> None:
        log.exception("the model failed on a request; answering with the fallback")
        self.metrics.errors.labels("model").inc()

    def _fallback(self, draft: Draft) -> Reading:
        self.metrics.fallbacks.inc()
        return score_draft(self.fallback.score, draft)

    def _log(
        self,
        request: api.ScoreRequest,
        request_id: str,
        reading: Reading,
        degraded: bool,
        started: float,
        arm: str,
        model: ModelChoice,
    ) -> bool:
        """Stores the prediction (and the revision, in a session); False if the store failed:
        the person still gets the score, and the metrics count the failure."""
        scored = reading.scored
        try:
            previous = (
                self.store.previous_in_session(request.session_id) if request.session_id else None
            )
            self.store.record_prediction(
                _record(
                    request_id,
                    request.session_id,
                    request.site,
                    scored,
                    started,
                    arm,
                    None if degraded else model,
                )
            )
            if previous is not None and request.session_id is not None:
                self.store.record_revision(
                    request.session_id,
                    request_id,
                    previous,
                    scored.score,
                    followed(previous.suggestions, reading.showing),
                )
        except StoreError as exc:
            log.error("prediction %s not logged: %s", request_id, exc)
            self.metrics.errors.labels("store").inc()
            return False
        return True

    # -- feedback and health

    def feedback(self, request: api.FeedbackRequest) -> api.FeedbackResponse:
        try:
            shown = self.store.shown_suggestions(request.request_id)
            if shown is None:
                raise UnknownRequestError(f"no score with request_id {request.request_id}")
            if request.suggestion_id is not None and request.suggestion_id not in shown:
                raise UnshownSuggestionError("not one of the suggestions that score showed")
            feedback_id = self.store.record_feedback(
                request.request_id, request.suggestion_id, request.helpful, request.comment
            )
        except StoreError as exc:
            self.metrics.errors.labels("store").inc()
            raise FeedbackNotStoredError(f"feedback not stored: {exc}") from None
        return api.FeedbackResponse(feedback_id=feedback_id, stored=True)

    def readiness(self) -> dict[str, str]:
        """'ok' or what is wrong, for the model and for the database."""
        try:
            try:
                self.store.ping()
            except StoreError as first:
                try:
                    migrate(self.store.engine)  # a database that was down at start-up
                except StoreError:
                    raise first from None  # what ping found, not the migration's echo of it
                self.store.ping()
            database = "ok"
        except StoreError as exc:
            database = str(exc)
        model = "ok" if self.model.degraded is None else f"degraded: {self.model.degraded}"
        checks = {"model": model, "model_source": self.model.source, "database": database}
        checks["model_version"] = self.model.scorer.model_version
        if self.model.registry_version is not None:
            checks["registry_version"] = str(self.model.registry_version)
        checks["mode"] = self.mode
        if self.mode != "off":
            challenger = self.challenger
            checks["challenger"] = "none" if challenger is None else challenger.source
            if challenger is not None and challenger.registry_version is not None:
                checks["challenger_registry_version"] = str(challenger.registry_version)
        # Still ready: the previous model serves; this says which one was refused, and why.
        problems = self.reload_problems
        checks["reload"] = "; ".join(problems[a] for a in sorted(problems)) or "ok"
        pool = self.model.scorer
        if isinstance(pool, ScoringPool):
            checks["scoring_processes"] = f"{pool.alive} of {pool.processes} running"
            if not pool.alive:  # every request falls back until one is back
                checks["model"] = "degraded: no scoring process is running; starting one"
        return checks


def _read(scorer: Scorer, draft: Draft) -> Reading:
    """A draft read and scored in this thread: by ``Predictor.score_draft``, or by any
    other scorer's ``score`` (the fallback) after the same reading."""
    if isinstance(scorer, Predictor):
        return scorer.score_draft(draft)
    return score_draft(scorer.score, draft)


def _record(
    request_id: str,
    session_id: str | None,
    site: str | None,
    scored: Scored,
    started: float,
    arm: str,
    model: ModelChoice | None,
    *,
    shadow_of: str | None = None,
) -> PredictionRecord:
    """The stored prediction of one scoring; ``model`` None: the rule-based fallback's."""
    return PredictionRecord(
        request_id=request_id,
        session_id=session_id,
        site=site,
        model_name="heuristic" if model is None else model.name,
        model_version=scored.model_version,
        degraded=model is None,
        score=scored.score,
        band=scored.band,
        latency_ms=(time.perf_counter() - started) * 1000,
        suggestions=[s.id for s in scored.suggestions],
        features=scored.features,
        arm=arm,
        registry_version=None if model is None else model.registry_version,
        closing_risk=scored.closing_risk,
        verdict=scored.verdict or None,
        closing_version=scored.closing_version,
        shadow_of=shadow_of,
    )


def followed(previous: list[str], showing: frozenset[str]) -> list[str]:
    """The suggestions shown last time whose evidence is gone from the new text (``showing``:
    the rules whose evidence it shows): the edit followed them."""
    return [s for s in previous if s not in showing]


def _response(
    reading: Reading,
    *,
    request_id: str,
    model_name: str,
    degraded: bool,
    logged: bool,
    latency_ms: float,
) -> api.ScoreResponse:
    scored, extent = reading.scored, reading.extent
    closing = scored.closing
    return api.ScoreResponse(
        request_id=request_id,
        verdict=scored.verdict,
        judgement=scored.judgement,
        closing_risk=None if closing is None else closing.risk,
        close_reason=None if closing is None else closing.reason,
        closing=None
        if closing is None
        else api.Closing(
            reasons=[
                api.ClosingReason(reason=r, probability=v) for r, v in closing.reasons.items()
            ],
            closed_rate=closing.closed_rate,
            live_rate=closing.live_rate,
        ),
        score=scored.score,
        band=scored.band,
        confidence=api.Confidence(
            band_good_rate=scored.band_good_rate, base_rate=scored.base_rate, review=scored.review
        ),
        helping=[api.Factor(group=f.group, push=f.push) for f in scored.helping],
        hurting=[api.Factor(group=f.group, push=f.push) for f in scored.hurting],
        highlights=[
            api.Highlight(start=h.start, end=h.end, text=h.text, effect=h.effect, reason=h.reason)
            for h in scored.highlights
        ],
        suggestions=[
            api.Suggestion(
                id=s.id,
                message=s.message,
                features=list(s.features),
                effect=s.effect,
                editable=s.editable,
            )
            for s in scored.suggestions
        ],
        prose=reading.prose,
        extent=api.Extent(
            complete=extent.complete,
            title_chars=extent.title_chars,
            body_chars=extent.body_chars,
            sentences=extent.sentences,
            note=extent.note(),
        ),
        model=api.ModelInfo(
            name=model_name,
            version=scored.model_version,
            label=scored.label,
            closing_version=scored.closing_version,
        ),
        degraded=degraded,
        logged=logged,
        latency_ms=latency_ms,
    )
