"""Batch scoring: a file of questions in, a file of scores out, through ``Predictor.score``:
in this process, or spread over scoring processes (``serving/pool.py``; ``askwell score
--workers N``), the rows in their order either way.

``score_file`` streams, so memory stays flat whatever the input's size: CSV is read a record
at a time with the csv module, JSONL a line at a time, Parquet a record batch at a time; the
output is written as rows are scored (CSV and JSONL a line at a time, Parquet a row group of
``PARQUET_ROWS`` at a time). Each file's format follows its extension, independently.

Input columns (names matched case-insensitively, so SEDE exports read as they are): ``title``
(required), ``body`` (Markdown as typed on the site, or HTML; a blank one is a row error, as
the API refuses it, while a file or line with no body field has its title scored alone),
``tags`` (``a,b``, ``<a><b>``, ``|a|b|`` or a list), ``site`` and ``id`` (carried to the
output; the 1-based row number when absent). Others are ignored. Output columns: ``COLUMNS``.

A bad row never stops the run and is never dropped: it is written with an ``error`` naming its
line (row, in Parquet), the field and what is wrong, and counted in the summary. A problem
with a file itself (missing, unknown extension, no title column, not Parquet) is an
``InputError`` or ``OutputError`` before anything is scored; a damaged Parquet row group
costs its own rows, each written with its error.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Protocol

from askwell.data.text import lone_surrogate, parse_tags
from askwell.errors import InputError, OutputError
from askwell.records import Question

if TYPE_CHECKING:
    from askwell.explain.predictor import Predictor, Scored
    from askwell.serving.pool import ScoringPool

Format = Literal["csv", "jsonl", "parquet"]
FORMATS: dict[str, Format] = {
    ".csv": "csv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
FIELDS = ("title", "body", "tags", "site", "id")
COLUMNS = (
    "id", "site", "verdict", "closing_risk", "close_reason", "score", "band", "review",
    "suggestions", "model_version", "error",
)  # fmt: skip
PARQUET_ROWS = 1_000  # rows per Parquet read batch and per written row group
DEFAULT_TOP = 3
# Rows read, scored and written together: with scoring processes, every process has work
# while the rows stay few enough to stream.
CHUNK_ROWS = 64


@dataclass(frozen=True)
class Record:
    """One input row as read: where it is, for messages; its fields under ``FIELDS`` names,
    or None with ``error`` when the row itself could not be read."""

    where: str  # "line 7" (CSV, JSONL: the line it starts on) or "row 7" (Parquet)
    number: int  # 1-based row number: the id when the input has none
    fields: Mapping[str, object] | None
    error: str | None = None
    raw_id: object = None  # the id of a row that could not be read, when it can be told


class ProgressSink(Protocol):
    """Told after each row: rows done, and how far through the input (0..1) when known."""

    def update(self, rows: int, fraction: float | None) -> None: ...


@dataclass
class BatchSummary:
    rows: int = 0
    scored: int = 0
    errors: int = 0
    first_error: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. the input has no body column

    def describe(self) -> str:
        """One line: "N scored, M with errors (first: line 7: title is empty)"."""
        text = f"{self.scored:,} scored, {self.errors:,} with errors"
        return text + (f" (first: {self.first_error})" if self.first_error else "")


class _RowError(Exception):
    """A row's field is missing or wrong; the message names the field and the problem."""


# ----------------------------------------------------------------------------- scoring


def score_rows(
    scorer: Predictor | ScoringPool,
    rows: Iterable[Mapping[str, object]],
    *,
    html: bool = False,
    top: int = DEFAULT_TOP,
) -> Iterator[dict[str, object]]:
    """Each row (a mapping with ``FIELDS`` keys, as a JSONL line gives) scored, in order, as
    an output row with ``COLUMNS`` keys; a bad row gives its ``error`` ("row 3: …")."""
    records = (_record(f"row {n}", n, row) for n, row in enumerate(rows, 1))
    yield from score_records(scorer, records, html=html, top=top)


def _record(where: str, number: int, row: Mapping[str, object]) -> Record:
    try:
        return Record(where, number, _pick(row))
    except _RowError as exc:
        return Record(where, number, None, str(exc))


def score_records(
    scorer: Predictor | ScoringPool,
    records: Iterable[Record],
    *,
    html: bool,
    top: int,
) -> Iterator[dict[str, object]]:
    """Each record scored, in order, as an output row with ``COLUMNS`` keys (a record that
    could not be read, or a question that failed, as a row with its ``error``): what
    ``score_file`` and ``askwell spark score`` write."""
    every = iter(records)
    while chunk := list(itertools.islice(every, CHUNK_ROWS)):
        # Each row: its id, then where it is and its question, or its error.
        read: list[tuple[object, str, Question | None, str | None]] = []
        for record in chunk:
            ident: object = record.raw_id or record.number
            try:
                if record.fields is None:
                    raise _RowError(record.error or "could not be read")
                ident = _ident(record.fields.get("id"), record.number)
                read.append((ident, record.where, _question(record.fields, html), None))
            except _RowError as exc:
                read.append((ident, record.where, None, f"{record.where}: {exc}"))
            except Exception as exc:  # reading the text failed: a bug, said on its row
                read.append((ident, record.where, None, _bug(record.where, "read", exc)))
        outcomes = iter(_score_all(scorer, [q for _, _, q, _ in read if q is not None]))
        for ident, where, question, error in read:
            if question is None:
                yield _failed(ident, str(error))
                continue
            scored = next(outcomes)
            if isinstance(scored, BaseException):
                # A bug, not the user's input: one question must not sink a run of a million,
                # so it is said on its row, and counted.
                yield _failed(ident, _bug(where, "score", scored))
                continue
            yield {
                "id": ident,
                "site": question.site,  # with the id: what later outcomes are joined on
                "verdict": scored.verdict,
                "closing_risk": scored.closing_risk,
                "close_reason": None if scored.closing is None else scored.closing.reason,
                "score": scored.score,
                "band": scored.band,
                "review": scored.review,
                "suggestions": [
                    {"id": s.id, "message": s.message} for s in scored.suggestions[:top]
                ],
                "model_version": scored.model_version,
                "error": None,
            }


def _score_all(
    scorer: Predictor | ScoringPool, questions: Sequence[Question]
) -> list[Scored | BaseException]:
    """Each question's score, or the exception it raised, in order: in this process, or
    spread over the scoring processes."""
    from askwell.serving.pool import ScoringPool

    if isinstance(scorer, ScoringPool):
        return scorer.score_all(questions)
    outcomes: list[Scored | BaseException] = []
    for question in questions:
        try:
            outcomes.append(scorer.score(question))
        except Exception as exc:  # said on the question's row
            outcomes.append(exc)
    return outcomes


def _bug(where: str, doing: str, exc: BaseException) -> str:
    return (
        f"{where}: could not {doing} it: {type(exc).__name__}: {_one_line(exc)} "
        "(this is a bug in askwell; please report it)"
    )


def _failed(ident: object, error: str) -> dict[str, object]:
    return {
        "id": ident,
        "site": None,
        "verdict": None,
        "closing_risk": None,
        "close_reason": None,
        "score": None,
        "band": None,
        "review": None,
        "suggestions": None,
        "model_version": None,
        "error": error,
    }


def _question(fields: Mapping[str, object], html: bool) -> Question:
    """The question exactly as the API builds it (``Question.from_markdown``), or from HTML
    with ``html``."""
    title = fields.get("title")
    if title is None:
        raise _RowError("title is missing")
    title = _text("title", title)
    if not title.strip():
        raise _RowError("title is empty")
    body = ""
    if "body" in fields:  # a row without a body field: its title and tags are scored alone
        body = _text("body", fields["body"] if fields["body"] is not None else "")
        if not body.strip():
            raise _RowError("body is empty")  # as the API refuses it
    site = _text("site", fields.get("site") or "") or None
    tags = _tags(fields.get("tags"))
    build = Question.from_html if html else Question.from_markdown
    return build(title, body, tags, site)


def _text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise _RowError(f"{name} must be text, found {_kind(value)}")
    at = lone_surrogate(value)
    if at is not None:
        raise _RowError(f"{name} is not valid Unicode text (a lone surrogate at character {at})")
    return value


_SEPARATORS = re.compile(r"[,\s]+")


def _tags(value: object) -> tuple[str, ...]:
    """``a,b`` (or space-separated: no tag holds a space), ``<a><b>`` or ``|a|b|`` as the
    dumps spell them, or a list of text."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(t for t in (_text("tags", v).strip() for v in value) if t)
    text = _text("tags", value).strip()
    if text.startswith("<") and not text.endswith(">"):
        raise _RowError("tags: '<' without its '>' (expected <a><b>)")
    if text.startswith(("<", "|")):
        return tuple(t.strip() for t in parse_tags(text) if t.strip())
    return tuple(t for t in _SEPARATORS.split(text) if t)


def _ident(value: object, number: int) -> object:
    if value is None or value == "":
        return number
    if isinstance(value, list | tuple | dict):
        raise _RowError(f"id must be text or a number, found {_kind(value)}")
    if isinstance(value, str):
        _text("id", value)
    return value


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line, without control characters."""
    return " ".join("".join(c if c.isprintable() else " " for c in str(exc)).split())


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _pick(row: Mapping[str, object]) -> dict[str, object]:
    """A row's ``FIELDS``, its keys matched case-insensitively ("Title" is ``title``)."""
    out: dict[str, object] = {}
    for key, value in row.items():
        name = str(key).strip().lower()
        if name in FIELDS:
            if name in out:
                raise _RowError(f"two {name} fields")
            out[name] = value
    return out


# ----------------------------------------------------------------------------- files


def check_paths(in_path: Path, out_path: Path) -> tuple[Format, Format]:
    """The two formats; the input must exist and the output must not be it. Cheap: the CLI
    calls it before loading the model."""
    if not in_path.exists():
        raise InputError(f"{in_path}: no such file")
    if in_path.is_dir():
        raise InputError(f"{in_path}: is a folder, not a file")
    fmt_in = _format(in_path)
    if fmt_in is None:
        raise InputError(f"{in_path}: {_unknown(in_path)}")
    fmt_out = _format(out_path)
    if fmt_out is None:
        raise OutputError(f"{out_path}: {_unknown(out_path)}")
    if out_path.resolve() == in_path.resolve() or (
        out_path.exists() and in_path.samefile(out_path)
    ):
        raise OutputError(f"{out_path}: is the input file; write the scores to another file")
    if out_path.is_dir():
        raise OutputError(f"{out_path}: is a folder; give a file name")
    return fmt_in, fmt_out


def _format(path: Path) -> Format | None:
    return FORMATS.get(path.suffix.lower())


def _unknown(path: Path) -> str:
    what = f"'{path.suffix}'" if path.suffix else "no extension"
    return f"unknown format ({what}); use .csv, .jsonl, .ndjson or .parquet"


def score_file(
    in_path: Path,
    out_path: Path,
    scorer: Predictor | ScoringPool,
    *,
    html: bool = False,
    top: int = DEFAULT_TOP,
    progress: ProgressSink | None = None,
) -> BatchSummary:
    """Scores every row of ``in_path`` into ``out_path`` (its folder created), streaming."""
    fmt_in, fmt_out = check_paths(in_path, out_path)
    summary = BatchSummary()
    with _open_source(in_path, fmt_in) as source:
        if "body" not in source.columns:
            summary.notes.append(f"{in_path} has no body column: titles and tags scored alone")
        try:
            out_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"{out_path.parent}: cannot create the folder ({exc.strerror})"
            ) from None
        with _open_sink(out_path, fmt_out, id_is_int=source.id_is_int) as sink:
            rows = score_records(scorer, source.records(), html=html, top=top)
            try:
                for row in rows:
                    try:
                        sink.write(row)
                    except OSError as exc:
                        raise OutputError(
                            f"{out_path}: cannot write it ({exc.strerror or exc}); it holds "
                            f"the {summary.rows:,} rows before"
                        ) from None
                    summary.rows += 1
                    if row["error"] is None:
                        summary.scored += 1
                    else:
                        summary.errors += 1
                        summary.first_error = summary.first_error or str(row["error"])
                    if progress is not None:
                        progress.update(summary.rows, source.fraction())
            except OSError as exc:  # the input broke part-way (writes raise OutputError)
                raise InputError(
                    f"{in_path}: cannot read it after row {summary.rows:,} "
                    f"({exc.strerror or exc}); {out_path} holds the rows before"
                ) from None
    return summary


# ----------------------------------------------------------------------------- readers


class _Source:
    columns: frozenset[str] = frozenset()  # the FIELDS the input has
    id_is_int = False  # every id is an integer: no id column, or an integer Parquet column

    def records(self) -> Iterator[Record]:
        raise NotImplementedError

    def fraction(self) -> float | None:
        return None

    def close(self) -> None:
        pass

    def __enter__(self) -> _Source:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _open_source(path: Path, fmt: Format) -> _Source:
    try:
        if fmt == "csv":
            return _CsvSource(path)
        if fmt == "jsonl":
            return _JsonlSource(path)
        return _ParquetSource(path)
    except PermissionError:
        raise InputError(f"{path}: not allowed to read it") from None


def input_columns(source: str, names: Sequence[object]) -> dict[str, int]:
    """Where each of ``FIELDS`` is among a header's ``names``; title is required."""
    at: dict[str, int] = {}
    for i, name in enumerate(names):
        key = str(name).strip().lower()
        if key in FIELDS:
            if key in at:
                raise InputError(f"{source}: two {key} columns ({names[at[key]]!r}, {name!r})")
            at[key] = i
    if "title" not in at:
        shown = ", ".join(repr(str(n))[:40] for n in names[:12]) or "none"
        more = f" and {len(names) - 12} more" if len(names) > 12 else ""
        raise InputError(f"{source}: no title column (columns: {shown}{more})")
    return at


class _CsvSource(_Source):
    """RFC 4180 CSV with a header line, UTF-8 (a byte-order mark is dropped; a byte that is
    not UTF-8 is read as cp1252, as ingestion does, so a spreadsheet's file still reads)."""

    def __init__(self, path: Path) -> None:
        import askwell.data.csvread  # noqa: F401  the cp1252 fallback, csv's field size limit

        self._path = path
        self._raw = path.open("rb")
        self._size = os.fstat(self._raw.fileno()).st_size
        text = io.TextIOWrapper(
            self._raw, encoding="utf-8-sig", errors="askwell-cp1252", newline=""
        )
        self._text = text
        self._reader = csv.reader(text)
        try:
            header: list[str] = []
            while not header:  # blank lines before the header hold nothing
                header = next(self._reader)
        except StopIteration:
            self.close()
            raise InputError(
                f"{path}: the file is empty; expected a header with a title column"
            ) from None
        except csv.Error as exc:
            self.close()
            raise InputError(f"{path}: line 1: not a readable CSV header ({exc})") from None
        try:
            self._at = input_columns(f"{path}: line {self._reader.line_num}", header)
        except InputError:
            self.close()
            raise
        self._width = len(header)
        self.columns = frozenset(self._at)
        self.id_is_int = "id" not in self._at

    def records(self) -> Iterator[Record]:
        reader, width, at = self._reader, self._width, self._at
        last = reader.line_num
        number = 0
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                number += 1
                yield Record(f"line {last + 1}", number, None, f"not readable CSV ({exc})")
                last = reader.line_num
                continue
            line, last = last + 1, reader.line_num
            if not row:
                continue  # a blank line is no row
            number += 1
            if len(row) != width:
                yield Record(
                    f"line {line}",
                    number,
                    None,
                    f"{len(row)} fields where the header has {width} (cut off or badly quoted)",
                    raw_id=row[at["id"]] if at.get("id", width) < len(row) else None,
                )
                continue
            yield Record(f"line {line}", number, {k: row[i] for k, i in at.items()})

    def fraction(self) -> float | None:
        # The bytes the text layer has taken: ahead of the csv reader by one 8 KiB chunk.
        return min(1.0, self._raw.tell() / self._size) if self._size else None

    def close(self) -> None:
        self._text.close()  # and the binary file under it


class _JsonlSource(_Source):
    """One JSON object per line, UTF-8; blank lines are skipped."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file = path.open("rb")
        self._size = os.fstat(self._file.fileno()).st_size
        self.columns = frozenset(FIELDS)  # unknown until read: each line says for itself

    def records(self) -> Iterator[Record]:
        number = 0
        for n, raw in enumerate(self._file, 1):
            if not raw.strip():
                continue
            number += 1
            where = f"line {n}"
            try:
                text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                yield Record(where, number, None, f"not UTF-8 text (byte {exc.start})")
                continue
            try:
                value = json.loads(text.rstrip("\r\n"))  # an error's column stays on the line
            except json.JSONDecodeError as exc:
                yield Record(where, number, None, f"not valid JSON ({exc.msg}, column {exc.colno})")
                continue
            if not isinstance(value, dict):
                yield Record(where, number, None, f"expected a JSON object, found {_kind(value)}")
                continue
            yield _record(where, number, value)

    def fraction(self) -> float | None:
        return min(1.0, self._file.tell() / self._size) if self._size else None

    def close(self) -> None:
        self._file.close()


class _ParquetSource(_Source):
    """A Parquet file, read a record batch at a time; its footer gives the row count."""

    def __init__(self, path: Path) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._path = path
        try:
            self._file = pq.ParquetFile(path)
            schema = self._file.schema_arrow
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise InputError(f"{path}: not a readable Parquet file ({exc})") from None
        self._at = input_columns(str(path), schema.names)
        self._names = schema.names
        self._total = self._file.metadata.num_rows
        self._done = 0
        self.columns = frozenset(self._at)
        self.id_is_int = "id" not in self._at or pa.types.is_integer(
            schema.field(self._at["id"]).type
        )

    def records(self) -> Iterator[Record]:
        import pyarrow as pa

        names = {k: self._names[i] for k, i in self._at.items()}
        # Row group by row group: a damaged one costs its own rows (each written as an
        # error, its count from the footer), not the rest of the file.
        for group in range(self._file.num_row_groups):
            size = self._file.metadata.row_group(group).num_rows
            read = 0
            try:
                for batch in self._file.iter_batches(
                    batch_size=PARQUET_ROWS, row_groups=[group], columns=list(names.values())
                ):
                    for row in batch.to_pylist():
                        self._done += 1
                        read += 1
                        fields = {k: row[name] for k, name in names.items()}
                        yield Record(f"row {self._done}", self._done, fields)
            except (pa.ArrowException, OSError, ValueError) as exc:
                reason = _one_line(exc)  # Arrow's messages span lines
                for _ in range(size - read):
                    self._done += 1
                    yield Record(
                        f"row {self._done}",
                        self._done,
                        None,
                        f"cannot be read: row group {group + 1} is damaged ({reason})",
                    )

    def fraction(self) -> float | None:
        return self._done / self._total if self._total else None

    def close(self) -> None:
        self._file.close()


# ----------------------------------------------------------------------------- writers


class _Sink:
    def write(self, row: Mapping[str, object]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> _Sink:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()  # on an error or ^C too: what was written stays a readable file


def _open_sink(path: Path, fmt: Format, *, id_is_int: bool) -> _Sink:
    try:
        if fmt == "csv":
            return _CsvSink(path)
        if fmt == "jsonl":
            return _JsonlSink(path)
        return _ParquetSink(path, id_is_int)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write it ({exc.strerror or exc})") from None


def _suggestions_json(value: object) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


class _CsvSink(_Sink):
    """Empty cells where a bad row has no value; suggestions as a JSON list."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(COLUMNS)

    def write(self, row: Mapping[str, object]) -> None:
        cells = dict(row, suggestions=_suggestions_json(row["suggestions"]))
        if isinstance(row["review"], bool):
            cells["review"] = "true" if row["review"] else "false"
        for name in ("score", "closing_risk"):
            if isinstance(row[name], float):
                cells[name] = repr(row[name])  # every digit: the score reads back exactly
        self._writer.writerow(["" if cells[c] is None else cells[c] for c in COLUMNS])

    def close(self) -> None:
        self._file.close()


class _JsonlSink(_Sink):
    """One object per line; null where a bad row has no value."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("w", encoding="utf-8")

    def write(self, row: Mapping[str, object]) -> None:
        self._file.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")

    def close(self) -> None:
        self._file.close()


class _ParquetSink(_Sink):
    """Row groups of ``PARQUET_ROWS``; id is int64 when every id is an integer, else text."""

    def __init__(self, path: Path, id_is_int: bool) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self._pa = pa
        self._id_is_int = id_is_int
        self._schema = pa.schema(
            [
                ("id", pa.int64() if id_is_int else pa.string()),
                ("site", pa.string()),
                ("verdict", pa.string()),
                ("closing_risk", pa.float64()),
                ("close_reason", pa.string()),
                ("score", pa.float64()),
                ("band", pa.string()),
                ("review", pa.bool_()),
                ("suggestions", pa.string()),
                ("model_version", pa.string()),
                ("error", pa.string()),
            ]
        )
        self._writer = pq.ParquetWriter(path, self._schema)
        self._pending: list[dict[str, Any]] = []

    def write(self, row: Mapping[str, object]) -> None:
        ident = row["id"]
        self._pending.append(
            dict(
                row,
                id=ident if self._id_is_int else str(ident),
                suggestions=_suggestions_json(row["suggestions"]),
            )
        )
        if len(self._pending) >= PARQUET_ROWS:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            table = self._pa.Table.from_pylist(self._pending, schema=self._schema)
            self._writer.write_table(table)
            self._pending = []

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self._writer.close()
