"""The feature catalog and the text statistics behind it: concrete questions, the catalog's
invariants, and properties over arbitrary unicode (total, finite, deterministic)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from askwell.data.text import BodyParts
from askwell.features.catalog import (
    BETTER,
    FEATURES,
    GROUPS,
    UnknownFeatureError,
    compute_features,
    feature_matrix,
    feature_names,
    get_feature,
)
from askwell.features.text_stats import (
    LEXICONS,
    NEUTRAL_GRADE,
    NEUTRAL_READING_EASE,
    WH_WORDS,
    caps_share,
    count_phrases,
    is_question_title,
    prose_stats,
    shouting_spans,
    shouting_words,
    split_sentences,
    syllables,
    words,
)
from askwell.records import Question

GOOD = Question.from_html(
    "How do I read a CSV file with a semicolon delimiter in pandas?",
    "<p>I have a CSV export from a European system where fields are separated by semicolons "
    "and decimals use a comma.</p>\n"
    "<p>I tried this:</p>\n"
    '<pre><code>import pandas as pd\ndf = pd.read_csv("export.csv")\nprint(df.dtypes)\n'
    "</code></pre>\n"
    "<p>I expected three columns (<code>date</code>, <code>amount</code>, "
    "<code>account</code>), but got a single column and this error message:</p>\n"
    "<pre><code>ParserError: Error tokenizing data. C error: Expected 1 fields in line 3, "
    "saw 2\n</code></pre>\n"
    "<p>How can I tell <code>read_csv</code> which delimiter and decimal separator to use?</p>",
    ("python", "pandas", "csv"),
)

BAD = Question.from_html(
    "URGENT plz help!!! my code doesnt work",
    "<p>hi guys, sorry for my english. my code doesnt work and i need it fixed ASAP!!! it "
    "gives some error or something. i tried stuff but NOTHING WORKS. thanks in advance</p>",
    ("python",),
)


# --- concrete questions


def test_good_question_has_the_expected_values() -> None:
    f = compute_features(GOOD)
    assert f["title_is_question"] == 1.0
    assert f["title_question_marks"] == 1.0
    assert f["body_question_marks"] == 1.0
    assert f["how_do_i"] == 2.0  # "How do I" (title) and "How can I" (body)
    assert f["wh_words"] == 4.0  # How, where, How, which
    assert f["n_code_blocks"] == 2.0
    assert f["n_inline_code"] == 4.0
    assert 0.3 < f["code_chars_share"] < 0.6
    assert f["effort_markers"] == 3.0  # I tried, I expected, error message
    assert f["has_error_text"] == 1.0
    assert f["n_tags"] == 3.0
    assert f["n_paragraphs"] == 4.0
    for name in ("greetings", "thanks", "apologies", "urgency", "vague_words"):
        assert f[name] == 0.0, name
    assert f["shouting_words"] == 0.0  # CSV is an acronym
    assert f["repeated_punctuation"] == 0.0
    assert f["n_sentences"] == 4.0
    assert f["title_words"] == 13.0


def test_bad_question_has_the_expected_values() -> None:
    f = compute_features(BAD)
    assert f["title_is_question"] == 0.0
    assert f["title_question_marks"] == f["body_question_marks"] == 0.0
    assert f["urgency"] == 3.0  # URGENT, plz, ASAP
    assert f["repeated_punctuation"] == 2.0  # "!!!" twice
    assert f["shouting_words"] == 4.0  # URGENT, ASAP, NOTHING, WORKS
    assert (f["greetings"], f["apologies"], f["thanks"]) == (1.0, 1.0, 1.0)
    assert f["vague_words"] == 4.0  # doesnt work (x2), something, stuff
    assert f["n_code_blocks"] == f["code_chars_share"] == f["n_inline_code"] == 0.0
    assert f["n_links"] == f["n_images"] == f["n_lists"] == 0.0


def test_good_beats_bad_where_it_should() -> None:
    good, bad = compute_features(GOOD), compute_features(BAD)
    for name in ("effort_markers", "n_code_blocks", "title_is_question", "n_tags"):
        assert good[name] > bad[name], name
    for name in ("urgency", "shouting_words", "repeated_punctuation", "vague_words"):
        assert good[name] < bad[name], name
    assert bad["caps_share"] > good["caps_share"]


def test_feature_compute_agrees_with_compute_features() -> None:
    values = compute_features(GOOD)
    assert all(f.compute(GOOD) == values[f.name] for f in FEATURES)


def test_empty_question_is_neutral_not_nan() -> None:
    f = compute_features(Question.from_html(None, None))
    assert f["flesch_reading_ease"] == NEUTRAL_READING_EASE
    assert f["fk_grade"] == NEUTRAL_GRADE
    assert all(v == 0.0 for k, v in f.items() if k not in ("flesch_reading_ease", "fk_grade"))


def test_shouting_excludes_acronyms_inline_code_and_tags() -> None:
    q = Question.from_html(
        "Why does NULL break my SQL?",
        "<p>The <code>WHERE x = NULL</code> clause in MYSQL returns NOTHING. HELP</p>",
        ("mysql",),
    )
    assert compute_features(q)["shouting_words"] == 2.0  # NOTHING, HELP; not NULL, MYSQL, SQL
    assert shouting_words("HELP me NOW with the API") == 2
    assert shouting_words("HELP me NOW", ("now",)) == 1


@pytest.mark.parametrize(
    ("text", "shouted"),
    [
        ("PLEASE HELP URGENT", ["PLEASE", "HELP", "URGENT"]),
        ("I use RSA and UTXO here.", []),  # short capitals, no ordinary word: acronyms
        ("It does NOT work.", ["NOT"]),
        ("I DON'T know.", ["DON'T"]),
        ("Built with CUDA, SHA256, X509 and MAX_SIZE.", []),  # digits, underscores: names
        ("HOW TO INSTALL CUDA ON UBUNTU", ["HOW", "TO", "INSTALL", "ON", "UBUNTU"]),
        ("it STILL DOES NOT WORK AT ALL", ["STILL", "DOES", "NOT", "WORK", "AT", "ALL"]),
        ("I'M STUCK WITH THIS", ["I'M", "STUCK", "WITH", "THIS"]),
        ("Use the NOT gate, or AND and OR gates.", []),  # named as code
        ("SELECT name FROM users WHERE id IS NOT NULL", []),  # a sentence of SQL
        ("EDIT: it works now.", []),
        ("TCS SIGACT FOCS STOC", []),  # capitals, but no ordinary word among them
    ],
)
def test_shouting_is_ordinary_words_in_capitals(text: str, shouted: list[str]) -> None:
    assert [text[a:b] for a, b in shouting_spans(text)] == shouted


def test_names_from_tags_inline_code_and_code_blocks_are_not_shouting() -> None:
    assert shouting_words("It does NOT work", ("not",)) == 0
    assert shouting_words("Why is MAX wrong? PLEASE", (), ("x = MAX_SIZE",)) == 1
    assert shouting_words("PLEASE", (), ("x = please",)) == 1  # code's capitals only


def test_caps_share_counts_cased_letters_only() -> None:
    assert caps_share("ABcd") == 0.5
    assert caps_share("漢字 AB") == 1.0  # scripts without case do not dilute it
    assert caps_share("123 ...") == 0.0


# --- sentences and words


def _sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "I use e.g. pale malt. Then I mash at 65.5 degrees, i.e. low. It works!",
            ["I use e.g. pale malt.", "Then I mash at 65.5 degrees, i.e. low.", "It works!"],
        ),
        (
            "Mr. Smith brews stouts, IPAs, etc. and more. Done.",
            ["Mr. Smith brews stouts, IPAs, etc. and more.", "Done."],
        ),
        ("Hops, malt, etc. Then boil.", ["Hops, malt, etc.", "Then boil."]),
        ("Version 3.5 is out. Is it stable?", ["Version 3.5 is out.", "Is it stable?"]),
        ("Cask vs. keg. See file.txt now.", ["Cask vs. keg.", "See file.txt now."]),
        ("Wait... what? Really?! Yes… Fine.", ["Wait... what?", "Really?!", "Yes…", "Fine."]),
        ('He said "stop." Then left.', ['He said "stop."', "Then left."]),
        (
            "First block.\n\nSecond block without a period\nthird line",
            ["First block.", "Second block without a period", "third line"],
        ),
        ("", []),
        ("  \n\n ... !!! \n", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert _sentences(text) == expected


def test_sentence_offsets_slice_back_into_the_text() -> None:
    text = "  Hello there.  How are you?\n\nFine, thanks!  "
    spans = split_sentences(text)
    assert spans == [(2, 14), (16, 28), (30, 43)]
    assert [text[a:b] for a, b in spans] == ["Hello there.", "How are you?", "Fine, thanks!"]


def test_words_keep_contractions_decimals_and_hyphens_together() -> None:
    assert words("It doesn't fit: 3.5 well-known e.g. foo_bar!") == [
        "It", "doesn't", "fit", "3.5", "well-known", "e.g", "foo_bar",
    ]  # fmt: skip


def test_sentence_statistics() -> None:
    short, long = "One two three.", " ".join(["word"] * 40) + "."
    stats = prose_stats(f"{short} {long}")
    assert stats.sentence_words == (3, 40)
    assert stats.n_words == 43
    assert stats.mean_sentence_words == 21.5
    assert stats.sentence_words_std == 18.5
    assert stats.long_sentence_share == 0.5


# --- syllables and readability


@pytest.mark.parametrize(
    ("word", "n"),
    [
        ("the", 1), ("beer", 1), ("make", 1), ("whole", 1), ("jumped", 1), ("makes", 1),
        ("table", 2), ("tables", 2), ("bottled", 2), ("wanted", 2), ("boxes", 2),
        ("agree", 2), ("brewing", 2), ("fermentation", 4), ("Carbonation", 4),
        ("rhythm", 1), ("42", 1), ("", 1), ("漢字", 1),
    ],
)  # fmt: skip
def test_syllables(word: str, n: int) -> None:
    assert syllables(word) == n


def test_simple_text_reads_easier_than_dense_text() -> None:
    simple = prose_stats("The cat sat on the mat. The dog ran to the park. We had fun.")
    dense = prose_stats(
        "Notwithstanding considerable methodological heterogeneity, contemporary fermentation "
        "investigations systematically demonstrate that temperature variability substantially "
        "influences ester concentration and organoleptic characteristics."
    )
    assert simple.reading_ease > 80 > 20 > dense.reading_ease
    assert simple.grade < 5 < 15 < dense.grade
    empty = prose_stats("")
    assert (empty.reading_ease, empty.grade) == (NEUTRAL_READING_EASE, NEUTRAL_GRADE)


# --- lexicons


def test_every_lexicon_phrase_counts_once_in_its_own_lexicon() -> None:
    for name, phrases in LEXICONS.items():
        for phrase in phrases:
            counts = count_phrases(f"x {phrase.upper()} y")
            wh = name != "wh" and phrase.split()[0] in WH_WORDS
            expected = {n: 0 for n in LEXICONS} | {name: 1} | ({"wh": 1} if wh else {})
            assert counts == expected, phrase


def test_phrases_match_on_word_boundaries_with_any_apostrophe() -> None:
    assert count_phrases("this tiara is thick")["greetings"] == 0  # no "hi", no "tia"
    # A "Hello World" program is no greeting; a hello that greets still is.
    assert count_phrases("My Hello World program fails")["greetings"] == 0
    assert count_phrases("Hello, my Hello World program fails")["greetings"] == 1
    assert count_phrases("Thanks in advance, THANKS")["thanks"] == 2
    assert count_phrases("I\u2019ve tried, Ive  tried, i've\ntried")["effort"] == 3
    assert count_phrases("it doesn\u2019t work, it doesnt work, etc.")["vague"] == 3


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("How do I bottle a stout?", True),
        ("how to prime bottles", True),
        ("Is it possible to brew without hops", True),
        ("Does beer go bad?  ", True),
        ("Whatever happened to porter", False),
        ("Bottling a stout", False),
        ("", False),
    ],
)
def test_title_is_question(title: str, expected: bool) -> None:
    assert is_question_title(title) is expected


# --- the catalog


def test_catalog_invariants() -> None:
    assert len(FEATURES) >= 28
    names = feature_names()
    assert names == [f.name for f in FEATURES]
    assert len(set(names)) == len(names)
    assert len({f.display for f in FEATURES}) == len(FEATURES)
    for f in FEATURES:
        assert re.fullmatch(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*", f.name), f.name
        assert all((f.display, f.description, f.unit, f.group)), f.name
        assert f.better in BETTER, f.name
        assert f.group in GROUPS, f.name
        assert f.description.endswith("."), f.name
        assert get_feature(f.name) is f
    assert {f.group for f in FEATURES} == set(GROUPS)


def test_unknown_feature_error_lists_the_names() -> None:
    with pytest.raises(UnknownFeatureError) as caught:
        get_feature("title_length_v2")
    assert isinstance(caught.value, KeyError)
    message = str(caught.value)
    assert "title_length_v2" in message
    assert all(name in message for name in feature_names())


def test_feature_matrix_shape_and_order() -> None:
    matrix = feature_matrix([GOOD, BAD])
    assert matrix.dtype == np.float64
    assert matrix.shape == (2, len(FEATURES))
    assert matrix[1].tolist() == list(compute_features(BAD).values())
    assert feature_matrix([]).shape == (0, len(FEATURES))


# --- properties over arbitrary input

_TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.sampled_from(list("Aa Ee.!?…\n'\u2019-3_ÉéΣσİß漢😀\x00")), max_size=120),
)
_STRINGS = st.lists(_TEXT, max_size=4).map(tuple)
_COUNT = st.integers(min_value=0, max_value=10**6)
_PARTS = st.builds(
    BodyParts,
    text=_TEXT,
    code_blocks=_STRINGS,
    inline_code=_STRINGS,
    links=_STRINGS,
    images=_STRINGS,
    quotes=_STRINGS,
    n_lists=_COUNT,
    n_list_items=_COUNT,
    n_paragraphs=_COUNT,
    n_blockquotes=_COUNT,
)
_QUESTIONS = st.one_of(
    st.builds(Question, title=_TEXT, body=_PARTS, tags=_STRINGS),
    st.builds(Question.from_html, title=_TEXT, body_html=_TEXT, tags=_STRINGS),
)


@settings(max_examples=300, deadline=None)
@given(_QUESTIONS)
def test_features_are_total_finite_and_deterministic(question: Question) -> None:
    first = compute_features(question)
    assert list(first) == feature_names()
    assert all(type(v) is float and math.isfinite(v) for v in first.values())
    assert compute_features(question) == first


@settings(max_examples=50, deadline=None)
@given(st.lists(_QUESTIONS, max_size=4))
def test_feature_matrix_rows_are_compute_features(questions: list[Question]) -> None:
    matrix = feature_matrix(questions)
    assert matrix.shape == (len(questions), len(FEATURES))
    for row, question in zip(matrix, questions, strict=True):
        assert row.tolist() == list(compute_features(question).values())


@settings(max_examples=300, deadline=None)
@given(_TEXT)
def test_sentences_are_ordered_trimmed_spans_that_hold_every_word(text: str) -> None:
    spans = split_sentences(text)
    assert spans == split_sentences(text)
    end = 0
    for a, b in spans:
        assert end <= a < b <= len(text)
        assert text[a:b] == text[a:b].strip()
        end = b
    assert sum(len(words(text[a:b])) for a, b in spans) == len(words(text))


@given(st.text(max_size=40))
def test_syllables_are_at_least_one(word: str) -> None:
    assert syllables(word) >= 1


def test_tags_are_whole_binary_tokens_and_optional() -> None:
    from askwell.features.pipeline import QuestionFeatures

    tagged = [
        Question.from_html("How do I loop?", "<p>I tried a loop</p>", ("python", "for-loop")),
        Question.from_html("Why?", "<p>text</p>", ("Python",)),
        Question.from_html("What?", "<p>text</p>", ("for-loop", "for-loop")),
    ]
    features = QuestionFeatures(max_word_features=0, max_char_features=0).fit(tagged)
    names = [n for n in features.get_feature_names_out() if n.startswith("tag:")]
    assert names == ["tag:for-loop", "tag:python"]  # hyphenated tags stay whole; case folded
    x = features.transform(tagged)[:, -2:].toarray()
    assert x.tolist() == [[1, 1], [0, 1], [1, 0]]  # binary, whatever the repeats
    untagged = [Question.from_html("How?", "<p>text</p>"), Question.from_html("Why?", "")]
    fitted = QuestionFeatures(max_word_features=0, max_char_features=0).fit(untagged)
    assert not [n for n in fitted.get_feature_names_out() if n.startswith("tag:")]
    assert fitted.transform(untagged).shape[0] == 2


def test_moderate_features_get_range_bins_that_name_their_range() -> None:
    from askwell.features.catalog import FEATURES
    from askwell.features.pipeline import QuestionFeatures
    from askwell.models.contributions import display_name, group_of

    questions = [
        Question.from_html("x" * n, "<p>" + "word " * (3 * n) + "</p>") for n in range(1, 60)
    ]
    features = QuestionFeatures(max_word_features=0, max_char_features=0, moderate_bins=3)
    x = features.fit(questions).transform(questions).toarray()
    names = list(features.get_feature_names_out())
    title = [i for i, n in enumerate(names) if n.startswith("bin:title_chars:")]
    assert len(title) == 3
    assert (x[:, title].sum(1) == 1).all()  # each question falls in exactly one range
    assert x[0, title[0]] == 1 and x[-1, title[-1]] == 1  # shortest first, longest last
    moderate = {f.name for f in FEATURES if f.better == "moderate"}
    assert {n.split(":")[1] for n in names if n.startswith("bin:")} <= moderate
    assert group_of(names[title[0]]) == "length"
    assert display_name(names[title[0]]).startswith("Title length 1 to ")
    plain = QuestionFeatures(max_word_features=0, max_char_features=0, moderate_bins=0)
    assert not [n for n in plain.fit(questions).get_feature_names_out() if n.startswith("bin:")]


def test_fast_range_bins_equal_the_discretizer() -> None:
    import warnings

    from askwell.features.pipeline import QuestionFeatures, _signed_log

    questions = [
        Question.from_html("t" * (n % 40 + 1), "<p>" + "w " * (n * 7 % 300) + "</p>" * (n % 3))
        for n in range(200)
    ]
    features = QuestionFeatures(max_word_features=0, max_char_features=0).fit(questions)
    assert features.bins_ is not None
    logged = _signed_log(feature_matrix(questions))[:, features.moderate_]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = features.bins_.transform(logged)
    fast = features._one_hot_bins(logged)
    assert np.array_equal(fast.toarray(), np.asarray(expected.todense()))


_SHOUTY = st.lists(
    st.sampled_from(
        [
            "PLEASE",
            "HELP",
            "NOT",
            "RSA",
            "CUDA",
            "INSTALL",
            "A",
            "I",
            "AND",
            "OR",
            "NULL",
            "SELECT",
            "it",
            "works",
            "gate",
            "x_1",
            ".",
            "?",
            "!",
            "\n",
            ",",
            " ",
            " ",
            "=",
            ";",
            "DON'T",
        ]
    ),
    max_size=40,
).map("".join)


@given(st.one_of(_TEXT, _SHOUTY))
def test_shouting_adds_up_over_sentences(text: str) -> None:
    """Shouting is read sentence by sentence, so the editor's leave-one-out counts (a
    question's minus a sentence's) are exact."""
    whole = shouting_words(text)
    assert whole == sum(shouting_words(text[a:b]) for a, b in split_sentences(text))
