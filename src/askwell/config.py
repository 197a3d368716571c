"""Typed settings: defaults here, then a YAML file, then ``ASKWELL_*`` variables, then flags.

Unknown keys are an error at every layer, so a typo never silently falls back to a default.
Nothing is read at import time: call :func:`get_settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from askwell.errors import ConfigError

ENV_PREFIX = "ASKWELL_"
ENV_CONFIG = "ASKWELL_CONFIG"  # path of a YAML file, like --config


def processes(workers: int) -> int:
    """How many processes a ``workers`` setting asks for: 0 means one per CPU core."""
    return workers or os.cpu_count() or 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class IngestSettings(_Strict):
    """How dumps become tables."""

    workers: int = Field(
        0, ge=0, description="parsers (this process and helpers); 0 = one per core"
    )
    chunk_mb: float = Field(1.5, gt=0, le=1024, description="MB of XML per parallel chunk")
    csv_batch_rows: int = Field(5000, ge=1, description="CSV rows per written batch")
    compression: Literal["zstd", "snappy", "gzip", "none"] = "zstd"
    keep_html: bool = Field(
        False,
        description="also store each body's raw HTML (body_html); off by default: "
        "the dump holds it, and it is the largest column by far",
    )
    max_in_flight: int = Field(
        0, ge=0, description="chunks queued for the parser processes; 0 = four per process"
    )


class ProfileSettings(_Strict):
    """The data profile page."""

    max_sites_plotted: int = Field(30, ge=1)


class TrackingSettings(_Strict):
    """Experiment tracking and the model registry: local files only, no server."""

    uri: str = Field(
        "sqlite:///var/mlflow/mlflow.db",
        description="MLflow store: sqlite:///PATH (relative to the working directory) or "
        "sqlite:////ABSOLUTE/PATH",
    )
    artifact_root: str = Field(
        "var/mlflow/artifacts", description="folder for run artifacts (bundles, reports)"
    )
    experiment: str = Field("askwell", min_length=1)
    model_name: str = Field(
        "askwell-question-quality", min_length=1, description="registered model name"
    )
    test_ledger: Path = Field(
        Path("evidence/test-ledger.jsonl"),
        description="JSON lines, one per read of a test split (askwell train and evaluate, "
        "bench/quality); relative to the working directory",
    )

    @field_validator("uri")
    @classmethod
    def _local_sqlite(cls, uri: str) -> str:
        # A local file keeps tracking offline; a server URI would make MLflow reach the network.
        path = uri.removeprefix("sqlite:///").partition("?")[0]
        if not uri.startswith("sqlite:///") or not path or path == ":memory:":
            raise ValueError("must be a local SQLite file: sqlite:///PATH")
        return uri


class TrainSettings(_Strict):
    """What to learn and how (askwell train); see askwell.models.train.TrainConfig."""

    label: str = Field("good_answer_within_7d", description="a name from the labels registry")
    split: Literal["time", "author", "first_tag", "random"] = "time"
    model: Literal["logreg", "lightgbm", "blend"] = "logreg"
    seed: int = 0
    test_fraction: float = Field(0.2, gt=0, lt=1)
    val_fraction: float = Field(0.1, gt=0, lt=1, description="of the training part")
    calibration_share: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="of the validation part, held out (seeded, by label) to calibrate the "
        "scores and set the threshold and bands; the rest chooses the hyperparameters",
    )
    text: Literal["final", "first_posted"] = Field(
        "final",
        description="first_posted: train and test on each question as first posted where "
        "the dump has PostHistory.xml (the editor sees first drafts); final: as last edited",
    )
    near_duplicates: float | None = Field(
        0.8,
        gt=0,
        le=1,
        description="drop near-duplicate questions before splitting: Jaccard similarity of "
        "their word 3-gram sets at or above this (the earliest is kept); null: exact only",
    )
    max_word_features: int = Field(20_000, ge=0)
    max_char_features: int = Field(5_000, ge=0)
    min_df: int = Field(2, ge=1, description="questions a word, character n-gram or tag needs")
    max_df: float = Field(
        0.5, gt=0, le=1, description="body words in more than this share of questions: dropped"
    )
    word_ngrams: int = Field(2, ge=1, le=4, description="longest word n-gram")
    word_punctuation: bool = Field(
        False, description="'?', '!' and one-letter words count as words"
    )
    char_ngrams: tuple[int, int] = Field((3, 5), description="title character n-gram lengths")
    grid_c: tuple[float, ...] = Field(
        (0.03, 0.1, 0.3, 1.0, 3.0), min_length=1, description="logreg: inverse penalties tried"
    )
    grid_num_leaves: tuple[int, ...] = Field(
        (15, 31), min_length=1, description="lightgbm: leaves per tree tried"
    )
    grid_n_estimators: tuple[int, ...] = Field(
        (200, 500), min_length=1, description="lightgbm: trees tried"
    )
    lightgbm_learning_rate: float = Field(0.05, gt=0, le=1)
    lightgbm_min_child_samples: int = Field(20, ge=1)
    lightgbm_colsample: float = Field(0.5, gt=0, le=1, description="features per tree")
    lightgbm_subsample: float = Field(0.8, gt=0, le=1, description="questions per tree")
    band_shares: tuple[float, float] = Field(
        (0.2, 0.3),
        description="shares of calibration-slice scores in 'likely to struggle' (the lowest) "
        "and 'likely well received' (the highest)",
    )
    n_boot: int = Field(1000, ge=100, description="bootstrap resamples for test intervals")
    slice_n_boot: int = Field(
        300, ge=100, description="bootstrap resamples per slice (many small slices)"
    )
    learning_fractions: tuple[float, ...] = Field(
        (0.1, 0.25, 0.5, 1.0), min_length=1, description="training shares of the learning curve"
    )
    live_label_rate: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="the label's rate on the live site, when the training sample's differs "
        "by construction (closed: 0.06); scores are moved to it for people",
    )
    verdict_multiples: tuple[float, float] = Field(
        (1.0, 3.0),
        description="closing risk cut-offs of the headline, as multiples of live_label_rate: "
        "below the first, ready to post; from the second on, likely to be closed",
    )
    use_catalog: bool = True
    use_tags: bool = True
    moderate_bins: int = Field(
        5, ge=0, description="quantile bins for features best in a middle range (0: none)"
    )
    directional: bool = Field(
        True, description="catalog features push only the way the catalog says is better"
    )

    @field_validator("band_shares")
    @classmethod
    def _band_shares(cls, shares: tuple[float, float]) -> tuple[float, float]:
        if not all(0 < s < 1 for s in shares) or sum(shares) >= 1:
            raise ValueError("two shares between 0 and 1 that leave room for 'uncertain'")
        return shares

    @field_validator("learning_fractions")
    @classmethod
    def _fractions(cls, fractions: tuple[float, ...]) -> tuple[float, ...]:
        if not all(0 < f <= 1 for f in fractions):
            raise ValueError("shares of the training part: each above 0 and at most 1")
        return fractions


class ServeSettings(_Strict):
    """The editor and its API (askwell serve)."""

    host: str = Field("127.0.0.1", min_length=1, description="address to listen on")
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(
        1,
        ge=0,
        le=64,
        description="scoring processes: above 1, the HTTP process hands each question to "
        "them (1: it scores in a thread of its own; 0: one per CPU core)",
    )
    database_url: str = Field(
        "sqlite:///var/askwell.db",
        description="the prediction and feedback store: sqlite:///PATH (relative to the "
        "working directory) or postgresql+psycopg://USER:PASSWORD@HOST/DB",
    )
    bundle: Path | None = Field(
        None,
        description="a model bundle to serve; default: the registry's champion if there is "
        "one, else the model askwell ships",
    )
    max_text_kb: float = Field(
        50, gt=0, le=10_000, description="the most a question's title and body may hold, in kB"
    )
    allowed_hosts: tuple[str, ...] = Field(
        ("localhost", "127.0.0.1", "::1"),
        min_length=1,
        description="Host headers answered (the listening host is always among them): names, "
        "IP addresses, '*.example.com' for its subdomains, or '*' for any (behind a proxy "
        "that checks them); others get a 400, so a page that rebinds its DNS name to this "
        "address cannot read the editor's data",
    )

    mode: Literal["off", "shadow", "canary"] = Field(
        "off",
        description="the challenger's part: off (champion only), shadow (it scores the same "
        "requests off the request path; logged, never shown) or canary (a share of editor "
        "sessions sees it)",
    )
    challenger: Path | None = Field(
        None,
        description="the challenger bundle for shadow or canary; default: the registry's "
        "'challenger' alias",
    )
    canary_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="canary: the share of editor sessions (sticky by a SHA-256 of "
        "session_id) that the challenger answers",
    )
    shadow_queue: int = Field(
        100,
        ge=1,
        le=100_000,
        description="shadow: requests waiting for the challenger, at most; more are dropped "
        "(and counted), never delaying an answer",
    )
    shadow_nice: int = Field(
        19,
        ge=0,
        le=19,
        description="shadow, with workers above 1: how much lower the OS priority (nice) of "
        "the challenger's scoring processes is, so that they use only the CPU the answers "
        "leave idle (19, the lowest: the closest to that; 0: the same priority). Canary's "
        "challenger answers people: never lowered",
    )
    registry_poll_s: float = Field(
        10.0,
        ge=0,
        le=3600,
        description="seconds between looks at the registry's champion and challenger "
        "aliases, so a promotion or a rollback is served without a restart (0: never; "
        "POST /admin/reload still reloads)",
    )

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _listed_hosts(cls, hosts: object) -> object:
        # An environment variable holds one string: "a.example, b.example".
        return [h.strip() for h in hosts.split(",")] if isinstance(hosts, str) else hosts

    @field_validator("allowed_hosts")
    @classmethod
    def _host_patterns(cls, hosts: tuple[str, ...]) -> tuple[str, ...]:
        for host in hosts:
            if not cls._host_or_pattern(host):
                raise ValueError(
                    f"{host[:80]!r} is not a host name, an IP address, '*.DOMAIN' or '*' "
                    "(no scheme, no port)"
                )
        return tuple(h.lower().removeprefix("[").removesuffix("]") for h in hosts)

    @staticmethod
    def _host_or_pattern(host: str) -> bool:
        import ipaddress

        if host == "*":
            return True
        if host.startswith("[") or host.endswith("]"):  # an IPv6 address as in a URL
            host = host.removeprefix("[").removesuffix("]") if host[0] + host[-1] == "[]" else ""
        try:
            ipaddress.ip_address(host)
            return True
        except ValueError:
            labels = host.removeprefix("*.").removesuffix(".").split(".")
            return all(
                0 < len(label) <= 63
                and label.isascii()
                and label.replace("-", "").replace("_", "").isalnum()
                for label in labels
            )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, url: str) -> str:
        if not url.startswith(("sqlite:///", "postgresql://", "postgresql+psycopg://")):
            raise ValueError("must be sqlite:///PATH or postgresql+psycopg://USER@HOST/DB")
        return url


class BundleSettings(_Strict):
    """Which model bundles may be loaded. A bundle decides how questions are judged (and an
    old format-2 bundle holds a pickle, which runs code when read, by askwell bundles
    convert): askwell loads the bundles it ships and those signed with this key, nothing else.
    Read from the environment only (ASKWELL_BUNDLES__*, or the ASKWELL_CONFIG file), so
    every process that loads a bundle sees the same key."""

    key_file: Path = Field(
        Path("var/bundle.key"),
        description="the secret that signs bundles (askwell train, askwell bundles sign) and "
        "that loading checks them with; created, mode 0600, when first needed; relative to "
        "the working directory",
    )


class ModelsSettings(_Strict):
    """Promotion of a registered model version to champion (askwell models): the automatic
    gates' thresholds, and the token that deployment-state changes (approve, promote,
    rollback) require. Set the token in the environment (ASKWELL_MODELS__ADMIN_TOKEN), not
    in a versioned file."""

    auc_margin: float = Field(
        0.01,
        ge=0,
        lt=0.5,
        description="non-inferiority margin on test ROC AUC: the lower end of the 95% paired "
        "bootstrap interval of (challenger - champion) must stay above -margin",
    )
    slice_tolerance: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="no slice's ROC AUC may drop by more than this below the champion's",
    )
    slice_min_n: int = Field(
        100, ge=20, description="questions a slice needs to be gated (smaller: too noisy)"
    )
    max_ece: float = Field(
        0.05, gt=0, le=1, description="the challenger's expected calibration error on test"
    )
    behaviour_tolerance: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="each share of the behaviour gate (contrast pairs ranked right, real "
        "questions judged better than their worsened versions, neutral edits that barely "
        "move the judgement) may fall at most this far below the champion's",
    )
    behaviour_questions: int = Field(
        200,
        ge=10,
        description="behaviour gate: real test questions per edit (at most; a seeded "
        "random choice among those the edit applies to)",
    )
    invariance_tolerance: float = Field(
        0.02,
        gt=0,
        lt=1,
        description="behaviour gate: a neutral edit (an identifier renamed, tags reordered, a "
        "number in the code, a typo) must move the judgement by less than this",
    )
    latency_ratio: float = Field(
        1.5, ge=1, description="p99 scoring time, challenger / champion, measured side by side"
    )
    latency_questions: int = Field(
        100, ge=10, description="real test questions timed for the latency gate"
    )
    n_boot: int = Field(1000, ge=100, description="paired bootstrap resamples")
    seed: int = 0
    admin_token: SecretStr | None = Field(
        None,
        description="required by approve, promote and rollback; unset: they are refused",
    )

    @field_validator("admin_token")
    @classmethod
    def _long_token(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < 16:
            raise ValueError("at least 16 characters (a short token is guessable)")
        return token


class RolloutSettings(_Strict):
    """The rollout report (askwell models rollout-report): how much traffic a decision
    needs, and the bounds that stop or hold a rollout."""

    min_predictions: int = Field(
        200, ge=1, description="canary predictions before the report decides"
    )
    min_sessions: int = Field(30, ge=1, description="canary editing sessions before it decides")
    min_pairs: int = Field(
        200, ge=1, description="shadow predictions paired with an answer before it decides"
    )
    max_degraded_increase: float = Field(
        0.01,
        ge=0,
        le=1,
        description="stop when the challenger's share of degraded answers exceeds the "
        "champion's by more than this (the lower end of its interval)",
    )
    latency_ratio: float = Field(
        1.5, ge=1, description="stop when p99 latency, challenger / champion, exceeds this"
    )
    min_agreement: float = Field(
        0.8,
        ge=0,
        le=1,
        description="shadow verdict agreement below this is flagged for a person to read",
    )
    feedback_margin: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="non-inferiority margin on the share of feedback saying helpful",
    )
    revision_margin: float = Field(
        0.02,
        ge=0,
        lt=1,
        description="non-inferiority margin on the answer score gained per revision",
    )
    n_boot: int = Field(1000, ge=100, description="bootstrap resamples per interval")
    seed: int = 0


class MonitorSettings(_Strict):
    """Drift and health monitoring of the prediction log (askwell monitor): windows, and the
    thresholds that raise an alert."""

    window_hours: float = Field(24, gt=0, le=24 * 366, description="width of a window")
    min_n: int = Field(
        100, ge=1, description="predictions a window needs to be judged (fewer: reported only)"
    )
    psi_alert: float = Field(
        0.25, gt=0, description="a drift alert needs a PSI at least this large"
    )
    p_value: float = Field(0.01, gt=0, lt=1, description="... and its test's p-value below this")
    max_degraded_rate: float = Field(
        0.05, ge=0, le=1, description="alert when more answers than this came from the fallback"
    )
    max_latency_p99_ms: float = Field(
        1000, gt=0, description="alert when a window's p99 latency exceeds this"
    )
    min_feedback: int = Field(
        20, ge=1, description="feedback a suggestion rule needs before its share is judged"
    )
    max_not_helpful: float = Field(
        0.6,
        ge=0,
        le=1,
        description="alert when more of a rule's feedback than this says not helpful",
    )
    auc_drop: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="late outcomes: alert when a month's ROC AUC is this far below the "
        "model's test AUC (and its whole interval below it)",
    )
    max_ece: float = Field(
        0.1, gt=0, le=1, description="late outcomes: alert when a month's ECE exceeds this"
    )
    n_boot: int = Field(1000, ge=100, description="bootstrap resamples per interval")
    seed: int = 0
    webhook_url: str | None = Field(
        None, description="POST the alerts (JSON) here when a run raises any; unset: none"
    )
    webhook_timeout_s: float = Field(5, gt=0, le=60)


class ReviewSettings(_Strict):
    """The review queue (askwell review, /review): how questions are picked and how many
    reviewers label each."""

    strategy: Literal["random", "uncertainty", "diverse"] = Field(
        "diverse", description="how questions are picked for review (askwell.loop.select)"
    )
    second_share: float = Field(
        0.2,
        ge=0,
        le=1,
        description="share of picked questions that a second reviewer labels too (for "
        "Cohen's kappa between reviewers)",
    )
    model_closed_at: float = Field(
        0.18,
        gt=0,
        lt=1,
        description="the model 'says closed' at this live closing risk or more, when its "
        "agreement with reviewers is measured (0.18: the 'likely to be closed' band at a 6% "
        "live rate)",
    )
    n_boot: int = Field(1000, ge=100, description="bootstrap resamples for kappa intervals")
    seed: int = 0


class RetrainSettings(_Strict):
    """askwell retrain: its sources, when --if-needed retrains, and where its work goes."""

    model: Literal["closing", "answer"] = Field(
        "closing",
        description="the kind of model retraining trains while the registry has no "
        "champion (the closing model is the headline; the recipe is then the shipped "
        "model's of this kind); with a champion, the champion's kind and recipe",
    )
    outcomes: tuple[Path, ...] = Field(
        (), description="ingested datasets with outcomes (askwell ingest), oldest first"
    )
    reviews: bool = Field(True, description="use reviewers' labels from the review queue")
    feedback: bool = Field(
        True, description="carry the advice feedback (explicit and implicit) with the data"
    )
    database_url: str | None = Field(
        None,
        description="the store with the review queue, feedback and monitoring runs "
        "[default: serve.database_url]",
    )
    interval_days: float = Field(
        30, gt=0, description="--if-needed: retrain when the newest version is this old"
    )
    min_drift_alerts: int = Field(
        1,
        ge=1,
        description="--if-needed: retrain when the latest monitoring run raised this many "
        "drift alerts or more",
    )
    work: Path = Field(
        Path("var/retrain"), description="where retraining keeps its datasets, bundles and reports"
    )


class Settings(_Strict):
    ingest: IngestSettings = IngestSettings()
    profile: ProfileSettings = ProfileSettings()
    tracking: TrackingSettings = TrackingSettings()
    train: TrainSettings = TrainSettings()
    serve: ServeSettings = ServeSettings()
    bundles: BundleSettings = BundleSettings()
    models: ModelsSettings = ModelsSettings()
    rollout: RolloutSettings = RolloutSettings()
    monitor: MonitorSettings = MonitorSettings()
    review: ReviewSettings = ReviewSettings()
    retrain: RetrainSettings = RetrainSettings()


def get_settings(
    config: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Builds settings from the layers; raises ConfigError naming the bad key or value.

    ``overrides`` are dotted keys from command-line flags (``{"ingest.workers": 2}``); a
    ``None`` value means the flag was not given.
    """
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    path = config or (Path(environ[ENV_CONFIG]) if environ.get(ENV_CONFIG) else None)
    if path is not None:
        _merge(merged, _read_yaml(path))
    for key, value in sorted(environ.items()):
        if key.startswith(ENV_PREFIX) and key != ENV_CONFIG:
            dotted = key[len(ENV_PREFIX) :].lower().replace("__", ".")
            _merge(merged, _nest(dotted, value, source=f"environment variable {key}"))
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _merge(merged, _nest(dotted, value, source="command line"))
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        hint = " (unknown key)" if first["type"] == "extra_forbidden" else ""
        origin = f" in {path}" if path is not None else ""
        raise ConfigError(f"invalid setting {where!r}{hint}{origin}: {first['msg']}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections")
    return data


def _nest(dotted: str, value: Any, source: str) -> dict[str, Any]:
    parts = dotted.split(".")
    if len(parts) != 2 or not all(parts):
        raise ConfigError(f"{source}: expected SECTION__KEY (e.g. ASKWELL_INGEST__WORKERS)")
    return {parts[0]: {parts[1]: value}}


def _merge(into: dict[str, Any], new: Mapping[str, Any]) -> None:
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = dict(value) if isinstance(value, Mapping) else value
