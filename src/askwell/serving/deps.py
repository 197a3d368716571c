"""Dependencies the routes declare (``Annotated[..., Depends(...)]``)."""

from __future__ import annotations

from fastapi import Request

from askwell.serving.service import ScoringService


def get_service(request: Request) -> ScoringService:
    service: ScoringService = request.app.state.service
    return service
