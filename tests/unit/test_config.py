"""Settings: defaults < YAML < ASKWELL_* environment < flags; unknown keys are errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from askwell.config import Settings, get_settings
from askwell.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def test_defaults_without_any_layer() -> None:
    settings = get_settings(environ={})
    assert settings == Settings()
    assert settings.ingest.workers == 0 and settings.ingest.compression == "zstd"


def test_shipped_config_is_valid_and_matches_the_defaults() -> None:
    assert get_settings(REPO / "configs" / "askwell.yaml", environ={}) == Settings()


def test_the_closing_recipe_differs_from_the_defaults_only_in_training() -> None:
    recipe = get_settings(REPO / "configs" / "closing.yaml", environ={})
    assert recipe.model_copy(update={"train": Settings().train}) == Settings()
    assert recipe.train.label == "closed" and recipe.train.live_label_rate == 0.06
    assert recipe.train.word_ngrams == 3 and recipe.train.word_punctuation


def test_layers_override_in_order(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("ingest:\n  workers: 3\n  chunk_mb: 4\nprofile:\n  max_sites_plotted: 5\n")
    env = {"ASKWELL_INGEST__WORKERS": "2", "ASKWELL_INGEST__COMPRESSION": "snappy"}
    settings = get_settings(config, {"ingest.workers": 1, "ingest.chunk_mb": None}, environ=env)
    assert settings.ingest.workers == 1  # flag beats environment beats file
    assert settings.ingest.compression == "snappy"  # environment beats file and default
    assert settings.ingest.chunk_mb == 4  # a flag that was not given changes nothing
    assert settings.profile.max_sites_plotted == 5


def test_config_file_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("ingest:\n  workers: 3\n")
    assert get_settings(environ={"ASKWELL_CONFIG": str(config)}).ingest.workers == 3


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("ingest:\n  wokers: 2\n", "invalid setting 'ingest.wokers' (unknown key)"),
        ("ingets:\n  workers: 2\n", "invalid setting 'ingets' (unknown key)"),
        ("ingest:\n  workers: -1\n", "invalid setting 'ingest.workers'"),
        ("ingest:\n  compression: lzma\n", "invalid setting 'ingest.compression'"),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("ingest: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_yaml_is_a_clear_error(yaml_text: str, message: str, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(yaml_text)
    with pytest.raises(ConfigError, match=re.escape(message)) as err:
        get_settings(config, environ={})
    assert str(config) in str(err.value)  # which file is wrong
    assert "\n" not in str(err.value).split(": not valid YAML")[0]


def test_unknown_environment_key_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"ingest\.wrokers"):
        get_settings(environ={"ASKWELL_INGEST__WROKERS": "2"})
    with pytest.raises(ConfigError, match="expected SECTION__KEY"):
        get_settings(environ={"ASKWELL_WORKERS": "2"})


def test_missing_config_file() -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        get_settings(Path("/nonexistent/askwell.yaml"), environ={})
