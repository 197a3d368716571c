"""A question without one of its passages, and the feature rows of every such variant from
one read of the question.

The editor's highlights score the question once without each sentence. Re-reading each
variant from scratch costs the square of the text's length; here the question is read once,
piece by piece (``text_stats.question_parts``: the catalog's counts add up over sentences,
and so do the word n-grams but for the two that straddle a removed sentence), and each
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
) -> sparse.csr_matrix:
    """Unigram and bigram counts (a CountVectorizer's, over ``question_text``) of the
    question, then of it without each range of sentences: 1 + len(ranges) rows, columns by
    ``vocabulary``. ``tokens`` is the vectorizer's preprocessing and tokenising of a text."""
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
    # Each position's unigram column and that of the bigram starting there (-1: not in the
    # vocabulary); a variant's counts are the question's minus its passage's positions.
    uni = np.array([vocabulary.get(t, -1) for t in every], dtype=np.int64)
    bi = np.array(
        [vocabulary.get(f"{every[j]} {every[j + 1]}", -1) for j in range(len(every) - 1)],
        dtype=np.int64,
    )
    base = np.concatenate([uni, bi])
    base = base[base >= 0]
    rows_out, cols_out, vals_out = (
        [np.zeros(len(base), dtype=np.int64)],
        [base],
        [np.ones(len(base))],
    )
    for r, rng in enumerate(ranges, start=1):
        p = offsets[rng.start]
        end = offsets[rng.stop - 1] + len(sentences[rng.stop - 1])
        # Out: the passage's unigrams and every bigram touching it; in: the bigram that
        # now joins its neighbours.
        gone = np.concatenate([uni[p:end], bi[max(p - 1, 0) : min(end, len(bi))]])
        gone = gone[gone >= 0]
        joined = (
            vocabulary.get(f"{every[p - 1]} {every[end]}", -1) if p > 0 and end < len(every) else -1
        )
        cols = np.concatenate([base, gone, [joined] if joined >= 0 else []]).astype(np.int64)
        vals = np.concatenate(
            [np.ones(len(base)), -np.ones(len(gone)), np.ones(len(cols) - len(base) - len(gone))]
        )
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
