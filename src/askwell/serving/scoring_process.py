"""What a scoring process runs first. Before anything is imported, the process refuses the
modules that scoring must not need: pandas and pyarrow (scikit-learn imports pandas whenever
it is installed, and scores the same without it), MLflow, and askwell's training and dataset
code. A bundle that needed one of them would fail its smoke-scoring in the pool and never
take traffic. This module imports only the standard library, so the refusal comes first:
the pool spawns its processes with :func:`run` as their target.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from multiprocessing.connection import Connection
from types import ModuleType

REFUSED = ("pandas", "pyarrow", "mlflow", "askwell.models.train", "askwell.data.dataset")


class RefusedImports(importlib.abc.MetaPathFinder):
    """A finder that refuses ``names`` (and their submodules) with an ImportError, as if they
    were not installed."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if any(fullname == n or fullname.startswith(f"{n}.") for n in self.names):
            raise ImportError(f"{fullname} is not imported in a scoring process")
        return None


def refuse(names: Sequence[str] = REFUSED) -> None:
    """Refuses ``names`` from now on in this process; raises if one is imported already."""
    loaded = sorted(n for n in names if n in sys.modules)
    if loaded:
        raise RuntimeError(f"already imported in this scoring process: {', '.join(loaded)}")
    sys.meta_path.insert(0, RefusedImports(names))


def run(conn: Connection, bundle: str, nice: int = 0) -> None:
    """The scoring process: the refusals, then ``pool._serve``."""
    refuse()
    from askwell.serving.pool import _serve

    _serve(conn, bundle, nice)
