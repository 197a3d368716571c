"""Reports that a person reads and a program parses: one JSON file and one Markdown page side
by side (the gate report, the rollout report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from askwell.errors import OutputError


def write_report(report: dict[str, Any], stem: Path, kind: str, page: str) -> dict[str, Path]:
    """``report`` as ``STEM.KIND.json`` and ``page`` as ``STEM.KIND.md``; the resolved paths,
    by kind ("json", "markdown")."""
    paths = {
        "json": stem.parent / f"{stem.name}.{kind}.json",
        "markdown": stem.parent / f"{stem.name}.{kind}.md",
    }
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        paths["json"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        paths["markdown"].write_text(page, encoding="utf-8")
    except OSError as exc:
        raise OutputError(f"{stem.parent}: cannot write the {kind} report ({exc})") from None
    return {k: p.resolve() for k, p in paths.items()}
