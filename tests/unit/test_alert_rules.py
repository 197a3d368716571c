"""The Prometheus alert rules in deploy/prometheus: well formed, on metrics the service
exposes, with the monitor's thresholds; checked and unit-tested by promtool where it is
installed (scripts/test-services unpacks it from Debian's prometheus package; in CI it must
be there)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from askwell.config import MonitorSettings
from askwell.serving.metrics import MONITOR_GAUGES, Metrics

RULES_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULES = RULES_DIR / "askwell-alerts.yml"
RULE_TESTS = RULES_DIR / "askwell-alerts.test.yml"
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def _rules() -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {rule["alert"]: rule for group in loaded["groups"] for rule in group["rules"]}


def _exposed() -> set[str]:
    """Every series name the service's /metrics can show."""
    metrics = Metrics()
    metrics.follow_monitoring(list)
    return {
        family.name + suffix
        for family in metrics.registry.collect()
        for suffix in _SUFFIXES.get(family.type, ("",))
    }


def test_every_rule_is_complete_and_names_metrics_the_service_exposes() -> None:
    loaded = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    assert {g["name"] for g in loaded["groups"]} == {"askwell-monitoring", "askwell-service"}
    rules = _rules()
    exposed = _exposed()
    assert set(MONITOR_GAUGES) <= exposed
    for name, rule in rules.items():
        assert re.fullmatch(r"Askwell[A-Za-z]+", name), name
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, name
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name
        used = set(re.findall(r"\baskwell_[a-z0-9_]+", rule["expr"]))
        assert used, f"{name} watches no askwell metric"
        assert used <= exposed, f"{name} names metrics /metrics never shows: {used - exposed}"


def test_the_issue_s_alerts_are_there_with_the_monitor_s_thresholds() -> None:
    rules = _rules()
    defaults = MonitorSettings()
    for alert, gauge in (("AskwellFeatureDrift", "feature"), ("AskwellOutputDrift", "output")):
        expr = " ".join(rules[alert]["expr"].split())
        assert f"askwell_monitor_{gauge}_psi >= {defaults.psi_alert}" in expr
        assert f"askwell_monitor_{gauge}_p_value < {defaults.p_value}" in expr
    assert f"> {defaults.max_degraded_rate}" in rules["AskwellDegradedShareHigh"]["expr"]
    feedback = " ".join(rules["AskwellSuggestionNotHelpful"]["expr"].split())
    assert f"askwell_monitor_rule_not_helpful_share > {defaults.max_not_helpful}" in feedback
    assert f"askwell_monitor_rule_feedback >= {defaults.min_feedback}" in feedback
    assert "> 2 * 86400" in rules["AskwellMonitorNotRun"]["expr"]
    assert "askwell_degraded" in rules["AskwellDegraded"]["expr"]
    assert "askwell_reload_failed" in rules["AskwellReloadFailed"]["expr"]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: scripts/test-services must unpack it")
        pytest.skip("no promtool: run scripts/test-services (Debian's prometheus package)")
    return found


def test_promtool_accepts_the_rules() -> None:
    checked = subprocess.run(
        [_promtool(), "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in checked.stdout


def test_the_alerts_fire_on_promtools_series_and_only_there() -> None:
    tested = subprocess.run(
        [_promtool(), "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=RULES_DIR,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
