"""The app factory: ``create_app()`` loads the model and opens the store once, then serves
the API, the metrics and the web editor.

``uvicorn --factory askwell.serving.app:create_app`` builds it from the settings (defaults,
``ASKWELL_CONFIG``, ``ASKWELL_SERVE__*`` variables); ``askwell serve`` does that for you.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from askwell import __version__
from askwell.config import Settings, get_settings
from askwell.serving.metrics import Metrics
from askwell.serving.parsing import InvalidBodyError
from askwell.serving.routes import feedback, health, score, web
from askwell.serving.service import (
    FeedbackNotStoredError,
    ModelChoice,
    ScoringService,
    UnknownRequestError,
    load_model,
)
from askwell.store.db import Store, StoreError, make_engine, migrate

log = logging.getLogger("askwell.serving")
Handler = Callable[[Request], Awaitable[Response]]


def create_app(settings: Settings | None = None, *, model: ModelChoice | None = None) -> FastAPI:
    """The service for ``settings`` (default: ``get_settings()``); ``model`` replaces the
    one the settings name (tests use it to make a model fail)."""
    settings = settings or get_settings()
    metrics = Metrics()
    store = Store(make_engine(settings.serve.database_url))
    try:
        migrate(store.engine)
    except StoreError as exc:  # serve anyway: scores still work, /readyz says what is wrong
        log.error("database not ready at start-up: %s", exc)
        metrics.errors.labels("store").inc()
    service = ScoringService(
        model or load_model(settings),
        store,
        metrics,
        max_text_bytes=int(settings.serve.max_text_kb * 1000),
    )
    app = FastAPI(
        title="askwell",
        version=__version__,
        summary="Scores how well a question is likely to be received, with the evidence, "
        "sentence highlights and ranked suggestions.",
    )
    app.state.service = service
    app.include_router(score.router)
    app.include_router(feedback.router)
    app.include_router(health.router)
    app.include_router(web.router)
    app.mount("/static", StaticFiles(directory=web.WEB), name="static")
    _handle_errors(app, metrics)

    @app.middleware("http")
    async def count(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = getattr(route, "path", "unmatched")
        metrics.requests.labels(name, str(response.status_code)).inc()
        metrics.latency.labels(name).observe(time.perf_counter() - started)
        return response

    return app


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

    @app.exception_handler(UnknownRequestError)
    async def unknown(_: Request, exc: UnknownRequestError) -> JSONResponse:
        return _problem(404, str(exc))

    @app.exception_handler(FeedbackNotStoredError)
    async def not_stored(_: Request, exc: FeedbackNotStoredError) -> JSONResponse:
        response = _problem(503, str(exc))
        response.headers["Retry-After"] = "5"
        return response
