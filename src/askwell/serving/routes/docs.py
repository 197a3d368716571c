"""GET /docs: the API's Swagger UI, from the copy the fastapi-offline package ships (FastAPI's
own page loads it from a CDN, blank offline, and starts it with an inline script, which the
content policy refuses)."""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse, Response

from askwell.serving.routes.web import WEB

router = APIRouter()


@cache
def swagger_assets() -> Path | None:
    """The folder holding swagger-ui-bundle.js and swagger-ui.css; None without the package."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "static"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


@router.get("/docs", include_in_schema=False)
def docs() -> Response:
    if swagger_assets() is None:
        return PlainTextResponse(
            "The API docs need the fastapi-offline package; the schema is at /openapi.json.",
            status_code=503,
        )
    return FileResponse(WEB / "docs.html", media_type="text/html")
