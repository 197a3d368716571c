"""Text files as numbered lines across many partitions.

Spark's text source cuts each file into byte-range splits (``spark.sql.files.maxPartitionBytes``)
and reads every split as whole lines, so a 54 GB file is read by as many tasks as there are
splits. It does not number lines; askwell's tables point back to the source line of each row.
A first pass counts the lines of each split (in the JVM, no Python: about a tenth of a
parse's time); a split's first line number is then the sum of the counts before it. Lines
are read as raw bytes (cast to binary, split on ``\\n`` only), so the parser sees exactly
the file's bytes: CR, byte-order mark and invalid UTF-8 included.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def file_key(uri: str) -> str:
    """One spelling of a file for matching Spark's ``input_file_name()`` with what was asked
    for: a local file by its plain path, anything else by its URI."""
    parts = urlsplit(uri)
    if parts.scheme in ("", "file"):
        return unquote(parts.path)
    return uri


@dataclass(frozen=True)
class LineIndex:
    """Where each split's lines sit in its file."""

    first_line: dict[tuple[str, int], int]  # (file_key, split start byte) → its first line
    total_lines: dict[str, int]  # file_key → lines in the file


def read_lines(spark: SparkSession, uris: list[str]) -> tuple[DataFrame, LineIndex]:
    """The lines of ``uris`` as rows (``file``: the file's key, ``block``: its split's first
    byte, ``line``: the line's bytes without its ``\\n``) in file order within each split,
    and the index that numbers them."""
    from pyspark.sql import functions as sf

    raw = spark.read.option("lineSep", "\n").text(uris)
    lines = raw.select(
        sf.input_file_name().alias("file"),
        sf.input_file_block_start().alias("block"),
        sf.col("value").cast("binary").alias("line"),
    )
    counts = lines.groupBy("file", "block").count().collect()
    by_file: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for row in counts:
        by_file[file_key(str(row["file"]))].append((int(row["block"]), int(row["count"])))
    first: dict[tuple[str, int], int] = {}
    totals: dict[str, int] = {}
    for key, blocks in by_file.items():
        line = 1
        for block, count in sorted(blocks):
            first[(key, block)] = line
            line += count
        totals[key] = line - 1
    return lines, LineIndex(first, totals)
