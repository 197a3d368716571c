"""Apps over real stores: a SQLite file per test module, and a fresh PostgreSQL database
from the server that .ci/run starts (``POSTGRES_TEST_URL``, an account allowed to
create databases)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from askwell.config import ServeSettings, Settings, get_settings
from askwell.models.bundle import default_bundle
from askwell.serving.app import create_app
from askwell.serving.service import ModelChoice, load_model

POSTGRES_ENV = "POSTGRES_TEST_URL"


def settings_for(database_url: str, **serve: object) -> Settings:
    """Settings for an app on ``database_url``; its allowed hosts take the test client's
    "testserver" besides the defaults."""
    hosts = [*ServeSettings().allowed_hosts, "testserver"]
    overrides = {
        "serve.database_url": database_url,
        "serve.allowed_hosts": hosts,
        **{f"serve.{k}": v for k, v in serve.items()},
    }
    return get_settings(overrides=overrides, environ={})


@cache
def default_choice() -> ModelChoice:
    """The bundled model (named: not whatever the registry here calls champion), loaded
    once for all the apps of a test run."""
    return load_model(settings_for("sqlite:///unused.db", bundle=default_bundle()))


def client_for(
    database_url: str, model: ModelChoice | None = None, *, load: bool = False, **serve: object
) -> TestClient:
    """An app on ``database_url`` serving ``model`` (default: the bundled one), or with
    ``load``, the model the settings name, loaded as ``askwell serve`` would."""
    settings = settings_for(database_url, **serve)
    chosen = None if load else (model or default_choice())
    return TestClient(create_app(settings, model=chosen))


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('store') / 'askwell.db'}"


@pytest.fixture(scope="module")
def client(sqlite_url: str) -> TestClient:
    return client_for(sqlite_url)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A new, empty database on the test server, dropped afterwards."""
    admin = os.environ.get(POSTGRES_ENV)
    if not admin:
        if os.environ.get("CI"):
            pytest.fail(f"{POSTGRES_ENV} is not set: .ci/run must start PostgreSQL")
        pytest.skip(
            f"no PostgreSQL: set {POSTGRES_ENV} (e.g. postgresql+psycopg://u:p@127.0.0.1/postgres)"
        )
    name = f"askwell_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def write_broken_bundle(folder: Path) -> Path:
    path = folder / "broken.askwell"
    path.write_bytes(b"not a zip file")
    return path
