"""Questions → one feature matrix: the catalog's interpretable features plus text vectors.

A fitted transformer in the scikit-learn contract (parameters in ``__init__``, learned state
ends in ``_``, ``fit`` returns ``self``). It is fitted on training questions only; the TF-IDF
vocabularies and the scaling of catalog features are learned there and nowhere else.
"""

from __future__ import annotations

import itertools
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer, TfidfVectorizer
from sklearn.preprocessing import KBinsDiscretizer, StandardScaler, normalize
from sklearn.utils.sparsefuncs_fast import inplace_csr_row_normalize_l2
from sklearn.utils.validation import check_is_fitted

from askwell.features.catalog import FEATURES, feature_matrix, feature_names, profile_values
from askwell.features.leave_one_out import sentence_ranges, without, word_counts
from askwell.features.text_stats import Tally, question_parts
from askwell.records import Question

_WORDS_AND_MARKS = r"(?u)\b\w+\b|[?!]"


def question_text(question: Question) -> str:
    """Title, prose and code, as one string for the word vectoriser."""
    return "\n".join((question.title, question.body.text, *question.body.code_blocks))


def tag_text(question: Question) -> str:
    """Tags as one string of whole-tag tokens (a tag is never split at its hyphens)."""
    return " ".join(question.tags)


@dataclass(frozen=True)
class EditorRows:
    """``QuestionFeatures.transform_editor``'s rows, and the question's catalog values."""

    x: sparse.csr_matrix
    catalog: npt.NDArray[np.float64]  # the question's, in catalog order


class QuestionFeatures(BaseEstimator, TransformerMixin):  # type: ignore[misc]
    """Catalog features (log-scaled counts, standardised) + word and title-character TF-IDF +
    tags (binary: how much attention a topic draws is part of how a question is received).

    Setting ``max_word_features`` or ``max_char_features`` to 0 leaves that part out, and
    ``use_catalog=False`` or ``use_tags=False`` leaves that part out (for ablations).
    ``word_ngrams`` is the longest word n-gram; ``word_punctuation`` keeps "?" and "!" as
    words and one-letter words too ("is there a way ?" and "plz help !!!" read differently);
    ``char_ngrams`` the title's character n-gram lengths.
    """

    def __init__(
        self,
        use_catalog: bool = True,
        max_word_features: int = 20_000,
        max_char_features: int = 5_000,
        min_df: int = 2,
        max_df: float = 0.5,
        use_tags: bool = True,
        moderate_bins: int = 5,
        word_ngrams: int = 2,
        word_punctuation: bool = False,
        char_ngrams: tuple[int, int] = (3, 5),
    ) -> None:
        self.use_catalog = use_catalog
        self.max_word_features = max_word_features
        self.max_char_features = max_char_features
        self.min_df = min_df
        self.max_df = max_df
        self.use_tags = use_tags
        self.moderate_bins = moderate_bins
        self.word_ngrams = word_ngrams
        self.word_punctuation = word_punctuation
        self.char_ngrams = char_ngrams

    def fit(self, questions: Sequence[Question], y: Any = None) -> Self:
        self.catalog_names_ = feature_names() if self.use_catalog else []
        self.bins_: KBinsDiscretizer | None = None
        if self.use_catalog:
            logged = _signed_log(feature_matrix(questions))
            self.scaler_ = StandardScaler().fit(logged)
            if self.moderate_bins:
                # A "moderate" feature is best in a middle range (a title neither 3 nor 300
                # characters long): one straight coefficient cannot say so, bins can.
                self.moderate_ = [i for i, f in enumerate(FEATURES) if f.better == "moderate"]
                with warnings.catch_warnings():  # tied values merge bins: expected, not news
                    warnings.simplefilter("ignore", UserWarning)
                    self.bins_ = KBinsDiscretizer(
                        n_bins=self.moderate_bins,
                        encode="onehot",
                        strategy="quantile",
                        quantile_method="averaged_inverted_cdf",
                        subsample=None,
                    ).fit(logged[:, self.moderate_])
        self.word_ = (
            self._word().fit([question_text(q) for q in questions])
            if (self.max_word_features)
            else None
        )
        self.char_ = (
            self._char().fit([q.title for q in questions]) if (self.max_char_features) else None
        )
        for vectorizer in (self.word_, self.char_):
            if vectorizer is not None:
                # Every term cut by min_df / max_df / max_features: only for introspection,
                # and many times the vocabulary's size in a saved bundle.
                vectorizer.stop_words_ = None
        # Without any tag seen min_df times (SEDE exports without Tags) the block is left out
        # rather than fitted empty, which scikit-learn refuses.
        tag_df = Counter(t.lower() for q in questions for t in set(q.tags))
        self.tags_ = (
            self._tags().fit([tag_text(q) for q in questions])
            if self.use_tags and any(n >= self.min_df for n in tag_df.values())
            else None
        )
        return self

    def transform(self, questions: Sequence[Question]) -> sparse.csr_matrix:
        check_is_fitted(self, "catalog_names_")
        return self.transform_with_catalog(questions, None)

    def transform_with_catalog(
        self,
        questions: Sequence[Question],
        catalog: npt.NDArray[np.float64] | None,
        word_counts: sparse.csr_matrix | None = None,
    ) -> sparse.csr_matrix:
        """``transform``, reusing catalog features (and word counts) already computed for
        ``questions``."""
        blocks = []
        if self.use_catalog:
            values = catalog if catalog is not None else feature_matrix(questions)
            logged = _signed_log(values)
            # StandardScaler.transform's arithmetic, without its per-call validation.
            blocks.append(sparse.csr_matrix((logged - self.scaler_.mean_) / self.scaler_.scale_))
            if self.bins_ is not None:
                blocks.append(self._one_hot_bins(logged[:, self.moderate_]))
        if self.word_ is not None:
            blocks.append(
                _vectorize(self.word_, [question_text(q) for q in questions])
                if word_counts is None
                else _tfidf(self.word_._tfidf, word_counts)  # the vectorizer's own weighting
            )
        if self.char_ is not None:
            blocks.append(_each_once(self.char_, [q.title for q in questions]))
        if self.tags_ is not None:
            blocks.append(_each_once(self.tags_, [tag_text(q) for q in questions]))
        return sparse.hstack(blocks, format="csr")

    def transform_editor(
        self,
        question: Question,
        spans: Sequence[tuple[int, int]],
        others: Sequence[Question] = (),
    ) -> EditorRows:
        """The rows of ``question``, of it without each span of whole sentences
        (``leave_one_out.without``) and of ``others`` (e.g. what-ifs), in that order: what
        ``transform`` gives them, with the variants counted from one read of the question
        rather than each re-read, and every block built in one call. Also the question's
        catalog values (what the service logs), so nothing reads it twice."""
        check_is_fitted(self, "catalog_names_")
        variants = [without(question, a, b) for a, b in spans]
        everyone = [question, *variants, *others]
        if self.word_ is not None and self.word_.ngram_range[0] != 1:
            # word_counts below counts every n-gram from single words up
            return EditorRows(self.transform(everyone), feature_matrix([question])[0])
        # Every what-if is read from pieces too: under another title only, from the
        # question's own parts; otherwise anew, but each sentence it shares with the
        # question (most of them) is counted once for both.
        memo: dict[tuple[str, frozenset[str]], Tally] = {}
        parts = question_parts(question, memo)
        ranges = sentence_ranges(parts, spans)
        theirs = [
            parts.retitled(o)
            if o.body == question.body and o.tags == question.tags
            else question_parts(o, memo)
            for o in others
        ]
        catalog = None
        if self.use_catalog:
            profiles = (
                [parts.profile()]
                + [
                    parts.profile_without(r.start, r.stop - 1, v)
                    for r, v in zip(ranges, variants, strict=True)
                ]
                + [p.profile() for p in theirs]
            )
            catalog = np.array([profile_values(p) for p in profiles], dtype=np.float64)
        counts = None
        if self.word_ is not None:
            preprocess, tokenize = self.word_.build_preprocessor(), self.word_.build_tokenizer()
            seen: dict[str, list[str]] = {}

            def tokens(text: str) -> list[str]:
                found = seen.get(text)
                if found is None:
                    found = seen[text] = tokenize(preprocess(text))
                return found

            vocabulary, dtype = self.word_.vocabulary_, self.word_.dtype
            longest = self.word_.ngram_range[1]
            blocks = [word_counts(parts, ranges, tokens, vocabulary, dtype, longest)]
            blocks += [word_counts(p, [], tokens, vocabulary, dtype, longest) for p in theirs]
            counts = sparse.vstack(blocks, format="csr")
        x = self.transform_with_catalog(everyone, catalog, counts)
        own_values = catalog[0] if catalog is not None else feature_matrix([question])[0]
        return EditorRows(x, own_values)

    def _one_hot_bins(self, values: npt.NDArray[np.float64]) -> sparse.csr_matrix:
        """``bins_.transform`` without its per-call validation and encoder: the same bin
        (``searchsorted`` on the inner edges, as KBinsDiscretizer does), a few times faster on
        the one-question calls of the editor."""
        assert self.bins_ is not None
        rows, cols, offset = [], [], 0
        n = values.shape[0]
        for j, edges in enumerate(self.bins_.bin_edges_):
            k = len(edges) - 1
            index = np.clip(np.searchsorted(edges[1:-1], values[:, j], side="right"), 0, k - 1)
            rows.append(np.arange(n))
            cols.append(offset + index)
            offset += k
        return sparse.csr_matrix(
            (np.ones(n * len(rows)), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, offset),
        )

    def get_feature_names_out(self, input_features: Any = None) -> npt.NDArray[np.str_]:
        check_is_fitted(self, "catalog_names_")
        names = list(self.catalog_names_)
        if self.bins_ is not None:
            for i, edges in zip(self.moderate_, self.bins_.bin_edges_, strict=True):
                raw = np.sign(edges) * np.expm1(np.abs(edges))  # back from the signed log
                names += [
                    f"bin:{FEATURES[i].name}:{lo:.3g} to {hi:.3g}"
                    for lo, hi in itertools.pairwise(raw)
                ]
        if self.word_ is not None:
            names += [f"word:{t}" for t in self.word_.get_feature_names_out()]
        if self.char_ is not None:
            names += [f"title_chars:{t}" for t in self.char_.get_feature_names_out()]
        if self.tags_ is not None:
            names += [f"tag:{t}" for t in self.tags_.get_feature_names_out()]
        return np.array(names)

    def _word(self) -> TfidfVectorizer:
        return TfidfVectorizer(
            max_features=self.max_word_features,
            min_df=self.min_df,
            max_df=self.max_df,
            ngram_range=(1, self.word_ngrams),
            sublinear_tf=True,
            strip_accents="unicode",
            token_pattern=_WORDS_AND_MARKS if self.word_punctuation else r"(?u)\b\w\w+\b",
            dtype=np.float32,
        )

    def _tags(self) -> CountVectorizer:
        return CountVectorizer(
            token_pattern=r"\S+", lowercase=True, binary=True, min_df=self.min_df, dtype=np.float32
        )

    def _char(self) -> TfidfVectorizer:
        return TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=self.char_ngrams,
            max_features=self.max_char_features,
            min_df=self.min_df,
            sublinear_tf=True,
            dtype=np.float32,
        )


def _each_once(vectorizer: CountVectorizer, texts: list[str]) -> sparse.csr_matrix:
    """``vectorizer.transform(texts)``, analysing each distinct text once: the editor's
    what-if variants of one question all share its title and tags."""
    distinct = list(dict.fromkeys(texts))
    if len(distinct) == len(texts):
        return _vectorize(vectorizer, texts)
    index = {t: i for i, t in enumerate(distinct)}
    rows: sparse.csr_matrix = _vectorize(vectorizer, distinct)[[index[t] for t in texts]]
    return rows


# scikit-learn's transforms check their input on every call: a third of their time on the
# editor's few rows. These are the same arithmetic without the checks (the inputs are ours;
# a test holds them equal to scikit-learn's, value for value).


def _vectorize(vectorizer: CountVectorizer, texts: list[str]) -> sparse.csr_matrix:
    """``vectorizer.transform(texts)`` for a fitted Count- or TfidfVectorizer."""
    _, counts = vectorizer._count_vocab(texts, fixed_vocab=True)
    if vectorizer.binary:
        counts.data.fill(1)
    if isinstance(vectorizer, TfidfVectorizer):
        return _tfidf(vectorizer._tfidf, counts)
    return counts


def _tfidf(weighting: TfidfTransformer, counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """``weighting.transform(counts, copy=False)``: sublinear tf, idf, then unit rows."""
    if counts.dtype not in (np.float32, np.float64):
        counts = counts.astype(np.float64)  # as scikit-learn converts integer counts
    if weighting.sublinear_tf:
        np.log(counts.data, counts.data)
        counts.data += 1.0
    if hasattr(weighting, "idf_"):
        counts.data *= weighting.idf_[counts.indices]
    if weighting.norm == "l2":
        inplace_csr_row_normalize_l2(counts)
    elif weighting.norm is not None:
        return normalize(counts, norm=weighting.norm, copy=False)
    return counts


def _signed_log(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Counts and lengths are heavy-tailed: log1p keeps one 10 kB body from dominating."""
    result: npt.NDArray[np.float64] = np.sign(values) * np.log1p(np.abs(values))
    return result
