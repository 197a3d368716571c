"""Request bodies read by hand: FastAPI answers 400 for a body that is not UTF-8 and echoes
the input back in its 422s; askwell answers every bad body with a 422 that names the field
and what is wrong, and never repeats the text.

Only ``application/json`` is read (415 otherwise): a cross-site form can post text/plain,
urlencoded or multipart bodies without the browser asking first, but not JSON. Before
parsing, one linear scan bounds the parser's work: JSON nested deeper than ``MAX_DEPTH``
would exhaust the recursion limit, and a number of thousands of digits the integer limit.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError

from askwell.errors import AskwellError
from askwell.serving.api_models import NUL_PROBLEM, PATTERN_PROBLEMS, unicode_problem

Model = TypeVar("Model", bound=BaseModel)

MAX_DEPTH = 32  # the API's bodies need 2
MAX_DIGITS = 100  # in one run of digits of a number
# A string from its quote to the closing one, or to the end of an unterminated one: so the
# scan never starts again inside it, and stays linear (possessive: nothing to backtrack).
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_LONG_NUMBER = re.compile(rb"[0-9]{%d}" % (MAX_DIGITS + 1))
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}
# An unknown field's name is repeated only when it is short and plain.
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class InvalidBodyError(AskwellError):
    """A request body that cannot be used; ``errors`` name each field and what is wrong."""

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


class NotJsonError(AskwellError):
    """A body whose Content-Type is not application/json."""


async def read_body(request: Request, model: type[Model], max_bytes: int) -> Model:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise NotJsonError("the request body must be JSON sent as Content-Type: application/json")
    raw = await request.body()
    if len(raw) > max_bytes:
        raise InvalidBodyError(f"request body is {len(raw):,} bytes; the limit is {max_bytes:,}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBodyError(f"request body is not valid UTF-8 (byte {exc.start})") from None
    check_structure(raw)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidBodyError(
            f"request body is not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (RecursionError, ValueError):  # check_structure should have refused it
        raise InvalidBodyError("request body cannot be read as JSON") from None
    if not isinstance(data, dict):
        raise InvalidBodyError("request body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [_error(e) for e in exc.errors()]
        first = errors[0]
        raise InvalidBodyError(f"{first['field']}: {first['message']}", errors) from None


def check_structure(raw: bytes) -> None:
    """Raises InvalidBodyError for JSON nested more than MAX_DEPTH levels or holding a number
    of more than MAX_DIGITS digits in a row; brackets and digits inside strings are text.
    Linear in the body's size. For invalid JSON it may give this reason rather than the
    parser's."""
    outside = _STRING.sub(b'""', raw)
    if _LONG_NUMBER.search(outside):
        raise InvalidBodyError(f"request body holds a number of more than {MAX_DIGITS} digits")
    brackets = _NOT_BRACKET.sub(b"", outside)
    depth = max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)
    if depth > MAX_DEPTH:
        raise InvalidBodyError(f"request body is nested more than {MAX_DEPTH} levels deep")


def _error(error: Any) -> dict[str, str]:
    loc = [str(p) for p in error["loc"]]
    if error["type"] == "extra_forbidden" and loc and not _PLAIN_NAME.fullmatch(loc[-1]):
        loc[-1] = "(not repeated)"  # a name made up by the client: never echo arbitrary input
    return {"field": ".".join(loc) or "body", "message": _message(error)}


def _message(error: Any) -> str:
    kind, given = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    if isinstance(given, str):
        if kind == "string_unicode":
            return unicode_problem(given) or "not valid Unicode text"
        if kind == "string_pattern_mismatch":
            if "\x00" in given:
                return NUL_PROBLEM
            return PATTERN_PROBLEMS.get(error["ctx"]["pattern"], str(error["msg"]))
        if kind == "string_too_short" and error["ctx"]["min_length"] == 1:
            return "is empty"
    return str(error["msg"]).removeprefix("Value error, ")
