"""Dependencies the routes declare (``Annotated[..., Depends(...)]``)."""

from __future__ import annotations

from fastapi import Request

from askwell.serving.reload import Reloader
from askwell.serving.service import ScoringService


async def get_service(request: Request) -> ScoringService:
    # async: FastAPI runs a plain function dependency in a worker thread, a hand-over per request
    service: ScoringService = request.app.state.service
    return service


async def get_reloader(request: Request) -> Reloader:
    reloader: Reloader = request.app.state.reloader
    return reloader
