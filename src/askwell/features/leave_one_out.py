"""A question without one of its passages, and the feature rows of every such variant from
one read of the question.

The editor's highlights score the question once without each sentence. Re-reading each
variant from scratch costs the square of the text's length; here the question is read once,
piece by piece (``text_stats.question_parts``: the catalog's counts add up over sentences,
and so do the word n-grams but for those that straddle a removed sentence), and each
variant's counts are the question's minus the passage's. The rows equal those that
``QuestionFeatures.transform`` gives the variants (tested on real questions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
from scipy import sparse

from askwell.features.text_stats import QuestionParts
from askwell.records import Question

Tokens = Callable[[str], list[str]]


def without(question: Question, start: int, end: int) -> Question:
    """The question with ``body.text[start:end]`` (whole sentences) removed. The whitespace
    before the passage is kept and that after it dropped, so the sentences around it stay
    sentences as they were (one that ended at a line break still does)."""
    text = question.body.text
    joined = (text[:start] + text[end:].lstrip()).strip()
    return replace(question, body=replace(question.body, text=joined))


def sentence_ranges(parts: QuestionParts, spans: Sequence[tuple[int, int]]) -> list[range]:
    """For each span of whole sentences, the indices of the sentences it covers."""
    starts = [a for a, _, _ in parts.sentences]
    ends = [b for _, b, _ in parts.sentences]
    ranges = []
    for a, b in spans:
        try:
            ranges.append(range(starts.index(a), ends.index(b) + 1))
        except ValueError:
            raise ValueError(f"span {a}:{b} is not a run of whole sentences") from None
    return ranges


def word_counts(
    parts: QuestionParts,
    ranges: Sequence[range],
    tokens: Tokens,
    vocabulary: dict[str, int],
    dtype: type[np.floating],
    longest: int = 2,
) -> sparse.csr_matrix:
    """Word n-gram counts, n from 1 to ``longest`` (a CountVectorizer's, over
    ``question_text``) of the question, then of it without each range of sentences:
    1 + len(ranges) rows, columns by ``vocabulary``. ``tokens`` is the vectorizer's
    preprocessing and tokenising of a text."""
    q = parts.question
    text = q.body.text
    title = tokens(q.title)
    sentences = [tokens(text[a:b]) for a, b, _ in parts.sentences]
    # Tokens never cross whitespace, and pieces are cut at whitespace (the document's parts
    # are joined by line breaks; sentences are separated by spaces or line breaks).
    offsets, n = [], len(title)
    for found in sentences:
        offsets.append(n)
        n += len(found)
    every = [*title, *(t for found in sentences for t in found)]
    every += [t for code in q.body.code_blocks for t in tokens(code)]
    # Per length, each position's column of the n-gram starting there (-1: not in the
    # vocabulary); a variant's counts are the question's minus its passage's positions.
    grams = [
        np.array(
            [vocabulary.get(" ".join(every[j : j + size]), -1) for j in range(n_grams)],
            dtype=np.int64,
        )
        for size in range(1, longest + 1)
        for n_grams in [max(len(every) - size + 1, 0)]
    ]
    base = np.concatenate(grams)
    base = base[base >= 0]
    rows_out, cols_out, vals_out = (
        [np.zeros(len(base), dtype=np.int64)],
        [base],
        [np.ones(len(base))],
    )
    for r, rng in enumerate(ranges, start=1):
        p = offsets[rng.start]
        end = offsets[rng.stop - 1] + len(sentences[rng.stop - 1])
        # Out: every n-gram touching the passage; in: those that now join its neighbours
        # (k words before it, the rest after it).
        gone = np.concatenate(
            [g[max(p - size + 1, 0) : min(end, len(g))] for size, g in enumerate(grams, 1)]
        )
        gone = gone[gone >= 0]
        joined = [
            vocabulary.get(" ".join(every[p - k : p] + every[end : end + size - k]), -1)
            for size in range(2, longest + 1)
            for k in range(1, size)
            if p - k >= 0 and end + size - k <= len(every)
        ]
        joined = [j for j in joined if j >= 0]
        cols = np.concatenate([base, gone, joined]).astype(np.int64)
        vals = np.concatenate([np.ones(len(base)), -np.ones(len(gone)), np.ones(len(joined))])
        rows_out.append(np.full(len(cols), r))
        cols_out.append(cols)
        vals_out.append(vals)
    shape = (1 + len(ranges), len(vocabulary))
    counts = sparse.csr_matrix(
        (np.concatenate(vals_out), (np.concatenate(rows_out), np.concatenate(cols_out))),
        shape=shape,
        dtype=dtype,
    )  # duplicates (a column in the base and in the delta) are summed
    counts.eliminate_zeros()
    counts.sort_indices()
    return counts
