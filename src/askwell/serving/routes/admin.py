"""POST /admin/reload: serve what the registry names now, without waiting for the next look.
Only with the deployment's admin token (``models.admin_token``), as a bearer token."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException
from starlette.concurrency import run_in_threadpool

from askwell.serving.deps import get_reloader
from askwell.serving.reload import Reloader

router = APIRouter()


def _authorized(reloader: Reloader, authorization: str | None) -> None:
    """401 without a bearer token; 403 with a wrong one, or when none is configured (the
    endpoint is then closed to everyone)."""
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise HTTPException(
            401,
            "an admin token is required (Authorization: Bearer TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = reloader.settings.models.admin_token
    if token is None:
        raise HTTPException(403, "no admin token is configured (models.admin_token): refused")
    if not hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        raise HTTPException(403, "wrong admin token")


@router.post(
    "/admin/reload",
    summary="Serve the registry's champion and challenger now",
    responses={401: {"description": "no token"}, 403: {"description": "wrong token, or none set"}},
)
async def reload(
    reloader: Annotated[Reloader, Depends(get_reloader)],
    authorization: Annotated[str | None, Header()] = None,
) -> dict[str, str]:
    _authorized(reloader, authorization)
    return await run_in_threadpool(reloader.check, force=True)
