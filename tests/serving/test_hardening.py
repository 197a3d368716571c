"""Hostile input and the browser's defences: bodies that would exhaust the parser, JSON posted
as a form, foreign Host headers, security headers on every response, no reflected input,
feedback only on what was shown, no NUL characters, a schema that states what the server
enforces, and API docs that work offline."""

from __future__ import annotations

import contextlib
import json
import re
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from askwell.config import ServeSettings, get_settings
from askwell.explain.suggestions import RULES
from askwell.serving.app import create_app
from askwell.serving.parsing import InvalidBodyError, check_structure
from tests.serving.conftest import default_choice, settings_for

OK = {"title": "How do I read a CSV file?", "body": "I tried pandas. How can I do it?"}
JSON = {"content-type": "application/json"}
DEEP = 5_000  # far past the interpreter's recursion limit
ROUTES = ["/v1/score", "/v1/feedback"]


def _post(client: TestClient, route: str, raw: bytes) -> Any:
    return client.post(route, content=raw, headers=JSON)


# -- 1. bodies that would exhaust the parser


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "raw",
    [
        b"[" * DEEP + b"]" * DEEP,
        b'{"title": ' + b"[" * DEEP + b"]" * DEEP + b', "body": "b"}',
        b'{"title": ' + b'{"a": ' * DEEP + b"1" + b"}" * DEEP + b"}",
        b"[" * DEEP,  # not even closed
    ],
    ids=["array", "in a field", "objects", "unclosed"],
)
def test_deeply_nested_json_is_a_422_naming_the_problem(
    client: TestClient, route: str, raw: bytes
) -> None:
    r = _post(client, route, raw)
    assert r.status_code == 422, r.text
    assert "nested" in r.json()["detail"] and "levels deep" in r.json()["detail"]


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("number", [b"1" * 5_000, b"-" + b"9" * 5_000, b"0." + b"1" * 5_000])
def test_huge_numbers_are_a_422_naming_the_problem(
    client: TestClient, route: str, number: bytes
) -> None:
    r = _post(client, route, b'{"title": ' + number + b', "body": "b", "helpful": true}')
    assert r.status_code == 422, r.text
    assert "digits" in r.json()["detail"]
    assert "1111111111" not in r.text and "9999999999" not in r.text


def test_brackets_digits_and_quotes_inside_strings_are_text(client: TestClient) -> None:
    """The scan skips strings, escaped quotes included: only JSON structure counts."""
    body = 'He wrote \\"[[[\\" and {{{ then ' + "[" * 200 + " and " + "7" * 500 + ". Why?"
    raw = '{"title": "Why does \\\\\\" [[[[ break?", "body": "' + body + '"}'
    r = _post(client, "/v1/score", raw.encode())
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    "raw",
    [
        b'"' + b'\\"' * 200_000,  # one unterminated string of escaped quotes
        b'\\"' * 200_000,  # quotes that never open a string
        b'"' * 400_000,
        b"[]" * 200_000,
        b"[" * 400_000,
        b"1," * 200_000,
    ],
    ids=["escaped quotes", "stray quotes", "quotes", "flat brackets", "deep", "numbers"],
)
def test_the_structure_scan_is_linear(raw: bytes) -> None:
    """A scan that restarted at each quote would take minutes on these; linear takes ms."""
    started = time.perf_counter()
    with contextlib.suppress(InvalidBodyError):
        check_structure(raw)
    assert time.perf_counter() - started < 2


# -- 2. JSON only as application/json


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain; charset=utf-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonx",
        None,
    ],
)
def test_bodies_that_are_not_declared_json_are_415(
    client: TestClient, route: str, content_type: str | None
) -> None:
    """A cross-site form can post text/plain, urlencoded or multipart without a CORS
    preflight: those must not be read as JSON."""
    headers = {} if content_type is None else {"content-type": content_type}
    r = client.post(route, content=json.dumps(OK).encode(), headers=headers)
    assert r.status_code == 415, r.text
    assert "application/json" in r.json()["detail"]


def test_json_with_parameters_is_accepted(client: TestClient) -> None:
    headers = {"content-type": "Application/JSON; charset=utf-8"}
    assert client.post("/v1/score", content=json.dumps(OK), headers=headers).status_code == 200


# -- 3. the Host header (DNS rebinding)


def _local(sqlite_url: str, base_url: str = "http://localhost", **serve: object) -> TestClient:
    """An app with the default allowed hosts (not the test client's "testserver")."""
    settings = get_settings(
        overrides={"serve.database_url": sqlite_url, **{f"serve.{k}": v for k, v in serve.items()}},
        environ={},
    )
    return TestClient(create_app(settings, model=default_choice()), base_url=base_url)


def test_the_default_hosts_suit_a_local_editor() -> None:
    assert set(ServeSettings().allowed_hosts) == {"localhost", "127.0.0.1", "::1"}


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:8000", "127.0.0.1:8000", "[::1]:8000", "LOCALHOST"]
)
def test_local_hosts_are_served(sqlite_url: str, host: str) -> None:
    client = _local(sqlite_url)
    assert client.get("/healthz", headers={"host": host}).status_code == 200


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "localhost.evil.example", "testserver", "[::2]"]
)
def test_other_hosts_are_refused(sqlite_url: str, host: str) -> None:
    client = _local(sqlite_url)
    for r in (
        client.get("/", headers={"host": host}),
        client.post("/v1/score", json=OK, headers={"host": host}),
    ):
        assert r.status_code == 400, r.text
        assert "host" in r.json()["detail"].lower()
        assert "evil" not in r.text  # the header is not echoed back


def test_the_configured_host_is_allowed(sqlite_url: str) -> None:
    client = _local(sqlite_url, host="10.1.2.3")
    assert client.get("/healthz", headers={"host": "10.1.2.3:8000"}).status_code == 200
    assert client.get("/healthz", headers={"host": "10.9.9.9"}).status_code == 400


def test_a_star_allows_any_host_behind_a_proxy(sqlite_url: str) -> None:
    client = _local(sqlite_url, allowed_hosts=["*"])
    assert client.get("/healthz", headers={"host": "askwell.example.org"}).status_code == 200


def test_wildcard_subdomains_and_hosts_from_the_environment(sqlite_url: str) -> None:
    settings = get_settings(
        overrides={"serve.database_url": sqlite_url},
        environ={"ASKWELL_SERVE__ALLOWED_HOSTS": "askwell.example.org, *.corp.example"},
    )
    assert settings.serve.allowed_hosts == ("askwell.example.org", "*.corp.example")
    client = TestClient(create_app(settings, model=default_choice()))
    for host, status in [
        ("askwell.example.org", 200),
        ("a.corp.example", 200),
        ("corp.example", 400),
        ("evilcorp.example", 400),
        ("localhost", 400),  # an explicit list replaces the defaults
        ("127.0.0.1", 200),  # the configured (listening) host stays allowed
    ]:
        assert client.get("/healthz", headers={"host": host}).status_code == status, host


@pytest.mark.parametrize("bad", ["", "a b", "*.", "ex*ample.com", "http://x", "host:80"])
def test_malformed_allowed_hosts_are_a_config_error(bad: str) -> None:
    from askwell.errors import ConfigError

    with pytest.raises(ConfigError, match="allowed_hosts"):
        settings_for("sqlite:///unused.db", allowed_hosts=[bad])


# -- 4. security headers on every response


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/", None),
        ("GET", "/static/editor.js", None),
        ("GET", "/healthz", None),
        ("GET", "/docs", None),
        ("GET", "/openapi.json", None),
        ("GET", "/nowhere", None),
        ("POST", "/v1/score", OK),
        ("POST", "/v1/score", {"title": ""}),
    ],
)
def test_every_response_carries_the_security_headers(
    client: TestClient, method: str, path: str, body: dict[str, str] | None
) -> None:
    r = client.request(method, path, json=body)
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    csp = _csp(r.headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert r.headers["referrer-policy"] == "no-referrer"


def test_a_refused_host_gets_the_security_headers_too(sqlite_url: str) -> None:
    r = _local(sqlite_url).get("/", headers={"host": "evil.example"})
    assert r.status_code == 400 and r.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_the_editor_needs_nothing_the_policy_forbids(client: TestClient) -> None:
    """script-src and style-src 'self': no inline script, style or event handler."""
    page = client.get("/").text
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all(" src=" in s for s in scripts)
    assert not re.search(r"<style\b|\sstyle=|\son[a-z]+=|javascript:", page, re.IGNORECASE)
    js = client.get("/static/editor.js").text
    # Setting style properties through the CSSOM is allowed; a style attribute is not.
    assert not re.search(r"setAttribute\(\s*[\"']style|innerHTML|\beval\(|new Function", js)


def _csp(header: str) -> dict[str, list[str]]:
    directives = (d.split() for d in header.split(";") if d.strip())
    return {d[0]: d[1:] for d in directives}


# -- 5. no reflected input


@pytest.mark.parametrize("route", ROUTES)
def test_an_unknown_fields_name_is_not_echoed(client: TestClient, route: str) -> None:
    hostile = "<script>alert(document.cookie)</script>" + "x" * 5_000
    valid = OK if route == "/v1/score" else {"request_id": "0" * 36, "helpful": True}
    r = client.post(route, json={**valid, hostile: 1})
    assert r.status_code == 422 and "unknown field" in r.json()["detail"]
    assert "<script>" not in r.text and "xxxxxxxxxx" not in r.text
    assert len(r.content) < 1_000


def test_a_plain_unknown_field_is_still_named(client: TestClient) -> None:
    r = client.post("/v1/score", json={**OK, "tittle": "typo"})
    assert r.status_code == 422 and r.json()["detail"] == "tittle: unknown field"


# -- 6. feedback only on a suggestion that the score showed


def _feedback(client: TestClient, request_id: str, suggestion_id: str | None) -> Any:
    return client.post(
        "/v1/feedback",
        json={"request_id": request_id, "suggestion_id": suggestion_id, "helpful": True},
    )


def test_feedback_on_a_suggestion_that_was_not_shown_is_refused(client: TestClient) -> None:
    scored = client.post("/v1/score", json=OK).json()
    shown = {s["id"] for s in scored["suggestions"]}
    not_shown = next(r.id for r in RULES if r.id not in shown)
    for suggestion_id in (not_shown, "made-up"):
        r = _feedback(client, scored["request_id"], suggestion_id)
        assert r.status_code == 422, r.text
        assert r.json()["errors"] == [
            {"field": "suggestion_id", "message": "not one of the suggestions that score showed"}
        ]
        assert "made-up" not in r.text


def test_feedback_on_a_shown_suggestion_and_on_the_whole_score_is_stored(
    client: TestClient,
) -> None:
    messy = {"title": "pandas problem", "body": "Hi all!!! read_csv FAILS. Thanks in advance!!!"}
    scored = client.post("/v1/score", json=messy).json()
    assert scored["suggestions"]
    for suggestion_id in (scored["suggestions"][-1]["id"], None):
        r = _feedback(client, scored["request_id"], suggestion_id)
        assert r.status_code == 201, r.text


# -- 7. no NUL characters


@pytest.mark.parametrize("field", ["title", "body", "site", "tags"])
def test_a_nul_in_a_question_is_refused_naming_the_field(client: TestClient, field: str) -> None:
    value: object = ["py\x00thon"] if field == "tags" else "a\x00b" + OK.get(field, "")
    r = client.post("/v1/score", json={**OK, field: value})
    assert r.status_code == 422, r.text
    where = "tags.0" if field == "tags" else field
    assert r.json()["detail"] == f"{where}: contains a NUL character (\\u0000)"


def test_a_nul_in_a_comment_is_refused(client: TestClient) -> None:
    scored = client.post("/v1/score", json=OK).json()
    r = client.post(
        "/v1/feedback",
        json={"request_id": scored["request_id"], "helpful": True, "comment": "ok\x00"},
    )
    assert r.status_code == 422
    assert r.json()["detail"] == "comment: contains a NUL character (\\u0000)"


# -- 8. the schema states what the server enforces


def _schemas(client: TestClient) -> dict[str, dict[str, Any]]:
    paths = client.get("/openapi.json").json()["paths"]
    return {
        route: paths[route]["post"]["requestBody"]["content"]["application/json"]["schema"]
        for route in ROUTES
    }


def _string_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The string branch of a property (``anyOf: [string, null]`` for optional ones)."""
    return next((s for s in schema.get("anyOf", []) if s.get("type") == "string"), schema)


def _schema_allows(schema: dict[str, Any], value: str) -> bool:
    """A string against a string schema, as a validator would read it. The patterns use
    explicit escapes only, which Python's ``re`` reads as ECMAScript does."""
    s = _string_schema(schema)
    return (
        len(value) >= s.get("minLength", 0)
        and len(value) <= s.get("maxLength", len(value))
        and ("pattern" not in s or re.search(_ecmascript(s["pattern"]), value) is not None)
    )


def _ecmascript(pattern: str) -> str:
    """A final ``$`` means the end of input in ECMAScript; in Python it also matches before
    a final newline."""
    return pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern


def test_the_schema_states_the_id_patterns_and_non_blank_text(client: TestClient) -> None:
    score, feedback = (s["properties"] for s in _schemas(client).values())
    assert _string_schema(score["session_id"])["pattern"]
    assert feedback["request_id"]["pattern"]
    for name in ("title", "body"):
        assert score[name]["minLength"] == 1 and score[name]["pattern"]


SPACES = [" ", "\t", "\n", "\x0b", "\x0c", "\r", "\x1c", "\x1f", "\x85", "\xa0", "\u1680",
          "\u2000", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
          "\ufeff"]  # fmt: skip
TEXTS = ["", "x", " x ", "a\x00", "\x00", "é", "\u200b", *SPACES, *(s * 3 for s in SPACES)]
IDS = ["s-1", "a b", "é", "abc\n", "a" * 64, "a" * 65, "A.b_c-9", "", "a\x00", "👍"]


@pytest.mark.parametrize("value", TEXTS + IDS)
@pytest.mark.parametrize("field", ["title", "body", "session_id", "site", "tags"])
def test_a_question_is_schema_valid_exactly_when_the_server_takes_it(
    client: TestClient, field: str, value: str
) -> None:
    schema = _schemas(client)["/v1/score"]["properties"][field]
    payload: dict[str, object] = {**OK, field: [value] if field == "tags" else value}
    allowed = _schema_allows(schema["items"] if field == "tags" else schema, value)
    r = client.post("/v1/score", json=payload)
    assert r.status_code == (200 if allowed else 422), (field, value, r.text)


@pytest.mark.parametrize("value", [*IDS, "0" * 36, "0123abcd-" * 4, "0" * 35, "A" * 36])
def test_a_request_id_is_schema_valid_exactly_when_the_server_takes_it(
    client: TestClient, value: str
) -> None:
    schema = _schemas(client)["/v1/feedback"]["properties"]["request_id"]
    r = client.post("/v1/feedback", json={"request_id": value, "helpful": True})
    # a well-formed id of no score is a 404: the body itself was valid
    assert (r.status_code == 404) == _schema_allows(schema, value), (value, r.text)


# -- 9. API docs that work offline


def test_the_api_docs_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    assets = [a for a in re.findall(r'(?:src|href)="([^"]+)"', page.text) if a != "data:,"]
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset  # same origin: nothing from the network
        got = client.get(asset)
        assert got.status_code == 200 and len(got.content) > 100, asset
    bundle = next(a for a in assets if a.endswith("swagger-ui-bundle.js"))
    assert "SwaggerUIBundle" in client.get(bundle).text
    # The page starts Swagger UI from a script file (the policy refuses inline scripts).
    assert not re.search(r"<script>|<script\b(?![^>]*\ssrc=)", page.text)


def test_no_docs_page_relies_on_a_cdn(client: TestClient) -> None:
    redoc = client.get("/redoc")
    assert redoc.status_code == 404 or "cdn" not in redoc.text.lower()
