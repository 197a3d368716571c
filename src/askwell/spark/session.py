"""The Spark session askwell runs in: local mode on this machine by default, or whatever
``spark-submit`` configured (``--master yarn``, ``k8s://…``, executors, memory)."""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING

from askwell.errors import ConfigError
from askwell.spark import require_pyspark

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Settings askwell's Spark jobs rely on; a user's --conf of the same name wins over none of
# them: results must not depend on the session's time zone or Parquet timestamp unit.
REQUIRED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # askwell's dates are milliseconds (data/schema.py TIMESTAMP): Parquet keeps that unit.
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MILLIS",
    # site=123 is a site named "123", not a number.
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}


def start_session(
    master: str | None = None,
    *,
    app_name: str = "askwell",
    conf: Mapping[str, str] | None = None,
) -> SparkSession:
    """A Spark session. ``master`` None: the one spark-submit set up, else ``local[*]``. In
    local mode the Python workers run this interpreter (askwell and its locked packages)."""
    require_pyspark()
    from pyspark.sql import SparkSession

    # askwell's tasks exchange Arrow batches, never pandas frames: PySpark's warning about
    # the pandas version does not concern them.
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)

    submitted = "PYSPARK_GATEWAY_PORT" in os.environ  # launched by spark-submit
    if master is None and not submitted:
        master = "local[*]"
    local = (master is None or master.startswith("local")) and not submitted
    if local and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        raise ConfigError(
            "askwell spark needs Java 17 or later: install it (Debian: apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME"
        )
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local") and "PYSPARK_PYTHON" not in os.environ:
            # PySpark starts its workers with $PYSPARK_PYTHON (read when the context starts).
            os.environ["PYSPARK_PYTHON"] = sys.executable
    for key, value in {**(conf or {}), **REQUIRED_CONF}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    for key, value in REQUIRED_CONF.items():  # an existing session: set them on it too
        spark.conf.set(key, value)
    spark.sparkContext.setLogLevel("ERROR")
    return spark
