"""askwell on Spark (the ``spark`` extra): ingestion and batch scoring for dumps that outgrow
one machine. Spark only moves bytes and rows; every row is parsed by ``askwell.data``'s own
chunk parser and every question scored by the same ``Predictor`` as on one box, inside Spark
tasks, so the results are those of ``askwell ingest`` and ``askwell score``.

Nothing here imports PySpark at import time: ``askwell --help`` works without the extra.
"""

from __future__ import annotations

import importlib.util

from askwell.errors import ConfigError

INSTALL_HINT = "pip install 'askwell[spark]'"


def require_pyspark() -> None:
    """Raises ConfigError, naming the extra to install, when PySpark is missing."""
    if importlib.util.find_spec("pyspark") is None:
        raise ConfigError(
            f"askwell spark needs PySpark, which is not installed: {INSTALL_HINT} "
            "(and Java 17 or later)"
        )
