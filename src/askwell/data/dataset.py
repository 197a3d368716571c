"""Reading a dataset that ``askwell ingest`` wrote: its manifest and its tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from askwell.data.schema import TABLE_SCHEMAS
from askwell.errors import InputError

MANIFEST = "manifest.json"
PARTIAL_MARKER = "_PARTIAL"


@dataclass(frozen=True)
class Dataset:
    """An ingested dataset folder. Loading a partial one must be asked for explicitly."""

    folder: Path
    manifest: dict[str, Any]

    @classmethod
    def open(cls, folder: Path, allow_partial: bool = False) -> Dataset:
        path = folder / MANIFEST
        if not folder.is_dir():
            raise InputError(f"{folder}: no such dataset folder")
        if not path.is_file():
            raise InputError(
                f"{folder}: not an askwell dataset (no {MANIFEST}); create one with askwell ingest"
            )
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path}: unreadable manifest ({exc})") from None
        if not isinstance(manifest, dict) or "tables" not in manifest:
            raise InputError(f"{path}: not an askwell manifest (no tables)")
        dataset = cls(folder, manifest)
        if dataset.partial and not allow_partial:
            raise InputError(
                f"{folder}: this dataset is PARTIAL (ingestion stopped on: "
                f"{'; '.join(manifest.get('errors') or ['unknown error'])})"
            )
        return dataset

    @property
    def partial(self) -> bool:
        return bool(self.manifest.get("status") != "complete")

    @property
    def fingerprint(self) -> str:
        return str(self.manifest.get("fingerprint", ""))

    def has(self, table: str) -> bool:
        return table in self.manifest["tables"]

    def table(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """A whole table (or some of its columns); an absent optional table is empty."""
        if name not in TABLE_SCHEMAS:
            raise InputError(f"unknown table {name!r}; tables are {', '.join(TABLE_SCHEMAS)}")
        if not self.has(name):
            schema = TABLE_SCHEMAS[name]
            if columns is not None:
                schema = pa.schema([schema.field(c) for c in columns])
            return schema.empty_table()
        path = self.folder / self.manifest["tables"][name]["file"]
        try:
            return pq.read_table(path, columns=columns)
        except (OSError, pa.ArrowException) as exc:
            raise InputError(f"{path}: unreadable table ({exc})") from None
