"""The test ledger: appends durably, counts reads of the same test split, names bad lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from askwell.errors import InputError
from askwell.models.ledger import TestLedger, describe_read, split_protocol

CONFIG = {"label": "closed", "split": "time", "seed": 0, "test_fraction": 0.2,
          "val_fraction": 0.1, "max_word_features": 100}  # fmt: skip


def test_reads_of_the_same_split_are_counted_and_others_are_not(tmp_path: Path) -> None:
    ledger = TestLedger(tmp_path / "sub" / "ledger.jsonl")
    protocol = split_protocol(CONFIG)
    assert "max_word_features" not in protocol  # the model's settings are not the split's
    first = ledger.record(reader="a", fingerprint="f1", protocol=protocol,
                          metrics={"roc_auc": 0.8}, commit="c1")  # fmt: skip
    assert first.nth == 1
    other_seed = {**protocol, "seed": 1}
    assert ledger.record(reader="b", fingerprint="f1", protocol=other_seed,
                         metrics={}, commit="c1").nth == 1  # fmt: skip
    assert ledger.record(reader="c", fingerprint="f2", protocol=protocol,
                         metrics={}, commit="c1").nth == 1  # fmt: skip
    again = ledger.record(reader="d", fingerprint="f1", protocol=protocol,
                          metrics={"roc_auc": 0.81}, commit="c2")  # fmt: skip
    assert again.nth == 2
    assert ledger.reads("f1", protocol) == 2
    # Another validation fraction reads the same test part: it counts.
    assert split_protocol({**CONFIG, "val_fraction": 0.2}) == protocol
    old_entry = {**protocol, "val_fraction": 0.3}  # an entry written when the key was kept
    ledger.record(reader="e", fingerprint="f1", protocol=old_entry, metrics={}, commit="c0")
    assert ledger.reads("f1", protocol) == 3
    lines = (tmp_path / "sub" / "ledger.jsonl").read_text().splitlines()
    assert len(lines) == 5
    assert json.loads(lines[0])["metrics"] == {"roc_auc": 0.8}
    assert json.loads(lines[3])["commit"] == "c2"


def test_a_protocol_without_its_keys_is_refused() -> None:
    with pytest.raises(ValueError, match="seed"):
        split_protocol({"label": "x", "split": "time", "test_fraction": 0.2})


def test_a_malformed_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text('{"fingerprint": "f", "protocol": {}}\nnot json\n')
    with pytest.raises(InputError, match=r"ledger.jsonl, line 2: not JSON"):
        TestLedger(path).entries()
    path.write_text('{"fingerprint": "f", "protocol": {}}\n[1, 2]\n')
    with pytest.raises(InputError, match=r"line 2: a ledger entry needs fingerprint"):
        TestLedger(path).reads("f", {})


def test_the_card_sentence_says_how_often_and_warns_after_the_first() -> None:
    once = describe_read({"test_read": {"nth": 1, "ledger": "l.jsonl", "time": "t"}})
    assert "read once" in once and "optimistic" not in once
    thrice = describe_read({"test_read": {"nth": 3, "ledger": "l.jsonl", "time": "t"}})
    assert "read 3 times" in thrice and "optimistic" in thrice
    assert "no record" in describe_read({})


def test_the_repository_ledger_records_the_shipped_models_reads() -> None:
    """Consistency check: every line of the committed ledger parses, and the shipped models'
    test reads are in it."""
    root = Path(__file__).resolve().parents[2]
    ledger = TestLedger(root / "evidence" / "test-ledger.jsonl")
    for name in ("default", "closing"):
        evaluation = json.loads(
            (root / "src" / "askwell" / "assets" / f"{name}.evaluation.json").read_text()
        )
        protocol = split_protocol(evaluation["config"])
        assert ledger.reads(evaluation["data"]["fingerprint"], protocol) >= 1, name
