"""Tracking and registry on a temporary SQLite store: runs, versions, aliases, the CLI, and no
network. One store per module: MLflow migrates each new store's schema, which takes seconds."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from askwell.config import TrackingSettings, get_settings
from askwell.errors import ConfigError, InputError
from askwell.models.bundle import BundleError, BundleInfo, read_info, save_bundle
from askwell.models.registry import (
    TAG_CODE_VERSION,
    TAG_FINGERPRINT,
    TAG_LABEL,
    TAG_SKIPPED_METRICS,
    NotFoundError,
    Tracker,
    TrackingError,
)
from tests.unit.test_bundle import tiny_model

REPO = Path(__file__).resolve().parents[2]
FINGERPRINT = "fe" * 32

# MLflow's own use of SQLAlchemy, not ours.
pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning")


def _bundle(path: Path, threshold: float = 0.5) -> Path:
    info = BundleInfo(
        name="threshold",
        label={"name": "answered", "description": "At least one answer."},
        feature_schema=["body_words"],
        data_fingerprint=FINGERPRINT,
        config={"model": {"threshold": threshold}},
        metrics={"roc_auc": 0.7, "roc_auc_ci": {"low": 0.6, "high": 0.8}, "note": "toy"},
        code_version="0.1.0+test",
    )
    return save_bundle(path, tiny_model(threshold), info)


@dataclass(frozen=True)
class Store:
    root: Path
    settings: TrackingSettings
    bundle: Path
    run_id: str

    def tracker(self, **changes: str) -> Tracker:
        """A tracker on this store; another model_name or experiment keeps tests apart."""
        return Tracker(self.settings.model_copy(update=changes))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One store with one logged run: nested config, a nan metric, a report and a bundle."""
    root = tmp_path_factory.mktemp("mlflow")
    settings = TrackingSettings(
        uri=f"sqlite:///{root}/store/mlflow.db", artifact_root=str(root / "artifacts")
    )
    bundle = _bundle(root / "model.askwell")
    report = root / "report.md"
    report.write_text("# evaluation\n", encoding="utf-8")
    run_id = Tracker(settings).log_run(
        "lr-baseline",
        config={"model": {"kind": "logistic", "C": 1.0}, "seed": 7, "notes": "x" * 7000},
        params={"n_features": 34},
        metrics={"roc_auc": 0.71, "ece": 0.03, "log_loss": math.nan, "test_brier": 0.2, "n": 9},
        data_fingerprint=FINGERPRINT,
        code_version="0.1.0+test",
        artifacts=[report],
        bundle=bundle,
    )
    return Store(root, settings, bundle, run_id)


def test_a_run_logs_everything(store: Store) -> None:
    from mlflow import MlflowClient

    run = MlflowClient(tracking_uri=Tracker(store.settings).store_uri).get_run(store.run_id)
    params, tags = run.data.params, run.data.tags
    assert params["model.kind"] == "logistic" and params["model.C"] == "1.0"
    assert params["seed"] == "7" and params["n_features"] == "34"
    assert len(params["notes"]) == 6000  # MLflow's limit
    assert run.data.metrics == {"roc_auc": 0.71, "ece": 0.03, "test_brier": 0.2, "n": 9}
    assert tags[TAG_SKIPPED_METRICS] == "log_loss"  # nan: skipped, and said so
    assert tags[TAG_FINGERPRINT] == FINGERPRINT and tags[TAG_CODE_VERSION] == "0.1.0+test"
    assert tags[TAG_LABEL] == "answered" and run.info.status == "FINISHED"
    artifacts = store.root / "artifacts" / store.run_id / "artifacts"
    assert (artifacts / "report.md").read_text(encoding="utf-8") == "# evaluation\n"
    assert '"seed": 7' in (artifacts / "config.json").read_text(encoding="utf-8")
    assert (artifacts / "bundle" / "model.askwell").read_bytes() == store.bundle.read_bytes()


def test_list_and_compare(store: Store) -> None:
    tracker = store.tracker()
    [summary] = [run for run in tracker.list_runs() if run.run_id == store.run_id]
    assert summary.name == "lr-baseline" and summary.status == "FINISHED"
    assert summary.label == "answered" and summary.data_fingerprint == FINGERPRINT[:12]
    assert summary.metrics == {"ece": 0.03, "roc_auc": 0.71, "test_brier": 0.2}  # not n
    assert summary.start_time is not None

    other = tracker.log_run(
        "lr-stronger", {"model": {"kind": "logistic", "C": 0.1}}, {}, {"roc_auc": 0.74}, "ab", "1"
    )
    assert [run.run_id for run in tracker.list_runs(max_results=1)] == [other]  # newest first
    comparison = tracker.compare_runs([store.run_id, other])
    assert comparison["run"]["name"] == ["lr-baseline", "lr-stronger"]
    assert comparison["metrics"]["roc_auc"] == [0.71, 0.74]
    assert comparison["metrics"]["ece"] == [0.03, None]
    assert comparison["params"]["model.C"] == ["1.0", "0.1"]
    assert "model.kind" not in comparison["params"]  # the same in both

    with pytest.raises(NotFoundError, match=r"no run 'f{32}'"):
        tracker.compare_runs(["f" * 32])


def test_versions_and_the_champion_alias(store: Store) -> None:
    tracker = store.tracker(model_name="versions")
    assert tracker.champion_bundle() is None and tracker.get_alias("champion") is None
    assert tracker.register_bundle(store.bundle, store.run_id) == 1
    assert tracker.register_bundle(store.bundle) == 2  # logs a run of its own first
    tracker.set_alias("champion", 1)
    assert tracker.get_alias("champion") == 1
    champion = tracker.champion_bundle()
    assert champion is not None and champion != store.bundle  # the copy logged with the run
    assert read_info(champion) == read_info(store.bundle)
    tracker.set_alias("champion", 2)
    assert tracker.get_alias("champion") == 2
    moved = tracker.champion_bundle()
    assert moved is not None and moved != champion and read_info(moved) == read_info(champion)

    with pytest.raises(NotFoundError, match=r"no alias 'staging' \(aliases: champion → 2\)"):
        tracker.alias_bundle("staging")
    with pytest.raises(NotFoundError, match=r"no version 9 \(versions: 1, 2\)"):
        tracker.set_alias("champion", 9)
    other = _bundle(store.root / "other.askwell", threshold=0.9)
    with pytest.raises(InputError, match="did not log"):
        tracker.register_bundle(other, store.run_id)


def test_an_altered_or_replaced_champion_is_refused(store: Store) -> None:
    tracker = store.tracker(model_name="tampered")
    version = tracker.register_bundle(store.bundle)
    tracker.set_alias("champion", version)
    path = tracker.champion_bundle()
    assert path is not None
    original = path.read_bytes()

    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    members["model.json"] = members["model.json"].replace(b'"threshold"', b'"thresholt"')
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(BundleError, match=r"checksum mismatch in model\.json"):
        tracker.champion_bundle()

    # A valid bundle, but not the registered one.
    path.write_bytes(_bundle(store.root / "swap.askwell", threshold=0.1).read_bytes())
    with pytest.raises(BundleError, match="not the file registered as version"):
        tracker.champion_bundle()
    path.write_bytes(original)
    assert tracker.champion_bundle() == path


def test_unreadable_store_and_bad_settings(tmp_path: Path) -> None:
    (tmp_path / "bad.db").write_text("not a database")
    tracker = Tracker(
        TrackingSettings(uri=f"sqlite:///{tmp_path}/bad.db", artifact_root=str(tmp_path / "a"))
    )
    with pytest.raises(
        TrackingError, match=r"cannot open the tracking store .*: file is not a database"
    ):
        tracker.list_runs()
    with pytest.raises(ConfigError, match=r"'tracking\.uri'.*local SQLite file"):
        get_settings(environ={"ASKWELL_TRACKING__URI": "http://mlflow.example:5000"})


def test_default_paths_are_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    tracker = Tracker(TrackingSettings())
    assert tracker.store_uri == f"sqlite:///{tmp_path}/var/mlflow/mlflow.db"
    command = tracker.ui_command()
    assert f"--backend-store-uri sqlite:///{tmp_path}/var/mlflow/mlflow.db" in command
    assert f"--default-artifact-root file://{tmp_path}/var/mlflow/artifacts" in command
    assert "MLFLOW_DISABLE_TELEMETRY=true" in command
    assert not (tmp_path / "var").exists()  # nothing is created before first use


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


@pytest.mark.parametrize("command", ["", "list", "compare", "register", "alias", "ui"])
def test_every_experiments_command_has_help(command: str) -> None:
    result = _run("-m", "askwell", "experiments", *command.split(), "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: askwell experiments" in result.stdout


def test_cli_lists_compares_registers_and_aliases(store: Store, tmp_path: Path) -> None:
    config = tmp_path / "askwell.yaml"
    config.write_text(
        f"tracking:\n  uri: {store.settings.uri}\n  artifact_root: {store.settings.artifact_root}\n"
        "  model_name: cli\n",
        encoding="utf-8",
    )

    def askwell(*args: str) -> str:
        result = _run("-m", "askwell", "experiments", *args, "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""  # MLflow stays quiet
        return result.stdout

    listed = askwell("list")
    assert store.run_id in listed and "lr-baseline" in listed and "answered" in listed
    assert "0.71" in askwell("compare", store.run_id)
    assert "'cli' version 1" in askwell("register", str(store.bundle), "--alias", "staging")
    assert "version 1" in askwell("alias", "candidate", "1")
    assert f"--backend-store-uri {Tracker(store.settings).store_uri}" in askwell("ui")

    result = _run("-m", "askwell", "experiments", "alias", "staging", "7", "--config", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == "error: model 'cli' has no version 7 (versions: 1)"

    # The aliases that decide what serves move only through askwell models (gates, approval,
    # token): refused here, before the store is touched.
    for args in (
        ["alias", "champion", "1"],
        ["register", str(store.bundle), "--alias", "previous"],
    ):
        result = _run("-m", "askwell", "experiments", *args, "--config", str(config))
        assert result.returncode == 2 and "Traceback" not in result.stderr
        assert "moves only through askwell models" in result.stderr
    assert (
        Tracker(store.settings.model_copy(update={"model_name": "cli"})).get_alias("champion")
        is None
    )


def test_versions_tags_and_aliases_for_the_lifecycle(store: Store) -> None:
    """What askwell models builds on: versions with their aliases and tags, tags set and
    removed, an alias deleted, a version's bundle verified, files logged with its run."""
    tracker = store.tracker(model_name="lifecycle")
    assert tracker.versions() == []
    first, second = tracker.register_bundle(store.bundle), tracker.register_bundle(store.bundle)
    tracker.set_alias("champion", first)
    tracker.set_alias("challenger", second)
    tracker.tag_version(second, {"askwell.gates.status": "passed", "x": "1"})
    tracker.tag_version(second, {"y": "2"}, remove=["x", "absent"])
    listed = tracker.versions()
    assert [v.version for v in listed] == [second, first]  # newest first
    assert listed[0].aliases == ("challenger",) and listed[1].aliases == ("champion",)
    assert listed[0].tags["askwell.gates.status"] == "passed" and "x" not in listed[0].tags
    assert tracker.version_tags(second)["y"] == "2"
    assert tracker.version_bundle(second).read_bytes() == store.bundle.read_bytes()
    tracker.delete_alias("challenger")
    tracker.delete_alias("challenger")  # absent: nothing happens
    assert tracker.get_alias("challenger") is None
    note = store.root / "note.md"
    note.write_text("evidence\n", encoding="utf-8")
    tracker.log_version_artifacts(second, [note], "gates")
    run_id = listed[0].run_id
    assert (store.root / "artifacts" / run_id / "artifacts" / "gates" / "note.md").is_file()
    with pytest.raises(NotFoundError, match="has no version 9"):
        tracker.version_tags(9)


def test_nothing_reaches_the_network(store: Store) -> None:
    """Outside pytest and CI, MLflow would start telemetry: it must not, and nothing connects."""
    script = textwrap.dedent(
        f"""
        import socket, sys
        attempts = []
        connect = socket.socket.connect
        def refuse(self, address):
            if self.family in (socket.AF_INET, socket.AF_INET6):
                attempts.append(address)
                raise OSError("network disabled by the test")
            return connect(self, address)
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse

        from pathlib import Path
        from askwell.config import TrackingSettings
        from askwell.models.registry import Tracker
        settings = TrackingSettings(uri={store.settings.uri!r},
            artifact_root={store.settings.artifact_root!r}, experiment="net", model_name="net")
        tracker = Tracker(settings)
        bundle = Path({str(store.bundle)!r})
        tracker.set_alias("champion", tracker.register_bundle(bundle))
        assert tracker.champion_bundle() is not None and tracker.list_runs()

        from mlflow.telemetry.client import get_telemetry_client
        assert get_telemetry_client() is None, "telemetry started"
        assert not attempts, attempts
        """
    )
    # Someone imported mlflow first (telemetry on): a Tracker still turns it off.
    preloaded = textwrap.dedent(
        """
        import mlflow
        from mlflow.telemetry.client import get_telemetry_client
        from askwell.config import TrackingSettings
        from askwell.models.registry import Tracker
        assert get_telemetry_client() is not None, "telemetry should be on without askwell"
        Tracker(TrackingSettings())
        assert get_telemetry_client() is None, "telemetry still on"
        """
    )
    ci_markers = {"PYTEST_CURRENT_TEST", "CI", "GITHUB_ACTIONS", "DO_NOT_TRACK"}
    env = {k: v for k, v in os.environ.items() if k not in ci_markers and "MLFLOW" not in k}
    for code in (script, preloaded):
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
        )
        assert result.returncode == 0, result.stderr
