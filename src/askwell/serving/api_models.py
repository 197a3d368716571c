"""The API's request and response bodies: separate from the domain records, strict at the
edge (unknown fields, wrong types, NUL characters and text that is not valid Unicode are
refused).

Every constraint the server enforces on a string is a JSON Schema keyword (``pattern``,
``minLength``, ``maxLength``) that the OpenAPI schema states, so a request valid by the
schema is one the server takes. The patterns spell characters out (no ``\\s``, ``\\w``), so
pydantic's engine and ECMAScript, the schema's, read them alike.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr

# Whitespace to Python (str.isspace) or to ECMAScript (\s).
_SPACE = r"\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
NO_NUL = r"^[^\u0000]*$"
NOT_BLANK = rf"^[^\u0000]*[^\u0000{_SPACE}][^\u0000]*$"  # and no NUL
SESSION_ID = r"^[A-Za-z0-9_.-]+$"
REQUEST_ID = r"^[0-9a-f-]{36}$"
NUL_PROBLEM = "contains a NUL character (\\u0000)"
# What a value that does not match a pattern is told (one with a NUL: NUL_PROBLEM).
PATTERN_PROBLEMS = {
    NO_NUL: NUL_PROBLEM,
    NOT_BLANK: "is empty",
    SESSION_ID: "may hold only ASCII letters, digits, '_', '.' and '-'",
    REQUEST_ID: "is not a request_id: 36 characters of 0-9, a-f and '-'",
}


# A lone surrogate: JSON can carry "\ud800", no character, that no database or file encoding
# stores. Searched with a regular expression (as ``data.text.lone_surrogate`` finds it, but in
# C): it runs on the event loop, over up to 50 kB per field.
_SURROGATE = re.compile("[\ud800-\udfff]")


def unicode_problem(value: str) -> str | None:
    """What makes ``value`` not valid Unicode text, if anything does."""
    found = _SURROGATE.search(value)
    if found is None:
        return None
    return f"not valid Unicode text: a lone surrogate at character {found.start()}"


def _unicode(value: str) -> str:
    problem = unicode_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Required = Annotated[StrictStr, Field(min_length=1, pattern=NOT_BLANK), AfterValidator(_unicode)]
Tag = Annotated[
    StrictStr, Field(min_length=1, max_length=64, pattern=NO_NUL), AfterValidator(_unicode)
]
Site = Annotated[StrictStr, Field(max_length=200, pattern=NO_NUL), AfterValidator(_unicode)]
SessionId = Annotated[
    StrictStr, Field(min_length=1, max_length=64, pattern=SESSION_ID), AfterValidator(_unicode)
]
RequestId = Annotated[StrictStr, Field(pattern=REQUEST_ID), AfterValidator(_unicode)]
SuggestionId = Annotated[
    StrictStr, Field(min_length=1, max_length=64, pattern=NO_NUL), AfterValidator(_unicode)
]
Comment = Annotated[StrictStr, Field(max_length=2000, pattern=NO_NUL), AfterValidator(_unicode)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreRequest(_Request):
    title: Required = Field(description="the question's title: not blank")
    body: Required = Field(
        description="the body, in Markdown as typed on the site: not blank; title and body "
        "together at most the server's limit (serve.max_text_kb, 50 kB by default)"
    )
    tags: list[Tag] = Field(
        default_factory=list, max_length=10, description="tags, e.g. ['python', 'pandas']"
    )
    site: Site | None = Field(None, description="the site asked on, e.g. 'stackoverflow.com'")
    session_id: SessionId | None = Field(
        None,
        description="an editing session (the editor makes one per page): successive "
        "scores in one session are stored as revisions",
    )


class FeedbackRequest(_Request):
    request_id: RequestId = Field(description="the request_id of the score this is about")
    suggestion_id: SuggestionId | None = Field(
        None,
        description="one of the suggestions that score showed; none: the score as a whole",
    )
    helpful: StrictBool
    comment: Comment | None = None


class Factor(BaseModel):
    group: str
    push: float


class Highlight(BaseModel):
    start: int = Field(description="offset into `prose`, in Unicode code points")
    end: int
    text: str
    effect: float = Field(description="the score with the sentence minus without it")
    reason: str | None


class Suggestion(BaseModel):
    id: str
    message: str
    features: list[str]
    effect: float = Field(description="how much the score rises when it is followed")
    editable: bool = Field(description="askwell can make the edit itself")


class Confidence(BaseModel):
    band_good_rate: float | None = Field(
        description="of validation questions in this band, the share with a good outcome"
    )
    base_rate: float | None = Field(description="the same over all validation questions")
    review: bool = Field(description="uncertain or near a band's edge: worth a second look")


class ModelInfo(BaseModel):
    name: str
    version: str
    label: str
    closing_version: str | None = Field(description="the closing model, when one judges")


class ClosingReason(BaseModel):
    reason: str
    probability: float = Field(description="P(this reason | closed)")


class Closing(BaseModel):
    reasons: list[ClosingReason] = Field(description="most likely first")
    closed_rate: float = Field(
        description="of validation questions with this verdict, the share closed (live rate)"
    )
    live_rate: float = Field(description="the live site's closing rate the risk is stated at")


class Extent(BaseModel):
    """How much of the question was scored: all of it, or its beginning, within the limits
    the server scores (``askwell.explain.predictor``: a body up to 5,000 characters, 400
    lines or 100 sentences, a title up to 300 characters)."""

    complete: bool = Field(description="the whole question was scored")
    title_chars: int = Field(description="characters of the title scored, from its start")
    body_chars: int = Field(description="characters of the body's Markdown read, from its start")
    sentences: int = Field(description="sentences of the prose read that were scored")
    note: str | None = Field(
        description="when only part of the question was scored, which part, in words (the "
        "editor shows it); null when all of it was"
    )


class ScoreResponse(BaseModel):
    request_id: str
    verdict: str = Field(
        description="the headline: ready to post, needs work or likely to be closed (the answer "
        "band when no closing model judges)"
    )
    judgement: float = Field(
        description="the headline as a number, higher is better: 1 - closing_risk"
    )
    closing_risk: float | None = Field(
        description="calibrated probability that the question is closed, at the live site's rate"
    )
    close_reason: str | None = Field(description="the most likely reason, were it closed")
    closing: Closing | None
    score: float = Field(description="calibrated probability of the answer model's label")
    band: str
    confidence: Confidence
    helping: list[Factor]
    hurting: list[Factor]
    highlights: list[Highlight]
    suggestions: list[Suggestion]
    prose: str = Field(
        description="the body's prose as askwell read and scored it; highlights index it"
    )
    extent: Extent = Field(description="how much of the question was scored")
    model: ModelInfo
    degraded: bool = Field(description="answered by the rule-based fallback, not the model")
    logged: bool = Field(description="the prediction was stored")
    latency_ms: float


class FeedbackResponse(BaseModel):
    feedback_id: int
    stored: bool


class Problem(BaseModel):
    """An error: what was wrong, per field where there is one."""

    detail: str
    errors: list[dict[str, str]] = Field(default_factory=list)
