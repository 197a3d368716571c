"""Typed tables from raw dump rows, shared by the XML and CSV readers.

Rows are gathered as raw strings and converted a batch at a time with Arrow's vectorised
casts; only a column whose cast fails is re-read value by value, to find the culprits. A row
whose required field is missing, or whose field holds a value that does not parse, is never
dropped silently: it becomes a reject naming the field and the value.

Bodies are HTML as the dumps hold them, or Markdown as typed (the closed-questions CSV): those
go through ``askwell.markdown.to_html`` first, as the editor's text does, so both kinds of
source give the body columns the editor would compute.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from askwell.data.schema import (
    ANSWER_POST_TYPE,
    KIND_TABLES,
    OPEN_STATUSES,
    QUESTION_POST_TYPE,
    TABLE_SCHEMAS,
    TIMESTAMP,
    FieldType,
    Kind,
)
from askwell.data.text import extract_bodies, parse_tags

RAW_LIMIT = 2000  # characters of a rejected row kept for a person to inspect

_US_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y")


def parse_timestamp(raw: str) -> datetime:
    """ISO 8601 (dumps, SEDE) or the m/d/yyyy a spreadsheet writes; naive means UTC."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        for fmt in _US_FORMATS:
            try:
                value = datetime.strptime(raw.strip(), fmt)
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"not a date: {raw!r}") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_open_status(raw: str) -> str:
    """Kaggle's OpenStatus, exactly as it spells it."""
    if raw not in OPEN_STATUSES:
        raise ValueError(f"not an open status: {raw!r}")
    return raw


_NOUNS = {
    FieldType.INT: "an integer",
    FieldType.TIMESTAMP: "a date",
    FieldType.TEXT: "text",
    FieldType.TAGS: "tags",
    FieldType.OPEN_STATUS: "an open status (one of: " + ", ".join(OPEN_STATUSES) + ")",
}
_PARSERS: dict[FieldType, Callable[[str], Any]] = {
    FieldType.INT: int,
    FieldType.TIMESTAMP: parse_timestamp,
    FieldType.TEXT: str,
    FieldType.TAGS: parse_tags,
    FieldType.OPEN_STATUS: parse_open_status,
}
_ARROW: dict[FieldType, pa.DataType] = {
    FieldType.INT: pa.int64(),
    FieldType.TIMESTAMP: TIMESTAMP,
    FieldType.TEXT: pa.string(),
    FieldType.TAGS: pa.list_(pa.string()),
    FieldType.OPEN_STATUS: pa.string(),
}


@dataclass
class Reject:
    site: str
    source: str
    source_line: int | None
    table: str
    row_id: str | None
    category: str  # the reason without its values, for counting ("missing CreationDate")
    reason: str
    raw: str | None


def rejects_batch(rejects: list[Reject]) -> pa.RecordBatch:
    schema = TABLE_SCHEMAS["rejects"]
    return pa.RecordBatch.from_arrays(
        [pa.array([getattr(r, f.name) for r in rejects], type=f.type) for f in schema],
        schema=schema,
    )


@dataclass
class BatchBuilder:
    """Accumulates the raw rows of one kind of file; ``flush`` types them into one Arrow
    record batch per table and moves bad rows to ``rejects``."""

    kind: Kind
    site: str
    source: str
    keep_html: bool = False  # store body_html too (else null: the dump holds it)
    assume_post_type: int | None = None  # for exports that carry no PostTypeId column
    optional_attrs: frozenset[str] = frozenset()  # required fields a source lacks entirely
    absent_attrs: frozenset[str] = frozenset()  # fields a source lacks entirely (unknown)
    rejects: list[Reject] = field(default_factory=list)
    skipped_post_types: Counter[int] = field(default_factory=Counter)
    rows_read: int = 0
    _rows: list[tuple[str | None, ...]] = field(default_factory=list)
    _lines: list[int | None] = field(default_factory=list)

    @property
    def attrs(self) -> tuple[str, ...]:
        """The dump field names a raw row holds, in order."""
        return tuple(f.attr for f in self.kind.fields)

    def add(self, values: tuple[str | None, ...], line: int | None) -> None:
        """One raw row: a string (or None, or "" for empty) per name in ``attrs``."""
        self.rows_read += 1
        self._rows.append(values)
        self._lines.append(line)

    def reject(
        self,
        line: int | None,
        category: str,
        reason: str,
        raw: str | None,
        row_id: str | None = None,
    ) -> None:
        """A row that could not even be read as fields (malformed XML or CSV)."""
        self.rows_read += 1
        self.rejects.append(
            Reject(self.site, self.source, line, self._reject_table, row_id, category, reason, raw)
        )

    @property
    def _reject_table(self) -> str:
        """The table a row of this kind that cannot be typed was meant for ("posts" when
        it could be a question or an answer)."""
        tables = KIND_TABLES[self.kind.name]
        return tables[0] if len(tables) == 1 else self.kind.name

    @property
    def last_line(self) -> int | None:
        """Source line of the last row added since the last flush."""
        return self._lines[-1] if self._lines else None

    def pending_rows(self) -> int:
        return len(self._rows)

    def take_rejects(self) -> list[Reject]:
        rejects, self.rejects = self.rejects, []
        return rejects

    def flush(self) -> dict[str, pa.RecordBatch]:
        """The rows gathered since the last flush, typed, one record batch per table."""
        rows, lines = self._rows, self._lines
        self._rows, self._lines = [], []
        n = len(rows)
        columns: dict[str, pa.Array] = {}
        problems: dict[int, list[tuple[str, str]]] = {}
        # Rows are tuples so that one C-level zip turns them into columns (3x faster than
        # building each column from dicts).
        raw_columns = list(zip(*rows, strict=True)) if rows else [()] * len(self.kind.fields)
        for f, raw_col in zip(self.kind.fields, raw_columns, strict=True):
            if f.attr == "PostTypeId" and self.assume_post_type is not None:
                columns[f.column] = pa.array([self.assume_post_type] * n, pa.int64())
                continue
            col = pa.array(raw_col, pa.string())
            blank = pc.equal(col, "")
            if pc.any(blank).as_py():  # "" means absent, as a missing attribute does
                col = pc.if_else(blank, pa.scalar(None, pa.string()), col)
            if f.required and f.attr not in self.optional_attrs and col.null_count:
                for i in _indices(pc.is_null(col)):
                    problems.setdefault(i, []).append(
                        (f"missing {f.attr}", f"missing required field {f.attr}")
                    )
            columns[f.column] = self._typed(f.type, f.attr, col, problems)
        tables = KIND_TABLES[self.kind.name]
        keep = pa.array([i not in problems for i in range(n)], pa.bool_())
        if problems:
            self._reject_rows(rows, lines, problems, columns)
        if self.kind.name == "posts":
            post_type = columns["post_type_id"]
            is_q = pc.and_(keep, pc.equal(post_type, QUESTION_POST_TYPE))
            is_a = pc.and_(keep, pc.equal(post_type, ANSWER_POST_TYPE))
            other = pc.filter(post_type, pc.and_(keep, pc.invert(pc.or_(is_q, is_a))))
            for value, count in Counter(other.to_pylist()).items():
                self.skipped_post_types[int(value)] += count
            masks = {"questions": is_q, "answers": is_a}
        else:
            masks = {tables[0]: keep}
        self._closing(columns, n)
        columns["site"] = pa.array([self.site] * n, pa.string())
        columns["source"] = pa.array([self.source] * n, pa.string())
        columns["source_line"] = pa.array(lines, pa.int64())
        return {table: self._table(table, columns, masks[table]) for table in tables}

    def _closing(self, columns: dict[str, pa.Array], n: int) -> None:
        """``closed`` and ``close_reason``: from OpenStatus where the source gives it, else
        closed while ClosedDate is set (null when the source has no ClosedDate at all)."""
        status = columns.pop("open_status", None)
        if status is not None:
            is_open = pc.equal(status, "open")
            columns["closed"] = pc.invert(is_open)
            columns["close_reason"] = pc.if_else(is_open, pa.scalar(None, pa.string()), status)
        elif "closed_date" in columns:
            columns["closed"] = (
                pa.nulls(n, pa.bool_())
                if "ClosedDate" in self.absent_attrs
                else pc.is_valid(columns["closed_date"])
            )

    def _typed(
        self,
        type_: FieldType,
        attr: str,
        col: pa.Array,
        problems: dict[int, list[tuple[str, str]]],
    ) -> pa.Array:
        if type_ == FieldType.TEXT:
            return col
        if (
            type_ == FieldType.OPEN_STATUS
            and pc.all(pc.fill_null(pc.is_in(col, pa.array(OPEN_STATUSES)), True)).as_py()
        ):
            return col
        if (
            type_ == FieldType.TAGS
            and not pc.any(pc.or_(pc.starts_with(col, "|"), pc.match_substring(col, "<>"))).as_py()
        ):
            # The classic "<a><b>" spelling with no empty tag: one vectorised split.
            return pc.split_pattern(pc.utf8_trim(col, "<>"), "><")
        if type_ != FieldType.TAGS:
            try:
                if type_ == FieldType.TIMESTAMP:  # dump dates are UTC without an offset
                    return pc.cast(col, pa.timestamp("ms")).cast(TIMESTAMP)
                if type_ != FieldType.OPEN_STATUS:
                    return pc.cast(col, _ARROW[type_])
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                pass  # some value is not in Arrow's format: read them one by one below
            if type_ == FieldType.TIMESTAMP and (dates := _us_dates(col)) is not None:
                return dates
        parse = _PARSERS[type_]
        values: list[Any] = []
        for i, raw in enumerate(col.to_pylist()):
            if raw is None:
                values.append(None)
                continue
            try:
                values.append(parse(raw))
            except (ValueError, OverflowError):
                values.append(None)
                problems.setdefault(i, []).append(
                    (f"unparsable {attr}", f"{attr}: cannot parse {_short(raw)} as {_NOUNS[type_]}")
                )
        try:
            return pa.array(values, _ARROW[type_])
        except (pa.ArrowInvalid, OverflowError):  # an integer beyond 64 bits
            out = []
            for i, v in enumerate(values):
                if isinstance(v, int) and not -(2**63) <= v < 2**63:
                    problems.setdefault(i, []).append(
                        (f"unparsable {attr}", f"{attr}: {v} is out of range")
                    )
                    v = None
                out.append(v)
            return pa.array(out, _ARROW[type_])

    def _reject_rows(
        self,
        rows: list[tuple[str | None, ...]],
        lines: list[int | None],
        problems: dict[int, list[tuple[str, str]]],
        columns: dict[str, pa.Array],
    ) -> None:
        post_types = columns.get("post_type_id")
        for i in sorted(problems):
            found = problems[i]
            fields = {k: v for k, v in zip(self.attrs, rows[i], strict=True) if v is not None}
            table = self._reject_table
            if post_types is not None:
                pt = post_types[i].as_py()
                table = {QUESTION_POST_TYPE: "questions", ANSWER_POST_TYPE: "answers"}.get(
                    pt, "posts"
                )
            self.rejects.append(
                Reject(
                    self.site,
                    self.source,
                    lines[i],
                    table,
                    fields.get(self.kind.id_attr),
                    found[0][0],
                    "; ".join(text for _, text in found),
                    json.dumps(fields, ensure_ascii=False)[:RAW_LIMIT],
                )
            )

    def _table(self, table: str, columns: dict[str, pa.Array], mask: pa.Array) -> pa.RecordBatch:
        schema = TABLE_SCHEMAS[table]
        names = [name for name in schema.names if name in columns]
        # One filter call over all columns; the body columns are derived from the kept rows.
        picked = pa.RecordBatch.from_arrays([columns[n] for n in names], names=names).filter(mask)
        derived: dict[str, pa.Array] = {}
        if "body_text" in schema.names:
            if "body_markdown" in picked.schema.names:
                html = _markdown_to_html(picked.column("body_markdown"))
            else:
                html = picked.column("body_html")
            derived = _body_columns(html)
            derived["body_html"] = html if self.keep_html else pa.nulls(len(html), pa.string())
        # Columns this kind of source does not have are null.
        arrays = [
            derived[f.name]
            if f.name in derived
            else picked.column(f.name)
            if f.name in picked.schema.names
            else pa.nulls(picked.num_rows, f.type)
            for f in schema
        ]
        return pa.RecordBatch.from_arrays(
            [
                a if a.type == f.type else a.cast(f.type)
                for a, f in zip(arrays, schema, strict=True)
            ],
            schema=schema,
        )


def _us_dates(col: pa.Array) -> pa.Array | None:
    """The m/d/yyyy dates a spreadsheet (or Kaggle) writes, parsed by Arrow: only when every
    value reads back exactly as written in one of ``_US_FORMATS`` (Arrow would take
    2/30/2009 for 3/2), so the result is what ``parse_timestamp`` gives; else None."""
    parsed = pa.nulls(len(col), pa.timestamp("s"))  # seconds: strftime's %S has no fraction
    for fmt in _US_FORMATS:
        value = pc.strptime(col, format=fmt, unit="s", error_is_null=True)
        exact = pc.fill_null(pc.equal(pc.strftime(value, format=fmt), col), False)
        parsed = pc.coalesce(parsed, pc.if_else(exact, value, pa.scalar(None, value.type)))
    if parsed.null_count != col.null_count:
        return None
    return parsed.cast(TIMESTAMP)


def _markdown_to_html(markdown: pa.Array) -> pa.Array:
    from askwell.markdown import to_html  # only sources with Markdown bodies need it

    return pa.array([None if m is None else to_html(m) for m in markdown.to_pylist()], pa.string())


def markdown_body_columns(markdown: list[str | None]) -> dict[str, pa.Array]:
    """``body_html`` and the body columns of Markdown bodies, as ingestion derives them from
    a source that has Markdown (and as the editor reads a draft)."""
    html = _markdown_to_html(pa.array(markdown, pa.string()))
    return {"body_html": html, **_body_columns(html)}


def _body_columns(body_html: pa.Array) -> dict[str, pa.Array]:
    parts = extract_bodies(body_html.to_pylist())
    out = {
        name: pa.array(parts[name], pa.list_(pa.string()))
        for name in ("code_blocks", "inline_code", "links", "images", "quotes")
    }
    # No body at all (a metadata-only export) is null text, not "".
    text = pa.array(parts["text"], pa.string())
    out["body_text"] = text = pc.if_else(pc.is_valid(body_html), text, pa.scalar(None, pa.string()))
    for name in ("n_lists", "n_list_items", "n_paragraphs", "n_blockquotes"):
        out[name] = pa.array(parts[name], pa.int32())
    for name, source in (
        ("n_code_blocks", "code_blocks"),
        ("n_inline_code", "inline_code"),
        ("n_links", "links"),
        ("n_images", "images"),
    ):
        out[name] = pc.list_value_length(out[source]).cast(pa.int32())
    out["body_chars"] = pc.utf8_length(text).cast(pa.int32())
    code_chars = pc.utf8_length(pc.list_flatten(out["code_blocks"]))
    parents = pc.list_parent_indices(out["code_blocks"])
    sums = np.bincount(parents.to_numpy(), weights=code_chars.to_numpy(), minlength=len(text))
    out["code_chars"] = pa.array(sums.astype(np.int32))
    return out


def _indices(mask: pa.Array) -> list[int]:
    return [i for i, v in enumerate(mask.to_pylist()) if v]


def _short(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")
