"""The editor's fast path: a question's leave-one-out variants counted from one read of it
must give the rows that reading each variant again gives, on real questions."""

from __future__ import annotations

import numpy as np
import pytest

from askwell.data.dataset import Dataset
from askwell.explain.highlights import pieces
from askwell.explain.suggestions import candidates
from askwell.features.leave_one_out import without
from askwell.features.text_stats import profile_question, question_parts
from askwell.models.train import _TEXT_COLUMNS
from askwell.records import Question
from tests.conftest import DUMPS, default_model, ingest_dataset

pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def questions(tmp_path_factory: pytest.TempPathFactory) -> list[Question]:
    out = tmp_path_factory.mktemp("loo") / "ds"
    dataset: Dataset = ingest_dataset(
        out, DUMPS / "stackoverflow.com-2008-08-slice", DUMPS / "beer.stackexchange.com"
    )
    rows = dataset.table("questions", _TEXT_COLUMNS).to_pylist()
    return [Question.from_row(r) for r in rows[::3]]


def test_variant_rows_equal_the_rows_of_the_variants_read_again(
    questions: list[Question],
) -> None:
    features = default_model().features
    n_bins = sum(len(edges) - 1 for edges in features.bins_.bin_edges_)
    word = slice(len(features.catalog_names_) + n_bins, None)
    checked = 0
    for q in questions:
        spans = pieces(q.body.text)
        others = [w for _, _, w in candidates(q)]
        fast = features.transform_editor(q, spans, others).x
        slow = features.transform([q, *(without(q, a, b) for a, b in spans), *others])
        assert fast.shape == slow.shape
        # Words, title characters and tags: always the same rows.
        assert abs(fast[:, word] - slow[:, word]).max() < 1e-6 if fast.nnz else True
        # Every block, the catalog too, on every question: where removing a sentence
        # changes how its neighbours split ("works... then": "..." ends a sentence before a
        # capital only), the fast path reads that variant whole.
        assert abs(fast - slow).max() <= 1e-12 if fast.nnz or slow.nnz else True, q.title
        checked += 1
    assert checked > 200


def test_the_question_s_own_catalog_values_come_with_its_rows(
    questions: list[Question],
) -> None:
    from askwell.features.catalog import feature_matrix

    features = default_model().features
    for q in questions[:50]:
        rows = features.transform_editor(q, pieces(q.body.text))
        assert (rows.catalog == feature_matrix([q])[0]).all()


def test_a_rejoined_neighbour_is_read_again() -> None:
    """ "..." ends a sentence only before a capital: without the sentence after it, the
    one before runs on into the next, and the fast profile must say so too."""
    q = Question.from_markdown(
        "Why does it fail?", "I tried it... It failed badly. then it worked. Done now.", ()
    )
    parts = question_parts(q)
    spans = [(a, b) for a, b, _ in parts.sentences]
    for i, (a, b) in enumerate(spans):
        variant = without(q, a, b)
        assert parts.profile_without(i, i, variant) == profile_question(variant), i
    merged = without(q, *spans[1])
    assert profile_question(merged).body.n_sentences == 2  # "I tried it... then it worked."


def test_the_profile_is_the_sum_of_its_pieces(questions: list[Question]) -> None:
    for q in questions[:300]:
        parts = question_parts(q)
        assert parts.profile() == profile_question(q)
        if len(parts.sentences) > 1:
            variant = without(q, parts.sentences[0][0], parts.sentences[0][1])
            fast = parts.profile_without(0, 0, variant)
            slow = profile_question(variant)
            assert np.isclose(fast.caps_share, slow.caps_share)
            assert (fast.phrases, fast.shouting_words, fast.body_punctuation) == (
                slow.phrases,
                slow.shouting_words,
                slow.body_punctuation,
            )


def test_the_unchecked_text_transforms_equal_scikit_learn_s(questions: list[Question]) -> None:
    """The editor's word, title-character and tag blocks skip scikit-learn's input checks:
    value for value (and dtype) what its own transforms give, on real questions."""
    from askwell.features.pipeline import _tfidf, _vectorize, question_text, tag_text

    features = default_model().features
    texts = {
        "word": [question_text(q) for q in questions],
        "char": [q.title for q in questions],
        "tags": [tag_text(q) for q in questions],
    }
    for name, vectorizer in (
        ("word", features.word_),
        ("char", features.char_),
        ("tags", features.tags_),
    ):
        ours, theirs = _vectorize(vectorizer, texts[name]), vectorizer.transform(texts[name])
        assert ours.dtype == theirs.dtype and ours.nnz == theirs.nnz > 0, name
        assert (ours != theirs).nnz == 0, name
    counts = features.word_._count_vocab(texts["word"], fixed_vocab=True)[1]
    theirs = features.word_._tfidf.transform(counts)
    assert (_tfidf(features.word_._tfidf, counts.copy()) != theirs).nnz == 0


@pytest.mark.parametrize("longest", [1, 3, 4])
def test_variant_word_rows_hold_for_every_n_gram_length(
    questions: list[Question], longest: int
) -> None:
    """The closing model reads word 1-3-grams with "?" and "!" as words: every n-gram that
    straddles a removed sentence must leave, and those joining its neighbours come in."""
    from askwell.features.pipeline import QuestionFeatures

    features = QuestionFeatures(
        use_catalog=False,
        max_word_features=50_000,
        max_char_features=0,
        use_tags=False,
        word_ngrams=longest,
        word_punctuation=True,
        min_df=1,
    ).fit(questions)
    assert features.word_.ngram_range == (1, longest)
    checked = 0
    for q in questions:
        spans = pieces(q.body.text)
        fast = features.transform_editor(q, spans).x
        slow = features.transform([q, *(without(q, a, b) for a, b in spans)])
        assert fast.shape == slow.shape
        assert abs(fast - slow).max() < 1e-6 if fast.nnz else True
        checked += len(spans) > 1
    assert checked > 100
