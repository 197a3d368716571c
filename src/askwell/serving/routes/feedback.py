"""POST /v1/feedback: a person's word on a score or one of its suggestions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from askwell.serving import api_models as api
from askwell.serving.deps import get_service
from askwell.serving.parsing import read_body
from askwell.serving.service import ScoringService

router = APIRouter()

# The body is read by hand (see parsing.py): its schema is declared for the docs here.
_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": api.FeedbackRequest.model_json_schema()}},
    }
}
_MAX_BYTES = 64_000


@router.post(
    "/v1/feedback",
    response_model=api.FeedbackResponse,
    status_code=201,
    responses={
        404: {"model": api.Problem, "description": "no score with this request_id"},
        415: {"model": api.Problem, "description": "the body is not sent as application/json"},
        422: {"model": api.Problem, "description": "invalid, or a suggestion not shown"},
        503: {"model": api.Problem, "description": "not stored: the database is unreachable"},
    },
    openapi_extra=_DOC,
    summary="Say whether a score or a suggestion helped",
)
async def feedback(
    request: Request, service: Annotated[ScoringService, Depends(get_service)]
) -> api.FeedbackResponse:
    body = await read_body(request, api.FeedbackRequest, _MAX_BYTES)
    return await run_in_threadpool(service.feedback, body)
