"""A trained model as one self-describing, checksummed, signed file.

A bundle (``*.askwell``, a zip archive) holds the fitted model (feature pipeline included) and
``bundle.json``: the label it predicts, the feature schema it expects, the config, metrics
and training summary of its run, the fingerprint of the data it was trained on, the code
version, and a sha256 of every other member plus one over the whole description.

The model is arrays and JSON (format 3, ``models.quality``): ``model.json`` (settings,
vocabularies, bands) and ``model/*.npy`` (weights, IDF, scaling), read with ``json`` and
numpy's ``allow_pickle=False``. Loading runs no code a file names and never unpickles.
Still, a bundle decides every score and every piece of advice the service gives, and a
checksum stored beside the model proves nothing (anyone can recompute it), so loading
trusts only two kinds of bundle, and decides before it reads the model:

- those askwell ships (``assets/``), by their SHA-256 pinned in ``assets/bundles.sha256``
  (written by ``make model``): trusted like the package's code;
- those signed with this deployment's key (``bundles.key_file``): ``signature.json`` holds
  an HMAC-SHA256 of the description and every member. ``askwell train`` signs what it
  writes; ``askwell bundles sign`` vouches for a bundle from elsewhere.

Everything else is refused with a BundleError, as is a bundle whose bytes or schema are off.
Format 2 held the model as a pickle (``model.pkl``): such a bundle is refused, with the
command that rewrites it, ``askwell bundles convert`` (``convert_bundle``): the one place
that still unpickles, and only a bundle that is trusted (pinned or signed) as above.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import pickle
import re
import secrets
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from askwell.config import BundleSettings, get_settings
from askwell.errors import AskwellError, ConfigError
from askwell.versioning import code_version

if TYPE_CHECKING:
    from askwell.models.quality import QualityModel

FORMAT_VERSION = 3  # 3: the model as arrays and JSON; 2: a pickle (askwell bundles convert)
PICKLED_FORMAT = 2
_DESCRIPTION = "bundle.json"
_MODEL = "model.json"  # models.quality.SPEC; its arrays are members of their own
_PICKLE = "model.pkl"  # format 2's model
_SIGNATURE = "signature.json"
_ALGORITHM = "hmac-sha256"
_DOMAIN = b"askwell bundle signature v1\0"  # a MAC made for bundles means nothing elsewhere
PINS = "bundles.sha256"  # beside the shipped bundles: `sha256sum` lines
_MIN_KEY_CHARS = 32
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BundleError(AskwellError):
    """A bundle that cannot be trusted or used: unsigned, unreadable, altered, or built for
    other code."""


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
    # What serving logs, on the calibration questions: the drift monitor's reference
    # (askwell.monitoring.reference); {} in bundles from before it.
    reference: dict[str, Any] = field(default_factory=dict)
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


def shipped_pins() -> dict[str, str]:
    """The bundles askwell ships, by file name, and the SHA-256 of each (``make model``
    writes them with the bundles). A file with one of these digests loads without a key."""
    try:
        text = (files("askwell") / "assets" / PINS).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    pins = {}
    for line in text.splitlines():
        digest, _, name = line.strip().partition(" ")
        if _SHA256.fullmatch(digest):
            pins[name.strip().lstrip("*")] = digest
    return pins


# -- the key


def key_id(key: bytes) -> str:
    """A short name for a key, safe to show: it reveals nothing of the key."""
    return hmac.new(key, b"askwell bundle key id", hashlib.sha256).hexdigest()[:16]


def signing_key(settings: BundleSettings | None = None) -> bytes:
    """The deployment's bundle key; a new random one, written with mode 0600, when its file
    does not exist yet."""
    path = (settings or _settings()).key_file
    key = _read_key(path)
    if key is None:
        _create_key(path)
        key = _read_key(path)
        assert key is not None
    return key


def _settings() -> BundleSettings:
    # From the environment (and ASKWELL_CONFIG): the scoring processes that load bundles
    # see nothing else (cli/common.py refuses bundles.* in a --config file for that reason).
    return get_settings().bundles


def _read_key(path: Path) -> bytes | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"bundle key {path} (bundles.key_file): cannot read it ({exc})") from None
    if len(text) < _MIN_KEY_CHARS:
        raise ConfigError(
            f"bundle key {path} (bundles.key_file): too short (at least {_MIN_KEY_CHARS} "
            "characters; move it away and a new one is created)"
        )
    return text.encode()


def _create_key(path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):  # another process made one meanwhile
            os.link(tmp, path)  # unlike a rename, never replaces an existing key
    except OSError as exc:
        raise ConfigError(
            f"cannot create the bundle key {path} (bundles.key_file): {exc}"
        ) from None
    finally:
        tmp.unlink(missing_ok=True)


def _mac(key: bytes, description: bytes, members: Mapping[str, bytes]) -> str:
    mac = hmac.new(key, _DOMAIN, hashlib.sha256)
    for name, data in ((_DESCRIPTION, description), *sorted(members.items())):
        encoded = name.encode()
        for part in (encoded, data):  # each length-prefixed: no two inputs read the same
            mac.update(len(part).to_bytes(8, "big"))
            mac.update(part)
    return mac.hexdigest()


def _signature(key: bytes, description: bytes, members: Mapping[str, bytes]) -> bytes:
    signed = {
        "algorithm": _ALGORITHM,
        "key_id": key_id(key),
        "mac": _mac(key, description, members),
    }
    return json.dumps(signed, indent=2).encode()


# -- writing


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _description_digest(description: dict[str, Any]) -> str:
    body = {k: v for k, v in description.items() if k != "checksum"}
    return _digest(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def save_bundle(
    path: Path, model: QualityModel, info: BundleInfo, *, key: bytes | None = None
) -> Path:
    """Writes the bundle (format 3: the model as arrays and JSON), signed with ``key``
    (default: the deployment's, see :func:`signing_key`), replacing ``path`` only once it is
    complete; returns ``path``."""
    from askwell.models.quality import ModelFormatError, to_members

    try:
        members = to_members(model)
    except ModelFormatError as exc:
        raise BundleError(f"{path}: cannot save this model ({exc})") from None
    _save(path, members, replace(info, format_version=FORMAT_VERSION), key)
    return path


def _save(path: Path, members: Mapping[str, bytes], info: BundleInfo, key: bytes | None) -> None:
    files_ = {name: _digest(data) for name, data in sorted(members.items())}
    description: dict[str, Any] = {**asdict(info), "files": files_}
    description["checksum"] = _description_digest(description)
    raw = json.dumps(description, indent=2).encode()
    key = signing_key() if key is None else key
    _write(path, raw, members, _signature(key, raw, members))


def sign_bundle(path: Path, *, key: bytes | None = None) -> BundleInfo:
    """Signs the bundle at ``path`` in place with ``key`` (default: the deployment's): a
    person vouches for a bundle from elsewhere (of format 3, or of format 2 before
    :func:`convert_bundle`). Its checksums are verified first; nothing in it is loaded.
    Returns its description."""
    contents = _verified(path, (FORMAT_VERSION, PICKLED_FORMAT))
    key = signing_key() if key is None else key
    signature = _signature(key, contents.description, contents.members)
    _write(path, contents.description, contents.members, signature)
    return contents.info


def convert_bundle(path: Path, out: Path | None = None, *, key: bytes | None = None) -> BundleInfo:
    """Rewrites a format-2 bundle (a pickled model) as format 3 at ``out`` (default: in
    place), signed with ``key`` (default: the deployment's); returns its description.

    The bundle must be trusted as loading trusts one (shipped with askwell, or signed with
    ``key``), and its checksums hold, before its pickle is read: the one place askwell still
    unpickles. The rewritten model must then give the pickled one's scores, bit for bit, on
    probe questions, or nothing is written."""
    contents = _verified(path, (FORMAT_VERSION, PICKLED_FORMAT))
    if contents.info.format_version == FORMAT_VERSION:
        raise BundleError(f"{path}: already format {FORMAT_VERSION}; nothing to convert")
    key = signing_key() if key is None else key
    _check_trusted(path, contents, key)
    if _PICKLE not in contents.members:
        raise BundleError(f"{path}: the bundle holds no model")
    from askwell.models.quality import (
        ModelFormatError,
        QualityModel,
        from_members,
        same_scores,
        to_members,
    )

    try:
        # Trusted above, like the code it names (askwell.models.train re-exports the
        # classes that format 2 pickled under that module's name).
        legacy = pickle.loads(contents.members[_PICKLE])
    except Exception as exc:
        raise BundleError(f"{path}: the model cannot be loaded with this code ({exc})") from None
    if not isinstance(legacy, QualityModel):
        raise BundleError(f"{path}: holds a {type(legacy).__name__}, not an askwell model")
    try:
        members = to_members(legacy)
        rebuilt = from_members(members)
    except ModelFormatError as exc:
        raise BundleError(f"{path}: cannot convert this model ({exc})") from None
    if not same_scores(legacy, rebuilt):
        raise BundleError(f"{path}: the converted model scores differently; nothing written")
    info = replace(contents.info, format_version=FORMAT_VERSION)
    _save(out or path, members, info, key)
    return info


def _write(path: Path, description: bytes, members: Mapping[str, bytes], signature: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        # Fixed timestamps: the same model, description and key give byte-identical bundles.
        for name, data in ((_DESCRIPTION, description), *members.items(), (_SIGNATURE, signature)):
            member = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            member.compress_type = zipfile.ZIP_DEFLATED  # a ZipInfo ignores the archive's
            archive.writestr(member, data)
    tmp.replace(path)


# -- reading


def read_info(path: Path, *, key: bytes | None = None) -> BundleInfo:
    """The bundle's description, verified and trusted (see :func:`load_bundle`), without
    loading the model."""
    return _open(path, key)[0]


def load_bundle(
    path: Path, expected_features: Sequence[str] | None = None, *, key: bytes | None = None
) -> tuple[QualityModel, BundleInfo]:
    """The model and its description; raises BundleError, before reading the model, when
    the bundle is neither shipped with askwell nor signed with ``key`` (default: the
    deployment's, ``bundles.key_file``), is unreadable, of another format (format 2: see
    :func:`convert_bundle`), a checksum differs, or its feature schema is not
    ``expected_features``. Nothing in it is unpickled or run."""
    info, members = _open(path, key)
    if expected_features is not None and list(expected_features) != info.feature_schema:
        missing = sorted(set(info.feature_schema) - set(expected_features))
        extra = sorted(set(expected_features) - set(info.feature_schema))
        raise BundleError(
            f"{path}: the model was trained on other features than this code computes "
            f"(only in the bundle: {missing or 'none'}; only in the code: {extra or 'none'}"
            f"{'; same names, other order' if not missing and not extra else ''}); "
            "retrain it with this version"
        )
    from askwell.models.quality import ModelFormatError, from_members

    try:
        model = from_members(members)
    except ModelFormatError as exc:
        raise BundleError(f"{path}: the model cannot be loaded with this code ({exc})") from None
    return model, info


@dataclass(frozen=True)
class _Contents:
    description: bytes  # bundle.json as stored: what the signature covers
    info: BundleInfo
    members: dict[str, bytes]  # those bundle.json lists, by name
    signature: bytes | None
    sha256: str  # of the whole file


def _open(path: Path, key: bytes | None) -> tuple[BundleInfo, dict[str, bytes]]:
    contents = _verified(path)
    _check_trusted(path, contents, key)
    return contents.info, contents.members


def _verified(path: Path, formats: Sequence[int] = (FORMAT_VERSION,)) -> _Contents:
    """The bundle's parts, every checksum verified, if its format is one of ``formats``;
    nothing loaded, nothing trusted yet."""
    try:
        data = path.read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            raw = archive.read(_DESCRIPTION)
            description = json.loads(raw)
            listed = description.get("files") if isinstance(description, dict) else None
            if not isinstance(listed, dict):
                raise ValueError(f"{_DESCRIPTION} lists no files")
            members = {str(name): archive.read(str(name)) for name in listed}
            names = set(archive.namelist())
            signature = archive.read(_SIGNATURE) if _SIGNATURE in names else None
    except FileNotFoundError:
        raise BundleError(f"{path}: no such bundle") from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise BundleError(f"{path}: not a readable askwell bundle ({exc})") from None
    version = description.get("format_version")
    if version == PICKLED_FORMAT and version not in formats:
        raise BundleError(
            f"{path}: refused: a format-{PICKLED_FORMAT} bundle, whose model is a pickle (it "
            f"runs code when loaded); this code loads format {FORMAT_VERSION} (arrays and "
            f"JSON) only. If you trust it, convert it: askwell bundles convert {path}"
        )
    if version not in formats:
        raise BundleError(
            f"{path}: unsupported bundle format (this code reads version {FORMAT_VERSION})"
        )
    if description.get("checksum") != _description_digest(description):
        raise BundleError(f"{path}: checksum mismatch in {_DESCRIPTION}: the bundle was altered")
    for name, expected in listed.items():
        if _digest(members[name]) != expected:
            raise BundleError(f"{path}: checksum mismatch in {name}: the bundle was altered")
    if (_MODEL if version == FORMAT_VERSION else _PICKLE) not in members:
        raise BundleError(f"{path}: the bundle holds no model")
    known = set(BundleInfo.__dataclass_fields__)
    try:
        info = BundleInfo(**{k: v for k, v in description.items() if k in known})
    except TypeError as exc:
        raise BundleError(f"{path}: not a readable askwell bundle ({exc})") from None
    return _Contents(raw, info, members, signature, _digest(data))


def _check_trusted(path: Path, contents: _Contents, key: bytes | None) -> None:
    if contents.sha256 in shipped_pins().values():
        return  # byte for byte a bundle askwell ships
    key_file = None if key is not None else _settings().key_file
    if key_file is not None:
        key = _read_key(key_file)
    where = "the given key" if key_file is None else f"the key in {key_file}"
    why = "A bundle decides every score and piece of advice askwell gives"
    advice = f"if you trust where it came from, sign it: askwell bundles sign {path}"
    if contents.signature is None:
        raise BundleError(
            f"{path}: refused: not signed (and not a bundle askwell ships). {why}, so "
            f"askwell loads only bundles signed with {where}; {advice}"
        )
    try:
        signed = json.loads(contents.signature)
        algorithm, signer, mac = signed["algorithm"], str(signed["key_id"]), str(signed["mac"])
    except (ValueError, TypeError, KeyError):
        raise BundleError(f"{path}: refused: its signature is unreadable; {advice}") from None
    if key is None:
        raise BundleError(
            f"{path}: refused: signed with key id {signer}, but there is no bundle key here "
            f"({key_file} does not exist; bundles.key_file, ASKWELL_BUNDLES__KEY_FILE). "
            f"{why}: put the key it was signed with there, or {advice}"
        )
    if algorithm != _ALGORITHM or not hmac.compare_digest(
        mac.encode(), _mac(key, contents.description, contents.members).encode()
    ):
        mine = key_id(key)
        whose = "this key, but altered since" if signer == mine else f"key id {signer}"
        raise BundleError(
            f"{path}: refused: its signature does not match {where} (key id {mine}); it was "
            f"signed with {whose}. {why}: load it with the key it was signed with, or {advice}"
        )
