"""Streaming reads of Stack Exchange XML dumps, split into chunks that parse independently.

A dump is one ``<row …/>`` element per line inside a root element. The reader cuts the byte
stream just before a ``<row`` (``<`` cannot appear unescaped inside an attribute value, so
that is always an element boundary), and each chunk is parsed by lxml ``iterparse`` wrapped in
its own root element. Chunks therefore parse in parallel worker processes while memory stays
bounded by the chunk size, and an error names the absolute line in the original file.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

import pyarrow as pa
from lxml import etree

from askwell.data.rows import RAW_LIMIT, BatchBuilder, Reject
from askwell.data.schema import KINDS, Kind
from askwell.data.workers import trim_memory
from askwell.errors import InputError

_BOM = b"\xef\xbb\xbf"
_PROLOG = re.compile(
    rb"\s*(?:<\?xml[^>]*\?>)?\s*(?:(?:<!--.*?-->|<!DOCTYPE[^>]*>|<\?[^>]*\?>)\s*)*"
    rb"<([A-Za-z_][\w.-]*)[^>]*>",
    re.S,
)
_ROW = b"<row"
_UTF8_REPLACEMENT = "\ufffd".encode()


@dataclass(frozen=True, slots=True)
class Chunk:
    """A run of whole rows: ``prefix + data + suffix`` is a well-formed document when the
    input is."""

    index: int
    data: bytes
    first_line: int  # line number of data's first byte in the original file
    prefix: bytes
    suffix: bytes


@dataclass(frozen=True, slots=True)
class ChunkTask:
    chunk: Chunk
    kind: str
    site: str
    source: str
    root: str
    recover: bool  # keep parsing after a syntax error (for --keep-partial)
    keep_html: bool = False


@dataclass(frozen=True, slots=True)
class SyntaxProblem:
    line: int
    column: int
    message: str

    def describe(self, source: str) -> str:
        return f"{source}: line {self.line}, column {self.column}: malformed XML: {self.message}"


@dataclass
class ChunkResult:
    index: int
    nbytes: int
    batches: dict[str, pa.RecordBatch]
    rejects: list[Reject]
    rows_read: int
    skipped_post_types: Counter[int]
    error: SyntaxProblem | None = None
    utf8_replacements: int = 0
    utf8_lines: list[int] = field(default_factory=list)


class ChunkReader:
    """Splits a dump stream into chunks of roughly ``chunk_bytes``; hashes what it reads."""

    def __init__(self, stream: IO[bytes], kind: Kind, source: str, chunk_bytes: int) -> None:
        self._stream = stream
        self._kind = kind
        self._source = source
        self._chunk_bytes = chunk_bytes
        self.sha256 = hashlib.sha256()
        self.bytes_read = 0
        self.root = kind.root

    def _read(self, n: int) -> bytes:
        block = self._stream.read(n)
        self.sha256.update(block)
        self.bytes_read += len(block)
        return block

    def __iter__(self) -> Iterator[Chunk]:
        buf = self._read(self._chunk_bytes)
        while len(buf) < 4096 and (more := self._read(self._chunk_bytes)):
            buf += more
        rows_from = check_header(buf, self._kind, self._source)
        root_open = b"<" + self.root.encode() + b">"
        root_close = b"</" + self.root.encode() + b">"
        index, line, eof, first = 0, 1, False, True
        while True:
            if not eof and len(buf) < self._chunk_bytes:
                more = self._read(self._chunk_bytes)
                eof = not more
                buf += more
                if not eof:
                    continue
            cut = -1 if eof else buf.rfind(_ROW, rows_from + 1)
            if cut <= rows_from and not eof:
                # No row boundary yet (a single huge row): read on.
                more = self._read(self._chunk_bytes)
                eof = not more
                buf += more
                continue
            data = buf if cut < 0 else buf[:cut]
            yield Chunk(
                index,
                data,
                line,
                b"" if first else root_open,
                b"" if cut < 0 else root_close,
            )
            if cut < 0:
                return
            index += 1
            line += data.count(b"\n")
            buf = buf[cut:]
            rows_from, first = 0, False


def check_header(buf: bytes, kind: Kind, source: str) -> int:
    """Checks the prolog and root element at the start of a dump (``buf``: its first bytes,
    at least its first row's start); returns where rows may start. Raises InputError for an
    empty file or another root element."""
    body = buf[len(_BOM) :] if buf.startswith(_BOM) else buf
    if not body.strip():
        raise InputError(f"{source}: the file is empty")
    m = _PROLOG.match(body)
    if m is None:
        raise InputError(
            f"{source}: line 1: not an XML dump (expected a <{kind.root}> root element)"
        )
    root = m.group(1).decode("ascii", "replace")
    if root != kind.root:
        line = body[: m.start(1)].count(b"\n") + 1
        raise InputError(
            f"{source}: line {line}: root element is <{root}>, expected "
            f"<{kind.root}> (is this really {kind.file_name}?)"
        )
    return len(buf) - len(body) + m.end()


def parse_chunk(task: ChunkTask) -> ChunkResult:
    """Parses one chunk into record batches; runs in a worker process."""
    chunk = task.chunk
    kind = KINDS[task.kind]
    body = chunk.data
    replaced = 0
    utf8_lines: list[int] = []
    builder = BatchBuilder(kind, task.site, task.source, keep_html=task.keep_html)
    start = 0  # where in ``body`` the current parse attempt begins (moves on after errors)
    first_error: SyntaxProblem | None = None
    while True:
        prefix = chunk.prefix if start == 0 else b"<" + task.root.encode() + b">"
        text = prefix + body[start:] + chunk.suffix
        line_base = chunk.first_line + body[:start].count(b"\n") - 1
        try:
            _parse(text, builder, line_base, task.root)
            break
        except etree.XMLSyntaxError as exc:
            where = _where(exc)
            if _is_encoding_error(where.message) and not replaced:
                body, replaced, utf8_lines = _replace_invalid_utf8(body, chunk.first_line)
                if replaced:
                    builder = BatchBuilder(
                        kind, task.site, task.source, keep_html=task.keep_html
                    )  # parse again, whole
                    start = 0
                    continue
            # Never before the last row read: that row parsed, so the error comes after it.
            last = builder.last_line
            lineno = max(where.line, last - line_base if last is not None else 1)
            column = where.column
            if lineno != where.line:
                column = 0
            elif lineno == 1:
                column = max(column - len(prefix), 0)  # on the root tag this parse added
            line = line_base + lineno
            problem = SyntaxProblem(line, column, where.message)
            first_error = first_error or problem
            if not task.recover:
                break
            # Keep what is valid: the span from the last good row to the end of the line
            # where parsing failed becomes one reject; parsing resumes at the next row.
            err_off = _line_offset(body, start, lineno)
            span_from = start
            if last is not None and last > line_base:
                span_from = max(start, _line_offset(body, start, last - line_base + 1))
            span_from = min(span_from, err_off)
            # Not the prolog or the root's start tag: the span starts at a row, or at the
            # line that failed when no row starts before it.
            newline = body.find(b"\n", err_off)
            row_at = body.find(_ROW, span_from, newline if newline >= 0 else len(body))
            span_from = row_at if row_at >= 0 else err_off
            resume = body.find(_ROW, newline + 1) if newline >= 0 else -1
            raw = body[span_from : resume if resume >= 0 else len(body)].rstrip()
            first_line = chunk.first_line + body[:span_from].count(b"\n")
            last_line = first_line + raw.count(b"\n")
            lines = (
                f"line {first_line}"
                if first_line == last_line
                else (f"lines {first_line}-{last_line}")
            )
            builder.reject(
                line,
                "malformed XML",
                f"malformed XML: {problem.message} ({lines} skipped)",
                raw[:2000].decode("utf-8", "replace"),
            )
            if resume < 0:
                break
            start = resume
    batches = builder.flush()
    rejects = builder.take_rejects()
    _attach_source_text(rejects, body, chunk.first_line)
    if chunk.index % 16 == 15:
        trim_memory()  # now and then: every chunk would cost page faults (bench/ingest)
    return ChunkResult(
        chunk.index,
        len(chunk.data),
        batches,
        rejects,
        builder.rows_read,
        builder.skipped_post_types,
        first_error,
        replaced,
        utf8_lines,
    )


def _parse(text: bytes, builder: BatchBuilder, line_base: int, root: str) -> None:
    etree.clear_error_log()  # the log is per thread and kept: only this parse's errors
    events = etree.iterparse(
        io.BytesIO(text),
        events=("end",),
        huge_tree=True,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    add = builder.add
    attrs = builder.attrs
    parent = None
    for n, (_, el) in enumerate(events, 1):
        if el.tag == "row":
            add(tuple(map(el.get, attrs)), line_base + (el.sourceline or 1))
            el.clear()
            # Free what was read, in slices rather than per row: memory stays flat.
            if n % 512 == 0:
                parent = el.getparent()
                if parent is not None:
                    del parent[: parent.index(el)]
            continue
        if el.getparent() is None and el.tag == root:
            continue
        builder.reject(
            line_base + (el.sourceline or 1),
            "unexpected element",
            f"unexpected element <{el.tag}> (expected <row>)",
            None,
        )
        el.clear()


def _attach_source_text(rejects: list[Reject], body: bytes, first_line: int) -> None:
    """A row rejected for its values keeps its original text, unknown attributes and all."""
    wanted = sorted(
        r.source_line
        for r in rejects
        if r.source_line is not None and r.category not in ("malformed XML", "unexpected element")
    )
    text: dict[int, str] = {}
    at, line = 0, first_line
    for target in wanted:
        while line < target and at >= 0:
            at = body.find(b"\n", at)
            at = at + 1 if at >= 0 else -1
            line += 1
        if at < 0:
            break
        end = body.find(b"\n", at)
        text[target] = body[at : end if end >= 0 else len(body)].strip().decode("utf-8", "replace")
    for r in rejects:
        if r.source_line in text and r.category not in ("malformed XML", "unexpected element"):
            r.raw = text[r.source_line][:RAW_LIMIT]


@dataclass(frozen=True, slots=True)
class _Where:
    line: int  # in the text parsed, from 1
    column: int  # from 0, as lxml's ``offset``
    message: str


def _where(exc: etree.XMLSyntaxError) -> _Where:
    """Where the parse failed and why. libxml2 sometimes ends a parse with a bare "no element
    found" at line 0 (an undeclared entity, for one), while its error log holds the first
    real error and its place; ``_parse`` clears the log, so it holds only this parse's."""
    for entry in exc.error_log:
        if entry.level >= etree.ErrorLevels.ERROR and entry.line > 0:
            message = _clean_message(entry.message)
            return _Where(entry.line, max(entry.column - 1, 0), message)
    return _Where(exc.lineno or 1, max(exc.offset or 0, 0), _clean_message(exc))


def _is_encoding_error(message: str) -> bool:
    return "not proper UTF-8" in message or "Invalid bytes in character" in message


def _replace_invalid_utf8(body: bytes, first_line: int) -> tuple[bytes, int, list[int]]:
    """Invalid UTF-8 sequences become U+FFFD; returns the new bytes, how many were replaced
    and the lines of the first ten (documented behaviour: counted, never a crash)."""
    decoded = body.decode("utf-8", errors="replace")
    replaced = decoded.count("\ufffd") - body.count(_UTF8_REPLACEMENT)
    lines: list[int] = []
    at = decoded.find("\ufffd")
    while at >= 0 and len(lines) < 10:
        line = first_line + decoded.count("\n", 0, at)
        if not lines or lines[-1] != line:
            lines.append(line)
        at = decoded.find("\ufffd", at + 1)
    return decoded.encode("utf-8"), replaced, lines


def _line_offset(body: bytes, start: int, lineno: int) -> int:
    """Offset in ``body`` of the start of line ``lineno`` of a parse that began at ``start``."""
    at = start
    for _ in range(lineno - 1):
        nl = body.find(b"\n", at)
        if nl < 0:
            return len(body)
        at = nl + 1
    return max(at, start)


def _clean_message(exc: etree.XMLSyntaxError | str) -> str:
    if isinstance(exc, str):
        msg = exc or "malformed"
    else:
        msg = exc.msg if hasattr(exc, "msg") and exc.msg else str(exc)
    # lxml appends ", line N, column M" with chunk-relative numbers; ours are absolute.
    return re.sub(r",? line \d+, column \d+$", "", msg.splitlines()[0]).strip()
