"""Typed rows from raw dump fields, shared by the XML and CSV readers.

A row whose required field is missing, or whose field holds a value that does not parse, is
never dropped silently: it becomes a reject with the field and the reason.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

from askwell.data.schema import (
    ANSWER_POST_TYPE,
    KIND_TABLES,
    QUESTION_POST_TYPE,
    TABLE_SCHEMAS,
    FieldType,
    Kind,
)
from askwell.data.text import html_to_parts, parse_tags

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


def _to_int(raw: str) -> int:
    return int(raw)


_NOUNS = {
    FieldType.INT: "an integer",
    FieldType.TIMESTAMP: "a date",
    FieldType.TEXT: "text",
    FieldType.TAGS: "tags",
}
_PARSERS: dict[FieldType, Callable[[str], object]] = {
    FieldType.INT: _to_int,
    FieldType.TIMESTAMP: parse_timestamp,
    FieldType.TEXT: str,
    FieldType.TAGS: parse_tags,
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

    @classmethod
    def of_fields(
        cls,
        site: str,
        source: str,
        line: int | None,
        table: str,
        fields: Mapping[str, str],
        problems: list[tuple[str, str]],
    ) -> Reject:
        raw = json.dumps(dict(fields), ensure_ascii=False)[:RAW_LIMIT]
        reason = "; ".join(text for _, text in problems)
        return cls(site, source, line, table, fields.get("Id"), problems[0][0], reason, raw)


@dataclass
class BatchBuilder:
    """Accumulates the rows of one kind of file and hands them out as Arrow record batches."""

    kind: Kind
    site: str
    source: str
    columns: dict[str, dict[str, list[object]]] = field(init=False)
    rejects: list[Reject] = field(default_factory=list)
    skipped_post_types: Counter[int] = field(default_factory=Counter)
    rows_read: int = 0
    assume_post_type: int | None = None  # for exports that carry no PostTypeId column
    optional_attrs: frozenset[str] = frozenset()  # required fields a source lacks entirely

    def __post_init__(self) -> None:
        self.columns = {t: _empty(t) for t in KIND_TABLES[self.kind.name]}
        self._specs = [
            (
                f.attr,
                f.column,
                _PARSERS[f.type],
                f.required and f.attr not in self.optional_attrs,
                _NOUNS[f.type],
            )
            for f in self.kind.fields
        ]

    def add(self, fields: Mapping[str, str], line: int | None) -> None:
        """Convert one raw row (dump field name → string value); bad rows become rejects."""
        self.rows_read += 1
        values: dict[str, object] = {}
        problems: list[tuple[str, str]] = []
        for attr, column, parse, required, noun in self._specs:
            raw = fields.get(attr)
            if raw is None or raw == "":
                if attr == "PostTypeId" and self.assume_post_type is not None:
                    values[column] = self.assume_post_type
                    continue
                if required:
                    problems.append((f"missing {attr}", f"missing required field {attr}"))
                values[column] = None
                continue
            try:
                values[column] = parse(raw)
            except (ValueError, OverflowError):
                problems.append(
                    (f"unparsable {attr}", f"{attr}: cannot parse {_short(raw)} as {noun}")
                )
        table = self._table_for(values, problems)
        if problems:
            self.rejects.append(
                Reject.of_fields(
                    self.site, self.source, line, table or self.kind.name, fields, problems
                )
            )
            return
        if table is None:
            return
        cols = self.columns[table]
        values["site"] = self.site
        values["source"] = self.source
        values["source_line"] = line
        if "body_text" in cols:
            _add_body(values)
        for name, column in cols.items():
            column.append(values.get(name))

    def _table_for(self, values: dict[str, object], problems: list[tuple[str, str]]) -> str | None:
        if self.kind.name != "posts":
            return KIND_TABLES[self.kind.name][0]
        post_type = values.get("post_type_id")
        if post_type == QUESTION_POST_TYPE:
            return "questions"
        if post_type == ANSWER_POST_TYPE:
            return "answers"
        if post_type is not None and not problems:
            self.skipped_post_types[int(post_type)] += 1  # type: ignore[call-overload]
        return None

    def pending_rows(self) -> int:
        return sum(len(next(iter(c.values()))) for c in self.columns.values())

    def flush(self) -> dict[str, pa.RecordBatch]:
        """The rows gathered since the last flush, as one record batch per table."""
        out = {}
        for table, cols in self.columns.items():
            schema = TABLE_SCHEMAS[table]
            out[table] = pa.RecordBatch.from_arrays(
                [pa.array(cols[f.name], type=f.type) for f in schema], schema=schema
            )
            self.columns[table] = _empty(table)
        return out

    def take_rejects(self) -> list[Reject]:
        rejects, self.rejects = self.rejects, []
        return rejects


def rejects_batch(rejects: list[Reject]) -> pa.RecordBatch:
    schema = TABLE_SCHEMAS["rejects"]
    return pa.RecordBatch.from_arrays(
        [pa.array([getattr(r, f.name) for r in rejects], type=f.type) for f in schema],
        schema=schema,
    )


def _empty(table: str) -> dict[str, list[object]]:
    return {name: [] for name in TABLE_SCHEMAS[table].names}


def _add_body(values: dict[str, object]) -> None:
    parts = html_to_parts(values.get("body_html"))  # type: ignore[arg-type]
    values["body_text"] = parts.text
    values["code_blocks"] = parts.code_blocks
    values["inline_code"] = parts.inline_code
    values["links"] = parts.links
    values["images"] = parts.images
    values["quotes"] = parts.quotes
    values["n_code_blocks"] = len(parts.code_blocks)
    values["n_inline_code"] = len(parts.inline_code)
    values["n_links"] = len(parts.links)
    values["n_images"] = len(parts.images)
    values["n_lists"] = parts.n_lists
    values["n_list_items"] = parts.n_list_items
    values["n_paragraphs"] = parts.n_paragraphs
    values["n_blockquotes"] = parts.n_blockquotes
    values["body_chars"] = len(parts.text)
    values["code_chars"] = sum(map(len, parts.code_blocks))


def _short(raw: str) -> str:
    return repr(raw if len(raw) <= 40 else raw[:40] + "…")
