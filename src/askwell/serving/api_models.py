"""The API's request and response bodies: separate from the domain records, strict at the
edge (unknown fields, wrong types and text that is not valid Unicode are refused)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictStr

from askwell.data.text import lone_surrogate


def _unicode(value: str) -> str:
    at = lone_surrogate(value)
    if at is not None:
        raise ValueError(f"not valid Unicode text: a lone surrogate at character {at}")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("is empty")
    return value


Text = Annotated[StrictStr, AfterValidator(_unicode)]
Required = Annotated[StrictStr, AfterValidator(_unicode), AfterValidator(_not_blank)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreRequest(_Request):
    title: Required = Field(description="the question's title")
    body: Required = Field(description="the body, in Markdown as typed on the site")
    tags: list[Annotated[Text, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=10, description="tags, e.g. ['python', 'pandas']"
    )
    site: Annotated[Text, Field(max_length=200)] | None = Field(
        None, description="the site asked on, e.g. 'stackoverflow.com'"
    )
    session_id: Annotated[Text, Field(min_length=1, max_length=64, pattern=r"^[\w.-]+$")] | None = (
        Field(
            None,
            description="an editing session (the editor makes one per page): successive "
            "scores in one session are stored as revisions",
        )
    )


class FeedbackRequest(_Request):
    request_id: Annotated[Text, Field(pattern=r"^[0-9a-f-]{36}$")] = Field(
        description="the request_id of the score this is about"
    )
    suggestion_id: Annotated[Text, Field(min_length=1, max_length=64)] | None = Field(
        None, description="one suggestion of that score; none: the score as a whole"
    )
    helpful: StrictBool
    comment: Annotated[Text, Field(max_length=2000)] | None = None


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
    prose: str = Field(description="the body's prose as askwell read it; highlights index it")
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
