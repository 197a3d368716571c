"""What the API does, apart from HTTP: score a request (with the fallback when the model
fails), log it with its features, link it to the session's previous score, take feedback.

One instance per server process, built once at start-up by ``create_app``.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from starlette.concurrency import run_in_threadpool

from askwell.config import Settings
from askwell.errors import AskwellError
from askwell.explain.fallback import FallbackPredictor
from askwell.explain.predictor import Draft, Predictor, Reading, Scored, score_draft
from askwell.models.bundle import default_bundle
from askwell.records import Question
from askwell.serving import api_models as api
from askwell.serving.metrics import MULTIPROC_ENV, Metrics
from askwell.serving.pool import ScoringPool
from askwell.store.db import PredictionRecord, Store, StoreError, migrate

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
    try:
        if bundle is None:
            champion, problem = _champion(settings)
            if champion is not None:
                bundle, source = champion, f"registry champion ({champion})"
        bundle = bundle or default_bundle()
        predictor = Predictor.load(bundle)
    except (AskwellError, OSError) as exc:
        reason = f"cannot load {source}: {exc}"
        log.error("%s; answering with the rule-based fallback", reason)
        return ModelChoice(FallbackPredictor(reason), "heuristic", source, reason)
    return ModelChoice(predictor, predictor.info.name, source, None, bundle, problem)


def _champion(settings: Settings) -> tuple[Path | None, str | None]:
    """The registry's champion bundle, if a registry exists here and names one; or why the
    registry could not say."""
    from askwell.models.registry import Tracker

    registry = Tracker(settings.tracking)
    if not registry.db_path.is_file():  # no registry yet: do not create one to look
        return None, None
    try:
        return registry.champion_bundle(), None
    except AskwellError as exc:
        reason = f"the registry's champion could not be read ({exc}); serving the bundled model"
        log.error("%s", reason)
        return None, reason


class ScoringService:
    def __init__(
        self, model: ModelChoice, store: Store, metrics: Metrics, max_text_bytes: int
    ) -> None:
        self.model = model
        self.store = store
        self.metrics = metrics
        self.max_text_bytes = max_text_bytes
        self.fallback = (
            model.scorer
            if isinstance(model.scorer, FallbackPredictor)
            else FallbackPredictor("the model failed on a request")
        )
        metrics.degraded.set(1 if model.degraded else 0)
        pool = model.scorer
        if isinstance(pool, ScoringPool) and not os.environ.get(MULTIPROC_ENV):
            metrics.scoring_processes.set_function(lambda: pool.alive)  # read when scraped

    # -- scoring

    def draft(self, request: api.ScoreRequest) -> Draft:
        return Draft(request.title, request.body, tuple(request.tags), request.site)

    async def score_async(self, request: api.ScoreRequest) -> api.ScoreResponse:
        """``score`` for the event loop. With scoring processes, the raw text goes to them
        (reading the Markdown, which grows with the text, happens there, not in this
        process) and their answer is awaited on the loop; the answer is logged and built in
        a worker thread (the store's write). Without them, ``score`` runs in a worker
        thread."""
        scorer = self.model.scorer
        if not isinstance(scorer, ScoringPool):
            return await run_in_threadpool(self.score, request)
        started = time.perf_counter()
        draft = self.draft(request)
        try:
            reading, degraded = await scorer.submit_draft(draft), False
        except Exception:  # any failure of the model on this input: fall back, visibly
            self._model_failed()
            reading, degraded = await run_in_threadpool(self._fallback, draft), True
        return await run_in_threadpool(self._answer, request, reading, degraded, started)

    def score(self, request: api.ScoreRequest) -> api.ScoreResponse:
        started = time.perf_counter()
        reading, degraded = self._score(self.draft(request))
        return self._answer(request, reading, degraded, started)

    def _answer(
        self, request: api.ScoreRequest, reading: Reading, degraded: bool, started: float
    ) -> api.ScoreResponse:
        request_id = str(uuid.uuid4())
        scored = reading.scored
        logged = self._log(request, request_id, reading, degraded, started)
        self.metrics.scores.labels(scored.band).observe(scored.score)
        return _response(
            reading,
            request_id=request_id,
            model_name="heuristic" if degraded else self.model.name,
            degraded=degraded,
            logged=logged,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def _score(self, draft: Draft) -> tuple[Reading, bool]:
        scorer = self.model.scorer
        if self.model.failure is None:
            try:
                if isinstance(scorer, Predictor):
                    return scorer.score_draft(draft), False
                return score_draft(scorer.score, draft), False
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
    ) -> bool:
        """Stores the prediction (and the revision, in a session); False if the store failed:
        the person still gets the score, and the metrics count the failure."""
        scored = reading.scored
        try:
            previous = (
                self.store.previous_in_session(request.session_id) if request.session_id else None
            )
            self.store.record_prediction(
                PredictionRecord(
                    request_id=request_id,
                    session_id=request.session_id,
                    site=request.site,
                    model_name="heuristic" if degraded else self.model.name,
                    model_version=scored.model_version,
                    degraded=degraded,
                    score=scored.score,
                    band=scored.band,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    suggestions=[s.id for s in scored.suggestions],
                    features=scored.features,
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
        pool = self.model.scorer
        if isinstance(pool, ScoringPool):
            checks["scoring_processes"] = f"{pool.alive} of {pool.processes} running"
            if not pool.alive:  # every request falls back until one is back
                checks["model"] = "degraded: no scoring process is running; starting one"
        return checks


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
