"""Shared fixtures: the real Stack Exchange data beside the repository, and ingestion."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from askwell.config import IngestSettings
from askwell.data.ingest import IngestReport, ingest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ASKWELL_TEST_DATA", REPO.parent / "shared" / "data"))
DUMPS = SHARED_DATA / "stackexchange"


def pytest_configure(config: pytest.Config) -> None:
    # The data is required, not optional: a missing folder must fail loudly, not skip.
    if not (SHARED_DATA / "MANIFEST.json").is_file():
        raise pytest.UsageError(f"real test data not found at {SHARED_DATA}")


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
