"""Promotion: a registered model version becomes the champion only after automatic gates and
a person's approval (``askwell models``).

1. :func:`register`: a bundle → a new model version, and the alias ``challenger`` on it.
2. :func:`run_gates`: the challenger against the reference (the champion, or the model
   askwell ships while the registry has none: what serving would otherwise load), on the
   frozen evaluation protocol: the test part of a dataset split by the *reference's* recorded
   recipe, read once and recorded in the test ledger. Five gates: ROC AUC non-inferiority
   (paired bootstrap), no slice worse beyond a tolerance, calibration (ECE) within bound, the
   behavioural checks (contrast pairs, directional edits and invariance edits of real test
   questions, ``askwell.models.behaviour``) against the reference's, and p99 scoring latency
   relative to the reference. :func:`write_gate_report` writes the report (JSON + Markdown);
   :func:`record_gates` tags the version with the outcome, bound to the bundle's SHA-256 and
   the reference's.
3. :func:`approve`: who, when and why, for a version whose gates passed (tags + report).
4. :func:`promote`: ``champion`` moves only for the exact bundle that passed, against the
   champion still in place, with an approval of that gate run; the champion it replaces
   becomes ``previous``. :func:`rollback` moves ``champion`` back to ``previous``.

Approve, promote and rollback change what serves, so each needs the admin token
(``models.admin_token``). This module sits above ``models`` and ``explain`` (it loads
predictors), below ``cli``, like ``release``.
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from askwell.config import ModelsSettings
from askwell.errors import AskwellError, ConfigError, InputError
from askwell.models.registry import (
    CHALLENGER,
    CHAMPION,
    PREVIOUS,
    TAG_BUNDLE_SHA256,
    Tracker,
    VersionSummary,
    sha256_file,
)

if TYPE_CHECKING:
    from askwell.data.dataset import Dataset
    from askwell.explain.predictor import Predictor
    from askwell.records import Question

TAG_GATES = "askwell.gates.status"  # passed | failed
TAG_GATES_TIME = "askwell.gates.time"
TAG_GATES_FAILED = "askwell.gates.failed"  # names of the failed gates
TAG_GATES_SHA256 = "askwell.gates.bundle_sha256"  # the bundle the gates judged
TAG_GATES_REFERENCE = "askwell.gates.reference"  # "champion (version 3)" or "shipped model"
TAG_GATES_REFERENCE_SHA256 = "askwell.gates.reference_sha256"
TAG_GATES_REPORT = "askwell.gates.report"  # the JSON report's local path
TAG_APPROVED_BY = "askwell.approval.by"
TAG_APPROVED_AT = "askwell.approval.time"
TAG_APPROVED_REASON = "askwell.approval.reason"
TAG_APPROVED_GATES = "askwell.approval.gates_time"  # the gate run approved
TAG_PROMOTED_AT = "askwell.promoted.time"
TAG_ROLLED_BACK = "askwell.rolled_back"  # time, who and why, when rollback demoted it
APPROVAL_TAGS = (TAG_APPROVED_BY, TAG_APPROVED_AT, TAG_APPROVED_REASON, TAG_APPROVED_GATES)
GATE_TAGS = (
    TAG_GATES,
    TAG_GATES_TIME,
    TAG_GATES_FAILED,
    TAG_GATES_SHA256,
    TAG_GATES_REFERENCE,
    TAG_GATES_REFERENCE_SHA256,
    TAG_GATES_REPORT,
)
SHIPPED = "shipped model"
JSON_SUFFIX = ".gates.json"
MAX_NAME, MAX_REASON = 200, 2000  # MLflow holds at most 5000 characters per tag value
LATENCY_REPEATS = 3  # per question and model: the fastest counts (noise only adds time)


class PromotionError(AskwellError):
    """A promotion, approval or rollback that the rules refuse."""


# -- authentication ----------------------------------------------------------------------------


def authorize(settings: ModelsSettings, token: str | None) -> None:
    """Deployment-state changes need the admin token: refused without one configured, without
    one given, or with a wrong one (compared in constant time)."""
    if settings.admin_token is None:
        raise ConfigError(
            "no admin token is configured: set ASKWELL_MODELS__ADMIN_TOKEN (16+ characters) "
            "to allow approve, promote and rollback"
        )
    if not token:
        raise PromotionError("this changes what serves: give the admin token (--token)")
    expected = settings.admin_token.get_secret_value().encode()
    if not hmac.compare_digest(token.encode(), expected):
        raise PromotionError("wrong admin token")


# -- registration and the reference ------------------------------------------------------------


def register(tracker: Tracker, bundle: Path, run_id: str | None = None) -> int:
    """Registers ``bundle`` as a new version and points ``challenger`` at it."""
    version = tracker.register_bundle(bundle, run_id)
    tracker.set_alias(CHALLENGER, version)
    return version


@dataclass(frozen=True)
class Reference:
    """What a challenger is judged against: the champion, or the shipped model."""

    name: str  # "champion (version 3)" or "shipped model"
    version: int | None
    path: Path
    sha256: str


def reference(tracker: Tracker, closing: bool = False) -> Reference:
    """The champion, verified; while the registry has none, the model askwell ships (what
    serving loads then): its closing model when the registry holds ``closing`` models."""
    from askwell.models.bundle import default_bundle, default_closing_bundle

    version = tracker.get_alias(CHAMPION)
    if version is None:
        path = default_closing_bundle() if closing else default_bundle()
        return Reference(SHIPPED, None, path, sha256_file(path))
    path = tracker.version_bundle(version)
    return Reference(f"champion (version {version})", version, path, sha256_file(path))


def holds_closing(bundle: Path) -> bool:
    """Whether ``bundle`` is a closing model (it predicts the ``closed`` label)."""
    from askwell.models.bundle import read_info

    return read_info(bundle).label.get("name") == "closed"


# -- the gates ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """One gate: its number, the threshold it is held to, and whether it passed."""

    name: str
    description: str
    value: float | None
    threshold: float
    passed: bool
    detail: dict[str, Any]


def run_gates(
    tracker: Tracker,
    version: int,
    dataset: Dataset,
    settings: ModelsSettings,
    ledger: Path,
    reader: str,
) -> dict[str, Any]:
    """The gate report of ``version`` against :func:`reference`, on the test part of
    ``dataset`` split by the reference's recipe; the read is recorded in ``ledger``.

    Refused when the challenger predicts another label than the reference, or when the
    test part cannot rank (one class)."""
    from askwell.explain.predictor import Predictor
    from askwell.features.catalog import feature_matrix
    from askwell.models import metrics as m
    from askwell.models.ledger import record_read, split_protocol
    from askwell.models.train import TrainConfig, prepare

    challenger_path = tracker.version_bundle(version)
    # Each model is judged alone (an answer model without the closing model beside it, a
    # closing model on its own P(kept open)): the gates compare like with like.
    challenger = Predictor.load(challenger_path, closing=False)
    ref = reference(tracker, closing=challenger.model.risk_bands is not None)
    if ref.version == version:
        raise PromotionError(f"version {version} is the champion already")
    ref_model = Predictor.load(ref.path, closing=False)
    ref_label = ref_model.info.label.get("name")
    if challenger.info.label.get("name") != ref_label:
        raise PromotionError(
            f"version {version} predicts {challenger.info.label.get('name')!r}, the "
            f"{ref.name} {ref_label!r}: their scores cannot be compared"
        )
    try:
        recipe = TrainConfig(**ref_model.info.config)
    except TypeError as exc:
        raise InputError(f"{ref.path}: its recorded recipe is not readable ({exc})") from None

    prepared = prepare(dataset, recipe)  # the frozen protocol: the reference's split
    test = prepared.parts["test"]
    y = test.y
    if len(set(y.tolist())) < 2:
        raise InputError(
            f"the test part of this dataset ({len(y)} questions) has one class only: "
            "no ranking to compare; use a larger dataset"
        )
    catalog = feature_matrix(test.questions)
    p_ref = np.asarray(ref_model.model.predict_proba(test.questions, catalog), dtype=np.float64)
    p_new = np.asarray(challenger.model.predict_proba(test.questions, catalog), dtype=np.float64)
    auc_ref, auc_new = m.roc_auc(y, p_ref), m.roc_auc(y, p_new)
    gates = [
        _non_inferiority(y, p_new, p_ref, settings),
        _slices(test, y, p_new, p_ref, settings),
        _calibration(y, p_new, p_ref, settings),
    ]
    # Recorded as soon as the labels are read, so a failure after this still counts it.
    test_read = record_read(
        ledger,
        reader=reader,
        fingerprint=prepared.fingerprint,
        config=ref_model.info.config,
        metrics={"roc_auc": auc_new, "reference_roc_auc": auc_ref},
    )
    gates += [
        _behaviour(challenger, ref_model, test.questions, settings),
        _latency(challenger, ref_model, test.questions, settings),
    ]
    return {
        "kind": "askwell gate report",
        "time": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": tracker.settings.model_name,
        "challenger": {
            "version": version,
            "bundle": challenger.info.name,
            "sha256": sha256_file(challenger_path),
            "roc_auc": auc_new,
        },
        "reference": {
            "name": ref.name,
            "version": ref.version,
            "bundle": ref_model.info.name,
            "sha256": ref.sha256,
            "roc_auc": auc_ref,
        },
        "protocol": {
            "rule": f"the test part of the dataset, split by the {ref.name}'s recorded recipe",
            "dataset_fingerprint": dataset.fingerprint,
            "split": split_protocol(ref_model.info.config),
            "text": recipe.text,
            "n_test": len(y),
            "positive_rate": float(y.mean()),
        },
        "settings": settings.model_dump(exclude={"admin_token"}),
        "gates": [asdict(g) for g in gates],
        "passed": all(g.passed for g in gates),
        "test_read": test_read,
        "approval": None,
    }


def _non_inferiority(
    y: np.ndarray, p_new: np.ndarray, p_ref: np.ndarray, settings: ModelsSettings
) -> Gate:
    from askwell.models import metrics as m

    diff = m.paired_bootstrap(
        y, p_new, p_ref, m.roc_auc, n_boot=settings.n_boot, seed=settings.seed
    )
    return Gate(
        "roc_auc",
        "ROC AUC not worse than the reference by the margin: the lower end of the 95% "
        "paired bootstrap interval of (challenger - reference)",
        diff.low,
        -settings.auc_margin,
        bool(diff.low >= -settings.auc_margin),
        asdict(diff),
    )


def _slices(
    test: Any, y: np.ndarray, p_new: np.ndarray, p_ref: np.ndarray, settings: ModelsSettings
) -> Gate:
    from askwell.models import metrics as m
    from askwell.models.evaluate import slice_families

    sites = test.frame["site"].astype(str).tolist()
    reputation = (
        test.frame["owner_reputation"].to_numpy(dtype=float, na_value=np.nan)
        if "owner_reputation" in test.frame
        else None
    )
    rows: list[dict[str, Any]] = []
    for family, (names, order) in slice_families(test.questions, sites, reputation).items():
        labels = np.array(names, dtype=object)
        for name in order:
            inside = labels == name
            n = int(inside.sum())
            if n < settings.slice_min_n or len(set(y[inside].tolist())) < 2:
                continue
            new, ref = m.roc_auc(y[inside], p_new[inside]), m.roc_auc(y[inside], p_ref[inside])
            rows.append(
                {
                    "slice": f"{family}: {name}",
                    "n": n,
                    "roc_auc": new,
                    "reference": ref,
                    "change": new - ref,
                }
            )
    worst = min(rows, key=lambda r: r["change"]) if rows else None
    return Gate(
        "slices",
        f"no slice of {settings.slice_min_n}+ questions loses more ROC AUC than the tolerance",
        None if worst is None else worst["change"],
        -settings.slice_tolerance,
        worst is None or worst["change"] >= -settings.slice_tolerance,
        {"worst": worst, "slices": rows},
    )


def _calibration(
    y: np.ndarray, p_new: np.ndarray, p_ref: np.ndarray, settings: ModelsSettings
) -> Gate:
    from askwell.models import metrics as m

    ece = m.expected_calibration_error(y, p_new)
    return Gate(
        "calibration",
        "expected calibration error (10 equal-width bins) within bound",
        ece,
        settings.max_ece,
        ece <= settings.max_ece,
        {"reference_ece": m.expected_calibration_error(y, p_ref)},
    )


BEHAVIOUR_PARTS = ("contrast", "directional", "invariance")


def _behaviour(
    challenger: Predictor,
    ref: Predictor,
    questions: Sequence[Question],
    settings: ModelsSettings,
) -> Gate:
    """The three behavioural checks (``askwell.models.behaviour``) for both models, on the
    same pairs: each share may fall at most ``behaviour_tolerance`` below the reference's.
    A part no question gave a pair to (no test question has code, say) is not compared."""
    from askwell.models.behaviour import contrast_check, directional_check, invariance_check

    def checks(predictor: Predictor) -> dict[str, dict[str, Any]]:
        n, seed = settings.behaviour_questions, settings.seed
        return {
            "contrast": contrast_check(predictor.judge),
            "directional": directional_check(predictor.judge, questions, n, seed),
            "invariance": invariance_check(
                predictor.judge, questions, n, settings.invariance_tolerance, seed
            ),
        }

    new, old = checks(challenger), checks(ref)
    parts = {}
    for part in BEHAVIOUR_PARTS:
        a, b = new[part]["share"], old[part]["share"]
        change = None if a is None or b is None else a - b
        parts[part] = {"challenger": a, "reference": b, "change": change}
    compared = {p: v["change"] for p, v in parts.items() if v["change"] is not None}
    worst = min(compared, key=lambda p: compared[p])  # the contrast pairs always compare
    return Gate(
        "behaviour",
        "the worst change (challenger - reference) of three shares: contrast pairs ranked "
        "right, real test questions judged better than their worsened versions (code "
        "removed, question removed, a plea instead), neutral edits (identifier renamed, tags "
        f"reordered, a number in the code, a typo) moving the judgement < "
        f"{settings.invariance_tolerance:g}",
        compared[worst],
        -settings.behaviour_tolerance,
        compared[worst] >= -settings.behaviour_tolerance,
        {
            "worst": worst,
            "parts": parts,
            "per_edit": settings.behaviour_questions,
            "challenger": new,
            "reference": old,
        },
    )


def _latency(
    challenger: Predictor, ref: Predictor, questions: Sequence[Question], settings: ModelsSettings
) -> Gate:
    """p99 of ``Predictor.score`` over real test questions, both models timed side by side
    (alternating, each question's fastest of a few tries), as a ratio: absolute times depend
    on the machine and its load, the ratio much less."""
    picked = list(questions[: settings.latency_questions])
    for q in picked[:3]:  # warm-up: first calls fill caches
        challenger.score(q)
        ref.score(q)
    times: dict[str, list[float]] = {"challenger": [], "reference": []}
    for i, q in enumerate(picked):
        best = {"challenger": float("inf"), "reference": float("inf")}
        for r in range(LATENCY_REPEATS):
            order = [("challenger", challenger), ("reference", ref)]
            for name, predictor in order if (i + r) % 2 == 0 else order[::-1]:
                start = time.perf_counter()
                predictor.score(q)
                best[name] = min(best[name], time.perf_counter() - start)
        for name, seconds in best.items():
            times[name].append(seconds)
    p99 = {name: float(np.percentile(t, 99)) for name, t in times.items()}
    ratio = p99["challenger"] / p99["reference"]
    return Gate(
        "latency",
        "p99 scoring time (Predictor.score), challenger / reference, measured side by side",
        ratio,
        settings.latency_ratio,
        ratio <= settings.latency_ratio,
        {"n_questions": len(picked), "p99_ms": {k: v * 1000 for k, v in p99.items()}},
    )


# -- the report --------------------------------------------------------------------------------


def write_gate_report(report: dict[str, Any], stem: Path) -> dict[str, Path]:
    """The report as ``STEM.gates.json`` and ``STEM.gates.md``; the paths, by kind."""
    from askwell.reports import write_report

    return write_report(report, stem, "gates", gate_markdown(report))


def gate_markdown(report: dict[str, Any]) -> str:
    """A short page: what was compared, on what, each gate, and the approval."""
    new, ref, protocol = report["challenger"], report["reference"], report["protocol"]
    split = protocol["split"]
    lines = [
        f"# Gates: {report['model']} version {new['version']}",
        "",
        f"**{'PASSED' if report['passed'] else 'FAILED'}** ({report['time']})",
        "",
        f"- Challenger: version {new['version']}, bundle `{new['bundle']}` "
        f"(sha256 `{new['sha256'][:12]}`), test ROC AUC {new['roc_auc']:.4f}",
        f"- Reference: {ref['name']}, bundle `{ref['bundle']}` "
        f"(sha256 `{ref['sha256'][:12]}`), test ROC AUC {ref['roc_auc']:.4f}",
        f"- Protocol: {protocol['rule']}: label `{split['label']}`, {split['split']} split, "
        f"seed {split['seed']}, test fraction {split['test_fraction']}; "
        f"{protocol['n_test']} test questions (positive rate {protocol['positive_rate']:.3f}), "
        f"data `{protocol['dataset_fingerprint'][:12]}`",
        f"- Test read: #{report['test_read']['nth']} of this split in "
        f"`{report['test_read']['ledger']}`",
        "",
        "| gate | value | threshold | result |",
        "|---|---:|---:|---|",
    ]
    for gate in report["gates"]:
        value = "—" if gate["value"] is None else f"{gate['value']:.4f}"
        bound = "≤" if gate["name"] in ("calibration", "latency") else "≥"
        lines.append(
            f"| {gate['name']} | {value} | {bound} {gate['threshold']:.4f} | "
            f"{'pass' if gate['passed'] else '**FAIL**'} |"
        )
    behaviour = next((g for g in report["gates"] if g["name"] == "behaviour"), None)
    if behaviour is not None and "parts" in behaviour.get("detail", {}):
        lines += ["", *_behaviour_markdown(behaviour["detail"])]
    lines += ["", "## Approval", ""]
    approval = report.get("approval")
    if approval:
        lines.append(
            f"Approved by **{approval['by']}** at {approval['time']}: {approval['reason']}"
        )
    else:
        lines.append("Not approved yet (askwell models approve).")
    return "\n".join(lines) + "\n"


_PART_NAMES = {
    "contrast": "contrast pairs ranked right",
    "directional": "worsened questions judged worse",
    "invariance": "neutral edits that barely move it",
}


def _behaviour_markdown(detail: dict[str, Any]) -> list[str]:
    """The behaviour gate's parts, and each edit's share, for both models."""

    def share(check: dict[str, Any]) -> str:
        if check["share"] is None:
            return "— (0)"
        return f"{check['share']:.3f} ({check['n']})"

    def row(name: str, new: dict[str, Any], old: dict[str, Any]) -> str:
        change = (
            "—"
            if new["share"] is None or old["share"] is None
            else f"{new['share'] - old['share']:+.3f}"
        )
        return f"| {name} | {share(new)} | {share(old)} | {change} |"

    new, old = detail["challenger"], detail["reference"]
    lines = [
        "## Behaviour",
        "",
        f"Shares (pairs); real test questions: at most {detail['per_edit']} per edit.",
        "",
        "| part / edit | challenger | reference | change |",
        "|---|---:|---:|---:|",
    ]
    for part in BEHAVIOUR_PARTS:
        lines.append(row(f"**{_PART_NAMES[part]}**", new[part], old[part]))
        for edit in new[part].get("edits", {}):
            lines.append(
                row(f"&nbsp;&nbsp;{edit}", new[part]["edits"][edit], old[part]["edits"][edit])
            )
    return lines


def record_gates(tracker: Tracker, report: dict[str, Any], paths: dict[str, Path]) -> None:
    """The outcome on the version's tags (any earlier approval dropped: it approved another
    gate run), and the report logged with the version's run."""
    version = int(report["challenger"]["version"])
    failed = [g["name"] for g in report["gates"] if not g["passed"]]
    tracker.tag_version(
        version,
        {
            TAG_GATES: "passed" if report["passed"] else "failed",
            TAG_GATES_TIME: report["time"],
            TAG_GATES_FAILED: ", ".join(failed),
            TAG_GATES_SHA256: report["challenger"]["sha256"],
            TAG_GATES_REFERENCE: report["reference"]["name"],
            TAG_GATES_REFERENCE_SHA256: report["reference"]["sha256"],
            TAG_GATES_REPORT: str(paths["json"]),
        },
        remove=APPROVAL_TAGS,
    )
    tracker.log_version_artifacts(version, list(paths.values()), "gates")


# -- approval, promotion, rollback -------------------------------------------------------------


def approve(
    tracker: Tracker,
    settings: ModelsSettings,
    token: str | None,
    version: int,
    by: str,
    reason: str,
) -> dict[str, str]:
    """Records who approved ``version``, when and why: on its tags and in its gate report.
    Only for a version whose latest gates passed."""
    authorize(settings, token)
    by, reason = _who_and_why(by, reason, "an approval")
    tags = tracker.version_tags(version)
    _require_passed_gates(version, tags)
    approval = {"by": by, "time": _now(), "reason": reason, "gates_time": tags[TAG_GATES_TIME]}
    report_path = Path(tags[TAG_GATES_REPORT])
    if not report_path.name.endswith(JSON_SUFFIX):
        raise PromotionError(f"version {version}: {report_path} is not a gate report")
    try:
        report = json.loads(report_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PromotionError(
            f"the gate report of version {version} ({report_path}) cannot be read ({exc}); "
            "run the gates again"
        ) from None
    report["approval"] = approval
    paths = write_gate_report(report, report_path.with_name(report_path.name[: -len(JSON_SUFFIX)]))
    tracker.tag_version(
        version,
        {
            TAG_APPROVED_BY: by,
            TAG_APPROVED_AT: approval["time"],
            TAG_APPROVED_REASON: reason,
            TAG_APPROVED_GATES: approval["gates_time"],
        },
    )
    tracker.log_version_artifacts(version, list(paths.values()), "gates")
    return approval


def promote(
    tracker: Tracker, settings: ModelsSettings, token: str | None, version: int
) -> int | None:
    """Moves ``champion`` to ``version``; the champion it replaces (None: there was none)
    becomes ``previous`` and is returned. Refused unless the gates passed for this exact
    bundle against the champion in place now, and a person approved that gate run."""
    authorize(settings, token)
    tags = tracker.version_tags(version)
    current = tracker.get_alias(CHAMPION)
    if current == version:
        raise PromotionError(f"version {version} is the champion already")
    _require_passed_gates(version, tags)
    path = tracker.version_bundle(version)  # the registered file, unaltered
    if sha256_file(path) != tags.get(TAG_GATES_SHA256) or tags.get(TAG_BUNDLE_SHA256) != tags.get(
        TAG_GATES_SHA256
    ):
        raise PromotionError(
            f"the gates of version {version} judged another bundle; run them again"
        )
    ref = reference(tracker, closing=holds_closing(path))
    if ref.sha256 != tags.get(TAG_GATES_REFERENCE_SHA256):
        raise PromotionError(
            f"version {version} was gated against the {tags.get(TAG_GATES_REFERENCE)}, but "
            f"the {ref.name} serves now: run the gates again"
        )
    if not tags.get(TAG_APPROVED_BY):
        raise PromotionError(
            f"version {version} passed its gates but nobody approved it "
            f"(askwell models approve {version} --by NAME --reason TEXT)"
        )
    if tags.get(TAG_APPROVED_GATES) != tags.get(TAG_GATES_TIME):
        raise PromotionError(
            f"the approval of version {version} was for an earlier gate run; approve again"
        )
    if current is not None:
        tracker.set_alias(PREVIOUS, current)
    tracker.set_alias(CHAMPION, version)
    if tracker.get_alias(CHALLENGER) == version:
        tracker.delete_alias(CHALLENGER)
    tracker.tag_version(version, {TAG_PROMOTED_AT: _now()}, remove=(TAG_ROLLED_BACK,))
    return current


def rollback(
    tracker: Tracker, settings: ModelsSettings, token: str | None, by: str, reason: str
) -> tuple[int, int]:
    """Moves ``champion`` back to ``previous`` (verified first); returns (demoted, restored).
    The demoted version is tagged with who rolled it back, when and why."""
    authorize(settings, token)
    by, reason = _who_and_why(by, reason, "a rollback")
    restored, demoted = tracker.get_alias(PREVIOUS), tracker.get_alias(CHAMPION)
    if restored is None or demoted is None:
        raise PromotionError("nothing to roll back to: no previous champion is recorded")
    tracker.version_bundle(restored)  # refuse to serve a file altered since registration
    tracker.set_alias(CHAMPION, restored)
    tracker.delete_alias(PREVIOUS)
    tracker.tag_version(demoted, {TAG_ROLLED_BACK: f"{_now()} by {by}: {reason}"})
    return demoted, restored


def _who_and_why(by: str, reason: str, what: str) -> tuple[str, str]:
    by, reason = " ".join(by.split()), " ".join(reason.split())
    if not by or not reason:
        raise InputError(f"{what} needs a name (--by) and a reason (--reason)")
    if len(by) > MAX_NAME or len(reason) > MAX_REASON:
        raise InputError(
            f"{what}: at most {MAX_NAME} characters of name and {MAX_REASON} of reason "
            "(the registry's tags hold them)"
        )
    return by, reason


def _require_passed_gates(version: int, tags: dict[str, str]) -> None:
    status = tags.get(TAG_GATES)
    if status is None:
        raise PromotionError(
            f"version {version} has not been through the gates "
            f"(askwell models gates {version} DATASET)"
        )
    if status != "passed":
        raise PromotionError(
            f"version {version} failed its gates ({tags.get(TAG_GATES_FAILED) or 'see report'}; "
            f"{tags.get(TAG_GATES_REPORT)})"
        )


# -- the listing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionStatus:
    """One version's place in the lifecycle, as ``askwell models list`` shows it."""

    version: int
    aliases: tuple[str, ...]
    created: datetime | None
    bundle: str
    gates: str  # "passed vs champion (version 1)", "failed: roc_auc, latency", "not run"
    approval: str  # "by NAME at TIME: REASON" or ""
    report: str
    promoted: str
    rolled_back: str


def statuses(tracker: Tracker) -> list[VersionStatus]:
    """Every version, newest first, with aliases, gate outcome and approval."""
    return [_status(v) for v in tracker.versions()]


def _status(v: VersionSummary) -> VersionStatus:
    tags = v.tags
    status = tags.get(TAG_GATES)
    if status is None:
        gates = "not run"
    elif status == "passed":
        gates = f"passed vs {tags.get(TAG_GATES_REFERENCE, '?')}"
    else:
        gates = f"failed: {tags.get(TAG_GATES_FAILED, '?')}"
    approval = (
        f"by {tags[TAG_APPROVED_BY]} at {tags.get(TAG_APPROVED_AT, '?')}: "
        f"{tags.get(TAG_APPROVED_REASON, '')}"
        if tags.get(TAG_APPROVED_BY)
        else ""
    )
    return VersionStatus(
        version=v.version,
        aliases=v.aliases,
        created=v.created,
        bundle=v.description,
        gates=gates,
        approval=approval,
        report=tags.get(TAG_GATES_REPORT, ""),
        promoted=tags.get(TAG_PROMOTED_AT, ""),
        rolled_back=tags.get(TAG_ROLLED_BACK, ""),
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
