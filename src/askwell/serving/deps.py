"""Dependencies the routes declare (``Annotated[..., Depends(...)]``)."""

from __future__ import annotations

from fastapi import Request

from askwell.serving.service import ScoringService


async def get_service(request: Request) -> ScoringService:
    # async: FastAPI runs a plain function dependency in a worker thread, a hand-over per request
    service: ScoringService = request.app.state.service
    return service
