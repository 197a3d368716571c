"""The web editor in a real browser against the real server: live scoring, highlights,
suggestions and their feedback, user text kept as text, the keyboard, revisions."""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route, expect

from tests.e2e.conftest import Server

pytestmark = pytest.mark.browser

TITLE = "pandas read_csv dates broken"
# Fires several suggestions (a title that is no question, a body that never asks, a run-on
# sentence, capitals) and yields one highlight per sentence.
BODY = (
    "I have a CSV file with a date column and I load it with read_csv but the dates come back "
    "as plain strings, so I cannot sort them properly and my whole script fails with an ERROR "
    "when I try to group by month, and I really need this working today. "
    "The column looks like 2024-01-31."
)
SENTENCES = [BODY[: BODY.index("today.") + 6], "The column looks like 2024-01-31."]


def write(page: Page, title: str, body: str, tags: str = "") -> None:
    """Types as a person does, the body last: the page scores nothing while the title or the
    body is blank, so this makes one score request (a real keystroke fires the input)."""
    page.get_by_label("Tags").fill(tags)
    page.get_by_label("Title").fill(title)
    page.get_by_label("Body").fill(body[:-1])
    page.get_by_label("Body").press("End")
    page.keyboard.type(body[-1])


def wait_for_score(page: Page, previous: str | None = None) -> str:
    """Waits until a score other than ``previous`` is on screen; returns its request_id."""
    page.wait_for_function(
        """previous => {
            const results = document.getElementById("results");
            const id = results.dataset.requestId;
            return !results.hidden && id && id !== previous;
        }""",
        arg=previous,
    )
    expect(page.locator("#score-value")).to_have_text(re.compile(r"^\d{1,3}%$"))
    return str(page.locator("#results").get_attribute("data-request-id"))


def test_scores_highlights_suggestions_and_feedback(page: Page, server: Server) -> None:
    expect(page.locator("#status")).to_have_text("Write a title and a body to get a score.")
    write(page, TITLE, BODY, tags="python, pandas")
    request_id = wait_for_score(page)
    # The headline: the closing model's verdict and risk; the chance of an answer beside it.
    expect(page.locator("#band")).to_have_text(
        re.compile(r"ready to post|needs work|likely to be closed", re.I)
    )
    expect(page.locator("#score-caption")).to_contain_text("risk of being closed")
    expect(page.locator("#evidence")).to_contain_text("Of questions judged like this")
    expect(page.locator("#evidence")).to_contain_text("If it were closed, most likely as")
    expect(page.locator("#answer-chance")).to_contain_text("of a good answer within 7 days")

    marks = page.locator("#prose mark")
    expect(marks).to_have_count(len(SENTENCES))
    assert marks.all_text_contents() == SENTENCES
    expect(page.locator("#prose")).to_have_text(BODY.strip())

    suggestions = page.locator("#suggestions > li")
    expect(suggestions.first).to_be_visible()
    assert suggestions.count() >= 2
    first = suggestions.first
    suggestion_id = first.get_attribute("data-id")
    expect(first.locator(".effect")).to_have_text(re.compile(r"^\+\d+\.\d points$"))

    first.get_by_role("button", name="Helpful", exact=True).click()
    expect(first.locator(".ack")).to_have_text("Thanks — noted")
    feedback = [r for r in server.rows("feedback") if r["request_id"] == request_id]
    assert [(r["suggestion_id"], r["helpful"]) for r in feedback] == [(suggestion_id, True)]

    # Feedback on the score as a whole: no suggestion_id.
    overall = page.locator("#overall-feedback")
    overall.get_by_role("button", name="Not helpful").click()
    expect(overall.locator(".ack")).to_have_text("Thanks — noted")
    feedback = [r for r in server.rows("feedback") if r["request_id"] == request_id]
    assert [(r["suggestion_id"], r["helpful"]) for r in feedback][1:] == [(None, False)]


def test_user_text_is_rendered_as_text(page: Page) -> None:
    # Tags off Stack Exchange's whitelist stay text in the prose; whitelisted ones (<b>, <img>)
    # are read as the site reads them, and the prose shows their text, never markup.
    body = (
        'See <svg onload="window.__pwned=1"> and <b>bold</b> and <img src=x '
        'onerror="window.__pwned=2"> here. Why does it fail?'
    )
    write(page, "Why is <b>this</b> not bold?", body, tags="<b>html</b>")
    wait_for_score(page)
    expect(page.locator("#prose")).to_contain_text('<svg onload="window.__pwned=1">')
    expect(page.locator("#prose")).to_contain_text("bold")
    expect(page.locator("#tag-chips")).to_contain_text("<b>html</b>")
    assert page.locator("img, b").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_keyboard_reaches_everything_and_records_feedback(page: Page, server: Server) -> None:
    write(page, TITLE, BODY, tags="python")
    request_id = wait_for_score(page)
    page.get_by_label("Title").focus()
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(
            page.evaluate("document.activeElement.id || document.activeElement.textContent")
        )
    assert order == ["body", "tags", "Helpful", "Not helpful"]

    first = page.locator("#suggestions > li").first
    not_helpful = first.get_by_role("button", name="Not helpful")
    expect(not_helpful).to_be_focused()
    page.keyboard.press("Enter")
    expect(first.locator(".ack")).to_have_text("Thanks — noted")
    expect(not_helpful).to_have_attribute("aria-pressed", "true")
    # Space works too, on the next suggestion's "Not helpful".
    second = page.locator("#suggestions > li").nth(1)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(second.get_by_role("button", name="Not helpful")).to_be_focused()
    page.keyboard.press("Space")
    expect(second.locator(".ack")).to_have_text("Thanks — noted")

    ids = {first.get_attribute("data-id"), second.get_attribute("data-id")}
    rows = [r for r in server.rows("feedback") if r["request_id"] == request_id]
    assert {r["suggestion_id"] for r in rows} == ids
    assert all(r["helpful"] is False for r in rows)


def test_each_edit_is_a_revision_of_one_session(page: Page, server: Server) -> None:
    write(page, "How do I sort dates read from a CSV?", "My dates sort as strings. Why?")
    shown = [wait_for_score(page)]
    for extra in (" I use pandas 2.2.", " The CSV has 10 rows."):
        page.get_by_label("Body").press("End")
        page.keyboard.type(extra)
        shown.append(wait_for_score(page, shown[-1]))

    predictions = {r["request_id"]: r for r in server.rows("predictions")}
    sessions = {predictions[i]["session_id"] for i in shown}
    assert len(sessions) == 1 and None not in sessions
    session = sessions.pop()
    scored = [i for i, r in predictions.items() if r["session_id"] == session]
    revisions = [r for r in server.rows("revisions") if r["session_id"] == session]
    # Each score after the first is a revision of the one before it.
    assert len(revisions) == len(scored) - 1 >= 2
    assert {r["request_id"] for r in revisions} >= set(shown[1:])


def test_status_blank_and_too_long(page: Page) -> None:
    scored: list[str] = []
    page.on("request", lambda r: scored.append(r.url) if r.url.endswith("/v1/score") else None)
    page.get_by_label("Title").fill("Only a title")
    page.get_by_label("Title").press("End")
    page.keyboard.type("?")
    expect(page.locator("#status")).to_have_text("Write a title and a body to get a score.")

    write(page, "How do I sort dates read from a CSV?", "My dates sort as strings. Why?")
    first = wait_for_score(page)
    assert len(scored) == 1  # nothing was sent while the body was blank

    page.get_by_label("Body").fill("word " * 11_000)
    page.get_by_label("Body").press("End")
    page.keyboard.type("x")
    expect(page.locator("#status")).to_contain_text("the limit is 50 kB")
    expect(page.locator("#results")).to_have_attribute("data-stale", "true")
    assert page.locator("#results").get_attribute("data-request-id") == first

    page.get_by_label("Body").fill("")
    page.get_by_label("Body").press("Backspace")
    expect(page.locator("#status")).to_have_text("Write a title and a body to get a score.")
    expect(page.locator("#results")).to_be_hidden()
    expect(page.locator("#intro")).to_be_visible()


def test_a_late_answer_to_an_older_text_is_ignored(page: Page) -> None:
    """The first request is held back and answered only after the second one was shown: the
    page must keep showing the answer to the latest text."""
    held: list[Route] = []

    def hold_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    page.route("**/v1/score", hold_first)
    # Every request_id the page ever puts on screen.
    page.evaluate(
        """() => {
            window.__shown = [];
            new MutationObserver(() => window.__shown.push(
                document.getElementById("results").dataset.requestId
            )).observe(document.getElementById("results"), {attributes: true});
        }"""
    )
    with page.expect_request("**/v1/score"):
        write(page, "How do I sort dates read from a CSV?", "My dates sort as strings. Why?")
    page.get_by_label("Body").press("End")
    page.keyboard.type(" I use pandas.")
    latest = wait_for_score(page)

    stale = "00000000-0000-0000-0000-000000000000"
    with contextlib.suppress(PlaywrightError):  # the page may have aborted it: fine
        response = held[0].fetch()
        held[0].fulfill(response=response, json={**response.json(), "request_id": stale})
    # One more edit, answered after the late answer arrived.
    page.keyboard.type(" It is 2.2.")
    wait_for_score(page, latest)
    assert stale not in page.evaluate("window.__shown")


def test_degraded_banner_and_unsaved_feedback(page: Page) -> None:
    """The rule-based fallback is announced, and feedback the database refused is reported as
    not saved (the answers are the real server's, altered on the way)."""

    def degrade(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "degraded": True})

    def database_down(route: Route) -> None:
        detail = "feedback not stored: the database is unreachable"
        route.fulfill(status=503, json={"detail": detail, "errors": []})

    page.route("**/v1/score", degrade)
    page.route("**/v1/feedback", database_down)
    expect(page.locator("#degraded")).to_be_hidden()
    write(page, TITLE, BODY)
    wait_for_score(page)
    expect(page.locator("#degraded")).to_be_visible()
    expect(page.locator("#degraded")).to_contain_text("Rough estimate")

    first = page.locator("#suggestions > li").first
    first.get_by_role("button", name="Helpful", exact=True).click()
    ack = first.locator(".ack")
    expect(ack).to_have_text("Not saved: feedback not stored: the database is unreachable")
    expect(first.get_by_role("button", name="Helpful", exact=True)).not_to_have_attribute(
        "aria-pressed", "true"
    )


def test_screenshot(page: Page) -> None:
    """Not an assertion of looks: a picture of a scored question for a person to check."""
    write(page, TITLE, BODY, tags="python pandas csv")
    wait_for_score(page)
    first = page.locator("#suggestions > li").first
    first.get_by_role("button", name="Helpful", exact=True).click()
    expect(first.locator(".ack")).to_have_text("Thanks — noted")
    page.keyboard.press("Tab")  # the focus ring on the next button shows in the picture
    page.screenshot(path="/tmp/askwell-editor.png", full_page=True)


def test_a_long_body_is_scored_in_part_and_the_page_says_so(page: Page) -> None:
    sentence = "This sentence is one of many in a very long question about reading CSV files. "
    body = sentence * 90
    write(page, "How do I read a large CSV file with pandas?", body)
    first = wait_for_score(page)
    note = page.locator("#body-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text(
        f"Only the first 5,000 of the body's {len(body):,} characters were scored"
    )
    # What the page shows as read is what was scored: the body's beginning.
    shown = page.locator("#prose").text_content() or ""
    assert 0 < len(shown) <= 5_000 and body.startswith(shown)

    page.get_by_label("Body").fill("My dates sort as strings. Why")
    page.get_by_label("Body").press("End")
    page.keyboard.type("?")
    wait_for_score(page, first)
    expect(note).to_be_hidden()
