"""The test ledger: one line per read of a test split, kept in the repository.

A test split is evidence only while it has not been used to choose anything. Each read (by
``askwell train``, ``askwell evaluate`` or ``bench/quality``) appends one JSON line: when, at
which commit, on which data (its fingerprint), under which split protocol, by whom, and what
it measured. Reports and the card state how many times that test split has been read, so a
number read on the tenth try is not presented as a first look.

A read is the same test split as another when the data fingerprint and the split protocol
(label, split, seed, fractions) are equal; the model read through it does not matter.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from askwell.errors import InputError, OutputError

# What decides which questions are the test split. Settings that only trim it (the
# near-duplicate threshold) are left out on purpose: the trimmed test part is mostly the same
# questions, already seen, and must count as read. So is the validation fraction: it moves the
# line between train and validation, never the test part's (every split assigns test first).
PROTOCOL_KEYS = ("label", "split", "seed", "test_fraction")


def split_protocol(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a training config that decides which questions are the test split."""
    missing = [k for k in PROTOCOL_KEYS if k not in config]
    if missing:
        raise ValueError(f"split protocol lacks {', '.join(missing)}")
    return {k: config[k] for k in PROTOCOL_KEYS}


@dataclass(frozen=True)
class Read:
    """One recorded read, and how many reads of the same test split the ledger holds now
    (this one included)."""

    entry: dict[str, Any]
    nth: int


class TestLedger:
    """An append-only JSON-lines file of test reads."""

    __test__ = False  # a library class, not a pytest test class

    def __init__(self, path: Path) -> None:
        self.path = path

    def entries(self) -> list[dict[str, Any]]:
        """Every recorded read, oldest first; a malformed line is an error naming it."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise InputError(f"{self.path}: cannot read the test ledger ({exc})") from None
        out = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{self.path}, line {number}: not JSON ({exc.msg})") from None
            if not isinstance(entry, dict) or "fingerprint" not in entry or "protocol" not in entry:
                raise InputError(
                    f"{self.path}, line {number}: a ledger entry needs fingerprint and protocol"
                )
            out.append(entry)
        return out

    def reads(self, fingerprint: str, protocol: Mapping[str, Any]) -> int:
        """How many times this test split has been read."""
        wanted = dict(protocol)
        # Older entries may carry keys since left out of the protocol: compare on the wanted.
        return sum(
            1
            for e in self.entries()
            if e["fingerprint"] == fingerprint
            and {k: e["protocol"].get(k) for k in wanted} == wanted
        )

    def record(
        self,
        *,
        reader: str,
        fingerprint: str,
        protocol: Mapping[str, Any],
        metrics: Mapping[str, float],
        commit: str,
        note: str = "",
    ) -> Read:
        """Append one read, durably (flushed and fsynced before returning)."""
        entry = {
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
            "commit": commit,
            "fingerprint": fingerprint,
            "protocol": dict(protocol),
            "reader": reader,
            "metrics": {k: round(float(v), 6) for k, v in metrics.items()},
        }
        if note:
            entry["note"] = note
        nth = self.reads(fingerprint, protocol) + 1
        line = json.dumps(entry, sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot record the test read ({exc})") from None
        return Read(entry, nth)


def record_read(
    path: Path,
    *,
    reader: str,
    fingerprint: str,
    config: Mapping[str, Any],
    metrics: Mapping[str, float],
) -> dict[str, Any]:
    """Record one test read at this code version; what the card and report say of it."""
    from askwell.versioning import code_version

    read = TestLedger(path).record(
        reader=reader,
        fingerprint=fingerprint,
        protocol=split_protocol(config),
        metrics=metrics,
        commit=code_version(),
    )
    return {"ledger": str(path), "nth": read.nth, "time": read.entry["time"]}


def describe_read(test: Mapping[str, Any]) -> str:
    """How many times the test split behind these numbers has been read (the ledger's
    count), in a sentence."""
    read = test.get("test_read")
    if not isinstance(read, dict):
        return "The test ledger has no record of this read (an evaluation from before it)."
    nth = int(read.get("nth", 0))
    times = "once" if nth == 1 else f"{nth} times"
    caveat = (
        "."
        if nth == 1
        else ": earlier reads may have guided choices, so treat these numbers as optimistic."
    )
    return (
        f"This test split (same data, label, split and seed) has now been read {times} "
        f"(`{read.get('ledger')}`, {read.get('time')}){caveat}"
    )
