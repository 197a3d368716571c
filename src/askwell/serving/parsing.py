"""Request bodies read by hand: FastAPI answers 400 for a body that is not UTF-8 and echoes
the input back in its 422s; askwell answers every bad body with a 422 that names the field
and what is wrong, and never repeats the text."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from askwell.errors import AskwellError

Model = TypeVar("Model", bound=BaseModel)


class InvalidBodyError(AskwellError):
    """A request body that cannot be used; ``errors`` name each field and what is wrong."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


async def read_body(request: Request, model: type[Model], max_bytes: int) -> Model:
    raw = await request.body()
    if len(raw) > max_bytes:
        raise InvalidBodyError(f"request body is {len(raw):,} bytes; the limit is {max_bytes:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBodyError(f"request body is not valid UTF-8 (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidBodyError(
            f"request body is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(data, dict):
        raise InvalidBodyError("request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [_error(e) for e in exc.errors()]
        first = errors[0]
        raise InvalidBodyError(f"{first['field']}: {first['message']}", errors) from None


def _error(error: Any) -> dict[str, str]:
    field = ".".join(str(p) for p in error["loc"]) or "body"
    message = {
        "extra_forbidden": "unknown field",
        "missing": "is required",
    }.get(error["type"], error["msg"].removeprefix("Value error, "))
    return {"field": field, "message": message}
