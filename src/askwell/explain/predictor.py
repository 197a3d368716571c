"""``Predictor``: one code path from a question to everything the editor shows about it.

Loaded once (the bundles are verified on load), then ``score`` per question. Two models judge
it: the *answer* model (the chance of a good answer within a week, learned from Stack Exchange
dumps) and the *closing* model (the risk that the community closes it, and why, learned from
real Stack Overflow closing outcomes). The headline, the ``judgement``, is the closing
model's: closing is the community's own verdict on a badly asked question, and it is the
better learned of the two. The ideas pushing it up and down and the sentence highlights
explain the judgement; a suggestion is shown only when its what-if improves the judgement
without worsening the chance of a good answer (by more than ``ANSWER_TOLERANCE``). Without
a closing model, the answer model's score is the judgement, as before. Serving and batch
scoring share it.

What the editor and the API send is a ``Draft`` (the body in Markdown); ``read`` makes it the
question that is scored: all of it, or for a very long one its beginning, within the limits
below (``SCORED_CHARS``…), and ``Extent`` says how much that was, so a partial score is never
silent. ``Predictor.score_draft`` reads and scores in one call: the scoring processes run it,
so the Markdown is parsed there, never in the server's event-loop process.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from askwell.explain.highlights import Highlight, assemble, pieces
from askwell.explain.suggestions import RULES, Candidate, Suggestion, candidates, ranked
from askwell.features.catalog import feature_names
from askwell.features.text_stats import split_sentences
from askwell.markdown import to_html
from askwell.models.bundle import (
    BundleError,
    BundleInfo,
    default_bundle,
    default_closing_bundle,
    load_bundle,
)
from askwell.models.contributions import Contributions
from askwell.records import Question

TOP_FACTORS = 3
# How far a suggestion may lower the answer model's score and still be shown. The answer
# model is weak (validation ROC-AUC about 0.65) and reads "!!!" and "thanks" as signs of a
# lively meta site: below two points it cannot tell two versions of a question apart, and
# letting that noise veto "calm the '!!!'" left messy questions without any advice.
ANSWER_TOLERANCE = 0.02

# How much of a question one request scores (issue 12). The API takes 50 kB, and scoring
# grows with the text: its words, its lines and markup (Markdown parsing) and its sentences
# (the features and the suggestions read each one, and the highlights re-score the question
# without each). So a question is scored from its start up to these limits, and the answer
# says how much was. Of the 44,506 real Stack Overflow bodies in
# ../shared/data/stackoverflow-closed, 98.8% hold at most 5,000 characters (the 99th
# percentile is 5,466), and none of those reaches another limit (at most 397 lines, 82
# sentences, 340 brackets, 751 markup characters; no title there is longer than 250
# characters, and Stack Exchange takes 150): such a question is scored exactly as before.
# Why not more: the cost is about linear in the text, and real prose of 6,000 characters
# already costs 2.7-3x a 2,000-character question (the target for any 50 kB request is 3x);
# read up to these limits, the costliest 50 kB request measured costs 2.1x
# (bench/results/latency.md).
SCORED_TITLE_CHARS = 300  # the editor's title field takes 300
SCORED_CHARS = 5_000  # of the body's Markdown
SCORED_LINES = 400
SCORED_SENTENCES = 100  # of the prose read
# The Markdown parser's budgets within those characters (``askwell.markdown``): past them,
# the paragraphs holding the most brackets are read without links, and those holding the
# most markup characters as plain text.
SCORED_BRACKETS = 400
SCORED_MARKUP = 800
_LINE_BREAK = re.compile(r"\r\n?|\n")
BodyLimit = Literal["characters", "lines", "sentences"]


@dataclass(frozen=True)
class Factor:
    """An idea (a feature group) and how far it pushes the score's logit."""

    group: str
    push: float


@dataclass(frozen=True)
class Closing:
    """The closing model's view of a question."""

    risk: float  # calibrated probability of being closed, at the live site's closing rate
    reason: str | None  # the most likely reason, were it closed
    reasons: dict[str, float]  # P(reason | closed), most likely first
    closed_rate: float  # of validation questions with this verdict, the share closed (live)
    live_rate: float  # the live site's closing rate the risk is stated at


@dataclass(frozen=True)
class Scored:
    score: float  # calibrated probability of the answer model's label
    band: str
    # Of validation questions in this band, the share with a good outcome; and the same over
    # all validation questions. None from the rule-based fallback, which has no evidence.
    band_good_rate: float | None
    base_rate: float | None
    review: bool  # uncertain or at a band's edge: a person should look
    helping: list[Factor]
    hurting: list[Factor]
    highlights: list[Highlight]
    suggestions: list[Suggestion]
    model_version: str
    label: str = field(default="")
    features: dict[str, float] = field(default_factory=dict)  # catalog values, for the logs
    closing: Closing | None = None
    # The headline: higher is better (1 - closing risk; the answer score without a closing
    # model), and its band in words.
    judgement: float = 0.0
    verdict: str = ""
    closing_version: str | None = None

    @property
    def closing_risk(self) -> float | None:
        return None if self.closing is None else self.closing.risk


@dataclass(frozen=True)
class Draft:
    """A question as a person typed it, before it is read: the body in Stack Exchange
    Markdown. What the API receives and the scoring processes are handed."""

    title: str
    body: str
    tags: tuple[str, ...] = ()
    site: str | None = None


@dataclass(frozen=True)
class Extent:
    """How much of a draft was scored, counted from the start of its title and body."""

    title_chars: int  # of the title, scored
    title_total: int
    title_cut: bool  # some of the title (more than whitespace) was not scored
    body_chars: int  # of the body's Markdown, read
    body_total: int
    sentences: int  # of the prose read, scored
    body_limit: BodyLimit | None  # the limit that cut the body; None: it was read whole

    @property
    def complete(self) -> bool:
        return self.body_limit is None and not self.title_cut

    def note(self) -> str | None:
        """What was scored, in words, when it was not the whole question."""
        said = []
        if self.title_cut:
            said.append(
                f"the first {self.title_chars:,} of the title's {self.title_total:,} characters"
            )
        if self.body_limit == "sentences":
            said.append(f"the body's first {self.sentences:,} sentences")
        elif self.body_limit == "lines":
            said.append(f"the body's first {SCORED_LINES:,} lines")
        elif self.body_limit == "characters":
            said.append(
                f"the first {self.body_chars:,} of the body's {self.body_total:,} characters"
            )
        if not said:
            return None
        return (
            f"Only {' and '.join(said)} were scored; the rest does not count. (askwell scores "
            f"a body up to {SCORED_CHARS:,} characters, {SCORED_LINES:,} lines or "
            f"{SCORED_SENTENCES:,} sentences, and a title up to {SCORED_TITLE_CHARS:,} "
            "characters.)"
        )


@dataclass(frozen=True)
class Reading:
    """A draft scored: the scores of the part of it that was read (``extent``), that part's
    prose (which the highlights index), and the ids of the rules whose evidence it shows
    (whether or not their suggestions are kept): an edit that removes the evidence of a
    suggestion shown before followed it."""

    scored: Scored
    prose: str
    extent: Extent
    showing: frozenset[str]


def read(draft: Draft) -> tuple[Question, Extent]:
    """The question that is scored for ``draft``: the whole draft as
    ``Question.from_markdown`` reads it, or its beginning: the title's first
    ``SCORED_TITLE_CHARS`` characters, the body's first ``SCORED_CHARS`` characters and
    ``SCORED_LINES`` lines (cut before parsing: that bounds the parser's work, with its
    budgets ``SCORED_BRACKETS`` and ``SCORED_MARKUP``), and of the prose read, its first
    ``SCORED_SENTENCES`` sentences. Whitespace left out is not a cut (it is left out all the
    same)."""
    title = draft.title[:SCORED_TITLE_CHARS]
    body = draft.body[:SCORED_CHARS]
    limit: BodyLimit | None = "characters" if draft.body[SCORED_CHARS:].strip() else None
    breaks = _LINE_BREAK.finditer(body)
    last = next(itertools.islice(breaks, SCORED_LINES - 1, None), None)
    if last is not None:
        if body[last.end() :].strip():
            limit = "lines"
        body = body[: last.start()]
    html = to_html(body, brackets=SCORED_BRACKETS, markup=SCORED_MARKUP)
    question = Question.from_html(title, html, draft.tags, draft.site)
    spans = split_sentences(question.body.text)
    if len(spans) > SCORED_SENTENCES:
        spans = spans[:SCORED_SENTENCES]
        prose = question.body.text[: spans[-1][1]]
        question = replace(question, body=replace(question.body, text=prose))
        limit = "sentences"
    extent = Extent(
        title_chars=len(title),
        title_total=len(draft.title),
        title_cut=bool(draft.title[SCORED_TITLE_CHARS:].strip()),
        body_chars=len(body),
        body_total=len(draft.body),
        sentences=len(spans),
        body_limit=limit,
    )
    return question, extent


def showing(question: Question) -> frozenset[str]:
    """The ids of the rules whose evidence ``question`` shows."""
    return frozenset(r.id for r in RULES if r.evidence(question) is not None)


def score_draft(score: Callable[[Question], Scored], draft: Draft) -> Reading:
    """``read`` then ``score``: for scorers other than ``Predictor`` (the fallback)."""
    question, extent = read(draft)
    return Reading(score(question), question.body.text, extent, showing(question))


class Predictor:
    """Loaded model bundles, ready to score questions."""

    def __init__(
        self,
        model: Any,
        info: BundleInfo,
        closing: tuple[Any, BundleInfo] | None = None,
    ) -> None:
        self.model = model
        self.info = info
        self.model_version = _version(info)
        self.closing: Any = None if closing is None else closing[0]
        self.closing_info: BundleInfo | None = None if closing is None else closing[1]
        self.closing_version = None if self.closing_info is None else _version(self.closing_info)
        if closing is not None and closing[0].risk_bands is None:
            raise BundleError(f"{closing[1].name}: not a closing model (no live closing rate)")

    @property
    def closing_prior(self) -> float | None:
        """The live site's closing rate the closing risk is stated at."""
        return None if self.closing is None else float(self.closing.risk_bands.live_rate)

    @classmethod
    def load(cls, path: Path | None = None, closing: Path | bool | None = True) -> Predictor:
        """The answer model at ``path`` (default: the one askwell ships) and the closing
        model at ``closing`` (True: the one askwell ships; False: none), verified.

        A closing model at ``path`` with ``closing`` True (a registry that holds closing
        models names one bundle) is served as the closing model, beside the answer model
        askwell ships."""
        model, info = load_bundle(path or default_bundle(), feature_names())
        if closing is False:
            return cls(model, info)
        if closing is True and model.risk_bands is not None:
            return cls(*load_bundle(default_bundle(), feature_names()), (model, info))
        closing_path = default_closing_bundle() if closing is True else closing
        assert isinstance(closing_path, Path)
        return cls(model, info, load_bundle(closing_path, feature_names()))

    def judge(self, questions: Sequence[Question]) -> npt.NDArray[np.float64]:
        """The headline judgement of many questions at once, as ``score`` gives it
        (``judgement``), without the explanations: for batch checks and evaluations."""
        if not questions:
            return np.zeros(0)
        if self.closing is None:
            return np.asarray(self.model.predict_proba(questions), dtype=np.float64)
        return np.asarray(
            self.closing.live(self.closing.predict_proba(questions)), dtype=np.float64
        )

    def score_draft(self, draft: Draft) -> Reading:
        """``read`` then ``score``: what the API answers, and all that its scoring processes
        do for a request."""
        question, extent = read(draft)
        scored, found = self._score(question)
        return Reading(scored, question.body.text, extent, frozenset(r.id for r, _, _ in found))

    def score(self, question: Question) -> Scored:
        """Everything about ``question``. Its feature rows, those of its leave-one-out
        variants (from one read of it) and those of its suggestions' what-ifs are built
        together and scored in one call per model: the editor calls this on every pause in
        typing."""
        return self._score(question)[0]

    def _score(self, question: Question) -> tuple[Scored, list[Candidate]]:
        spans = pieces(question.body.text)
        found = candidates(question)
        what_ifs = [w for _, _, w in found]
        n = len(spans)
        # Rows: the question, its variants without each sentence, the what-ifs.
        rows = self.model.features.transform_editor(question, spans, what_ifs)
        answer = self.model.proba(rows.x)
        judge, x, judged = self.model, rows.x, answer
        if self.closing is not None:
            closing_rows = self.closing.features.transform_editor(question, spans, what_ifs)
            judge, x = self.closing, closing_rows.x
            judged = self.closing.live(self.closing.proba(x))  # P(kept open), live rate
        p = float(judged[0])

        # Grouped contributions of the question and of every variant, in one call: the
        # factors read row 0; the weakest sentences' reasons, their variants' rows.
        contributions: Contributions = judge.contributions_of(x[: 1 + n])
        values, groups = contributions.grouped()

        def grouped(picked: list[int]) -> tuple[npt.NDArray[np.float64], list[str]]:
            return values[[0, *(1 + i for i in picked)]], groups

        row = values[0]
        order = np.argsort(-row, kind="stable")
        helping = [Factor(groups[i], float(row[i])) for i in order if row[i] > 0]
        hurting = [Factor(groups[i], float(row[i])) for i in order[::-1] if row[i] < 0]
        # A what-if must improve the judgement without worsening the chance of an answer.
        gains = judged[1 + n :] - p
        gains[answer[1 + n :] < answer[0] - ANSWER_TOLERANCE] = 0.0
        a = float(answer[0])
        bands = self.model.bands
        band = bands.of(a)
        closing = None if self.closing is None else self._closing(1.0 - p, x[:1])
        scored = Scored(
            score=a,
            band=band.name,
            band_good_rate=band.good_rate,
            base_rate=bands.base_rate,
            review=bands.needs_review(a),
            helping=helping[:TOP_FACTORS],
            hurting=hurting[:TOP_FACTORS],
            highlights=assemble(question, spans, p - judged[1 : 1 + n], grouped),
            suggestions=ranked(question, found, gains),
            model_version=self.model_version,
            label=self.info.label.get("name", ""),
            features=dict(zip(feature_names(), rows.catalog.tolist(), strict=True)),
            closing=closing,
            judgement=p,
            verdict=band.name if self.closing is None else self.closing.risk_bands.name(1.0 - p),
            closing_version=self.closing_version,
        )
        return scored, found

    def _closing(self, risk: float, row: Any) -> Closing:
        model = self.closing
        assert model is not None and model.risk_bands is not None
        reasons: dict[str, float] = {}
        if model.reasons is not None:
            proba = model.reasons.proba(row)[0]
            pairs = zip(model.reasons.reasons, proba.tolist(), strict=True)
            reasons = dict(sorted(pairs, key=lambda t: -t[1]))
        return Closing(
            risk=risk,
            reason=next(iter(reasons), None),
            reasons=reasons,
            closed_rate=model.risk_bands.of(risk).closed_rate,
            live_rate=model.risk_bands.live_rate,
        )


def _version(info: BundleInfo) -> str:
    return f"{info.name} {info.code_version} data {info.data_fingerprint[:12]}"
