"""Serving an untrusted bundle: neither as --bundle nor as the registry's champion does its
pickle run; the service answers with what it can trust and says why."""

from __future__ import annotations

from pathlib import Path

from askwell.config import TrackingSettings
from askwell.models.bundle import sign_bundle
from askwell.models.registry import Tracker
from askwell.serving.service import load_model
from tests.serving.conftest import settings_for
from tests.unit.test_bundle_trust import Exploit, _craft


def test_an_unsigned_bundle_is_not_served(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    bundle = _craft(tmp_path / "crafted.askwell", Exploit(marker))
    choice = load_model(settings_for(f"sqlite:///{tmp_path / 'a.db'}", bundle=bundle))
    assert choice.failure is not None and "refused: not signed" in choice.failure
    assert choice.name == "heuristic" and not marker.exists()


def test_an_unsigned_champion_is_not_served(tmp_path: Path) -> None:
    """The champion's file replaced by an unsigned bundle: refused before anything in it is
    unpickled; the bundled model serves, degraded, saying why."""
    marker = tmp_path / "ran"
    tracking = TrackingSettings(
        uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "artifacts")
    )
    signed = _craft(tmp_path / "signed.askwell", Exploit(marker))
    sign_bundle(signed)  # vouched for here, so the registry takes it
    tracker = Tracker(tracking)
    tracker.set_alias("champion", tracker.register_bundle(signed))
    registered = tracker.alias_bundle("champion")
    _craft(registered, Exploit(marker))  # the registered file, replaced by an unsigned one
    settings = settings_for(f"sqlite:///{tmp_path / 'a.db'}").model_copy(
        update={"tracking": tracking}
    )
    choice = load_model(settings)
    assert choice.failure is None and choice.source == "bundled default model"
    assert choice.problem is not None and "refused: not signed" in choice.problem
    assert not marker.exists()
