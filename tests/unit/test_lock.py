"""The locks in requirements/ (make lock) against pyproject.toml and the environment running them.

Every requirement of pyproject.toml (runtime, the dev and spark extras, [build-system]) is
pinned in its lock within pyproject's specifier, with hashes; the locks agree with each other
on what they share; and the packages this suite runs on are exactly the locked versions.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"
LOCK_NAMES = ("build", "runtime", "dev", "spark")


@dataclass(frozen=True)
class Pin:
    version: Version
    marker: Marker | None
    hashes: tuple[str, ...]

    def applies(self) -> bool:
        """Whether pip installs it here (its environment marker, if any, holds)."""
        return self.marker is None or self.marker.evaluate()


Lock = dict[str, Pin]


def parse_lock(text: str) -> Lock:
    """A lock's pins by normalized name; ValueError for anything but one exact pin per package."""
    logical = re.sub(r"\\\n", " ", text)
    lock: Lock = {}
    for number, raw in enumerate(logical.splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement_text, *options = re.split(r"\s+(?=--)", line)
        hashes = tuple(o.removeprefix("--hash=") for o in options if o.startswith("--hash="))
        if len(hashes) != len(options):
            raise ValueError(f"line {number}: an option other than --hash: {line!r}")
        try:
            requirement = Requirement(requirement_text)
        except InvalidRequirement as error:
            raise ValueError(f"line {number}: {error}") from error
        specifiers = list(requirement.specifier)
        if (
            requirement.url
            or len(specifiers) != 1
            or specifiers[0].operator != "=="
            or "*" in specifiers[0].version
        ):
            raise ValueError(f"line {number}: not an exact pin: {requirement_text!r}")
        name = canonicalize_name(requirement.name)
        if name in lock:
            raise ValueError(f"line {number}: {name} pinned twice")
        lock[name] = Pin(Version(specifiers[0].version), requirement.marker, hashes)
    return lock


def unhashed(lock: Lock) -> list[str]:
    return sorted(name for name, pin in lock.items() if not pin.hashes)


def unpinned(requirements: Iterable[str], lock: Lock) -> list[str]:
    """The requirements that the lock does not pin, or pins outside their specifier."""
    problems = []
    for text in requirements:
        requirement = Requirement(text)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = lock.get(canonicalize_name(requirement.name))
        if pin is None:
            problems.append(f"{text}: not in the lock")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(f"{text}: locked at {pin.version}")
    return problems


def disagreements(part: Lock, whole: Lock, *, subset: bool) -> list[str]:
    """Where part pins a package differently from whole (or, for a subset, lacks it there)."""
    problems = []
    for name, pin in sorted(part.items()):
        other = whole.get(name)
        if other is None:
            if subset:
                problems.append(f"{name}: not in the larger lock")
        elif other.version != pin.version:
            problems.append(f"{name}: {pin.version} here, {other.version} there")
    return problems


def installed_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment_mismatches(lock: Lock, installed: Callable[[str], str | None]) -> list[str]:
    """The locked packages that apply here but are missing or at another version."""
    problems = []
    for name, pin in sorted(lock.items()):
        if not pin.applies():
            continue
        version = installed(name)
        if version is None:
            problems.append(f"{name}: locked at {pin.version}, not installed")
        elif Version(version) != pin.version:
            problems.append(f"{name}: locked at {pin.version}, installed {version}")
    return problems


def _requirements(*, build: bool = False, extra: str | None = None) -> list[str]:
    """pyproject.toml's requirements: [build-system], [project] or one of its extras."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        pyproject: dict[str, Any] = tomllib.load(file)
    if build:
        return list(pyproject["build-system"]["requires"])
    if extra is None:
        return list(pyproject["project"]["dependencies"])
    return list(pyproject["project"]["optional-dependencies"][extra])


def _text(name: str) -> str:
    return (LOCKS / f"{name}.lock").read_text(encoding="utf-8")


def _lock(name: str) -> Lock:
    return parse_lock(_text(name))


def _repin(text: str, name: str, version: str) -> str:
    """The lock text with one package's pin changed (its hashes left as they were)."""
    changed, count = re.subn(rf"(?m)^{re.escape(name)}==\S+", f"{name}=={version}", text)
    assert count == 1, name
    return changed


def _drop(text: str, name: str) -> str:
    """The lock text without one package's entry (its pin, hashes and annotations)."""
    changed, count = re.subn(rf"(?m)^{re.escape(name)}==.*\n(?:[ \t].*\n)*", "", text)
    assert count == 1, name
    return changed


# The locks themselves.


@pytest.mark.parametrize("name", LOCK_NAMES)
def test_each_lock_pins_every_package_exactly_with_hashes(name: str) -> None:
    lock = _lock(name)
    assert lock
    assert unhashed(lock) == []


def test_pyproject_requirements_are_pinned_within_their_specifiers() -> None:
    assert unpinned(_requirements(), _lock("runtime")) == []
    assert unpinned(_requirements() + _requirements(extra="dev"), _lock("dev")) == []
    assert unpinned([*_requirements(build=True), "pip"], _lock("build")) == []
    assert unpinned(_requirements() + _requirements(extra="spark"), _lock("spark")) == []


def test_the_runtime_lock_is_the_dev_lock_less_the_dev_extra() -> None:
    assert disagreements(_lock("runtime"), _lock("dev"), subset=True) == []


def test_the_spark_lock_agrees_with_the_dev_lock() -> None:
    # make test installs it on top of the dev lock: what both pin must be pinned alike.
    assert disagreements(_lock("spark"), _lock("dev"), subset=False) == []


def test_the_build_lock_agrees_with_the_dev_lock() -> None:
    # Both are installed into one environment: a package in both must be pinned alike.
    assert disagreements(_lock("build"), _lock("dev"), subset=False) == []


@pytest.mark.parametrize("name", LOCK_NAMES)
def test_this_environment_has_exactly_the_locked_versions(name: str) -> None:
    assert environment_mismatches(_lock(name), installed_version) == []


# Each check can fail.


@pytest.mark.parametrize(
    "text",
    [
        "lxml>=5.2 --hash=sha256:00",
        "lxml==6.* --hash=sha256:00",
        "lxml==6.1.3 --hash=sha256:00\nlxml==6.1.3 --hash=sha256:00",
        "lxml==6.1.3 --index-url https://example.org --hash=sha256:00",
        "lxml @ https://example.org/lxml.whl",
        "not a requirement",
    ],
)
def test_anything_but_one_exact_pin_per_package_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_lock(text)


def test_a_pin_without_hashes_is_found() -> None:
    lock = parse_lock("a==1 \\\n    --hash=sha256:00\n    # via x\nb==2\n")
    assert lock["a"].hashes == ("sha256:00",)
    assert unhashed(lock) == ["b"]


def test_a_requirement_missing_from_the_lock_is_found() -> None:
    lock = parse_lock(_drop(_text("runtime"), "lxml"))
    assert unpinned(_requirements(), lock) == ["lxml>=5.2: not in the lock"]


def test_a_pin_outside_pyprojects_specifier_is_found() -> None:
    lock = parse_lock(_repin(_text("dev"), "pytest", "7.4.4"))
    assert unpinned(_requirements(extra="dev"), lock) == ["pytest>=8: locked at 7.4.4"]
    build = parse_lock(_repin(_text("build"), "cython", "0.29.37"))
    assert unpinned(_requirements(build=True), build) == ["Cython>=3.0: locked at 0.29.37"]


def test_runtime_pins_that_differ_from_the_dev_lock_are_found() -> None:
    runtime, dev = _text("runtime"), _text("dev")
    numpy = _lock("dev")["numpy"].version
    assert disagreements(
        parse_lock(_repin(runtime, "numpy", "1.26.4")), parse_lock(dev), subset=True
    ) == [f"numpy: 1.26.4 here, {numpy} there"]
    assert disagreements(parse_lock(runtime), parse_lock(_drop(dev, "numpy")), subset=True) == [
        "numpy: not in the larger lock"
    ]
    assert disagreements(parse_lock(runtime), parse_lock(_drop(dev, "numpy")), subset=False) == []


def test_an_environment_unlike_the_lock_is_found() -> None:
    lock = parse_lock(
        "a==1.0\nb==2.0\nc==3.0\n"
        "d==4.0 ; sys_platform == 'no-such-platform'\n"
        "e==5.0 ; python_version >= '3'\n"
    )
    installed = {"a": "1.0", "b": "2.1", "e": "5.0"}
    assert environment_mismatches(lock, installed.get) == [
        "b: locked at 2.0, installed 2.1",
        "c: locked at 3.0, not installed",
    ]
    mutated = parse_lock(_repin(_text("dev"), "pytest", "7.4.4"))
    assert environment_mismatches(mutated, installed_version) == [
        f"pytest: locked at 7.4.4, installed {metadata.version('pytest')}"
    ]
