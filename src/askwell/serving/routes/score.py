"""POST /v1/score: a question in, everything the editor shows out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from askwell.serving import api_models as api
from askwell.serving.deps import get_service
from askwell.serving.parsing import InvalidBodyError, read_body
from askwell.serving.service import ScoringService

router = APIRouter()

# The body is read by hand (see parsing.py): its schema is declared for the docs here.
_DOC = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": api.ScoreRequest.model_json_schema()}},
    }
}


@router.post(
    "/v1/score",
    response_model=None,  # answered as JSON already validated (below); documented here
    responses={
        200: {"model": api.ScoreResponse},
        415: {"model": api.Problem, "description": "the body is not sent as application/json"},
        422: {"model": api.Problem},
    },
    openapi_extra=_DOC,
    summary="Score a question: band, confidence, suggestions, sentence highlights",
)
async def score(
    request: Request, service: Annotated[ScoringService, Depends(get_service)]
) -> Response:
    # Room for JSON escapes (up to 6 bytes a character) around the text's own limit.
    body = await read_body(request, api.ScoreRequest, 6 * service.max_text_bytes + 65_536)
    size = len(body.title.encode()) + len(body.body.encode())
    if size > service.max_text_bytes:
        raise InvalidBodyError(
            f"the question is {size / 1000:.1f} kB; the limit is "
            f"{service.max_text_bytes / 1000:g} kB of title and body",
            [{"field": "body", "message": "too long"}],
        )
    answer = await service.score_async(body)
    # The model was built and checked field by field: serialise it once, not validate again.
    return Response(answer.model_dump_json(), media_type="application/json")
