"""A fuzz run of the OpenAPI schema (schemathesis, its default checks: no 5xx, status codes,
content types, headers and bodies as documented, invalid data rejected, valid data
accepted): every operation, at least 200 generated requests each for the two that take a
body, against the app as served (a real SQLite store)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from askwell.serving.app import create_app
from tests.serving.conftest import default_choice, settings_for

pytestmark = pytest.mark.slow

# Built at collection, as schemathesis reads the schema then: a fresh store of its own.
_STORE = Path(tempfile.mkdtemp(prefix="askwell-fuzz-")) / "askwell.db"
_APP = create_app(settings_for(f"sqlite:///{_STORE}"), model=default_choice())
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.parametrize()
@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_server_does_what_its_schema_says(case: schemathesis.Case) -> None:
    case.call_and_validate()
