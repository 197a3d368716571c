"""Promotion with gates and a person (``askwell models``), on real data: two small models
trained on beer and coffee, one of them on shuffled labels, in one temporary registry.

One module-scoped registry: MLflow migrates each new store's schema, which takes seconds. The
tests run in file order (the registry's state carries from one to the next, as in a real
deployment's history).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from askwell.cli import app
from askwell.config import ModelsSettings, TrackingSettings
from askwell.data.dataset import Dataset
from askwell.errors import ConfigError
from askwell.models.registry import CHAMPION, PREVIOUS, Tracker
from askwell.promotion import (
    SHIPPED,
    TAG_APPROVED_BY,
    TAG_GATES,
    PromotionError,
    authorize,
    reference,
)
from tests.conftest import DUMPS, ingest_dataset, run_askwell

pytestmark = [
    pytest.mark.data,
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SADeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The least populated class:UserWarning"),
]

TOKEN = "correct-horse-battery-staple"


@dataclass(frozen=True)
class Setup:
    root: Path
    dataset: Path
    config: Path
    good: Path
    shuffled: Path
    ledger: Path
    tracking: TrackingSettings

    def tracker(self) -> Tracker:
        return Tracker(self.tracking)


def _train(
    dataset: Dataset,
    out: Path,
    ledger: Path,
    shuffle: bool,
    label: str = "good_answer_within_7d",
    **recipe: Any,
) -> Path:
    """A small real model (``recipe``: TrainConfig fields changed); with ``shuffle``, trained
    and calibrated on permuted labels (the test part keeps its true labels), so it ranks no
    better than chance."""
    from askwell.models.train import TrainConfig, train
    from askwell.release import Fitted, fit, package, read_test

    config = TrainConfig(
        **{
            "label": label,
            "max_word_features": 2000,
            "max_char_features": 300,
            "n_boot": 100,
            "slice_n_boot": 100,
            "learning_fractions": (1.0,),
            **recipe,
        }
    )
    fitted = fit(dataset, config)
    if shuffle:
        rng = np.random.default_rng(1)
        for part in ("train", "val"):
            y = fitted.prepared.parts[part].y
            fitted.prepared.parts[part].y = rng.permutation(y)
        fitted = Fitted(fitted.prepared, train(fitted.prepared, config), fitted.training)
    return package(fitted, read_test(fitted, dataset, ledger, "test setup"), out)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Setup:
    root = tmp_path_factory.mktemp("promotion")
    dataset = ingest_dataset(
        root / "ds", DUMPS / "beer.stackexchange.com", DUMPS / "coffee.stackexchange.com"
    )
    ledger = root / "ledger.jsonl"
    good = _train(dataset, root / "good.askwell", ledger, shuffle=False)
    shuffled = _train(dataset, root / "shuffled.askwell", ledger, shuffle=True)
    tracking = TrackingSettings(
        uri=f"sqlite:///{root}/mlflow.db",
        artifact_root=str(root / "artifacts"),
        test_ledger=ledger,
    )
    config = root / "askwell.yaml"
    # Small data: 155 test questions, so a looser calibration bound than the default and
    # fewer timed questions; the latency ratio has headroom for a shared CI machine.
    config.write_text(
        f"tracking:\n  uri: {tracking.uri}\n  artifact_root: {tracking.artifact_root}\n"
        f"  test_ledger: {ledger}\n"
        "models:\n  max_ece: 0.3\n  n_boot: 200\n  slice_min_n: 50\n"
        "  latency_questions: 20\n  latency_ratio: 2.0\n",
        encoding="utf-8",
    )
    return Setup(root, root / "ds", config, good, shuffled, ledger, tracking)


def _askwell(setup: Setup, *args: str, token: str | None = TOKEN) -> Result:
    env = {"COLUMNS": "250"}
    if token is not None:
        env["ASKWELL_MODELS__ADMIN_TOKEN"] = token
    return CliRunner().invoke(app, [*args, "--config", str(setup.config)], env=env)


def _refused(result: Result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert message in " ".join(result.output.split()), result.output


def test_authorization_needs_a_configured_token_and_the_right_one() -> None:
    with pytest.raises(ConfigError, match="no admin token is configured"):
        authorize(ModelsSettings(), TOKEN)
    settings = ModelsSettings.model_validate({"admin_token": TOKEN})
    with pytest.raises(PromotionError, match="give the admin token"):
        authorize(settings, None)
    with pytest.raises(PromotionError, match="wrong admin token"):
        authorize(settings, TOKEN + "x")
    authorize(settings, TOKEN)
    assert TOKEN not in repr(settings)  # a secret: never printed with the settings
    with pytest.raises(ValueError, match="at least 16 characters"):
        ModelsSettings.model_validate({"admin_token": "short"})


def test_without_a_champion_the_reference_is_the_shipped_model(setup: Setup) -> None:
    assert reference(setup.tracker()).name == SHIPPED


def test_register_makes_a_challenger_and_experiments_cannot_move_champion(setup: Setup) -> None:
    result = _askwell(setup, "models", "register", str(setup.good))
    assert result.exit_code == 0, result.output
    assert "version 1 (challenger)" in result.output
    # The first champion, as an operator bootstraps it through the library (the registry's
    # own API); the CLI has no unchecked way.
    setup.tracker().set_alias(CHAMPION, 1)
    for args in (["alias", "champion", "1"], ["alias", "challenger", "1"]):
        _refused(_askwell(setup, "experiments", *args), "it moves only through askwell models")
    _refused(
        _askwell(setup, "experiments", "register", str(setup.good), "--alias", "champion"),
        "it moves only through askwell models",
    )
    assert _askwell(setup, "experiments", "alias", "staging", "1").exit_code == 0
    assert setup.tracker().get_alias(CHAMPION) == 1
    # v2: the same model again (gates against itself), v3: shuffled labels.
    assert _askwell(setup, "models", "register", str(setup.good)).exit_code == 0
    assert _askwell(setup, "models", "register", str(setup.shuffled)).exit_code == 0


def test_promotion_is_refused_without_gates(setup: Setup) -> None:
    _refused(
        _askwell(setup, "models", "promote", "2", "--token", TOKEN),
        "version 2 has not been through the gates",
    )


def test_the_gates_pass_for_a_model_against_itself(setup: Setup) -> None:
    before = setup.ledger.read_text().count("\n")
    result = _askwell(
        setup, "models", "gates", "2", str(setup.dataset), "-o", str(setup.root / "g2")
    )
    assert result.exit_code == 0, result.output
    assert "version 2 passed its gates against the champion (version 1)" in result.output
    report = json.loads((setup.root / "g2.gates.json").read_text())
    assert report["passed"] and report["approval"] is None
    gates = {g["name"]: g for g in report["gates"]}
    assert set(gates) == {"roc_auc", "slices", "calibration", "behaviour", "latency"}
    assert gates["roc_auc"]["value"] == 0.0  # identical scores: no difference in any resample
    behaviour = gates["behaviour"]  # the same model: every share equal to the reference's
    assert behaviour["value"] == 0.0 and behaviour["passed"]
    assert {p: v["change"] for p, v in behaviour["detail"]["parts"].items()} == {
        "contrast": 0.0,
        "directional": 0.0,
        "invariance": 0.0,
    }
    assert behaviour["detail"]["challenger"]["directional"]["n"] > 0
    assert behaviour["detail"]["challenger"]["invariance"]["n"] > 0
    assert gates["latency"]["detail"]["n_questions"] == 20
    assert report["protocol"]["split"]["label"] == "good_answer_within_7d"
    assert report["protocol"]["n_test"] > 100
    # The test read is in the ledger, under the champion's split protocol.
    entries = [json.loads(line) for line in setup.ledger.read_text().splitlines()]
    assert len(entries) == before + 1
    assert entries[-1]["reader"].startswith("askwell models gates 2")
    assert entries[-1]["protocol"] == report["protocol"]["split"]
    assert report["test_read"]["nth"] == len(entries)  # the two trainings read it too
    assert "| roc_auc |" in (setup.root / "g2.gates.md").read_text()
    assert "## Behaviour" in (setup.root / "g2.gates.md").read_text()
    assert setup.tracker().version_tags(2)[TAG_GATES] == "passed"


def test_the_gates_fail_for_a_model_trained_on_shuffled_labels(setup: Setup) -> None:
    result = _askwell(
        setup, "models", "gates", "3", str(setup.dataset), "-o", str(setup.root / "g3")
    )
    assert result.exit_code == 1, result.output
    assert "version 3 failed its gates" in result.output
    report = json.loads((setup.root / "g3.gates.json").read_text())
    gates = {g["name"]: g for g in report["gates"]}
    assert not report["passed"] and not gates["roc_auc"]["passed"]
    assert gates["roc_auc"]["value"] < -0.01
    _refused(
        _askwell(
            setup, "models", "approve", "3", "--by", "Ada", "--reason", "ok", "--token", TOKEN
        ),
        "version 3 failed its gates (roc_auc",
    )
    _refused(
        _askwell(setup, "models", "promote", "3", "--token", TOKEN), "version 3 failed its gates"
    )


def test_promotion_needs_the_token_and_an_approval(setup: Setup) -> None:
    _refused(_askwell(setup, "models", "promote", "2"), "give the admin token (--token)")
    _refused(
        _askwell(setup, "models", "promote", "2", "--token", "not-the-token-at-all"),
        "wrong admin token",
    )
    _refused(
        _askwell(setup, "models", "promote", "2", "--token", TOKEN, token=None),
        "no admin token is configured",
    )
    _refused(
        _askwell(setup, "models", "promote", "2", "--token", TOKEN),
        "version 2 passed its gates but nobody approved it",
    )
    _refused(
        _askwell(setup, "models", "approve", "2", "--by", "Ada", "--reason", "fine"),
        "give the admin token",
    )
    assert setup.tracker().get_alias(CHAMPION) == 1


def test_approval_then_promotion_then_rollback(setup: Setup) -> None:
    result = _askwell(
        setup, "models", "approve", "2", "--by", "Ada Lovelace", "--reason",
        "gates pass; same recipe", "--token", TOKEN,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    tags = setup.tracker().version_tags(2)
    assert tags[TAG_APPROVED_BY] == "Ada Lovelace"
    report = json.loads((setup.root / "g2.gates.json").read_text())
    assert report["approval"]["by"] == "Ada Lovelace"
    assert report["approval"]["reason"] == "gates pass; same recipe"
    assert "Approved by **Ada Lovelace**" in (setup.root / "g2.gates.md").read_text()

    result = _askwell(setup, "models", "promote", "2", "--token", TOKEN)
    assert result.exit_code == 0, result.output
    assert "champion → version 2; previous champion: version 1" in result.output
    tracker = setup.tracker()
    assert tracker.get_alias(CHAMPION) == 2 and tracker.get_alias(PREVIOUS) == 1
    assert tracker.get_alias("challenger") == 3  # the challenger left was the last registered

    listed = _askwell(setup, "models", "list")
    assert listed.exit_code == 0, listed.output
    flat = " ".join(listed.output.split())
    assert "champion" in flat and "previous" in flat and "challenger" in flat
    assert "passed vs champion (version 1)" in flat and "failed: roc_auc" in flat
    assert "by Ada Lovelace at" in flat and "gates pass; same recipe" in flat
    # The registry holds it too: the report is logged with the version's run.
    run_id = next(v.run_id for v in tracker.versions() if v.version == 2)
    logged = setup.root / "artifacts" / run_id / "artifacts" / "gates" / "g2.gates.json"
    assert json.loads(logged.read_text())["approval"]["by"] == "Ada Lovelace"

    _refused(
        _askwell(setup, "models", "rollback", "--by", "Bo", "--reason", "alerts"),
        "give the admin token",
    )
    result = _askwell(
        setup, "models", "rollback", "--by", "Bo", "--reason", "alerts", "--token", TOKEN
    )
    assert result.exit_code == 0, result.output
    assert "champion → version 1 (rolled back from version 2)" in result.output
    assert tracker.get_alias(CHAMPION) == 1 and tracker.get_alias(PREVIOUS) is None
    assert "by Bo: alerts" in " ".join(_askwell(setup, "models", "list").output.split())
    _refused(
        _askwell(setup, "models", "rollback", "--by", "Bo", "--reason", "x", "--token", TOKEN),
        "nothing to roll back to",
    )


def test_gates_are_bound_to_the_champion_they_were_run_against(setup: Setup) -> None:
    tracker = setup.tracker()
    tracker.set_alias(CHAMPION, 3)  # another champion than version 2 was gated against
    _refused(
        _askwell(setup, "models", "promote", "2", "--token", TOKEN),
        "version 2 was gated against the champion (version 1), but the champion (version 3) "
        "serves now: run the gates again",
    )
    tracker.set_alias(CHAMPION, 1)


def test_the_gates_refuse_a_challenger_for_another_label(setup: Setup) -> None:
    dataset = Dataset.open(setup.dataset)
    other = _train(dataset, setup.root / "answered.askwell", setup.ledger, False, "answered")
    assert _askwell(setup, "models", "register", str(other)).exit_code == 0
    reads = setup.ledger.read_text().count("\n")
    _refused(
        _askwell(setup, "models", "gates", "4", str(setup.dataset)),
        "version 4 predicts 'answered', the champion (version 1) 'good_answer_within_7d': "
        "their scores cannot be compared",
    )
    assert setup.ledger.read_text().count("\n") == reads  # refused before any test read


def test_a_refused_promotion_is_one_line_from_the_real_command(setup: Setup) -> None:
    result = run_askwell("models", "promote", "3", "--token", TOKEN, "--config", str(setup.config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "command", ["", "list", "register", "gates", "approve", "promote", "rollback"]
)
def test_every_models_command_has_help(command: str) -> None:
    result = CliRunner().invoke(app, ["models", *command.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Usage: askwell models" in result.output


def test_a_trained_bundle_carries_its_reference_and_one_from_before_can_gain_it(
    setup: Setup,
) -> None:
    """The drift monitor's reference, written at training; recomputed by ``askwell bundles
    reference`` for a bundle without one, from the same split: the same numbers."""
    import dataclasses

    from askwell.models.bundle import load_bundle, read_info, save_bundle

    model, info = load_bundle(setup.good)
    reference = info.reference
    assert reference["n"] == info.training["validation_slices"]["calibrate"]
    assert set(reference["outputs"]) == {"score", "band"}
    assert len(reference["features"]) == len(info.feature_schema)
    before = setup.root / "before-references.askwell"
    save_bundle(before, model, dataclasses.replace(info, reference={}))
    result = _askwell(setup, "bundles", "reference", str(before), str(setup.dataset))
    assert result.exit_code == 0, result.output
    assert read_info(before).reference == reference
    other = _askwell(setup, "bundles", "reference", str(before), str(setup.root))
    assert other.exit_code == 2 and "Traceback" not in other.output
