"""The model lifecycle end to end, as an operator runs it, on real data and a running server:

train a challenger → register it (the running canary server picks it up) → the gates run and
write their report → promotion is refused without approval → a 20% canary with sticky
sessions serves real drafts and takes feedback → the rollout report compares the arms and
decides → approve → promote (the server follows) → rollback (it follows back) → a tampered
and an unsigned bundle named champion are refused while the previous model keeps serving.

Every step goes through the real command (``askwell models …`` with the operator's config)
or the real HTTP API of one ``askwell serve`` process that is never restarted. Two small
models trained on the beer and coffee dumps: the champion and a challenger with a smaller
vocabulary (so the arms' scores differ). The scoring process's imports are checked in
tests/serving/test_scoring_imports.py.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from askwell.cli import app
from askwell.config import TrackingSettings
from askwell.models.behaviour import contrast_pairs
from askwell.models.bundle import load_bundle, save_bundle
from askwell.models.registry import CHAMPION, Tracker
from askwell.serving.arms import in_canary
from askwell.store.db import Store
from tests.conftest import BUNDLE_KEY_ENV, DUMPS, ingest_dataset, serving
from tests.test_models_cli import _train

pytestmark = [
    pytest.mark.data,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The least populated class:UserWarning"),
]

TOKEN = "an-operator-token-for-the-lifecycle"
WAIT_S = 30.0  # the server polls the registry every second; loading a model takes seconds
SESSIONS = 60  # editing sessions in the canary, each a flawed draft then its better version


def _askwell(config: Path, *args: str) -> Result:
    env = {"COLUMNS": "250", "ASKWELL_MODELS__ADMIN_TOKEN": TOKEN}
    return CliRunner().invoke(app, [*args, "--config", str(config)], env=env)


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def _http(port: int, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return dict(json.loads(response.read()))


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {WAIT_S:g} s: {what}")
        time.sleep(0.2)


def _draft(fields: dict[str, Any], session: str) -> dict[str, Any]:
    return {
        "title": fields["title"],
        "body": fields["body"],
        "tags": list(fields["tags"]),
        "session_id": session,
    }


def test_train_gate_approve_canary_report_promote_rollback_and_refuse_tampering(
    tmp_path: Path, bundle_key: Path
) -> None:
    dataset = ingest_dataset(
        tmp_path / "ds", DUMPS / "beer.stackexchange.com", DUMPS / "coffee.stackexchange.com"
    )
    ledger = tmp_path / "ledger.jsonl"
    champion = _train(dataset, tmp_path / "champion.askwell", ledger, shuffle=False)
    challenger = _train(
        dataset, tmp_path / "challenger.askwell", ledger, shuffle=False, max_word_features=1000
    )
    tracking = TrackingSettings(
        uri=f"sqlite:///{tmp_path}/mlflow.db",
        artifact_root=str(tmp_path / "artifacts"),
        test_ledger=ledger,
    )
    db = tmp_path / "askwell.db"
    config = tmp_path / "askwell.yaml"
    # Small models on small data (155 test questions): looser calibration, non-inferiority
    # and behaviour bounds than the defaults, and latency headroom for a shared CI machine;
    # the rollout decides on this test's traffic.
    config.write_text(
        f"tracking:\n  uri: {tracking.uri}\n  artifact_root: {tracking.artifact_root}\n"
        f"  test_ledger: {ledger}\n"
        "models:\n  max_ece: 0.3\n  auc_margin: 0.05\n  behaviour_tolerance: 0.05\n"
        "  n_boot: 200\n  slice_min_n: 50\n  latency_questions: 20\n  latency_ratio: 3.0\n"
        f"serve:\n  database_url: sqlite:///{db}\n  mode: canary\n  canary_share: 0.2\n"
        "  registry_poll_s: 1\n"
        "rollout:\n  min_predictions: 20\n  min_sessions: 5\n  n_boot: 200\n",
        encoding="utf-8",
    )
    tracker = Tracker(tracking)
    assert tracker.register_bundle(champion) == 1
    tracker.set_alias(CHAMPION, 1)  # the first champion, as an operator bootstraps it

    env = {BUNDLE_KEY_ENV: str(bundle_key), "ASKWELL_MODELS__ADMIN_TOKEN": TOKEN}
    with serving(tmp_path, "--config", str(config), env=env) as (port, log):

        def ready() -> dict[str, Any]:
            return _http(port, "/readyz")

        assert ready()["registry_version"] == "1" and ready()["challenger"] == "none"

        # -- a challenger: registered, picked up by the running server as the canary
        assert "version 2 (challenger)" in _ok(
            _askwell(config, "models", "register", str(challenger))
        )
        _until(lambda: ready().get("challenger_registry_version") == "2", "the canary loads v2")

        # -- the gates, then promotion refused without a person's approval
        flat = _ok(
            _askwell(
                config, "models", "gates", "2", str(tmp_path / "ds"), "-o", str(tmp_path / "g2")
            )
        )
        assert "version 2 passed its gates against the champion (version 1)" in flat
        gates = json.loads((tmp_path / "g2.gates.json").read_text())
        assert gates["passed"] and (tmp_path / "g2.gates.md").is_file()
        refused = _askwell(config, "models", "promote", "2", "--token", TOKEN)
        assert refused.exit_code == 2 and "nobody approved it" in refused.output
        assert ready()["registry_version"] == "1"

        # -- the canary: 20% of editor sessions, sticky; a flawed draft, then a better one
        pairs = contrast_pairs()
        sessions = [f"editor-{i}" for i in range(SESSIONS)]
        started = datetime.now(UTC).isoformat(timespec="seconds")
        versions: dict[str, set[str]] = {}
        for i, session in enumerate(sessions):
            pair = pairs[i % len(pairs)]
            first = _http(port, "/v1/score", _draft(pair["bad"], session))
            second = _http(port, "/v1/score", _draft(pair["good"], session))
            versions[session] = {first["model"]["version"], second["model"]["version"]}
            if first["suggestions"]:
                _http(
                    port,
                    "/v1/feedback",
                    {
                        "request_id": first["request_id"],
                        "suggestion_id": first["suggestions"][0]["id"],
                        "helpful": True,
                    },
                )
        assert all(len(v) == 1 for v in versions.values())  # sticky
        canary = {s for s in sessions if in_canary(s, 0.2)}
        assert 0.1 <= len(canary) / SESSIONS <= 0.3
        store = Store.open(f"sqlite:///{db}")
        rows = [r for r in store.rows("predictions") if r["session_id"] in versions]
        store.close()
        for row in rows:
            expected = ("challenger", 2) if row["session_id"] in canary else ("champion", 1)
            assert (row["arm"], row["registry_version"]) == expected, row
        canary_version = {v for s in canary for v in versions[s]}
        assert len(canary_version) == 1
        assert canary_version.isdisjoint(
            {v for s in versions if s not in canary for v in versions[s]}
        )

        # -- the rollout report, from the store
        flat = _ok(
            _askwell(
                config,
                "models",
                "rollout-report",
                "--since",
                started[:19],
                "-o",
                str(tmp_path / "rollout"),
            )
        )
        report = json.loads((tmp_path / "rollout.rollout.json").read_text())
        assert report["arms"]["challenger"]["predictions"] == 2 * len(canary)
        assert report["arms"]["champion"]["predictions"] == 2 * (SESSIONS - len(canary))
        assert report["canary_vs_champion"]["sessions"]["on_both_arms"] == 0
        assert report["arms"]["challenger"]["revisions"]["n"] == len(canary)
        assert report["arms"]["challenger"]["revisions"]["score_change"]["value"] is not None
        decision = report["decision"]
        assert decision["action"] in {"promote", "hold"}
        assert f"{decision['action']}: {decision['statement']}" in flat
        assert (tmp_path / "rollout.rollout.md").read_text().startswith("# Rollout report")

        # -- approve and promote: the running server follows
        _ok(_askwell(config, "models", "approve", "2", "--by", "Ada", "--reason", "canary ok",
                     "--token", TOKEN))  # fmt: skip
        assert "champion → version 2" in _ok(
            _askwell(config, "models", "promote", "2", "--token", TOKEN)
        )
        _until(lambda: ready()["registry_version"] == "2", "the server serves v2 as champion")
        # Its challenger alias went with the promotion: no canary of the champion itself.
        _until(lambda: ready()["challenger"] == "none", "the canary arm is emptied")
        promoted = _http(port, "/v1/score", _draft(pairs[0]["good"], "after-promotion"))
        assert promoted["model"]["version"] in canary_version

        # -- rollback: it follows back
        _ok(_askwell(config, "models", "rollback", "--by", "Bo", "--reason", "drill",
                     "--token", TOKEN))  # fmt: skip
        _until(lambda: ready()["registry_version"] == "1", "the server serves v1 again")
        assert ready()["challenger"] == "none"  # v2 answers nobody, not even a canary share
        after = _http(port, "/v1/score", _draft(pairs[0]["good"], sorted(canary)[0]))
        assert after["model"]["version"] not in canary_version

        # -- a tampered bundle and an unsigned one named champion: refused, v1 serves on
        tampered = Path(shutil.copy(challenger, tmp_path / "tampered.askwell"))
        assert tracker.register_bundle(tampered) == 3
        registered = tracker.version_bundle(3)
        altered = bytearray(registered.read_bytes())
        altered[len(altered) // 2] ^= 0xFF  # one byte inside the model's arrays
        registered.write_bytes(bytes(altered))
        # Signed with another deployment's key, and registered there: this server's key
        # does not vouch for it.
        model, info = load_bundle(challenger)
        other_key = tmp_path / "other.key"
        other_key.write_text("k" * 64, encoding="utf-8")
        foreign = save_bundle(
            tmp_path / "foreign.askwell", model, info, key=other_key.read_text().encode()
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(BUNDLE_KEY_ENV, str(other_key))
            assert tracker.register_bundle(foreign) == 4
        for version in (3, 4):
            tracker.set_alias(CHAMPION, version)  # past the gates: only the library can
            _until(
                lambda v=version: f"champion version {v} refused" in ready()["reload"],
                f"v{version} is refused: {ready()}",
            )
            state = ready()
            assert state["ready"] is True and state["registry_version"] == "1", state
            answer = _http(port, "/v1/score", _draft(pairs[0]["good"], f"after-{version}"))
            assert not answer["degraded"] and answer["model"]["version"] not in canary_version
        assert "refused" in log.read_text()
