"""Dumps in, a versioned dataset out: Parquet tables plus ``manifest.json``.

The dataset is built in a hidden temporary folder beside the destination and published by a
rename only when every input was read without a fatal error, so a half-written dataset is
never presented as complete. With ``keep_partial`` the valid part is published instead,
marked ``"status": "partial"`` in the manifest and by a ``_PARTIAL`` file.

A run holds a lock (``flock``) on a file beside its temporary folders for as long as it
lives; the kernel releases it when the process dies, even by ``kill -9``. The next run on the
same destination removes the temporary folders whose lock is free: those of dead runs.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import multiprocessing
import os
import queue
import re
import shutil
import threading
import uuid
import warnings
from collections import Counter, deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from askwell.config import IngestSettings, processes
from askwell.data import csvread, sources, xmlread
from askwell.data.dataset import MANIFEST, PARTIAL_MARKER
from askwell.data.rows import RAW_LIMIT, Reject, rejects_batch
from askwell.data.schema import (
    CORE_TABLES,
    KIND_TABLES,
    PARSER_VERSION,
    SCHEMA_VERSION,
    TABLE_SCHEMAS,
)
from askwell.data.workers import lean_process, trim_memory
from askwell.errors import InputError, OutputError
from askwell.versioning import code_version

# Low-cardinality string columns; dictionary-encoding long text only wastes time.
_DICTIONARY_COLUMNS = ["site", "source", "content_license", "category", "table"]


class ProgressSink(Protocol):
    def start(self, label: str, total_bytes: int | None) -> None: ...
    def advance(self, nbytes: int, rows: int) -> None: ...
    def finish(self) -> None: ...


class _Silent:
    def start(self, label: str, total_bytes: int | None) -> None:
        return None

    def advance(self, nbytes: int, rows: int) -> None:
        return None

    def finish(self) -> None:
        return None


@dataclass
class InputReport:
    """What happened to one input file."""

    source: str
    site: str
    kind: str
    format: str
    bytes: int = 0
    sha256: str = ""
    archive_sha256: str | None = None
    rows_read: int = 0
    kept: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    skipped_post_types: dict[str, int] = field(default_factory=dict)
    utf8_replacements: int = 0
    utf8_replacement_lines: list[int] = field(default_factory=list)
    csv_encoding: str | None = None
    csv_columns: list[str] = field(default_factory=list)  # the fields a CSV export carries
    ignored_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    assumed_post_type: int | None = None
    error: str | None = None

    @property
    def kept_total(self) -> int:
        return sum(self.kept.values())

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped_post_types.values())


@dataclass
class IngestReport:
    out: Path
    status: str  # "complete" or "partial"
    fingerprint: str
    inputs: list[InputReport]
    tables: dict[str, int]

    @property
    def errors(self) -> list[str]:
        return [i.error for i in self.inputs if i.error]


class _Writer:
    """One Parquet file per table, opened on first use, in a private folder.

    Encoding and compression run on a writer thread (Arrow releases the GIL there), so the
    main thread keeps handing chunks to the parser processes instead of leaving them idle.
    """

    _QUEUE = 1  # batches waiting for the writer thread: bounds memory

    def __init__(self, folder: Path, compression: str) -> None:
        self.folder = folder
        self.compression = None if compression == "none" else compression
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._pending: dict[str, list[pa.RecordBatch]] = {}
        self.rows: Counter[str] = Counter()
        self._queue: queue.Queue[tuple[str, pa.RecordBatch] | None] = queue.Queue(self._QUEUE)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="askwell-writer", daemon=True)
        self._thread.start()

    def write(self, table: str, batch: pa.RecordBatch) -> None:
        if self._failure is not None:
            raise OutputError(f"{self.folder}: cannot write {table}: {self._failure}")
        self.rows[table] += batch.num_rows
        self._queue.put((table, batch))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failure is not None:
                continue  # drain: the main thread reports the failure
            table, batch = item
            try:
                self._write(table, batch)
            except (OSError, pa.ArrowException) as exc:
                self._failure = exc

    def _write(self, table: str, batch: pa.RecordBatch) -> None:
        writer = self._writers.get(table)
        if writer is None:
            schema = TABLE_SCHEMAS[table]
            writer = pq.ParquetWriter(
                self.folder / f"{table}.parquet",
                schema,
                compression=self.compression,
                use_dictionary=[c for c in _DICTIONARY_COLUMNS if c in schema.names],
                # Min/max of long text is useless for pruning and costs memory per row group.
                write_statistics=[f.name for f in schema if not _is_text(f.type)],
            )
            self._writers[table] = writer
        if batch.num_rows:
            # Row groups of several chunks: each row group's metadata stays in memory until
            # the file closes, so one per small chunk grows with the input (bench/ingest).
            pending = self._pending.setdefault(table, [])
            pending.append(batch)
            if sum(b.num_rows for b in pending) >= _ROW_GROUP_ROWS or (
                sum(b.nbytes for b in pending) >= _ROW_GROUP_BYTES
            ):
                self._flush(table)

    def _flush(self, table: str) -> None:
        batches = self._pending.pop(table, [])
        if batches:
            self._writers[table].write_table(pa.Table.from_batches(batches), row_group_size=1 << 30)

    def close(self) -> None:
        """Waits for every queued batch to be written, then closes the files."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        if self._failure is None:
            for table in list(self._pending):
                try:
                    self._flush(table)
                except (OSError, pa.ArrowException) as exc:
                    self._failure = exc
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        if self._failure is not None:
            raise OutputError(f"{self.folder}: cannot write the dataset: {self._failure}")


_ROW_GROUP_ROWS = 8192
_ROW_GROUP_BYTES = 8 << 20


def _is_text(type_: pa.DataType) -> bool:
    return bool(pa.types.is_string(type_) or pa.types.is_list(type_))


def ingest(
    source_paths: list[Path],
    out: Path,
    *,
    settings: IngestSettings,
    site: str | None = None,
    keep_partial: bool = False,
    progress: ProgressSink | None = None,
) -> IngestReport:
    """Reads every source into one dataset at ``out``; raises InputError on a fatal input
    problem (unless ``keep_partial``) and OutputError when ``out`` cannot be replaced."""
    progress = progress or _Silent()
    inputs = sources.resolve(source_paths, site)
    _check_destination(out)
    with _Staging(out) as staging:
        return _ingest(inputs, out, staging.tmp, staging.old, settings, keep_partial, progress)


def _ingest(
    inputs: list[sources.Input],
    out: Path,
    tmp: Path,
    old: Path,
    settings: IngestSettings,
    keep_partial: bool,
    progress: ProgressSink,
) -> IngestReport:
    writer = _Writer(tmp, settings.compression)
    reports: list[InputReport] = []
    archive_hashes: dict[Path, str] = {}
    seen = _SeenIds()
    try:
        for table in CORE_TABLES:
            writer.write(table, pa.RecordBatch.from_pylist([], schema=TABLE_SCHEMAS[table]))
        with _Pool(settings.workers) as pool:
            for item in inputs:
                report = InputReport(item.display, item.site, item.kind.name, item.format)
                reports.append(report)
                if item.member is not None:
                    key = item.path.resolve()
                    if key not in archive_hashes:
                        archive_hashes[key] = sources.sha256_file(item.path)
                    report.archive_sha256 = archive_hashes[key]
                progress.start(
                    f"{item.site} {Path(item.member or item.path).name}", item.size or None
                )
                try:
                    if not os.access(item.path, os.R_OK):
                        raise InputError(f"{item.path}: cannot read the file (permission denied)")
                    if item.format == "csv":
                        _ingest_csv(item, report, writer, settings, seen, progress)
                    else:
                        _ingest_xml(
                            item, report, writer, settings, pool, keep_partial, seen, progress
                        )
                finally:
                    progress.finish()
                if report.error and not keep_partial:
                    raise InputError(report.error)
        writer.close()
        status = "partial" if any(r.error for r in reports) else "complete"
        fingerprint = _fingerprint(reports, settings.keep_html)
        _write_manifest(tmp, reports, writer.rows, status, fingerprint, settings)
        if status == "partial":
            (tmp / PARTIAL_MARKER).write_text(
                "This dataset is PARTIAL: ingestion stopped on an error. See manifest.json.\n",
                encoding="utf-8",
            )
        _publish(tmp, out, old)
    except BaseException:
        with suppress(OutputError):  # the error being raised says more
            writer.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return IngestReport(out, status, fingerprint, reports, dict(writer.rows))


def _check_destination(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise OutputError(
            f"{out}: folder is not empty and holds no askwell dataset; refusing to overwrite it"
        )


def _publish(tmp: Path, out: Path, old: Path) -> None:
    """Swaps the finished folder into place; an old dataset there is replaced whole."""
    if out.exists():
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out)


class _Staging:
    """This run's temporary folder beside ``out`` (and the name the dataset it replaces moves
    to while the new one takes its place), under a lock held until the run ends; entering
    removes what dead runs left for the same destination.

    Names: ``.NAME.tmp-TOKEN`` (being built), ``.NAME.old-TOKEN`` (being replaced) and
    ``.NAME.lock-TOKEN`` (the lock), TOKEN 8 hex digits per run.
    """

    def __init__(self, out: Path) -> None:
        token = uuid.uuid4().hex[:8]
        self.parent = out.parent
        self.out = out
        self.tmp = self.parent / f".{out.name}.tmp-{token}"
        self.old = self.parent / f".{out.name}.old-{token}"
        self.lock = self.parent / f".{out.name}.lock-{token}"
        self._fd: int | None = None

    def __enter__(self) -> _Staging:
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            # Locked before the folder exists, so no other run ever sees it unlocked.
            self._fd = os.open(self.lock, os.O_CREAT | os.O_RDWR, 0o644)
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            remove_stale_staging(self.out)
            self.tmp.mkdir()
        except OSError as exc:
            self._release()
            raise OutputError(
                f"{self.out}: cannot create the dataset folder ({exc.strerror or exc})"
            ) from None
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)  # still there only if the run failed
        self._release()

    def _release(self) -> None:
        if self._fd is not None:
            with suppress(OSError):
                self.lock.unlink()
            os.close(self._fd)  # and the lock with it
            self._fd = None


_STAGING = re.compile(r"\.(?P<name>.+)\.(?P<what>tmp|old|lock)-(?P<token>[0-9a-f]{8})")


def remove_stale_staging(out: Path) -> list[Path]:
    """Removes the temporary folders (and lock files) that dead runs left beside ``out``:
    those whose lock no live process holds, or that have no lock file at all (a run killed
    before this scheme, or between removing its lock and its folder). A previous dataset
    caught mid-swap (``out`` gone, its ``.old-`` folder kept) is put back. Returns what was
    removed."""
    runs: dict[str, dict[str, Path]] = {}
    try:
        entries = list(out.parent.iterdir())
    except OSError:
        return []
    for entry in entries:
        m = _STAGING.fullmatch(entry.name)
        if m is not None and m["name"] == out.name:
            runs.setdefault(m["token"], {})[m["what"]] = entry
    removed: list[Path] = []
    for token, found in runs.items():
        # Looked up by name, not from the listing: a listing taken while a run starts may
        # show its folder without the lock file made just before it.
        named = out.parent / f".{out.name}.lock-{token}"
        lock = named if named.exists() else None
        fd: int | None = None
        if lock is not None:
            try:
                fd = os.open(lock, os.O_RDWR)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # held: a live run; or gone: it just ended
                if fd is not None:
                    os.close(fd)
                continue
        try:
            old = found.get("old")
            if old is not None and old.is_dir() and not out.exists():
                with suppress(OSError):
                    old.rename(out)  # killed between the two renames of _publish
            for what in ("tmp", "old"):
                path = found.get(what)
                if path is not None and path.exists():
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path)
            if lock is not None:
                with suppress(OSError):
                    lock.unlink()
        finally:
            if fd is not None:
                os.close(fd)
    return removed


class _SeenIds:
    """Which (site, id) pairs were already kept, per id space (posts share one: a question
    and an answer cannot have the same Id). One bit per possible id keeps this exact in
    10 MB even for Stack Overflow's ~80 million ids; unusually large ids use a set."""

    _BITMAP_LIMIT = 1 << 28  # 32 MB at most; Stack Overflow ids are below 2**27

    def __init__(self) -> None:
        self._bits: dict[tuple[str, str], np.ndarray] = {}
        self._big: dict[tuple[str, str], set[int]] = {}

    def first_seen(self, space: tuple[str, str], ids: np.ndarray) -> np.ndarray:
        """A mask of the ids not seen before (the first of repeats within ``ids`` counts
        as first); marks them all as seen."""
        keep = np.ones(len(ids), dtype=bool)
        if not len(ids):
            return keep
        _, first = np.unique(ids, return_index=True)
        keep[:] = False
        keep[first] = True
        small = (ids >= 0) & (ids < self._BITMAP_LIMIT)
        bits = self._bits.get(space, np.zeros(0, dtype=np.uint8))
        need = (int(ids[small].max()) >> 3) + 1 if small.any() else 0
        if need > len(bits):
            grown = np.zeros(max(need, 2 * len(bits)), dtype=np.uint8)
            grown[: len(bits)] = bits
            bits = self._bits[space] = grown
        byte, bit = ids[small] >> 3, (ids[small] & 7).astype(np.uint8)
        keep[small] &= (bits[byte] >> bit) & 1 == 0
        new = small & keep
        np.bitwise_or.at(bits, ids[new] >> 3, np.left_shift(1, ids[new] & 7).astype(np.uint8))
        big = self._big.setdefault(space, set())
        for i in np.flatnonzero(~small):
            value = int(ids[i])
            if value in big:
                keep[i] = False
            elif keep[i]:
                big.add(value)
        return keep


def _store(
    report: InputReport,
    tables: dict[str, pa.RecordBatch],
    rejects: list[Reject],
    writer: _Writer,
    seen: _SeenIds,
) -> None:
    """Writes one parse result: repeated ids become rejects (the first is kept), the rest is
    written and counted."""
    rejects = list(rejects)
    for table, batch in tables.items():
        ids = batch.column("id").to_numpy(zero_copy_only=False)
        keep = seen.first_seen((report.site, _ID_SPACE.get(table, table)), ids)
        if not keep.all():
            dupes = batch.filter(pa.array(~keep))
            rejects.extend(duplicate_rejects(report.site, report.source, table, dupes))
            batch = batch.filter(pa.array(keep))
        writer.write(table, batch)
        report.kept[table] = report.kept.get(table, 0) + batch.num_rows
    if rejects:
        writer.write("rejects", rejects_batch(rejects))
        for r in rejects:
            report.rejected[r.category] = report.rejected.get(r.category, 0) + 1


_ID_SPACE = {"questions": "posts", "answers": "posts"}


def duplicate_rejects(site: str, source: str, table: str, dupes: pa.RecordBatch) -> list[Reject]:
    """The rejects for rows of ``table`` whose (site, id) was already kept: every repeat
    after the first, as ``dupes`` holds them."""
    names = [n for n in dupes.schema.names if n not in ("body_html", "site", "source")]
    out = []
    for row in dupes.select(names).to_pylist():
        raw = json.dumps(
            {k: v for k, v in row.items() if v not in (None, [], "")},
            default=str,
            ensure_ascii=False,
        )[:RAW_LIMIT]
        out.append(
            Reject(
                site,
                source,
                row["source_line"],
                table,
                str(row["id"]),
                "duplicate Id",
                f"Id {row['id']} was already read for site {site} (the first occurrence is kept)",
                raw,
            )
        )
    return out


def _ingest_csv(
    item: sources.Input,
    report: InputReport,
    writer: _Writer,
    settings: IngestSettings,
    seen: _SeenIds,
    progress: ProgressSink,
) -> None:
    layout, batches = csvread.read_csv(
        item.path,
        item.kind,
        item.site,
        item.display,
        settings.csv_batch_rows,
        keep_html=settings.keep_html,
    )
    report.csv_encoding = layout.encoding
    report.ignored_columns = layout.ignored_columns
    report.csv_columns = layout.columns
    report.missing_columns = layout.missing_required
    report.assumed_post_type = layout.assumed_post_type
    rows_before = 0
    builder = None
    for tables, rejects, builder in batches:
        _store(report, tables, rejects, writer, seen)
        progress.advance(0, builder.rows_read - rows_before)
        rows_before = builder.rows_read
    report.bytes = item.size
    progress.advance(item.size, 0)
    report.sha256 = sources.sha256_file(item.path)
    if builder is not None:
        report.rows_read = builder.rows_read
        report.skipped_post_types = _str_keys(builder.skipped_post_types)


def _ingest_xml(
    item: sources.Input,
    report: InputReport,
    writer: _Writer,
    settings: IngestSettings,
    pool: _Pool,
    keep_partial: bool,
    seen: _SeenIds,
    progress: ProgressSink,
) -> None:
    skipped: Counter[int] = Counter()
    with sources.open_binary(item) as stream:
        reader = xmlread.ChunkReader(
            stream, item.kind, item.display, int(settings.chunk_mb * (1 << 20))
        )
        tasks = (
            xmlread.ChunkTask(
                chunk,
                item.kind.name,
                item.site,
                item.display,
                reader.root,
                keep_partial,
                keep_html=settings.keep_html,
            )
            for chunk in reader
        )
        for n, result in enumerate(pool.map_ordered(tasks, settings.max_in_flight), 1):
            _store(report, result.batches, result.rejects, writer, seen)
            if n % 32 == 0:
                trim_memory()
            report.rows_read += result.rows_read
            skipped.update(result.skipped_post_types)
            report.utf8_replacements += result.utf8_replacements
            report.utf8_replacement_lines.extend(result.utf8_lines)
            progress.advance(result.nbytes, result.rows_read)
            if result.error is not None and report.error is None:
                report.error = result.error.describe(item.display)
                if not keep_partial:
                    break
        report.bytes = reader.bytes_read
        report.sha256 = reader.sha256.hexdigest()
    report.utf8_replacement_lines = report.utf8_replacement_lines[:10]
    report.skipped_post_types = _str_keys(skipped)
    for table in KIND_TABLES[item.kind.name]:
        report.kept.setdefault(table, 0)


def _str_keys(counter: Counter[int]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(counter.items())}


class _Pool:
    """Parses chunks in order, with a bounded number in flight so that memory does not grow
    with the input.

    ``workers`` parsers in all: this process is one of them, the others are spawned
    processes. This process also writes the output, so it parses a chunk only when the
    processes already have enough queued: the load balances itself, and one process fewer
    than cores saves a whole interpreter's memory (bench/ingest).
    """

    def __init__(self, workers: int) -> None:
        self.workers = processes(workers)
        self._executor: ProcessPoolExecutor | None = None

    def __enter__(self) -> _Pool:
        if self.workers > 1:
            # Spawned, not forked: a fresh process imports only the parser, and so holds
            # far less memory than a copy of this one.
            self._executor = ProcessPoolExecutor(
                self.workers - 1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=lean_process,
            )
            try:
                for f in [self._executor.submit(os.getpid) for _ in range(self.workers - 1)]:
                    f.result()
            except BrokenProcessPool:
                # Spawning re-imports the caller's main module; an unguarded script (no
                # ``if __name__ == "__main__"``) cannot do that. Parse here instead.
                self._executor.shutdown(wait=False, cancel_futures=True)
                self._executor = None
                warnings.warn(
                    "askwell: parser processes could not start (is the calling script "
                    "missing an `if __name__ == '__main__':` guard?); parsing in this "
                    "process only",
                    RuntimeWarning,
                    stacklevel=3,
                )
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def map_ordered(
        self, tasks: Iterator[xmlread.ChunkTask], max_in_flight: int
    ) -> Iterator[xmlread.ChunkResult]:
        if self._executor is None:
            yield from map(xmlread.parse_chunk, tasks)
            return
        limit = max_in_flight or 4 * (self.workers - 1)
        pending: deque[Future[xmlread.ChunkResult]] = deque()
        try:
            for task in tasks:
                if sum(not f.done() for f in pending) < limit:
                    pending.append(self._executor.submit(xmlread.parse_chunk, task))
                else:
                    local: Future[xmlread.ChunkResult] = Future()
                    local.set_result(xmlread.parse_chunk(task))
                    pending.append(local)
                while pending and (pending[0].done() or len(pending) > 2 * limit):
                    yield _result(pending.popleft())
            while pending:
                yield _result(pending.popleft())
        finally:
            for f in pending:
                f.cancel()


def _result(future: Future[xmlread.ChunkResult]) -> xmlread.ChunkResult:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise InputError(
            f"a parser process died ({exc}); the machine may be out of memory"
        ) from None


def _fingerprint(reports: list[InputReport], keep_html: bool) -> str:
    """Identifies the dataset by what went in and how it was read, not by when."""
    digest = hashlib.sha256()
    digest.update(f"schema={SCHEMA_VERSION};parser={PARSER_VERSION};html={keep_html}\n".encode())
    for r in reports:
        digest.update(f"{r.site}|{r.kind}|{r.format}|{r.sha256}|{r.error or ''}\n".encode())
    return digest.hexdigest()


def _write_manifest(
    folder: Path,
    reports: list[InputReport],
    rows: Counter[str],
    status: str,
    fingerprint: str,
    settings: IngestSettings,
) -> None:
    tables = {}
    for path in sorted(folder.glob("*.parquet")):
        tables[path.stem] = {
            "file": path.name,
            "rows": rows.get(path.stem, 0),
            "sha256": sources.sha256_file(path),
        }
    manifest = {
        "code_version": code_version(),
        "schema_version": SCHEMA_VERSION,
        "parser_version": PARSER_VERSION,
        "options": {"keep_html": settings.keep_html},
        "status": status,
        "fingerprint": fingerprint,
        "tables": tables,
        "inputs": [asdict(r) for r in reports],
        "errors": [r.error for r in reports if r.error],
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
