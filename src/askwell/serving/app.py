"""The app factory: ``create_app()`` loads the model and opens the store once, then serves
the API, the metrics and the web editor.

``uvicorn --factory askwell.serving.app:create_app`` builds it from the settings (defaults,
``ASKWELL_CONFIG``, ``ASKWELL_SERVE__*`` variables); ``askwell serve`` does that for you.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from askwell import __version__
from askwell.config import Settings, get_settings, processes
from askwell.serving.metrics import Metrics
from askwell.serving.parsing import InvalidBodyError, NotJsonError
from askwell.serving.pool import ScoringPool, freeze_loaded
from askwell.serving.reload import Reloader
from askwell.serving.routes import admin, docs, feedback, health, score, web
from askwell.serving.security import HostCheck, SecurityHeaders
from askwell.serving.service import (
    FeedbackNotStoredError,
    ModelChoice,
    ScoringService,
    UnknownRequestError,
    UnshownSuggestionError,
    load_challenger,
    load_model,
)
from askwell.store.db import Store, StoreError, make_engine, migrate

log = logging.getLogger("askwell.serving")


def create_app(
    settings: Settings | None = None,
    *,
    model: ModelChoice | None = None,
    challenger: ModelChoice | None = None,
) -> FastAPI:
    """The service for ``settings`` (default: ``get_settings()``); ``model`` and
    ``challenger`` replace the ones the settings name (tests use them to make a model fail).
    Once started, it follows the registry's aliases (``serve.registry_poll_s``)."""
    settings = settings or get_settings()
    metrics = Metrics()
    store = Store(make_engine(settings.serve.database_url))
    try:
        migrate(store.engine)
    except StoreError as exc:  # serve anyway: scores still work, /readyz says what is wrong
        log.error("database not ready at start-up: %s", exc)
        metrics.errors.labels("store").inc()
    store.start_checkpoints()
    chosen = model or load_model(settings)
    n = processes(settings.serve.workers)
    if n > 1 and chosen.failure is None and chosen.bundle is not None:
        try:
            pool = ScoringPool(chosen.bundle, n, chosen.scorer.model_version)
            chosen = replace(chosen, scorer=pool)
        except Exception as exc:  # e.g. the bundle was replaced since this process read it
            log.error("scoring processes did not start (%s); scoring in this process", exc)
    serve = settings.serve
    service = ScoringService(
        chosen,
        store,
        metrics,
        max_text_bytes=int(serve.max_text_kb * 1000),
        challenger=challenger or load_challenger(settings),
        mode=serve.mode,
        canary_share=serve.canary_share,
        shadow_queue=serve.shadow_queue,
    )
    reloader = Reloader(settings, service)
    metrics.follow_monitoring(store.latest_monitor_run)  # askwell monitor run's latest results
    freeze_loaded()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(service.shadow.run(), name="askwell-shadow")]
        if serve.registry_poll_s > 0 and reloader.watched():
            watch = reloader.watch(serve.registry_poll_s)
            tasks.append(asyncio.create_task(watch, name="askwell-registry-watch"))
        yield
        for task in tasks:
            task.cancel()
        for model in (service.model, service.challenger):
            if model is not None and isinstance(model.scorer, ScoringPool):
                model.scorer.close()
        store.close()

    app = FastAPI(
        lifespan=lifespan,
        title="askwell",
        version=__version__,
        summary="Scores how well a question is likely to be received, with the evidence, "
        "sentence highlights and ranked suggestions.",
        docs_url=None,  # served by routes/docs.py, from the package rather than a CDN
        redoc_url=None,  # ReDoc injects inline styles, which the content policy refuses
    )
    app.state.service = service
    app.state.reloader = reloader
    app.include_router(score.router)
    app.include_router(feedback.router)
    app.include_router(health.router)
    app.include_router(web.router)
    app.include_router(docs.router)
    app.include_router(admin.router)
    app.mount("/static", StaticFiles(directory=web.WEB), name="static")
    assets = docs.swagger_assets()
    if assets is not None:
        app.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")
    else:
        log.warning("fastapi-offline is not installed: /docs cannot show the API")
    _handle_errors(app, metrics)

    # The last added runs first: the headers go on every answer, the Host check's too.
    app.add_middleware(HostCheck, allowed=(*settings.serve.allowed_hosts, settings.serve.host))
    app.add_middleware(CountRequests, metrics=metrics)
    app.add_middleware(SecurityHeaders)
    return app


class CountRequests:
    """Requests by route and status, and their latency: a plain ASGI middleware (Starlette's
    ``BaseHTTPMiddleware`` costs a task and a stream per request)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


def _problem(status: int, detail: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail, "errors": errors or []}, status_code=status)


def _handle_errors(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(InvalidBodyError)
    async def invalid(_: Request, exc: InvalidBodyError) -> JSONResponse:
        metrics.errors.labels("invalid").inc()
        return _problem(422, str(exc), exc.errors)

    @app.exception_handler(RequestValidationError)
    async def invalid_params(_: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.labels("invalid").inc()
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": str(e["msg"])}
            for e in exc.errors()
        ]
        return _problem(422, errors[0]["message"] if errors else "invalid request", errors)

    @app.exception_handler(NotJsonError)
    async def not_json(_: Request, exc: NotJsonError) -> JSONResponse:
        metrics.errors.labels("invalid").inc()
        return _problem(415, str(exc))

    @app.exception_handler(UnshownSuggestionError)
    async def unshown(_: Request, exc: UnshownSuggestionError) -> JSONResponse:
        metrics.errors.labels("invalid").inc()
        return _problem(
            422, f"suggestion_id: {exc}", [{"field": "suggestion_id", "message": str(exc)}]
        )

    @app.exception_handler(UnknownRequestError)
    async def unknown(_: Request, exc: UnknownRequestError) -> JSONResponse:
        return _problem(404, str(exc))

    @app.exception_handler(FeedbackNotStoredError)
    async def not_stored(_: Request, exc: FeedbackNotStoredError) -> JSONResponse:
        response = _problem(503, str(exc))
        response.headers["Retry-After"] = "5"
        return response
