"""Behavioural checks that any model bundle can be put through, three of them:

- ``contrast_check``: the hand-written contrast pairs (``assets/contrast_pairs.yaml``), two
  questions on one subject of which the well-asked one must be judged better than the one
  with a flaw;
- ``directional_check``: real questions against themselves made worse by each of
  ``perturbations.DIRECTIONAL`` (code removed, the question removed, a plea instead): the
  original must be judged strictly better;
- ``invariance_check``: real questions against themselves edited by each of
  ``perturbations.INVARIANT`` (an identifier renamed, tags reordered, a number in the code
  changed, a typo): the judgement must move less than a tolerance.

The behavioural suite (tests/model) holds the shipped model to bars on each; the promotion
gate (``askwell models gates``) compares a challenger's shares with the champion's, on the
test part of a dataset. Both read the pairs and the edits here. The judge is passed in
(higher is better), so this module needs no predictor.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from importlib.resources import files
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from askwell.models.perturbations import DIRECTIONAL, INVARIANT, Edit
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


def _edited(
    questions: Sequence[Question], edits: Mapping[str, Edit], per_edit: int, seed: int
) -> dict[str, list[tuple[int, Question]]]:
    """Per edit, up to ``per_edit`` of ``questions`` it applies to, each with its edited
    version: taken in one seeded random order (the same questions for every judge given the
    same seed), then put back in the questions' order."""
    order = np.random.default_rng(seed).permutation(len(questions))
    out: dict[str, list[tuple[int, Question]]] = {}
    for name, edit in edits.items():
        picked: list[tuple[int, Question]] = []
        for i in order:
            if len(picked) == per_edit:
                break
            edited = edit(questions[i], int(i))
            if edited is not None:
                picked.append((int(i), edited))
        out[name] = sorted(picked, key=lambda pair: pair[0])
    return out


def _judged(
    judge: Judge, questions: Sequence[Question], edited: dict[str, list[tuple[int, Question]]]
) -> dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
    """Per edit, the judgements (before, after) of its pairs: two batched calls in all."""
    originals = sorted({i for pairs in edited.values() for i, _ in pairs})
    before = dict(zip(originals, judge([questions[i] for i in originals]), strict=True))
    after = iter(judge([q for pairs in edited.values() for _, q in pairs]))
    return {
        name: (
            np.array([before[i] for i, _ in pairs], dtype=np.float64),
            np.array([next(after) for _ in pairs], dtype=np.float64),
        )
        for name, pairs in edited.items()
    }


def _share(hits: int, n: int) -> float | None:
    return hits / n if n else None


def directional_check(
    judge: Judge, questions: Sequence[Question], per_edit: int, seed: int = 0
) -> dict[str, Any]:
    """For each edit that makes a question worse, over up to ``per_edit`` of ``questions``
    it applies to: how many originals the judge ranks strictly above their edited version,
    and the share; ``share`` overall is of all pairs (None: no edit applied to any)."""
    judged = _judged(judge, questions, _edited(questions, DIRECTIONAL, per_edit, seed))
    edits: dict[str, dict[str, Any]] = {}
    n = right = 0
    for name, (before, after) in judged.items():
        hits = int(np.sum(before > after))
        edits[name] = {"n": len(before), "right": hits, "share": _share(hits, len(before))}
        n, right = n + len(before), right + hits
    return {"n": n, "right": right, "share": _share(right, n), "edits": edits}


def invariance_check(
    judge: Judge, questions: Sequence[Question], per_edit: int, tolerance: float, seed: int = 0
) -> dict[str, Any]:
    """For each edit that changes nothing about how well a question is asked, over up to
    ``per_edit`` of ``questions`` it applies to: how many judgements move by less than
    ``tolerance``, the share, and the largest move; ``share`` overall is of all pairs (None:
    no edit applied to any)."""
    judged = _judged(judge, questions, _edited(questions, INVARIANT, per_edit, seed))
    edits: dict[str, dict[str, Any]] = {}
    n = within = 0
    for name, (before, after) in judged.items():
        moves = np.abs(after - before)
        hits = int(np.sum(moves < tolerance))
        edits[name] = {
            "n": len(moves),
            "within": hits,
            "share": _share(hits, len(moves)),
            "largest_move": float(moves.max()) if len(moves) else None,
        }
        n, within = n + len(moves), within + hits
    return {
        "n": n,
        "within": within,
        "share": _share(within, n),
        "tolerance": tolerance,
        "edits": edits,
    }
