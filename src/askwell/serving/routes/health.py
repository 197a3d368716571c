"""Liveness, readiness and the Prometheus metrics page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from askwell.serving.deps import get_service
from askwell.serving.service import ScoringService

router = APIRouter()


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz", summary="The model is loaded and the database reachable")
async def readyz(service: Annotated[ScoringService, Depends(get_service)]) -> JSONResponse:
    checks = await run_in_threadpool(service.readiness)
    ready = checks["model"] == "ok" and checks["database"] == "ok"
    return JSONResponse({"ready": ready, **checks}, status_code=200 if ready else 503)


@router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
def metrics(service: Annotated[ScoringService, Depends(get_service)]) -> Response:
    payload, content_type = service.metrics.exposition()
    return Response(payload, media_type=content_type)
