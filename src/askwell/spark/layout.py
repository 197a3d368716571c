"""The folder ``askwell spark ingest`` writes, and how to read it without Spark.

``OUT/TABLE/site=SITE/part-….parquet`` for each table (Hive-style partitions by site, the
layout Spark, DuckDB, Polars and ``pyarrow.dataset`` read as one table), and
``OUT/_askwell.json``: what was read and written (the single-box ``manifest.json`` without
the inputs' sha256, which would take a pass over every input on one machine).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from askwell.data.schema import TABLE_SCHEMAS
from askwell.errors import InputError

SUMMARY = "_askwell.json"
PARTITION_COLUMN = "site"


def is_spark_dataset(folder: Path) -> bool:
    return (folder / SUMMARY).is_file()


def read_table(folder: Path, table: str) -> pa.Table:
    """One table of a Spark-ingested dataset, with askwell's schema for it (the ``site``
    column back from the folder names, columns in askwell's order); empty when absent."""
    schema = TABLE_SCHEMAS[table]
    path = folder / table
    if not path.is_dir():
        if not is_spark_dataset(folder):
            raise InputError(f"{folder}: not a dataset written by askwell spark ingest")
        return schema.empty_table()
    others = pa.schema([f for f in schema if f.name != PARTITION_COLUMN])
    partitioning = ds.partitioning(pa.schema([(PARTITION_COLUMN, pa.string())]), flavor="hive")
    found = ds.dataset(
        path,
        format="parquet",
        partitioning=partitioning,
        schema=others.append(pa.field(PARTITION_COLUMN, pa.string())),
        exclude_invalid_files=True,
    ).to_table()
    return found.select(schema.names).cast(schema)
