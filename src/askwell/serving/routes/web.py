"""The web editor: one page and its static files, no build step."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

WEB = Path(__file__).resolve().parent.parent / "web"

router = APIRouter()


@router.get("/", include_in_schema=False)
def editor() -> FileResponse:
    return FileResponse(WEB / "index.html", media_type="text/html")
