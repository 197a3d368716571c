"""What a user points ingestion at, resolved into concrete inputs before any work starts.

A SOURCE is a dump's site folder, one dump XML file (``Posts.xml``…), a ``.7z`` site archive
as Stack Exchange publishes it, a SEDE CSV export, or the Kaggle closed-questions CSV (told
from an export by its header; its rows are Stack Overflow's). Every problem that can be seen
without reading the data (missing path, folder without ``Posts.xml``, archive without dump
files) is reported here, so a long run never fails late on something it could have said at
once.
"""

from __future__ import annotations

import hashlib
import queue
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from askwell.data import csvread
from askwell.data.schema import KINDS, POSTS, Kind
from askwell.errors import InputError

Format = Literal["xml", "csv"]

_BY_FILE_NAME = {k.file_name.lower(): k for k in KINDS.values()}
# Names that say nothing about the site: the folder above names it instead.
_GENERIC_STEM = re.compile(r"^(posts|votes|comments|posthistory|queryresults[\w-]*)$", re.I)
_ARCHIVE_SUFFIX = re.compile(r"(-(posts|votes|comments|posthistory))?\.7z$", re.I)


@dataclass(frozen=True, slots=True)
class Input:
    """One file to read: a plain file, or a member of a ``.7z`` archive."""

    site: str
    kind: Kind
    format: Format
    path: Path
    member: str | None = None  # the file inside a .7z archive
    size: int = 0  # uncompressed bytes, when known

    @property
    def display(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)


def resolve(sources: list[Path], site: str | None = None) -> list[Input]:
    """Every input named by ``sources``, in order; raises InputError on the first bad one."""
    if not sources:
        raise InputError("no SOURCE given: name a dump folder, Posts.xml, .7z archive or CSV")
    inputs: list[Input] = []
    for source in sources:
        inputs.extend(_resolve_one(source, site))
    return inputs


def _resolve_one(source: Path, site: str | None) -> list[Input]:
    if not source.exists():
        raise InputError(f"{source}: no such file or folder")
    if source.is_dir():
        return _folder(source, site or source.resolve().name)
    suffix = source.suffix.lower()
    if suffix == ".7z":
        return _archive(source, site or _ARCHIVE_SUFFIX.sub("", source.name))
    if suffix == ".xml":
        kind = _BY_FILE_NAME.get(source.name.lower(), POSTS)
        name = site or _site_from_file(source)
        return [Input(name, kind, "xml", source, size=source.stat().st_size)]
    if suffix == ".csv":
        kind = csvread.kind_of_header(csvread.read_header(source))
        name = site or kind.site or _site_from_file(source)
        return [Input(name, kind, "csv", source, size=source.stat().st_size)]
    raise InputError(
        f"{source}: unsupported file type {source.suffix or '(none)'!r}; expected a dump folder,"
        " an .xml dump file, a .7z archive, a .csv SEDE export or the Kaggle closed-questions CSV"
    )


def _site_from_file(path: Path) -> str:
    stem = path.stem
    if _GENERIC_STEM.match(stem):
        return path.resolve().parent.name
    return stem


def _folder(folder: Path, site: str) -> list[Input]:
    files = {p.name.lower(): p for p in folder.iterdir() if p.is_file()}
    if "posts.xml" not in files:
        found = ", ".join(sorted(p.name for p in files.values())[:8]) or "nothing"
        raise InputError(f"{folder}: no Posts.xml in this folder (found: {found})")
    return [
        Input(site, kind, "xml", files[name], size=files[name].stat().st_size)
        for name, kind in _BY_FILE_NAME.items()
        if name in files
    ]


def _archive(path: Path, site: str) -> list[Input]:
    import py7zr  # heavy import, only when an archive is given

    try:
        with py7zr.SevenZipFile(path, mode="r") as archive:
            members = [(m.filename, m.uncompressed or 0) for m in archive.list()]
    except (py7zr.Bad7zFile, OSError, EOFError, ValueError) as exc:
        raise InputError(f"{path}: not a readable .7z archive ({exc})") from None
    inputs = []
    for member, size in members:
        kind = _BY_FILE_NAME.get(Path(member).name.lower())
        if kind is not None:
            inputs.append(Input(site, kind, "xml", path, member=member, size=size))
    if not inputs:
        names = ", ".join(m for m, _ in members[:8]) or "nothing"
        raise InputError(
            f"{path}: no Posts.xml, Votes.xml, Comments.xml or PostHistory.xml "
            f"inside (members: {names})"
        )
    order = list(_BY_FILE_NAME.values())
    return sorted(inputs, key=lambda i: order.index(i.kind))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def open_binary(item: Input) -> Iterator[IO[bytes]]:
    """A readable binary stream of the input's bytes; archive members are streamed, not
    unpacked to disk or memory."""
    if item.member is None:
        with item.path.open("rb") as f:
            yield f
        return
    stream = _ArchiveStream(item.path, item.member)
    try:
        yield stream  # type: ignore[misc]
    finally:
        stream.close()


class _ArchiveStream:
    """Reads one .7z member while a thread decompresses it into a small bounded queue, so
    memory stays flat whatever the member's size."""

    _DONE = b""

    def __init__(self, path: Path, member: str, depth: int = 16) -> None:
        self._name = f"{path}:{member}"
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(maxsize=depth)
        self._buffer = b""
        self._closed = threading.Event()
        self._finished = False
        self._thread = threading.Thread(
            target=self._run, args=(path, member), name="askwell-7z", daemon=True
        )
        self._thread.start()

    def _put(self, item: bytes | BaseException) -> None:
        while not self._closed.is_set():
            with suppress(queue.Full):
                self._queue.put(item, timeout=0.1)
                return
        raise _CancelledError

    def _run(self, path: Path, member: str) -> None:
        import py7zr
        from py7zr.io import Py7zIO, WriterFactory

        owner = self

        class Sink(Py7zIO):
            def __init__(self) -> None:
                self._size = 0

            def write(self, s: bytes | bytearray) -> int:
                owner._put(bytes(s))
                self._size += len(s)
                return len(s)

            def read(self, size: int | None = None) -> bytes:
                return b""

            def seek(self, offset: int, whence: int = 0) -> int:
                return self._size

            def flush(self) -> None:
                return None

            def size(self) -> int:
                return self._size

        class Factory(WriterFactory):
            def create(self, filename: str) -> Py7zIO:
                return Sink()

        try:
            with py7zr.SevenZipFile(path, mode="r") as archive:
                archive.extract(targets=[member], factory=Factory())
            self._put(self._DONE)
        except _CancelledError:
            return
        except BaseException as exc:  # handed to the reading thread, which reports it
            with suppress(_CancelledError):
                self._put(exc)

    def read(self, size: int = -1) -> bytes:
        while not self._finished and (size < 0 or len(self._buffer) < size):
            item = self._queue.get()
            if isinstance(item, BaseException):
                raise InputError(f"{self._name}: cannot decompress: {item}") from None
            if item == self._DONE:
                self._finished = True
                break
            self._buffer += item
        if size < 0:
            out, self._buffer = self._buffer, b""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out

    def close(self) -> None:
        self._closed.set()
        self._thread.join(timeout=5)


class _CancelledError(Exception):
    """The reader went away; the decompressing thread stops."""
