"""The real server in a subprocess and Debian's Chromium driven by Playwright (no browser is
ever downloaded): the web editor tested as a person uses it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from askwell.store.db import Store

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``askwell serve`` on a free port with a fresh SQLite store, as a user starts it."""
    home = tmp_path_factory.mktemp("server")
    port, log = _free_port(), home / "server.log"
    database_url = f"sqlite:///{home}/askwell.db"
    # A clean environment: no ASKWELL_* setting from the developer's shell, and a working
    # folder without a model registry, so the bundled model is served.
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKWELL_")}
    command = [sys.executable, "-m", "askwell", "serve", "--port", str(port)]
    command += ["--database-url", database_url, "--workers", "1"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _ready(url):
            if process.poll() is not None:
                pytest.fail(
                    f"askwell serve exited with {process.returncode}; its output:\n"
                    f"{log.read_text()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"askwell serve not ready after {READY_TIMEOUT_S} s; its output:\n"
                    f"{log.read_text()}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield Server(url, database_url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
