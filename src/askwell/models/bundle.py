"""A trained model as one self-describing, checksummed file.

A bundle (``*.askwell``, a zip archive) holds the fitted model (feature pipeline included) and
``bundle.json``: the label it predicts, the feature schema it expects, the config, metrics
and training summary of its run, the fingerprint of the data it was trained on, the code
version, and a sha256 of every other member plus one over the whole description. Loading
checks all of it before unpickling anything, and fails with a clear error when a byte or the
schema is off.

Only load bundles you trust: the model member is a pickle.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from askwell.errors import AskwellError
from askwell.versioning import code_version

FORMAT_VERSION = 2  # 2: models carry tags, range bins and bands
_DESCRIPTION = "bundle.json"
_MODEL = "model.pkl"


class BundleError(AskwellError):
    """A bundle that cannot be trusted or used: unreadable, altered, or built for other code."""


@dataclass(frozen=True)
class BundleInfo:
    """Everything a bundle says about itself."""

    name: str
    label: dict[str, str]  # name and description
    feature_schema: list[str]  # the features the model reads, in order
    data_fingerprint: str
    config: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    # How it was trained: parameters, validation scores, split sizes, learning curve.
    training: dict[str, Any] = field(default_factory=dict)
    code_version: str = field(default_factory=code_version)
    format_version: int = FORMAT_VERSION


def default_bundle() -> Path:
    """The model askwell ships: trained by ``make model`` on the shared Stack Exchange dumps
    (see its card, ``default.card.md``, beside it)."""
    return Path(str(files("askwell") / "assets" / "default.askwell"))


def default_closing_bundle() -> Path:
    """The closing model askwell ships: trained by ``make model`` on the Stack Overflow
    closing data (see its card, ``closing.card.md``, beside it)."""
    return Path(str(files("askwell") / "assets" / "closing.askwell"))


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _description_digest(description: dict[str, Any]) -> str:
    body = {k: v for k, v in description.items() if k != "checksum"}
    return _digest(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def save_bundle(path: Path, model: object, info: BundleInfo) -> Path:
    """Writes the bundle (replacing ``path`` only once it is complete); returns ``path``."""
    model_bytes = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    description: dict[str, Any] = {**asdict(info), "files": {_MODEL: _digest(model_bytes)}}
    description["checksum"] = _description_digest(description)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # Fixed timestamps: the same model and description give byte-identical bundles.
        for name, data in (
            (_DESCRIPTION, json.dumps(description, indent=2).encode()),
            (_MODEL, model_bytes),
        ):
            member = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED  # a ZipInfo ignores the archive's
            archive.writestr(member, data)
    tmp.replace(path)
    return path


def read_info(path: Path) -> BundleInfo:
    """The bundle's description, verified, without loading the model."""
    return _open(path)[0]


def load_bundle(
    path: Path, expected_features: Sequence[str] | None = None
) -> tuple[Any, BundleInfo]:
    """The model and its description; raises BundleError when the bundle is unreadable, a
    checksum differs, or its feature schema is not ``expected_features``."""
    info, model_bytes = _open(path)
    if expected_features is not None and list(expected_features) != info.feature_schema:
        missing = sorted(set(info.feature_schema) - set(expected_features))
        extra = sorted(set(expected_features) - set(info.feature_schema))
        raise BundleError(
            f"{path}: the model was trained on other features than this code computes "
            f"(only in the bundle: {missing or 'none'}; only in the code: {extra or 'none'}"
            f"{'; same names, other order' if not missing and not extra else ''}); "
            "retrain it with this version"
        )
    try:
        model = pickle.loads(model_bytes)
    except Exception as exc:
        raise BundleError(f"{path}: the model cannot be loaded with this code ({exc})") from None
    return model, info


def _open(path: Path) -> tuple[BundleInfo, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            description = json.loads(archive.read(_DESCRIPTION))
            files = {name: archive.read(name) for name in description.get("files", {})}
    except FileNotFoundError:
        raise BundleError(f"{path}: no such bundle") from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise BundleError(f"{path}: not a readable askwell bundle ({exc})") from None
    if not isinstance(description, dict) or description.get("format_version") != FORMAT_VERSION:
        raise BundleError(
            f"{path}: unsupported bundle format (this code reads version {FORMAT_VERSION})"
        )
    if description.get("checksum") != _description_digest(description):
        raise BundleError(f"{path}: checksum mismatch in {_DESCRIPTION}: the bundle was altered")
    for name, expected in description["files"].items():
        if _digest(files[name]) != expected:
            raise BundleError(f"{path}: checksum mismatch in {name}: the bundle was altered")
    if _MODEL not in files:
        raise BundleError(f"{path}: the bundle holds no model")
    known = set(BundleInfo.__dataclass_fields__)
    info = BundleInfo(**{k: v for k, v in description.items() if k in known})
    return info, files[_MODEL]
