"""Ingestion benchmark: throughput and peak memory of ``askwell ingest`` on a ≥ 1 GB dump.

One command builds (or reuses) ``bench/work/tiled-Posts.xml``, real rows from every
``../shared/data/stackexchange/*/Posts.xml`` repeated with fresh Ids, then runs one after the
other, each in its own process tree and on the same file:

- ``floor``: a bare lxml ``iterparse`` that only counts rows (and their PostTypeId);
- ``askwell``: the real CLI, ``askwell ingest FILE --out bench/work/ds``, default settings;
- ``naive``: ``xml.etree`` parse of the whole file, per-row HTML-to-text, one DataFrame.

Memory is sampled every 50 ms over the whole process tree (RSS summed, and PSS summed, which
counts shared pages once). Results go to ``ingest.json`` and ``ingest.md`` under ``--out``.

    .venv/bin/python -m bench.ingest [--size-gb 1.0] [--out bench/results] [--skip-naive]
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "stackexchange"
WORK = ROOT / "bench" / "work"
DUMP = WORK / "tiled-Posts.xml"
SIDECAR = WORK / "tiled-Posts.json"
DATASET = WORK / "ds"
NAIVE_OUT = WORK / "naive.parquet"
LOGS = WORK / "logs"

TILER_VERSION = 2  # bump when the dump format changes: a stale dump is then rebuilt
ID_ATTRS = frozenset({"Id", "ParentId", "AcceptedAnswerId"})
QA_TYPES = ("1", "2")  # questions and answers: the rows askwell keeps
MB = 1_000_000  # every MB here is 10^6 bytes, for throughput and memory alike
GIB = 1 << 30
MIN_DUMP_BYTES = 1_000_000_000
RSS_TARGET_MB = 400.0
THROUGHPUT_TARGET = 1 / 3
SAMPLE_S = 0.05
HEADER = b'<?xml version="1.0" encoding="utf-8"?>\n<posts>\n'
FOOTER = b"</posts>\n"
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#xA;",
        "\r": "&#xD;",
        "\t": "&#x9;",
    }
)


# --- the tiled dump ---------------------------------------------------------------------


@dataclass(frozen=True)
class Dump:
    """The tiled file and what is known about it without reading it again."""

    path: str
    bytes: int
    sha256: str
    rows: int
    tiles: int
    rows_per_tile: int
    id_span: int  # Ids of tile t are the tile-0 Ids + t * id_span
    post_types: dict[str, int]
    sources: list[dict[str, Any]]
    target_bytes: int
    version: int = TILER_VERSION
    reused: bool = False
    build_s: float = 0.0


Row = list[tuple[str, str | int]]  # a row's attributes in order; Ids as tile-0 integers
Template = tuple[str, tuple[int, ...]]  # a row as a %-format string and its tile-0 Ids


def _source_files() -> list[Path]:
    files = sorted(DATA.glob("*/Posts.xml"))
    if not files:
        raise SystemExit(f"no */Posts.xml under {DATA}")
    return files


def _source_info(files: list[Path]) -> list[dict[str, Any]]:
    return [{"file": str(f.relative_to(DATA)), "bytes": f.stat().st_size} for f in files]


def _is_id(name: str, value: str) -> bool:
    return name in ID_ATTRS and value.isdigit()


def _read_sites(files: list[Path]) -> tuple[list[Row], int]:
    """Every source row with tile-0 Ids, and the Id span of one tile."""
    from lxml import etree

    rows: list[Row] = []
    base = 0
    for path in files:
        site: list[list[tuple[str, str]]] = []
        for _, el in etree.iterparse(str(path), events=("end",), tag="row"):
            site.append(list(el.attrib.items()))
            _clear(el)
        remapped, span = _remap_site(site, base)
        rows += remapped
        base += span
    return rows, base


def _remap_site(site: list[list[tuple[str, str]]], base: int) -> tuple[list[Row], int]:
    """Moves a site's Ids past those of the sites before it (real gaps between Ids stay). A
    reference to a post that is not in the dump (an answer accepted after a slice was cut)
    gets a fresh Id just past the site's own, so it still points at nothing."""
    ids = {int(v) for row in site for k, v in row if k == "Id" and v.isdigit()}
    top = max(ids, default=0)
    fresh: dict[int, int] = {}
    for value in sorted({int(v) for row in site for k, v in row if _is_id(k, v)} - ids):
        fresh[value] = top + len(fresh) + 1
    remapped: list[Row] = [
        [(k, base + fresh.get(int(v), int(v)) if _is_id(k, v) else v) for k, v in row]
        for row in site
    ]
    return remapped, top + len(fresh)


def _row_template(row: Row) -> Template:
    """One ``<row/>`` line with its Ids left as ``%d`` slots, other values escaped as-is."""
    parts: list[str] = []
    ids: list[int] = []
    for name, value in row:
        if isinstance(value, int):
            parts.append(f'{name}="%d"')
            ids.append(value)
        else:
            parts.append(f'{name}="{value.translate(_ESCAPES).replace("%", "%%")}"')
    return f"  <row {' '.join(parts)} />\n", tuple(ids)


def _tile_text(templates: list[Template], offset: int) -> str:
    return "".join(fmt % tuple(i + offset for i in ids) for fmt, ids in templates)


def _check_first_tile(rows: list[Row], templates: list[Template]) -> None:
    """Parses tile 0 back: every row has the source's attributes in the source's order with
    identical values (escaping round-trips), and every ParentId names a row of the tile."""
    from lxml import etree

    tile = etree.fromstring(HEADER + _tile_text(templates, 0).encode() + FOOTER)
    if len(tile) != len(rows):
        raise SystemExit(f"tiling bug: tile 0 has {len(tile)} rows, not {len(rows)}")
    for n, (el, row) in enumerate(zip(tile, rows, strict=True)):
        if list(el.attrib.items()) != [(k, str(v)) for k, v in row]:
            raise SystemExit(f"tiling bug: row {n} of tile 0 differs from its source row")
    ids = {el.get("Id") for el in tile}
    parents = (el.get("ParentId") for el in tile)
    orphans = sum(1 for parent in parents if parent is not None and parent not in ids)
    if orphans:
        raise SystemExit(f"tiling bug: {orphans} ParentId(s) in tile 0 point outside it")


def _build_dump(target_bytes: int, files: list[Path]) -> Dump:
    """Writes whole tiles until the file holds at least ``target_bytes``."""
    started = time.perf_counter()
    rows, span = _read_sites(files)
    templates = [_row_template(row) for row in rows]
    types = Counter(str(dict(row).get("PostTypeId", "")) for row in rows)
    _check_first_tile(rows, templates)
    del rows
    digest = hashlib.sha256()
    size, tiles = 0, 0
    tmp = DUMP.with_suffix(".xml.part")
    with tmp.open("wb") as out:

        def write(block: bytes) -> None:
            nonlocal size
            out.write(block)
            digest.update(block)
            size += len(block)

        write(HEADER)
        while size + len(FOOTER) < target_bytes:
            write(_tile_text(templates, tiles * span).encode())
            tiles += 1
        write(FOOTER)
    tmp.replace(DUMP)
    return Dump(
        path=str(DUMP.relative_to(ROOT)),
        bytes=size,
        sha256=digest.hexdigest(),
        rows=tiles * len(templates),
        tiles=tiles,
        rows_per_tile=len(templates),
        id_span=span,
        post_types={k: v * tiles for k, v in sorted(types.items())},
        sources=_source_info(files),
        target_bytes=target_bytes,
        build_s=round(time.perf_counter() - started, 2),
    )


def prepare_dump(target_bytes: int) -> Dump:
    """The tiled dump, reused when the sidecar says it was built from the same sources with
    the same target and its size and sha256 still match (hashing also warms the page cache,
    so that every method reads the file from memory)."""
    # Here, not at the top: the floor and naive processes import this module, and must not
    # pay for askwell's imports (pyarrow) in their time and memory.
    from askwell.data.sources import sha256_file

    files = _source_files()
    WORK.mkdir(parents=True, exist_ok=True)
    with suppress(OSError, ValueError, TypeError):
        known = Dump(**json.loads(SIDECAR.read_text(encoding="utf-8")))
        if (
            known.version == TILER_VERSION
            and known.target_bytes == target_bytes
            and known.sources == _source_info(files)
            and DUMP.stat().st_size == known.bytes
        ):
            print(f"checking {DUMP.name} ({known.bytes / MB:,.0f} MB) against its sidecar…")
            if sha256_file(DUMP) == known.sha256:
                return Dump(**{**asdict(known), "reused": True})
            print("sha256 differs: rebuilding")
    _make_room(target_bytes)
    print(f"building {DUMP.relative_to(ROOT)} (≥ {target_bytes / MB:,.0f} MB)…")
    dump = _build_dump(target_bytes, files)
    SIDECAR.write_text(json.dumps(asdict(dump), indent=2) + "\n", encoding="utf-8")
    sha256_file(DUMP)  # warm the page cache like a reuse does
    return dump


def _make_room(target_bytes: int) -> None:
    """The dump, askwell's dataset and naive's Parquet must fit, with room to spare."""
    with suppress(FileNotFoundError):
        DUMP.unlink()
    free = shutil.disk_usage(WORK).free
    need = 2 * target_bytes + GIB
    if free < need:
        raise SystemExit(f"{WORK}: {free / MB:,.0f} MB free, need about {need / MB:,.0f} MB")


# --- the measured programs (each runs in its own process) --------------------------------


def _clear(el: Any) -> None:
    """Frees a parsed row and the rows before it: lxml iterparse memory stays flat."""
    el.clear()
    while el.getprevious() is not None:
        del el.getparent()[0]


def run_floor(path: Path) -> dict[str, Any]:
    """The floor: the least work that still reads every row."""
    from lxml import etree

    types: Counter[str] = Counter()
    for _, el in etree.iterparse(str(path), events=("end",), tag="row"):
        types[el.get("PostTypeId", "")] += 1
        _clear(el)
    return {"rows": sum(types.values()), "post_types": dict(sorted(types.items()))}


def run_naive(path: Path) -> dict[str, Any]:
    """The naive approach: the whole tree in memory, a dict per row, one DataFrame."""
    import xml.etree.ElementTree as ET

    import lxml.html
    import pandas as pd
    from lxml import etree

    def text(body: str) -> str:
        try:
            return str(lxml.html.fromstring(body).text_content())
        except (etree.ParserError, ValueError):  # an empty or blank body
            return ""

    root = ET.parse(path).getroot()
    records: list[dict[str, str]] = []
    for el in root:
        record = dict(el.attrib)
        if record.get("PostTypeId") in QA_TYPES:
            record["Text"] = text(record.get("Body", ""))
        records.append(record)
    frame = pd.DataFrame(records)
    frame.to_parquet(NAIVE_OUT)
    types = frame["PostTypeId"].value_counts()
    return {"rows": len(frame), "post_types": {str(k): int(v) for k, v in types.items()}}


PROGRAMS = {"floor": run_floor, "naive": run_naive}


# --- measuring a process tree -------------------------------------------------------------


@dataclass
class ProcessPeak:
    """One process of a measured tree: sampled peaks, and the kernel's exact peak RSS."""

    pid: int
    role: str
    peak_rss_mb: float = 0.0
    peak_pss_mb: float = 0.0
    hwm_mb: float = 0.0  # VmHWM: the process's peak RSS as the kernel saw it, between samples too
    cpu_s: float = 0.0  # user + system CPU at the last sample


@dataclass
class Measurement:
    """One method's run: time, throughput, and memory over its whole process tree."""

    method: str
    command: list[str]
    returncode: int
    timed_out: bool
    wall_s: float
    mb_per_s: float
    cpu_s: float  # user + system of the tree (children it reaped included)
    peak_rss_tree_mb: float  # max over samples of the RSS summed over the tree
    peak_pss_tree_mb: float  # same with PSS: shared pages counted once
    hwm_sum_mb: float  # sum of per-process VmHWM: a bound the tree's RSS sum never exceeded
    max_processes: int
    samples: int
    pss_samples: int
    sampler_cpu_s: float  # what measuring cost this (benchmark) process
    other_cpu_s: float  # CPU the whole machine spent outside the tree meanwhile (sampler too)
    processes: list[ProcessPeak] = field(default_factory=list)
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def disturbed(self) -> bool:
        """Other programs took more than a tenth of a core meanwhile: the numbers are off."""
        return self.other_cpu_s - self.sampler_cpu_s > 0.1 * self.wall_s


class _Reaper:
    """Waits for the child in a thread, so its end time is exact and its rusage is kept."""

    def __init__(self, pid: int) -> None:
        self.done = threading.Event()
        self.returncode = -1
        self.end = 0.0
        self.rusage: Any = None
        threading.Thread(target=self._wait, args=(pid,), daemon=True).start()

    def _wait(self, pid: int) -> None:
        _, status, self.rusage = os.wait4(pid, 0)
        self.end = time.perf_counter()
        self.returncode = os.waitstatus_to_exitcode(status)
        self.done.set()


def _role(proc: Any, root_pid: int) -> str:
    if proc.pid == root_pid:
        return "main"
    with suppress(Exception):
        cmdline = " ".join(proc.cmdline())
        for marker, role in (("resource_tracker", "resource tracker"), ("spawn_main", "worker")):
            if marker in cmdline:
                return role
    return "child"


def _hwm_mb(pid: int) -> float:
    """VmHWM from /proc (Linux); 0 when unreadable."""
    with suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / MB
    return 0.0


class _Sampler:
    """Memory of a process tree, sampled. RSS (and VmHWM) are cheap and read every
    ``SAMPLE_S``; PSS walks the page tables (about 10 ms per GB), so it is read at most
    ``1 / PSS_DUTY`` times as often as it costs, to keep the sampler off a busy CPU."""

    PSS_DUTY = 0.05

    def __init__(self, root: Any) -> None:
        self.root = root
        self.peaks: dict[int, ProcessPeak] = {}
        self.peak_rss = self.peak_pss = 0.0
        self.samples = self.pss_samples = self.most = 0
        self._next_pss = 0.0

    def _tree(self) -> list[Any]:
        import psutil

        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []

    def sample(self) -> None:
        """Takes one sample of the whole tree."""
        import psutil

        procs = self._tree()
        rss = 0.0
        for proc in procs:
            peak = self.peaks.get(proc.pid) or self.peaks.setdefault(
                proc.pid, ProcessPeak(proc.pid, _role(proc, self.root.pid))
            )
            with suppress(psutil.Error):
                now = proc.memory_info().rss / MB
                peak.peak_rss_mb = max(peak.peak_rss_mb, now)
                peak.hwm_mb = max(peak.hwm_mb, _hwm_mb(proc.pid))
                peak.cpu_s = sum(proc.cpu_times()[:2])
                rss += now
        started = time.perf_counter()
        if started >= self._next_pss:
            self.peak_pss = max(self.peak_pss, self._pss(procs))
            self.pss_samples += 1
            cost = time.perf_counter() - started
            self._next_pss = started + max(SAMPLE_S, cost / self.PSS_DUTY)
        self.peak_rss = max(self.peak_rss, rss)
        self.most = max(self.most, len(procs))
        self.samples += 1

    def _pss(self, procs: list[Any]) -> float:
        import psutil

        total = 0.0
        for proc in procs:
            with suppress(psutil.Error):
                pss = proc.memory_full_info().pss / MB
                peak = self.peaks[proc.pid]
                peak.peak_pss_mb = max(peak.peak_pss_mb, pss)
                total += pss
        return total

    def processes(self) -> list[ProcessPeak]:
        return [
            ProcessPeak(
                p.pid,
                p.role,
                round(p.peak_rss_mb, 1),
                round(p.peak_pss_mb, 1),
                round(p.hwm_mb, 1),
                round(p.cpu_s, 1),
            )
            for p in sorted(self.peaks.values(), key=lambda p: -p.peak_rss_mb)
        ]


def _busy_cpu_s() -> float:
    """CPU seconds the machine has spent busy (all cores, all processes) since boot."""
    import psutil

    t = psutil.cpu_times()
    return float(
        sum(getattr(t, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq"))
    )


def _kill_tree(root: Any) -> None:
    import psutil

    with suppress(psutil.Error):
        for proc in [*root.children(recursive=True), root]:
            with suppress(psutil.Error):
                proc.kill()


def measure(method: str, command: list[str], file_bytes: int, timeout_s: float) -> Measurement:
    """Runs ``command`` to the end (or the timeout, then kills its tree), sampling memory."""
    import psutil

    LOGS.mkdir(parents=True, exist_ok=True)
    print(f"measuring {method}: {' '.join(command)}", flush=True)
    cpu0, busy0 = time.process_time(), _busy_cpu_s()
    with (LOGS / f"{method}.out").open("wb") as out, (LOGS / f"{method}.err").open("wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=err)
        sampler = _Sampler(psutil.Process(child.pid))  # before the reaper: the pid is ours
        reaper = _Reaper(child.pid)
        timed_out = False
        while not reaper.done.is_set():
            sampler.sample()
            if time.perf_counter() - started > timeout_s and not timed_out:
                timed_out = True
                print(f"{method}: over {timeout_s:.0f} s, killing its process tree", flush=True)
                _kill_tree(sampler.root)
            reaper.done.wait(SAMPLE_S)
    child.returncode = reaper.returncode  # reaped by _Reaper, not by Popen
    wall = reaper.end - started
    processes = sampler.processes()
    tree_cpu = reaper.rusage.ru_utime + reaper.rusage.ru_stime
    result = Measurement(
        method=method,
        command=command,
        returncode=reaper.returncode,
        timed_out=timed_out,
        wall_s=round(wall, 3),
        mb_per_s=round(file_bytes / MB / wall, 2),
        cpu_s=round(tree_cpu, 2),
        peak_rss_tree_mb=round(sampler.peak_rss, 1),
        peak_pss_tree_mb=round(sampler.peak_pss, 1),
        hwm_sum_mb=round(sum(p.hwm_mb for p in processes), 1),
        max_processes=sampler.most,
        samples=sampler.samples,
        pss_samples=sampler.pss_samples,
        sampler_cpu_s=round(time.process_time() - cpu0, 2),
        other_cpu_s=round(max(0.0, _busy_cpu_s() - busy0 - tree_cpu), 2),
        processes=processes,
    )
    if not result.ok:
        tail = (LOGS / f"{method}.err").read_text(encoding="utf-8", errors="replace")[-2000:]
        print(f"{method} FAILED (exit {result.returncode}):\n{tail}", flush=True)
    return result


def _child_report(method: str) -> dict[str, Any]:
    """The JSON line a floor or naive run printed last."""
    lines = (LOGS / f"{method}.out").read_text(encoding="utf-8").strip().splitlines()
    report = json.loads(lines[-1]) if lines else {}
    return report if isinstance(report, dict) else {}


def _askwell_report() -> dict[str, Any]:
    manifest = json.loads((DATASET / "manifest.json").read_text(encoding="utf-8"))
    tables = {name: int(t["rows"]) for name, t in manifest["tables"].items()}
    inputs = manifest["inputs"]
    return {
        "rows": sum(int(i["rows_read"]) for i in inputs),
        "kept_qa": tables.get("questions", 0) + tables.get("answers", 0),
        "tables": tables,
        "status": manifest["status"],
        "skipped_post_types": inputs[0]["skipped_post_types"] if inputs else {},
    }


def run_methods(dump: Dump, skip_naive: bool, timeout_s: float) -> dict[str, Measurement]:
    """Floor, askwell, naive: one after the other, never two at once."""
    python = sys.executable
    askwell = str(Path(python).parent / "askwell")
    commands = {
        "floor": [python, "-m", "bench.ingest", "--run", "floor", dump.path],
        "askwell": [askwell, "ingest", dump.path, "--out", str(DATASET.relative_to(ROOT))],
        "naive": [python, "-m", "bench.ingest", "--run", "naive", dump.path],
    }
    if skip_naive:
        del commands["naive"]
    shutil.rmtree(DATASET, ignore_errors=True)  # every askwell run starts from nothing
    results: dict[str, Measurement] = {}
    for method, command in commands.items():
        result = measure(method, command, dump.bytes, timeout_s)
        if result.ok:
            result.report = _askwell_report() if method == "askwell" else _child_report(method)
        results[method] = result
    return results


# --- results --------------------------------------------------------------------------


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(ROOT), *args], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def write_results(out: Path, name: str, doc: dict[str, Any], table: str) -> None:
    """A benchmark's results: ``NAME.json`` and the markdown ``NAME.md`` under ``out``, and
    the table on stdout."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    (out / f"{name}.md").write_text(table, encoding="utf-8")
    print(table)


def machine_info() -> dict[str, Any]:
    import psutil
    import pyarrow
    from lxml import etree

    from askwell import __version__

    diff = _git("diff", "HEAD", "--", "src")  # uncommitted changes to what is measured
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu,
        "ram_total_gib": round(psutil.virtual_memory().total / GIB, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "lxml": ".".join(map(str, etree.LXML_VERSION)),
        "libxml2": ".".join(map(str, etree.LIBXML_VERSION)),
        "pyarrow": pyarrow.__version__,
        "psutil": psutil.__version__,
        "askwell": __version__,
        "git_head": _git("rev-parse", "HEAD"),
        "src_modified": bool(diff),
        "src_diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else None,
    }


def check_rows(dump: Dump, results: dict[str, Measurement]) -> dict[str, Any]:
    """askwell must keep exactly the questions and answers the floor counted."""
    floor = results["floor"].report
    qa = sum(int(floor.get("post_types", {}).get(t, 0)) for t in QA_TYPES) if floor else None
    checks: dict[str, Any] = {
        "dump_rows": dump.rows,
        "floor_rows": floor.get("rows"),
        "floor_qa_rows": qa,
        "floor_rows_match_dump": floor.get("rows") == dump.rows,
        "askwell_rows_read": results["askwell"].report.get("rows"),
        "askwell_qa_rows": results["askwell"].report.get("kept_qa"),
    }
    checks["askwell_qa_rows_match_floor"] = qa is not None and checks["askwell_qa_rows"] == qa
    checks["disturbed_methods"] = [k for k, v in results.items() if v.disturbed]
    if "naive" in results:
        checks["naive_rows"] = results["naive"].report.get("rows")
        checks["naive_rows_match_floor"] = checks["naive_rows"] == floor.get("rows")
    return checks


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def summarize(results: dict[str, Measurement], dump: Dump) -> tuple[dict[str, Any], dict[str, Any]]:
    """Ratios between methods, and the issue's targets as true/false."""
    aw, floor, naive = results["askwell"], results["floor"], results.get("naive")
    ratios: dict[str, Any] = {
        "askwell_over_floor_throughput": _ratio(aw.mb_per_s, floor.mb_per_s)
        if aw.ok and floor.ok
        else None,
    }
    if naive is not None and naive.ok:
        ratios["askwell_speedup_over_naive"] = _ratio(aw.mb_per_s, naive.mb_per_s)
        ratios["naive_over_askwell_peak_rss"] = _ratio(naive.peak_rss_tree_mb, aw.peak_rss_tree_mb)
        ratios["naive_over_askwell_peak_pss"] = _ratio(naive.peak_pss_tree_mb, aw.peak_pss_tree_mb)
    targets = {
        "dump_at_least_1e9_bytes": dump.bytes >= MIN_DUMP_BYTES,
        "askwell_ok": aw.ok,
        "askwell_peak_rss_tree_under_400mb": aw.ok and aw.peak_rss_tree_mb < RSS_TARGET_MB,
        "askwell_peak_pss_under_400mb": aw.ok and aw.peak_pss_tree_mb < RSS_TARGET_MB,
        "throughput_at_least_third_of_floor": aw.ok
        and floor.ok
        and aw.mb_per_s >= THROUGHPUT_TARGET * floor.mb_per_s,
    }
    return ratios, targets


LABELS = {
    "floor": "floor: bare lxml iterparse, count rows",
    "askwell": "`askwell ingest` (default settings)",
    "naive": "naive: ElementTree parse + lxml.html text + one DataFrame",
}


def markdown(doc: dict[str, Any]) -> str:
    """The results as a page: the table, the ratios, the verdicts, how to run it."""
    dump, machine = doc["dump"], doc["machine"]
    lines = [
        "# `askwell ingest` benchmark",
        "",
        f"Dump: `{dump['path']}`, {dump['bytes'] / MB:,.1f} MB ({dump['bytes'] / GIB:.3f} GiB), "
        f"{dump['rows']:,} rows ({dump['tiles']} tiles of {dump['rows_per_tile']:,} real rows "
        f"from {len(dump['sources'])} sites, fresh Ids per tile).",
        f"Machine: {machine['cpu_count']} CPUs ({machine['cpu_model']}), "
        f"{machine['ram_total_gib']} GiB RAM; Python {machine['python']}, lxml {machine['lxml']}, "
        f"pyarrow {machine['pyarrow']}; askwell {machine['git_head'][:12]}"
        f"{' with uncommitted changes in src/' if machine['src_modified'] else ''}. "
        f"Run {doc['created']}. MB = 10^6 bytes.",
        "",
        "| method | MB/s | peak RSS tree MB | peak PSS MB | rows | wall s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for method, m in doc["methods"].items():
        rows = m["report"].get("rows")
        status = "" if m["returncode"] == 0 and not m["timed_out"] else " **FAILED**"
        lines.append(
            f"| {LABELS[method]}{status} | {m['mb_per_s']:,.1f} | {m['peak_rss_tree_mb']:,.1f} "
            f"| {m['peak_pss_tree_mb']:,.1f} | {'-' if rows is None else f'{rows:,}'} "
            f"| {m['wall_s']:,.1f} |"
        )
    lines += ["", *[f"- {k}: {v}" for k, v in doc["ratios"].items()], ""]
    lines += ["| target | verdict |", "|---|---|"]
    lines += [f"| {k} | {'PASS' if v else 'FAIL'} |" for k, v in doc["targets"].items()]
    aw = doc["methods"]["askwell"]
    lines += [
        "",
        "askwell processes: peak RSS / PSS / kernel VmHWM in MB, and CPU seconds (up to "
        f"{aw['max_processes']} at once; {aw['cpu_s']:.1f} CPU s in {aw['wall_s']:.1f} s; the "
        f"VmHWM sum, {aw['hwm_sum_mb']:,.1f} MB, bounds the tree's RSS between samples too):",
        "",
        *[
            f"- {p['role']} (pid {p['pid']}): {p['peak_rss_mb']:,.1f} / {p['peak_pss_mb']:,.1f}"
            f" / {p['hwm_mb']:,.1f}, {p['cpu_s']:.1f} CPU s"
            for p in aw["processes"]
        ],
        "",
        "CPU seconds spent outside the measured tree during each run (the sampler included; "
        "much more than the sampler means another program disturbed the measurement): "
        + ", ".join(
            f"{k} {m['other_cpu_s']:.1f} (sampler {m['sampler_cpu_s']:.1f})"
            for k, m in doc["methods"].items()
        )
        + "."
        + (
            f" **Disturbed: {', '.join(doc['checks']['disturbed_methods'])}; rerun.**"
            if doc["checks"]["disturbed_methods"]
            else ""
        ),
        "",
        f"Rows check: askwell kept {doc['checks']['askwell_qa_rows']} questions+answers, "
        f"the floor counted {doc['checks']['floor_qa_rows']} with PostTypeId 1 or 2: "
        f"{'match' if doc['checks']['askwell_qa_rows_match_floor'] else 'MISMATCH'}.",
        "",
        "How to run: `.venv/bin/python -m bench.ingest [--size-gb 1.0] [--out bench/results] "
        "[--skip-naive]` (see bench/README.md).",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Builds the dump, measures every method, writes JSON and markdown; non-zero on a
    failed method or a row-count mismatch."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--size-gb", type=float, default=1.0, help="dump size in GiB")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results", help="results folder"
    )
    parser.add_argument("--skip-naive", action="store_true", help="skip the slow naive run")
    parser.add_argument("--timeout-s", type=float, default=3600.0, help="per method (default 3600)")
    parser.add_argument("--run", choices=sorted(PROGRAMS), help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:  # inside a measured process
        if args.file is None:
            parser.error("--run needs a FILE")
        preloaded = sorted({"askwell", "pandas", "pyarrow"} & sys.modules.keys())
        if preloaded:  # a top-level import crept in: the measured program would pay for it
            parser.error(f"measured programs must start bare; already imported: {preloaded}")
        print(json.dumps(PROGRAMS[args.run](args.file)))
        return 0
    WORK.mkdir(parents=True, exist_ok=True)
    lock = (WORK / ".lock").open("w")  # bench/work is shared: one run at a time
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        parser.error(f"another bench.ingest run holds {WORK / '.lock'}; wait for it to end")
    created = datetime.now(UTC).isoformat(timespec="seconds")
    machine = machine_info()  # the code as it was when measured, not after
    target = int(args.size_gb * GIB)
    if target < MIN_DUMP_BYTES:
        print(f"note: {target / MB:,.0f} MB is under the 1 GB the issue asks for")
    dump = prepare_dump(target)
    results = run_methods(dump, args.skip_naive, args.timeout_s)
    checks = check_rows(dump, results)
    ratios, targets = summarize(results, dump)
    doc = {
        "benchmark": "ingest",
        "created": created,
        "argv": sys.argv,
        "machine": machine,
        "dump": asdict(dump),
        "methods": {k: asdict(v) for k, v in results.items()},
        "checks": checks,
        "ratios": ratios,
        "targets": targets,
    }
    write_results(args.out, "ingest", doc, markdown(doc))
    failed = [k for k, v in results.items() if not v.ok]
    if checks["disturbed_methods"]:
        print(
            f"WARNING: other programs used the CPU during {', '.join(checks['disturbed_methods'])}:"
            " rerun on a quiet machine",
            file=sys.stderr,
        )
    if failed:
        print(f"FAILED: {', '.join(failed)} (logs in {LOGS.relative_to(ROOT)})", file=sys.stderr)
    if not checks["askwell_qa_rows_match_floor"]:
        print(
            f"FAILED: askwell kept {checks['askwell_qa_rows']} questions+answers, the floor "
            f"counted {checks['floor_qa_rows']}",
            file=sys.stderr,
        )
    return 1 if failed or not checks["askwell_qa_rows_match_floor"] else 0


if __name__ == "__main__":
    sys.exit(main())
