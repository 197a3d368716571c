"""``askwell data profile`` on a dataset ingested from real dumps, checked against pandas."""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from askwell.config import IngestSettings, ProfileSettings
from askwell.data.ingest import ingest
from askwell.data.profile import (
    ALL_SITES,
    Profile,
    SiteProfile,
    profile_dataset,
    render_table,
    write_html,
)
from askwell.errors import InputError
from tests.conftest import SHARED_DATA

pytestmark = pytest.mark.data

BEER = "beer.stackexchange.com"
ENGLISH = "english.stackexchange.com-meta-only__noah-kg"  # metadata only: no Title, no Body
MO_META = "meta.mathoverflow.net"  # old dump: AnswerCount missing on some rows
SO_TOP = "stackoverflow-top__Maelys0903"  # no CreationDate, no AcceptedAnswerId
SOURCES = [
    SHARED_DATA / "stackexchange" / BEER,
    SHARED_DATA / "sede" / ENGLISH / "QueryResults_1.csv",
    SHARED_DATA / "stackexchange" / MO_META,
    SHARED_DATA / "sede" / SO_TOP / "QueryResults.csv",
]
PNG = '<img src="data:image/png;base64,'


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("profile") / "ds"
    ingest(SOURCES, out, settings=IngestSettings(workers=1))
    return out


@pytest.fixture(scope="module")
def profile(dataset: Path) -> Profile:
    return profile_dataset(dataset)


@pytest.fixture(scope="module")
def questions(dataset: Path) -> pd.DataFrame:
    return pd.read_parquet(dataset / "questions.parquet")


def _site(profile: Profile, name: str) -> SiteProfile:
    (site,) = [s for s in profile.sites if s.site == name]
    return site


def test_counts_per_site_and_total(profile: Profile, dataset: Path) -> None:
    assert {s.site for s in profile.sites} == {BEER, ENGLISH, MO_META, SO_TOP}
    beer, english = _site(profile, BEER), _site(profile, ENGLISH)
    assert (beer.questions, beer.answers) == (663, 1572)
    assert (english.questions, english.answers) == (13511, 0)
    assert profile.total.site == ALL_SITES
    for field in ("questions", "answers", "rejects"):
        assert getattr(profile.total, field) == sum(getattr(s, field) for s in profile.sites)
    rejects = pd.read_parquet(dataset / "rejects.parquet", columns=["site"])
    assert profile.total.rejects == len(rejects)
    # Largest first, as the table and the plots show them.
    assert [s.questions for s in profile.sites] == sorted(
        (s.questions for s in profile.sites), reverse=True
    )
    manifest = json.loads((dataset / "manifest.json").read_text(encoding="utf-8"))
    assert profile.fingerprint == manifest["fingerprint"]
    assert profile.status == "complete"


def test_metadata_only_export_has_no_lengths(profile: Profile) -> None:
    english = _site(profile, ENGLISH)
    assert english.with_title == english.with_body == 0
    assert english.median_title_chars is None
    assert english.median_body_chars is None
    assert english.median_body_words is None
    assert english.code_rate is None and english.code_block_rate is None
    assert english.body_chars_hist == ()
    # The export has no AcceptedAnswerId column: unknown, not 0%.
    assert english.accepted_rate is None
    # What it does have is still profiled.
    assert english.answered_rate is not None and english.score is not None
    assert english.first_date is not None and english.monthly


def test_export_without_dates_has_no_date_range(profile: Profile) -> None:
    top = _site(profile, SO_TOP)
    assert top.dated == 0
    assert top.first_date is None and top.last_date is None and top.monthly == ()
    assert top.accepted_rate is None
    assert top.median_body_chars is not None and top.median_body_chars > 0


def _expected(q: pd.DataFrame, accepted_known: bool) -> dict[str, float | None]:
    """The statistics computed independently, with pandas, from the Parquet rows."""
    known_answers = q["answer_count"].dropna()
    body = q[q["body_text"].notna()]
    code = (body["n_code_blocks"] > 0) | (body["n_inline_code"] > 0)
    titles = q["title"].dropna()
    return {
        "answered_rate": float((known_answers > 0).mean()) if len(known_answers) else None,
        "accepted_rate": float(q["accepted_answer_id"].notna().mean()) if accepted_known else None,
        "median_title_chars": float(titles.str.len().median()) if len(titles) else None,
        "median_body_chars": float(body["body_chars"].median()) if len(body) else None,
        "median_body_words": float(body["body_text"].str.split().str.len().median())
        if len(body)
        else None,
        "code_rate": float(code.mean()) if len(body) else None,
        "code_block_rate": float((body["n_code_blocks"] > 0).mean()) if len(body) else None,
    }


def test_statistics_match_pandas(profile: Profile, questions: pd.DataFrame) -> None:
    xml_sites = {BEER, MO_META}
    for site in profile.sites:
        q = questions[questions["site"] == site.site]
        expected = _expected(q, accepted_known=site.site in xml_sites)
        for name, value in expected.items():
            got = getattr(site, name)
            assert got == pytest.approx(value), (site.site, name)
            if got is not None and name.endswith("rate"):
                assert 0.0 <= got <= 1.0
        assert site.answer_count_known == q["answer_count"].notna().sum()
        scores = q["score"].dropna()
        assert site.score is not None
        assert site.score.median == pytest.approx(scores.quantile(0.5))
        assert site.score.p25 == pytest.approx(scores.quantile(0.25))
        assert site.score.p75 == pytest.approx(scores.quantile(0.75))
        assert (site.score.min, site.score.max) == (scores.min(), scores.max())
        assert site.score.mean == pytest.approx(scores.mean())
        dates = q["creation_date"].dropna()
        if len(dates):
            assert site.first_date == dates.min().to_pydatetime()
            assert site.last_date == dates.max().to_pydatetime()
            assert sum(n for _, n in site.monthly) == len(dates)
        if site.with_body:
            assert sum(site.body_chars_hist) == site.with_body == q["body_text"].notna().sum()


def test_total_row_pools_rows_not_sites(profile: Profile, questions: pd.DataFrame) -> None:
    total = profile.total
    expected = _expected(questions, accepted_known=True)
    assert total.answered_rate == pytest.approx(expected["answered_rate"])
    assert total.median_body_chars == pytest.approx(expected["median_body_chars"])
    assert total.code_rate == pytest.approx(expected["code_rate"])
    # Accepted over the sites whose sources say, only.
    xml = questions[questions["site"].isin([BEER, MO_META])]
    assert total.accepted_rate == pytest.approx(xml["accepted_answer_id"].notna().mean())
    assert total.first_date == questions["creation_date"].min().to_pydatetime()


def test_answer_count_missing_on_some_rows_is_left_out(
    profile: Profile, questions: pd.DataFrame
) -> None:
    mo = _site(profile, MO_META)
    missing = questions.loc[questions["site"] == MO_META, "answer_count"].isna().sum()
    assert missing > 0  # the real quirk this test is about
    assert mo.answer_count_known == mo.questions - missing


def test_render_table_mentions_each_site(profile: Profile) -> None:
    console = Console(record=True, width=200)
    render_table(profile, console)
    text = console.export_text()
    for site in [*profile.sites, profile.total]:
        assert site.site in text
    beer = _site(profile, BEER)
    assert f"{beer.answered_rate * 100:.1f}%" in text  # type: ignore[operator]
    assert "13,511" in text and "1,572" in text
    assert profile.fingerprint in text


def test_render_table_prints_site_names_literally(profile: Profile) -> None:
    odd = dataclasses.replace(profile.sites[0], site="[bold]odd[/] site")
    console = Console(record=True, width=100)
    render_table(dataclasses.replace(profile, sites=(odd, *profile.sites[1:])), console)
    assert "[bold]odd[/] site" in console.export_text()


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'data:image/png;base64,([^"]+)"', page)]


def test_write_html_is_one_self_contained_page(profile: Profile, tmp_path: Path) -> None:
    out = tmp_path / "not" / "yet" / "there" / "profile.html"
    write_html(profile, out, ProfileSettings())
    page = out.read_text(encoding="utf-8")
    assert page.count(PNG) >= 5
    assert all(png.startswith(b"\x89PNG\r\n\x1a\n") for png in _images(page))
    assert profile.fingerprint in page and html.escape(str(profile.folder)) in page
    for site in profile.sites:
        assert html.escape(site.site) in page
    # No external assets: nothing to fetch, no scripts.
    assert not re.search(r'(src|href)="(https?:|//)', page)
    assert "<script" not in page and "<link" not in page
    assert "left-out sites" not in page  # all four sites fit under the default limit


def test_write_html_escapes_data(profile: Profile, tmp_path: Path) -> None:
    evil = '<script>alert("x")</script> & co'
    odd = dataclasses.replace(profile.sites[0], site=evil)
    out = tmp_path / "page.html"
    write_html(
        dataclasses.replace(profile, sites=(odd, *profile.sites[1:])), out, ProfileSettings()
    )
    page = out.read_text(encoding="utf-8")
    assert evil not in page
    assert html.escape(evil) in page


def test_plotted_sites_are_limited_and_the_page_says_so(profile: Profile, tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    write_html(profile, out, ProfileSettings(max_sites_plotted=2))
    page = out.read_text(encoding="utf-8")
    assert "Plots show the 2 largest sites (by questions) of 4; 2 left out" in page
    for site in profile.sites[2:]:
        assert html.escape(site.site) in page.split("left-out sites", 1)[1]
    assert page.count(PNG) >= 5


def test_metadata_only_dataset_still_renders(tmp_path: Path) -> None:
    folder = tmp_path / "meta"
    ingest([SOURCES[1]], folder, settings=IngestSettings(workers=1))
    profile = profile_dataset(folder)
    assert profile.total.median_body_chars is None
    out = folder / "profile.html"
    write_html(profile, out, ProfileSettings())
    page = out.read_text(encoding="utf-8")
    assert "No question carries a body" in page
    assert page.count(PNG) >= 4  # counts, scores, answered rate, code shares, months
    console = Console(record=True, width=200)
    render_table(profile, console)
    assert "—" in console.export_text()


def test_not_a_dataset_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not an askwell dataset"):
        profile_dataset(tmp_path)
    with pytest.raises(InputError, match="no such dataset folder"):
        profile_dataset(tmp_path / "missing")
