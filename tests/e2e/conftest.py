"""The real server in a subprocess and Debian's Chromium driven by Playwright (no browser is
ever downloaded): the web editor tested as a person uses it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from askwell.store.db import Store
from tests.conftest import serving

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--no-first-run",
]
READY_TIMEOUT_S = 60


@dataclass(frozen=True)
class Server:
    url: str
    database_url: str
    log: Path

    def rows(self, table: str) -> list[dict[str, object]]:
        store = Store.open(self.database_url, migrate_schema=False)
        try:
            return store.rows(table)
        finally:
            store.engine.dispose()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``askwell serve`` on a free port with a fresh SQLite store, as a user starts it."""
    home = tmp_path_factory.mktemp("server")
    with serving(home, "--workers", "1", timeout_s=READY_TIMEOUT_S) as (port, log):
        yield Server(f"http://127.0.0.1:{port}", f"sqlite:///{home}/askwell.db", log)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright's own browsers are never downloaded."""
    if not CHROMIUM.is_file():
        pytest.fail(f"Debian's Chromium is required at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    """A fresh page (its own context: new storage, a new editing session) on the editor;
    fails the test if the page raised a JavaScript error."""
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/")
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
