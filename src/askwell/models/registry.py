"""Experiment tracking and the model registry: a thin, typed layer over MLflow.

Runs (config, params, metrics, data fingerprint, code version, report, bundle) go to a local
SQLite store with a local artifact folder: no server and no network, and ``mlflow ui`` opens
them. A bundle becomes a *model version* whose source is the bundle file logged with its run;
the alias ``champion`` names the version that serving loads.

MLflow is imported inside functions, so importing askwell stays light.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shlex
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from askwell.config import TrackingSettings
from askwell.errors import AskwellError, InputError
from askwell.models.bundle import BundleError, read_info

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous"  # the champion before the last promotion: where rollback returns
# Aliases that decide what serves: moved only by askwell models (gates, approval, token).
DEPLOYMENT_ALIASES = (CHAMPION, CHALLENGER, PREVIOUS)
KEY_METRICS = ("roc_auc", "pr_auc", "brier", "log_loss", "ece")  # shown by list_runs if present
_KEY_METRIC = re.compile(rf"(?:test[_.])?(?:{'|'.join(KEY_METRICS)})")  # as is, or on the test set
TAG_FINGERPRINT = "askwell.data_fingerprint"
TAG_CODE_VERSION = "askwell.code_version"
TAG_LABEL = "askwell.label"
TAG_BUNDLE = "askwell.bundle"  # the bundle's artifact path within its run
TAG_BUNDLE_SHA256 = "askwell.bundle_sha256"  # of the whole file, as logged and registered
TAG_SKIPPED_METRICS = "askwell.skipped_metrics"

# Telemetry is a network call, decided when mlflow is imported; progress bars clutter stderr.
_NO_TELEMETRY = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
_QUIET_ENV = {**_NO_TELEMETRY, "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false"}
_BAD_KEY_CHARS = re.compile(r"[^\w.\- ]")  # MLflow's key alphabet, minus '/' and ':'

Value = str | float | None
Comparison = dict[str, dict[str, list[Value]]]  # section → row → one value per run


class TrackingError(AskwellError):
    """The tracking store cannot be opened or written, or MLflow refused a request."""


class NotFoundError(TrackingError):
    """A run, model version or alias that the store does not hold."""


@dataclass(frozen=True)
class VersionSummary:
    """One registered model version, as ``askwell models list`` shows it."""

    version: int
    created: datetime | None
    description: str
    aliases: tuple[str, ...]
    tags: dict[str, str]
    run_id: str


@dataclass(frozen=True)
class RunSummary:
    """One run as ``askwell experiments list`` shows it."""

    run_id: str
    name: str
    start_time: datetime | None
    status: str
    label: str
    metrics: dict[str, float]  # the KEY_METRICS the run logged (also as test_roc_auc…)
    data_fingerprint: str  # first 12 characters


class Tracker:
    """Runs and model versions in the store that ``settings`` names.

    Relative paths are resolved against the working directory once, here; the store's folder,
    the artifact root and the experiment are created on first use.
    """

    def __init__(self, settings: TrackingSettings) -> None:
        _quiet_mlflow()  # before any method imports mlflow
        self.settings = settings
        path, sep, query = settings.uri.removeprefix("sqlite:///").partition("?")
        self.db_path = Path(path).resolve()
        self.store_uri = f"sqlite:///{self.db_path}{sep}{query}"
        self.artifact_root = Path(settings.artifact_root).resolve()
        self._client: MlflowClient | None = None
        self._experiment_id = ""

    # -- runs ---------------------------------------------------------------------------------

    def log_run(
        self,
        run_name: str,
        config: Mapping[str, Any],
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        data_fingerprint: str,
        code_version: str,
        artifacts: Sequence[Path] = (),
        bundle: Path | None = None,
        *,
        label: str | None = None,
    ) -> str:
        """Logs one finished run; returns its id.

        ``config`` is logged whole as ``config.json`` and, with ``params``, flattened into
        ``a.b`` params (stringified, truncated to MLflow's limits). Non-finite metrics are
        skipped and named in a tag. ``artifacts`` (files or folders, e.g. the report) go to the
        run's root, ``bundle`` under ``bundle/``; ``label`` defaults to the bundle's. A run that
        fails halfway is marked FAILED.
        """
        from mlflow.entities import Metric, Param
        from mlflow.utils.validation import (
            MAX_METRICS_PER_BATCH,
            MAX_PARAM_VAL_LENGTH,
            MAX_PARAMS_TAGS_PER_BATCH,
            MAX_TAG_VAL_LENGTH,
        )

        missing = [str(p) for p in [*artifacts, *([bundle] if bundle else [])] if not p.exists()]
        if missing:
            raise InputError(f"cannot log missing files: {', '.join(missing)}")
        tags = {TAG_FINGERPRINT: data_fingerprint, TAG_CODE_VERSION: code_version}
        if bundle is not None:
            info = read_info(bundle)  # refuses to log a broken bundle
            label = label or info.label.get("name")
            tags |= {TAG_BUNDLE: f"bundle/{bundle.name}", TAG_BUNDLE_SHA256: sha256_file(bundle)}
        if label:
            tags[TAG_LABEL] = label
        flat_params = _merge_params(_flatten(config), _flatten(params))
        finite, skipped = _finite_metrics(metrics)
        if skipped:
            tags[TAG_SKIPPED_METRICS] = ", ".join(skipped)

        client, experiment_id = self._open()
        with _mlflow_errors("cannot log the run"):
            run_id: str = client.create_run(
                experiment_id,
                run_name=run_name,
                tags={k: v[:MAX_TAG_VAL_LENGTH] for k, v in tags.items()},
            ).info.run_id
            try:
                now = _now_ms()
                params_list = [Param(k, v[:MAX_PARAM_VAL_LENGTH]) for k, v in flat_params.items()]
                for batch in _chunks(params_list, MAX_PARAMS_TAGS_PER_BATCH):
                    client.log_batch(run_id, params=batch)
                metric_list = [Metric(k, v, now, 0) for k, v in finite.items()]
                for batch in _chunks(metric_list, MAX_METRICS_PER_BATCH):
                    client.log_batch(run_id, metrics=batch)
                # The exact config: params are flattened and may be truncated.
                client.log_dict(run_id, json.loads(json.dumps(config, default=str)), "config.json")
                for path in artifacts:
                    if path.is_dir():
                        client.log_artifacts(run_id, str(path), path.name)
                    else:
                        client.log_artifact(run_id, str(path))
                if bundle is not None:
                    client.log_artifact(run_id, str(bundle), "bundle")
            except BaseException:
                client.set_terminated(run_id, "FAILED")
                raise
            client.set_terminated(run_id, "FINISHED")
        return run_id

    def list_runs(self, max_results: int = 20) -> list[RunSummary]:
        """The experiment's most recent runs, newest first."""
        client, experiment_id = self._open()
        with _mlflow_errors("cannot list runs"):
            runs = client.search_runs(
                [experiment_id], max_results=max_results, order_by=["attributes.start_time DESC"]
            )
        return [_summary(run) for run in runs]

    def compare_runs(self, run_ids: Sequence[str]) -> Comparison:
        """Runs side by side: section → row → one value per run (None where a run lacks it).

        Sections: ``run`` (name, start, status, label, fingerprint, code version), ``metrics``
        (every metric any run logged) and ``params`` (only those whose values differ).
        """
        runs = [self._get_run(run_id) for run_id in run_ids]
        summaries = [_summary(run) for run in runs]
        run_rows: dict[str, list[Value]] = {
            "name": [s.name for s in summaries],
            "start": [
                s.start_time.strftime("%Y-%m-%d %H:%M UTC") if s.start_time else None
                for s in summaries
            ],
            "status": [s.status for s in summaries],
            "label": [s.label for s in summaries],
            "data fingerprint": [s.data_fingerprint for s in summaries],
            "code version": [run.data.tags.get(TAG_CODE_VERSION) for run in runs],
        }
        metric_names = sorted({k for run in runs for k in run.data.metrics})
        param_names = sorted({k for run in runs for k in run.data.params})
        params: dict[str, list[Value]] = {
            k: [run.data.params.get(k) for run in runs] for k in param_names
        }
        return {
            "run": run_rows,
            "metrics": {k: [run.data.metrics.get(k) for run in runs] for k in metric_names},
            "params": {k: v for k, v in params.items() if len(set(v)) > 1},
        }

    # -- registry -----------------------------------------------------------------------------

    def register_bundle(self, bundle: Path, run_id: str | None = None) -> int:
        """Registers ``bundle`` as a new version of the model; returns the version number.

        The version's source is the copy of the bundle logged with ``run_id``, which must have
        logged this very file. Without a run id, a run is first logged from the bundle's own
        description (config, metrics, fingerprint, code version).
        """
        info = read_info(bundle)
        if run_id is None:
            run_id = self.log_run(
                f"register {bundle.name}",
                config=info.config,
                params={},
                metrics=_flatten_values(info.metrics),  # nested (e.g. CIs); strings are skipped
                data_fingerprint=info.data_fingerprint,
                code_version=info.code_version,
                bundle=bundle,
            )
        run = self._get_run(run_id)
        sha = sha256_file(bundle)
        if run.data.tags.get(TAG_BUNDLE_SHA256) != sha:
            raise InputError(
                f"run {run_id} did not log {bundle} (it logged another bundle or none); "
                "register it without --run-id to log it with a run of its own"
            )
        client = self._open()[0]
        name = self.settings.model_name
        with _mlflow_errors(f"cannot register {bundle} as a version of {name!r}"):
            if self._registered_model() is None:
                client.create_registered_model(name, description="askwell question quality")
            version = client.create_model_version(
                name,
                source=f"{run.info.artifact_uri}/{run.data.tags[TAG_BUNDLE]}",
                run_id=run_id,
                tags={
                    TAG_BUNDLE_SHA256: sha,
                    TAG_FINGERPRINT: info.data_fingerprint,
                    TAG_LABEL: info.label.get("name", ""),
                    TAG_CODE_VERSION: info.code_version,
                },
                description=f"{bundle.name} (bundle {info.name})",
            )
        return int(version.version)

    def set_alias(self, alias: str, version: int) -> None:
        """Points ``alias`` at ``version`` (moving it if it pointed elsewhere)."""
        client = self._open()[0]
        name = self.settings.model_name
        self._model_version(version)  # a clear error for a version that does not exist
        with _mlflow_errors(f"cannot set alias {alias!r} of {name!r}"):
            client.set_registered_model_alias(name, alias, str(version))

    def get_alias(self, alias: str) -> int | None:
        """The version ``alias`` points at, or None."""
        return self._aliases().get(alias)

    def alias_bundle(self, alias: str) -> Path:
        """The local path of the bundle ``alias`` points at, verified: a BundleError if the file
        was altered or replaced since it was registered."""
        aliases = self._aliases()
        if alias not in aliases:
            known = ", ".join(f"{a} → {v}" for a, v in sorted(aliases.items())) or "none"
            raise NotFoundError(
                f"model {self.settings.model_name!r} has no alias {alias!r} (aliases: {known})"
            )
        return self.version_bundle(aliases[alias])

    def version_bundle(self, version: int) -> Path:
        """The local path of ``version``'s bundle, verified as :meth:`alias_bundle` does."""
        registered = self._model_version(version)
        path = _local_path(registered.source)
        read_info(path)  # every checksum inside the bundle
        if sha256_file(path) != registered.tags.get(TAG_BUNDLE_SHA256):
            raise BundleError(
                f"{path}: not the file registered as version {registered.version} "
                "(replaced since registration)"
            )
        return path

    def delete_alias(self, alias: str) -> None:
        """Removes ``alias`` (nothing happens if it does not exist)."""
        if alias not in self._aliases():
            return
        client = self._open()[0]
        with _mlflow_errors(f"cannot delete alias {alias!r} of {self.settings.model_name!r}"):
            client.delete_registered_model_alias(self.settings.model_name, alias)

    def versions(self) -> list[VersionSummary]:
        """Every registered version, newest first, with its aliases and tags."""
        client = self._open()[0]
        name = self.settings.model_name
        if self._registered_model() is None:
            return []
        aliases = self._aliases()
        with _mlflow_errors(f"cannot list the versions of {name!r}"):
            found = client.search_model_versions(f"name='{name}'")
        out = []
        for v in sorted(found, key=lambda v: -int(v.version)):
            created = v.creation_timestamp
            out.append(
                VersionSummary(
                    version=int(v.version),
                    created=datetime.fromtimestamp(created / 1000, UTC) if created else None,
                    description=v.description or "",
                    aliases=tuple(sorted(a for a, n in aliases.items() if n == int(v.version))),
                    tags=dict(v.tags),
                    run_id=v.run_id or "",
                )
            )
        return out

    def version_tags(self, version: int) -> dict[str, str]:
        """The tags of ``version`` (a NotFoundError if it does not exist)."""
        return dict(self._model_version(version).tags)

    def tag_version(
        self, version: int, tags: Mapping[str, str], remove: Sequence[str] = ()
    ) -> None:
        """Sets ``tags`` on ``version`` and removes the tags named in ``remove``."""
        client = self._open()[0]
        name = self.settings.model_name
        present = self.version_tags(version)
        with _mlflow_errors(f"cannot tag version {version} of {name!r}"):
            for key in remove:
                if key in present:
                    client.delete_model_version_tag(name, str(version), key)
            for key, value in tags.items():
                client.set_model_version_tag(name, str(version), key, value)

    def log_version_artifacts(self, version: int, paths: Sequence[Path], folder: str) -> None:
        """Files logged with the run that registered ``version``, under ``folder``: evidence
        about the version (its gate report) kept in the store beside its bundle."""
        registered = self._model_version(version)
        client = self._open()[0]
        with _mlflow_errors(f"cannot log artifacts for version {version}"):
            for path in paths:
                client.log_artifact(registered.run_id, str(path), folder)

    def champion_bundle(self) -> Path | None:
        """The verified bundle that serving loads, or None when no version is champion."""
        return self.alias_bundle(CHAMPION) if CHAMPION in self._aliases() else None

    def ui_command(self) -> str:
        """The shell line that opens these runs in ``mlflow ui`` (this module starts no server)."""
        script = Path(sys.executable).with_name("mlflow")
        env = " ".join(f"{k}={v}" for k, v in _NO_TELEMETRY.items())
        argv = [
            str(script) if script.is_file() else "mlflow",
            "ui",
            "--backend-store-uri",
            self.store_uri,
            "--default-artifact-root",
            self.artifact_root.as_uri(),
        ]
        return f"{env} {shlex.join(argv)}"

    # -- MLflow access ------------------------------------------------------------------------

    def _open(self) -> tuple[MlflowClient, str]:
        """The client and the experiment id; creates folders and the experiment on first use."""
        if self._client is None:
            try:
                self.db_path.parent.mkdir(parents=True, exist_ok=True)
                self.artifact_root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TrackingError(f"cannot create the tracking folders: {exc}") from None
            with _mlflow_errors(f"cannot open the tracking store {self.store_uri}"):
                client = _new_client(self.store_uri)
                name = self.settings.experiment
                experiment = client.get_experiment_by_name(name)
                if experiment is None:
                    experiment_id = client.create_experiment(
                        name, artifact_location=self.artifact_root.as_uri()
                    )
                elif experiment.lifecycle_stage == "deleted":
                    raise TrackingError(
                        f"experiment {name!r} was deleted in {self.store_uri}: restore it "
                        "(mlflow experiments restore) or set tracking.experiment"
                    )
                else:
                    experiment_id = experiment.experiment_id
            self._client, self._experiment_id = client, experiment_id
        return self._client, self._experiment_id

    def _registered_model(self) -> Any:
        """The registered model, or None before its first version."""
        from mlflow.exceptions import MlflowException

        client = self._open()[0]
        with _mlflow_errors(f"cannot read the registered model {self.settings.model_name!r}"):
            try:
                return client.get_registered_model(self.settings.model_name)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
        return None

    def _aliases(self) -> dict[str, int]:
        model = self._registered_model()
        return {} if model is None else {a: int(v) for a, v in model.aliases.items()}

    def _model_version(self, version: int) -> Any:
        from mlflow.exceptions import MlflowException

        client = self._open()[0]
        name = self.settings.model_name
        with _mlflow_errors(f"cannot read version {version} of {name!r}"):
            try:
                return client.get_model_version(name, str(version))
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
            known = sorted(int(v.version) for v in client.search_model_versions(f"name='{name}'"))
        raise NotFoundError(
            f"model {name!r} has no version {version} "
            f"(versions: {', '.join(map(str, known)) or 'none'})"
        )

    def _get_run(self, run_id: str) -> Run:
        from mlflow.exceptions import MlflowException

        client = self._open()[0]
        with _mlflow_errors(f"cannot read run {run_id}"):
            try:
                return client.get_run(run_id)
            except MlflowException as exc:
                if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
                    raise
        raise NotFoundError(
            f"no run {run_id!r} in {self.store_uri} (askwell experiments list shows the runs)"
        )


def _quiet_mlflow() -> None:
    """No telemetry, progress bars or "creating tables" chatter. MLflow reads these when first
    imported, so this runs before that; a user's MLFLOW_LOGGING_LEVEL is kept."""
    os.environ.update(_QUIET_ENV)
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    if "mlflow" in sys.modules:  # imported before: decide on telemetry again (now off)
        from mlflow.telemetry.client import set_telemetry_client

        set_telemetry_client()  # type: ignore[no-untyped-call]


def _new_client(uri: str) -> MlflowClient:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


@contextmanager
def _mlflow_errors(what: str) -> Iterator[None]:
    """MLflow's and the database's failures become one-line TrackingErrors."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except MlflowException as exc:
        not_found = exc.error_code == "RESOURCE_DOES_NOT_EXIST"
        raise (NotFoundError if not_found else TrackingError)(
            f"{what}: {_one_line(exc.message)}"
        ) from None
    except (SQLAlchemyError, OSError) as exc:
        # The driver's own words ("file is not a database"), without SQLAlchemy's SQL and links.
        raise TrackingError(
            f"{what}: {_one_line(str(getattr(exc, 'orig', None) or exc))}"
        ) from None


def _summary(run: Run) -> RunSummary:
    tags, metrics = run.data.tags, run.data.metrics
    start = run.info.start_time
    return RunSummary(
        run_id=run.info.run_id,
        name=run.info.run_name or "",
        start_time=datetime.fromtimestamp(start / 1000, UTC) if start else None,
        status=run.info.status,
        label=tags.get(TAG_LABEL, ""),
        metrics={k: v for k, v in sorted(metrics.items()) if _KEY_METRIC.fullmatch(k)},
        data_fingerprint=tags.get(TAG_FINGERPRINT, "")[:12],
    )


def _flatten_values(tree: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level of dotted keys: ``{"a": {"b": 1}}`` → ``{"a.b": 1}``."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat |= _flatten_values(value, f"{dotted}.")
        else:
            flat[dotted] = value
    return flat


def _flatten(tree: Mapping[str, Any]) -> dict[str, str]:
    """Flattened, with keys MLflow accepts and values as strings (containers as JSON)."""
    return {
        _key(k): v if isinstance(v, str) else json.dumps(v, default=str)
        for k, v in _flatten_values(tree).items()
    }


def _merge_params(config: dict[str, str], params: dict[str, str]) -> dict[str, str]:
    clash = sorted(k for k in config.keys() & params.keys() if config[k] != params[k])
    if clash:  # MLflow refuses a param logged twice with two values
        raise ValueError(f"params and config disagree on {', '.join(clash)}")
    return config | params


def _key(name: str) -> str:
    """A key MLflow accepts: other characters become ``_``; at most 250 characters."""
    from mlflow.utils.validation import MAX_ENTITY_KEY_LENGTH

    return (_BAD_KEY_CHARS.sub("_", name).lstrip(". ") or "_")[:MAX_ENTITY_KEY_LENGTH]


def _finite_metrics(metrics: Mapping[str, Any]) -> tuple[dict[str, float], list[str]]:
    """The finite real numbers (not bools) under valid keys, and the names of the others."""
    finite = {
        _key(k): float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }
    return finite, sorted(k for k in metrics if _key(k) not in finite)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _local_path(uri: str) -> Path:
    # Only local files: any other source would make MLflow reach the network.
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise TrackingError(f"registered source {uri} is not a local file")
    return Path(url2pathname(parsed.path))


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks: how a registered bundle is pinned."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def _one_line(message: str) -> str:
    return " ".join(message.split())
