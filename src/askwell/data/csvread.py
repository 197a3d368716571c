"""CSV files read as a stream of typed rows: SEDE exports (and the book's CSV samples), and
the Kaggle closed-questions CSV, told apart by their header (``kind_of_header``).

Exports use the Posts table's column names. Real quirks handled here: UTF-8 with or without a
byte-order mark, with cp1252 bytes mixed in when a spreadsheet re-saved the file; m/d/yyyy
dates; a duplicated header (the second ``Id`` is another table's id); an unnamed index column;
exports without ``PostTypeId`` (all rows are questions) or without ``CreationDate`` (dates stay
empty, and the manifest says so); and a file cut off mid-row (that row is rejected, the rest
kept). The Kaggle file spreads tags over ``Tag1``..``Tag5``: they are read as one list, in
order, empty ones left out.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from askwell.data.rows import BatchBuilder, Reject
from askwell.data.schema import (
    CLOSED_QUESTIONS,
    CLOSED_QUESTIONS_HEADER,
    POSTS,
    QUESTION_POST_TYPE,
    Kind,
)
from askwell.errors import InputError

csv.field_size_limit(1 << 28)  # post bodies can be far longer than csv's 128 KiB default


class _Fallbacks(threading.local):
    count = 0


_fallbacks = _Fallbacks()


def _cp1252_fallback(exc: UnicodeError) -> tuple[str, int]:
    # A byte that is not UTF-8 is read as cp1252 (spreadsheets' encoding), or as its
    # Latin-1 code point for the five bytes cp1252 leaves undefined: nothing is lost, and
    # the valid UTF-8 around it still decodes as UTF-8.
    assert isinstance(exc, UnicodeDecodeError)
    bad = exc.object[exc.start : exc.end]
    _fallbacks.count += len(bad)
    return "".join(_cp1252_char(b) for b in bad), exc.end


def _cp1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(byte)


codecs.register_error("askwell-cp1252", _cp1252_fallback)


_TAG_COLUMN = re.compile(r"^Tag[1-9]$")  # Kaggle's Tag1..Tag5


def read_header(path: Path) -> list[str]:
    """The header row, decoded as ``read_csv`` decodes it ([] for an empty or unreadable
    one: ``read_csv`` says what is wrong)."""
    try:
        with path.open("rb") as f:
            head = f.read(1 << 16)
    except OSError:
        return []
    text = head.decode("utf-8-sig", errors="askwell-cp1252")
    try:
        return next(csv.reader(io.StringIO(text)), [])
    except csv.Error:
        return []


def kind_of_header(header: list[str]) -> Kind:
    """The Kaggle closed-questions schema when the header has its columns, else a SEDE
    export of the Posts table."""
    names = {name.strip() for name in header}
    return CLOSED_QUESTIONS if names >= CLOSED_QUESTIONS_HEADER else POSTS


@dataclass
class CsvLayout:
    """What the header said, for the manifest."""

    encoding: str
    columns: list[str]  # the dump fields the export carries, in header order
    ignored_columns: list[str] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    assumed_post_type: int | None = None


def detect_encoding(path: Path) -> tuple[str, int]:
    """UTF-8 (a byte-order mark is dropped), and how many bytes are not UTF-8: those are
    read as cp1252, as a spreadsheet that re-saved the file would have written them."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="askwell-cp1252")
    _fallbacks.count = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            decoder.decode(block)
        decoder.decode(b"", final=True)
    return "utf-8-sig", _fallbacks.count


def read_csv(
    path: Path, kind: Kind, site: str, source: str, batch_rows: int, keep_html: bool = False
) -> tuple[CsvLayout, Iterator[tuple[dict[str, pa.RecordBatch], list[Reject], BatchBuilder]]]:
    """The header's layout, and an iterator of (batches, rejects, builder) every
    ``batch_rows`` rows; the builder carries the running counts."""
    encoding, fallback_bytes = detect_encoding(path)
    handle = path.open(encoding=encoding, errors="askwell-cp1252", newline="")
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        handle.close()
        raise InputError(f"{source}: the file is empty") from None
    except csv.Error as exc:
        handle.close()
        raise InputError(f"{source}: line 1: not a readable CSV header ({exc})") from None
    known = {f.attr for f in kind.fields}
    names: list[str] = []
    described = "utf-8"
    if fallback_bytes:
        described += f", with {fallback_bytes} non-UTF-8 bytes read as cp1252"
    layout = CsvLayout(described, header)
    # Tag1..TagN stand for the Tags field when the file has no Tags column.
    split_tags = "Tags" in known and "Tags" not in {n.strip() for n in header}
    tag_at: list[int] = []
    for at, name in enumerate(header):
        clean = name.strip()
        if clean in known and clean not in names:
            names.append(clean)
        elif split_tags and _TAG_COLUMN.match(clean) and clean not in names:
            names.append(clean)
            tag_at.append(at)
        else:
            names.append("")  # unnamed index, duplicate or unknown column: not read
            layout.ignored_columns.append(clean or "(unnamed)")
    layout.columns = [n for n in names if n]
    id_attr = kind.id_attr
    if id_attr not in names:
        handle.close()
        raise InputError(
            f"{source}: line 1: no {id_attr} column in the header ({', '.join(header)})"
        )
    present = set(names) | ({"Tags"} if tag_at else set())
    if "PostTypeId" in known and "PostTypeId" not in present:
        layout.assumed_post_type = QUESTION_POST_TYPE
    layout.missing_required = [
        f.attr
        for f in kind.fields
        if f.required and f.attr not in present and f.attr != "PostTypeId"
    ]
    builder = BatchBuilder(
        kind,
        site,
        source,
        keep_html=keep_html,
        assume_post_type=layout.assumed_post_type,
        optional_attrs=frozenset(layout.missing_required),
        absent_attrs=frozenset(known - present),
    )

    def rows() -> Iterator[tuple[dict[str, pa.RecordBatch], list[Reject], BatchBuilder]]:
        width = len(names)
        id_at = names.index(id_attr)
        attrs = builder.attrs
        last_line = reader.line_num
        with handle:
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    builder.reject(last_line + 1, "malformed CSV", f"malformed CSV: {exc}", None)
                    last_line = reader.line_num
                    continue
                line, last_line = last_line + 1, reader.line_num
                if not row:
                    continue  # a blank line holds no data
                if len(row) != width:
                    builder.reject(
                        line,
                        "malformed CSV row",
                        f"malformed CSV row: expected {width} fields, found {len(row)} "
                        "(cut off or badly quoted)",
                        ",".join(row)[:2000],
                        row_id=row[id_at] if len(row) > id_at else None,
                    )
                    continue
                values = dict(zip(names, row, strict=True))
                if tag_at:
                    values["Tags"] = "".join(f"<{t}>" for i in tag_at if (t := row[i].strip()))
                builder.add(tuple(values.get(a) for a in attrs), line)
                if builder.pending_rows() >= batch_rows:
                    yield builder.flush(), builder.take_rejects(), builder
        yield builder.flush(), builder.take_rejects(), builder

    return layout, rows()
