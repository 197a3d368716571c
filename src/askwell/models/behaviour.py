"""Behavioural checks that any model bundle can be put through: the hand-written contrast
pairs (``assets/contrast_pairs.yaml``), two questions on one subject of which the well-asked
one must be judged better than the one with a flaw.

The behavioural suite (tests/model) holds the shipped model to every pair; the promotion gate
(``askwell models gates``) compares a challenger's share of pairs ranked right with the
champion's. Both read the pairs here. The judge is passed in (higher is better), so this
module needs no predictor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from importlib.resources import files
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from askwell.records import Question

CONTRAST_PAIRS = "contrast_pairs.yaml"

Judge = Callable[[Sequence[Question]], npt.NDArray[np.float64]]


@functools.cache
def contrast_pairs() -> tuple[dict[str, Any], ...]:
    """The hand-written pairs, in file order: ``{id, topic, kind, good, bad}`` each."""
    text = (files("askwell") / "assets" / CONTRAST_PAIRS).read_text(encoding="utf-8")
    return tuple(yaml.safe_load(text)["pairs"])


def contrast_pair(pair_id: str) -> dict[str, Any]:
    return next(p for p in contrast_pairs() if p["id"] == pair_id)


def question(fields: Mapping[str, Any]) -> Question:
    """A question from a ``{title, body, tags}`` mapping, as a person types it in the editor."""
    return Question.from_markdown(
        str(fields["title"]), str(fields["body"]), tuple(str(t) for t in fields["tags"])
    )


def contrast_check(judge: Judge) -> dict[str, Any]:
    """Every pair judged in one batched call: how many the judge ranks right (good strictly
    above bad), their share, and the ids of those it gets wrong, in file order."""
    pairs = contrast_pairs()
    scores = judge([question(p[side]) for p in pairs for side in ("good", "bad")])
    good, bad = scores[0::2], scores[1::2]
    wrong = [str(p["id"]) for p, g, b in zip(pairs, good, bad, strict=True) if not g > b]
    return {
        "n": len(pairs),
        "right": len(pairs) - len(wrong),
        "share": (len(pairs) - len(wrong)) / len(pairs),
        "wrong": wrong,
    }
