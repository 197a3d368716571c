"""Shared fixtures: the real Stack Exchange data beside the repository, and ingestion."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from askwell.config import IngestSettings
from askwell.data.dataset import Dataset
from askwell.data.ingest import IngestReport, ingest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ASKWELL_TEST_DATA", REPO.parent / "shared" / "data"))
DUMPS = SHARED_DATA / "stackexchange"
BUNDLE_KEY_ENV = "ASKWELL_BUNDLES__KEY_FILE"


def pytest_configure(config: pytest.Config) -> None:
    # The data is required, not optional: a missing folder must fail loudly, not skip.
    if not (SHARED_DATA / "MANIFEST.json").is_file():
        raise pytest.UsageError(f"real test data not found at {SHARED_DATA}")


@pytest.fixture(scope="session", autouse=True)
def bundle_key(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One bundle key for the session, outside the working tree (never the developer's
    var/bundle.key): a bundle a test trains, here or in an ``askwell`` subprocess, loads in
    every other."""
    path = tmp_path_factory.mktemp("bundle-key") / "bundle.key"
    previous = os.environ.get(BUNDLE_KEY_ENV)
    os.environ[BUNDLE_KEY_ENV] = str(path)
    yield path
    if previous is None:
        os.environ.pop(BUNDLE_KEY_ENV, None)
    else:
        os.environ[BUNDLE_KEY_ENV] = previous


@pytest.fixture(scope="session")
def shared_data() -> Path:
    return SHARED_DATA


@pytest.fixture(scope="session")
def data_manifest() -> list[dict[str, Any]]:
    return list(json.loads((SHARED_DATA / "MANIFEST.json").read_text(encoding="utf-8")))


IngestFn = Callable[..., IngestReport]


@pytest.fixture
def run_ingest(tmp_path: Path) -> IngestFn:
    """Ingests into a fresh folder under tmp_path (in-process parsing unless told)."""
    counter = iter(range(10_000))

    def run(
        *sources: Path, out: Path | None = None, workers: int = 1, **kwargs: Any
    ) -> IngestReport:
        settings = IngestSettings(
            workers=workers,
            chunk_mb=kwargs.pop("chunk_mb", 1.0),
            keep_html=kwargs.pop("keep_html", False),
        )
        target = out or tmp_path / f"ds{next(counter)}"
        return ingest(list(sources), target, settings=settings, **kwargs)

    return run


def ingest_dataset(out: Path, *sources: Path) -> Dataset:
    """Ingests ``sources`` in-process into ``out`` (for module-scoped fixtures)."""
    ingest(list(sources), out, settings=IngestSettings(workers=1))
    return Dataset.open(out)


def run_askwell(
    *args: str, cwd: Path | None = None, timeout: float = 600, columns: str | None = "160"
) -> subprocess.CompletedProcess[str]:
    """The askwell command as a user runs it, in a subprocess with a wide terminal (with
    ``columns=None``: no COLUMNS at all, as when its output is piped)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-m", "askwell", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


@functools.cache
def default_model() -> Any:
    """The model askwell ships, loaded (and verified) once per test session."""
    from askwell.features.catalog import feature_names
    from askwell.models.bundle import default_bundle, load_bundle

    return load_bundle(default_bundle(), feature_names())[0]


def free_port() -> int:
    """A TCP port free on the loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def serving(
    home: Path, *flags: str, timeout_s: float = 180, env: dict[str, str] | None = None
) -> Iterator[tuple[int, Path]]:
    """``askwell serve`` as a user starts it: on a free port, in ``home`` (no model registry
    there, so the bundled model is served) with a fresh SQLite store, and without any
    ASKWELL_* setting of the developer's shell but those in ``env``. Yields its port and its
    log once /readyz answers 200; stopped on exit."""
    port, log = free_port(), home / "serve.log"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ASKWELL_")}, **(env or {})}
    command = [sys.executable, "-m", "askwell", "serve", "--port", str(port)]
    command += ["--database-url", f"sqlite:///{home}/askwell.db", *flags]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while not _ready(f"http://127.0.0.1:{port}"):
            if process.poll() is not None:
                pytest.fail(
                    f"askwell serve exited with {process.returncode}; its output:\n"
                    f"{log.read_text()}",
                    pytrace=False,
                )
            if time.monotonic() > deadline:
                pytest.fail(
                    f"askwell serve not ready after {timeout_s} s; its output:\n{log.read_text()}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield port, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
