"""Process-level settings for ingestion: keep each process's memory small and flat.

Kept apart from ``ingest`` so that a spawned parser process, which unpickles
``lean_process`` by name, imports only this and the parser, not the Parquet writer.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.abc
import sys

import pyarrow as pa

_libc: ctypes.CDLL | None = None


def trim_memory() -> None:
    """Returns freed heap memory to the system (glibc only; elsewhere a no-op).

    glibc raises its mmap threshold after large frees, so multi-MB batch buffers then live
    on the heap, and a long stream of them fragments it: RSS creeps up with the input.
    Trimming now and then keeps RSS flat without the page-fault cost of pinning the
    threshold low (measured in bench/ingest: ~30% more system time)."""
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c") if sys.platform.startswith("linux") else None
        try:
            _libc = ctypes.CDLL(name) if name else ctypes.CDLL(None)
        except OSError:
            _libc = ctypes.CDLL(None)
    trim = getattr(_libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def lean_process() -> None:
    """Makes this process's memory stay small and flat while it parses or writes batches.

    - pyarrow imports pandas (+45 MB) on the first ``pa.array`` call only to ask whether the
      input is a DataFrame: pandas is blocked, unless something already imported it.
    - Arrow's default allocator keeps freed memory for reuse: the system allocator is used.

    Call it only in a process that will not need pandas (parser workers, the ingest command).
    """
    if "pandas" not in sys.modules and not any(isinstance(f, _NoPandas) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoPandas())
    pa.set_memory_pool(pa.system_memory_pool())


class _NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, *args: object, **kwargs: object) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError("pandas is not loaded in askwell's parser processes")
        return None
