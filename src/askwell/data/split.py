"""Leakage-free splits of questions into train / validation / test.

- ``time`` (the default): per site, the oldest questions train and the newest test, with the
  validation slice carved from the end of train. What a deployed model faces: the future.
- ``author``: every author's questions fall in one part only, so a model cannot recognise a
  person's style instead of judging the question.
- ``first_tag``: every first tag (per site) falls in one part only, so the test questions are
  on subjects the model never saw in training: how it does on a new community.
- ``random``: for comparison only, to show how much leakage flatters a model.

Identical title + body pairs are removed first (the earliest is kept), so the same text can
never sit on both sides; then near-duplicates (a reposted question with a word changed): the
Jaccard similarity of their word 3-gram sets, estimated with MinHash and found with
locality-sensitive hashing (datasketch), at or above a threshold. What was dropped is
reported.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from askwell.errors import AskwellError

TRAIN, VAL, TEST = "train", "val", "test"
_SEP = "\u241f"  # between title and body in the duplicate key; not whitespace, unlike \x1f
PARTS = (TRAIN, VAL, TEST)


class UnknownSplitError(AskwellError, KeyError):
    """A split strategy name that is not registered."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0])


@dataclass
class SplitReport:
    """What a split did: sizes per part and what it had to leave out, and why."""

    strategy: str
    sizes: dict[str, int] = field(default_factory=dict)
    duplicates_dropped: int = 0
    near_duplicates_dropped: int = 0
    undated_dropped: int = 0


@dataclass(frozen=True)
class SplitConfig:
    test_fraction: float = 0.2
    val_fraction: float = 0.1  # of the training portion, carved from its end (time split)
    seed: int = 0
    near_duplicates: float | None = 0.8  # Jaccard of word 3-gram sets; None: exact only


_SHINGLE = 3  # words per shingle
_PERMUTATIONS = 64  # MinHash permutations: Jaccard estimated to about +-0.06
_RECALL_MARGIN = 0.75  # LSH candidate threshold, as a share of the near-duplicate threshold


def _text_key(frame: pd.DataFrame) -> pd.Series:
    """Title and prose, whitespace- and case-normalised: 'the same question' twice."""
    title = frame["title"].fillna("").astype(str)
    body = frame["body_text"].fillna("").astype(str)
    return (title + _SEP + body).str.lower().str.split().str.join(" ")


def drop_duplicates(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Keeps the earliest of each identical title + body (questions without any text are
    never duplicates of each other: they carry no text to leak)."""
    key = _text_key(frame).to_numpy()
    order = _oldest_first(frame)
    dup = pd.Series(key[order]).duplicated().to_numpy() & (key[order] != _SEP)
    drop = np.zeros(len(frame), dtype=bool)
    drop[order[dup]] = True
    return frame[~drop], int(drop.sum())


def _oldest_first(frame: pd.DataFrame) -> npt.NDArray[np.intp]:
    """Row positions by creation date then id, undated last. Positions, not index labels:
    a frame may repeat labels (concatenated tables)."""
    ordered = frame[["creation_date", "id"]].reset_index(drop=True)
    return ordered.sort_values(["creation_date", "id"], na_position="last").index.to_numpy()


def drop_near_duplicates(frame: pd.DataFrame, threshold: float) -> tuple[pd.DataFrame, int]:
    """Keeps the earliest of each group of questions whose title + prose word 3-gram sets
    have an (estimated) Jaccard similarity of at least ``threshold``."""
    from datasketch import MinHash, MinHashLSH

    order = _oldest_first(frame)
    keys = _text_key(frame).str.replace(_SEP, " ", regex=False).str.split().to_list()
    words = [keys[i] for i in order]
    shingles = [
        {" ".join(w[i : i + _SHINGLE]).encode() for i in range(max(1, len(w) - _SHINGLE + 1))}
        for w in words
    ]
    # Candidates are looked up at a lower similarity than the threshold: LSH's banding
    # misses about one pair in seven at Jaccard 0.9 when tuned to the threshold itself.
    index = MinHashLSH(threshold=threshold * _RECALL_MARGIN, num_perm=_PERMUTATIONS)
    kept: dict[int, MinHash] = {}
    drop = np.zeros(len(frame), dtype=bool)
    for row, (position, sketch) in enumerate(
        zip(order, MinHash.bulk(shingles, num_perm=_PERMUTATIONS), strict=True)
    ):
        if not words[row]:  # no text, nothing to leak
            continue
        # LSH finds candidates; the estimate decides (a band collision alone is not enough).
        if any(sketch.jaccard(kept[c]) >= threshold for c in index.query(sketch)):
            drop[position] = True
        else:
            index.insert(row, sketch)
            kept[row] = sketch
    return frame[~drop], int(drop.sum())


def _time(frame: pd.DataFrame, config: SplitConfig) -> pd.Series:
    part = pd.Series(TRAIN, index=frame.index, dtype=object)
    for _, site in frame.groupby("site", sort=True):
        ordered = site.sort_values(["creation_date", "id"]).index
        n = len(ordered)
        n_test = round(n * config.test_fraction)
        n_train = n - n_test
        n_val = round(n_train * config.val_fraction)
        part.loc[ordered[n_train:]] = TEST
        part.loc[ordered[n_train - n_val : n_train]] = VAL
        _enforce_time_order(site.loc[ordered], part)
    return part


def _enforce_time_order(site: pd.DataFrame, part: pd.Series) -> None:
    """Questions posted at the very same instant as the first test question cannot be
    older than it: they move to test, so every training question is strictly older."""
    test = site.index[part.loc[site.index] == TEST]
    if len(test):
        first_test = site.loc[test, "creation_date"].min()
        tied = site.index[(site["creation_date"] >= first_test) & (part.loc[site.index] != TEST)]
        part.loc[tied] = TEST
    val = site.index[part.loc[site.index] == VAL]
    if len(val):
        first_val = site.loc[val, "creation_date"].min()
        tied = site.index[(site["creation_date"] >= first_val) & (part.loc[site.index] == TRAIN)]
        part.loc[tied] = VAL


def _grouped(groups: pd.Series, config: SplitConfig) -> pd.Series:
    """Whole groups to each part, in a seeded random order, until each part is full."""
    rng = np.random.default_rng(config.seed)
    sizes = groups.value_counts(sort=False)
    keys = sizes.index.to_numpy()[rng.permutation(len(sizes))]
    total = len(groups)
    test_target = total * config.test_fraction
    val_target = (total - test_target) * config.val_fraction
    assignment: dict[object, str] = {}
    filled = {TEST: 0, VAL: 0}
    for key in keys:
        n = int(sizes[key])
        if filled[TEST] + n / 2 <= test_target:
            assignment[key] = TEST
            filled[TEST] += n
        elif filled[VAL] + n / 2 <= val_target:
            assignment[key] = VAL
            filled[VAL] += n
        else:
            assignment[key] = TRAIN
    return groups.map(assignment).astype(object)


def _author(frame: pd.DataFrame, config: SplitConfig) -> pd.Series:
    owner = frame["owner_user_id"]
    # A question without a known author is its own group (it can still not leak a person).
    groups = (frame["site"].astype(str) + "/" + owner.astype("Int64").astype(str)).where(
        owner.notna(), "anon/" + frame["site"].astype(str) + "/" + frame["id"].astype(str)
    )
    return _grouped(groups, config)


def _first_tag(frame: pd.DataFrame, config: SplitConfig) -> pd.Series:
    first = frame["tags"].map(lambda tags: str(tags[0]) if len(tags) else "(no tags)")
    return _grouped(frame["site"].astype(str) + "/" + first, config)


def _random(frame: pd.DataFrame, config: SplitConfig) -> pd.Series:
    groups = frame["site"].astype(str) + "/" + frame["id"].astype(str)
    return _grouped(groups, config)


STRATEGIES: dict[str, Callable[[pd.DataFrame, SplitConfig], pd.Series]] = {
    "time": _time,
    "author": _author,
    "first_tag": _first_tag,
    "random": _random,
}


def split(
    frame: pd.DataFrame, strategy: str = "time", config: SplitConfig | None = None
) -> tuple[pd.DataFrame, SplitReport]:
    """The frame without duplicates (and, for the time split, without undated questions),
    with a ``part`` column: ``train``, ``val`` or ``test``."""
    if strategy not in STRATEGIES:
        raise UnknownSplitError(
            f"unknown split {strategy!r}; valid splits are {', '.join(sorted(STRATEGIES))}"
        )
    config = config or SplitConfig()
    report = SplitReport(strategy)
    frame, report.duplicates_dropped = drop_duplicates(frame)
    if config.near_duplicates is not None:
        frame, report.near_duplicates_dropped = drop_near_duplicates(frame, config.near_duplicates)
    if strategy == "time":
        dated = frame["creation_date"].notna()
        report.undated_dropped = int((~dated).sum())
        frame = frame[dated]
    frame = frame.assign(part=STRATEGIES[strategy](frame, config))
    report.sizes = {p: int((frame["part"] == p).sum()) for p in PARTS}
    return frame, report
