"""Serving benchmark: ``POST /v1/score`` over HTTP on loopback, at 1, 8 and 32 concurrent
clients, against ``askwell serve`` with the production settings (2 scoring processes, a fresh
SQLite store in WAL mode that every prediction is written to); beside it, batch scoring of the
same questions in process (``askwell.serving.batch``) and with ``askwell score IN OUT`` (with
``--workers`` too).

The server runs as a subprocess (127.0.0.1, a free port); the load generator runs in a
process of its own (``python -m bench.serve --load-gen``, standard library only), so it shares
no interpreter lock with what is measured. Each level is a closed loop: every client owns one
keep-alive ``http.client`` connection and sends its next request as soon as the answer is
read, until the level's request count is reached or its time limit passes. Questions are the
~2,000-character ones (title and body, 1,500 to 2,500 characters) among the 1,000 real
questions ``bench.latency`` draws (seed 0), sent as Markdown, cycled in order. An error is a
status other than 200, a connection error, or a ``degraded`` answer. Each request's time is
split into scoring, the store write and everything outside the service, with the CPU of every
process over each level. Then liveness under hostile load: two clients send 50 kB requests
(``HOSTILE_SHAPES``) back to back for ``HOSTILE_S`` seconds while /healthz is probed every
20 ms; its max and p99 are the target's. Then the shadow's cost at 8 clients: a server
with ``--mode shadow`` (the shipped model as the challenger) beside one without, their levels
interleaved (off, on, off, on); p99 on over p99 off against ``SHADOW_P99_RATIO``, and what
the shadow scored and dropped. JSON and a markdown table go to ``--out``.

    .venv/bin/python -m bench.serve [--out bench/results] [--requests 1000] [--workers 2]
    .venv/bin/python -m bench.serve --only shadow [--shadow-rounds 2]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench.ingest import ROOT, _busy_cpu_s, machine_info, write_results

if TYPE_CHECKING:
    from askwell.records import Question

HOST = "127.0.0.1"  # loopback only, for the server and every client
LEVELS = (1, 8, 32)
TARGET_CLIENTS = 8
TARGET_P99_MS = 50.0
FLOOR_RATIO = 1.1  # mean latency at TARGET_CLIENTS at most this many times the CPU floor
DRAWN = 1000  # questions drawn as bench.latency draws them; the ~2,000-character ones are sent
WARMUP_REQUESTS = 50
WARMUP_CLIENTS = 8  # several at once, so that every scoring process is warmed
LEVEL_LIMIT_S = 90.0  # a level stops starting requests after this long
REQUEST_TIMEOUT_S = 30.0  # one request's socket timeout
# Clients connect one after another, as independent users do, not in one burst.
CONNECT_STAGGER_S = 0.02
READY_TIMEOUT_S = 180.0
STOP_TIMEOUT_S = 20.0
BATCH_LIMIT_S = 120.0
BUSY_LOAD = 1.5  # a 1-minute load average above this before the start: a busy machine
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
# Liveness under hostile load (issue 12's done-when): two clients send 50 kB requests (the
# API's limit, title and body) back to back while /healthz is polled; it must answer within
# HEALTHZ_LIMIT_MS, every time. The bodies cycle through patterns that once cost the most to
# read or to score (bench.latency.PATHOLOGICAL), each sent with a session, as the editor does.
HOSTILE_SHAPES = (
    "many short lines",
    "emphasis",
    "many short sentences",
    "list items",
    "one long prose paragraph",
    "brackets",
    "html line breaks",
    "long title",
)
HOSTILE_CLIENTS = 2
HOSTILE_S = 15.0  # each client sends hostile requests back to back for this long
HEALTHZ_EVERY_S = 0.02
HEALTHZ_LIMIT_MS = 50.0
# The shadow's cost: p99 at TARGET_CLIENTS with the shadow on at most this many times p99 with
# it off, the two measured in one run, levels interleaved (off, on, off, on...) so that drift
# in the machine's load falls on both alike.
SHADOW_P99_RATIO = 1.3
SHADOW_ROUNDS = 2
DRAIN_TIMEOUT_S = 120.0  # for the challenger's backlog to be scored after a level
SHADOW_COUNTERS = {  # /metrics lines -> names in the results
    "askwell_shadow_scored_total": "scored",
    "askwell_shadow_dropped_total": "dropped",
    'askwell_errors_total{kind="shadow"}': "failed",
}


# --- the load generator (its own process; standard library only) ----------------------


@dataclass
class Sent:
    """One request as the client saw it."""

    client: int
    at_s: float  # when it was sent, from the level's start
    ms: float  # from sending the request to having read the whole answer
    status: int  # 0: no answer (connection error, timeout)
    error: str | None
    degraded: bool | None
    logged: bool | None
    server_ms: float | None  # the answer's latency_ms: inside ScoringService.score
    request_id: str | None

    def row(self) -> list[Any]:
        return [
            self.client,
            round(self.at_s, 6),
            round(self.ms, 3),
            self.status,
            self.error,
            self.degraded,
            self.logged,
            self.server_ms,
            self.request_id,
        ]


class _Claims:
    """Hands out request numbers until ``n`` are out or the deadline passes."""

    def __init__(self, n: int, limit_s: float) -> None:
        self._lock = threading.Lock()
        self._next = 0
        self._n = n
        self._limit_s = limit_s
        self.started = 0.0
        self.cut = False  # the time limit stopped the level before n requests

    def __call__(self) -> int | None:
        with self._lock:
            if self._next >= self._n:
                return None
            if time.perf_counter() - self.started > self._limit_s:
                self.cut = True
                return None
            self._next += 1
            return self._next - 1


def _send(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, bytes]:
    conn.request("POST", "/v1/score", body, HEADERS)
    response = conn.getresponse()
    return response.status, response.read()


def _client(
    n: int,
    port: int,
    bodies: list[bytes],
    claim: _Claims,
    start: threading.Barrier,
    out: list[Sent],
) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
    time.sleep(n * CONNECT_STAGGER_S)
    with contextlib.suppress(OSError):  # a failed connect shows as the first request's error
        conn.connect()
    start.wait()
    try:
        while (i := claim()) is not None:
            sent = time.perf_counter()
            try:
                status, data = _send(conn, bodies[i % len(bodies)])
            except (OSError, http.client.HTTPException) as exc:
                ms = (time.perf_counter() - sent) * 1000
                failed = f"{type(exc).__name__}: {exc}"
                out.append(Sent(n, sent - claim.started, ms, 0, failed, None, None, None, None))
                conn.close()  # the next request opens a fresh connection
                continue
            ms = (time.perf_counter() - sent) * 1000
            answer: dict[str, Any] = {}
            with contextlib.suppress(ValueError):
                parsed = json.loads(data)
                answer = parsed if isinstance(parsed, dict) else {}
            error = None if status == 200 else f"HTTP {status}: {data[:200]!r}"
            out.append(
                Sent(
                    n,
                    sent - claim.started,
                    ms,
                    status,
                    error,
                    answer.get("degraded"),
                    answer.get("logged"),
                    answer.get("latency_ms"),
                    answer.get("request_id"),
                )
            )
    finally:
        conn.close()


def run_load(spec: dict[str, Any]) -> dict[str, Any]:
    """One level: ``clients`` threads, each with its own connection, closed loop."""
    bodies = [
        json.dumps(p, ensure_ascii=False).encode()
        for p in json.loads(Path(spec["payloads"]).read_text(encoding="utf-8"))
    ]
    clients = int(spec["clients"])
    claim = _Claims(int(spec["requests"]), float(spec["limit_s"]))
    start = threading.Barrier(clients + 1)
    outs: list[list[Sent]] = [[] for _ in range(clients)]
    threads = [
        threading.Thread(
            target=_client,
            args=(n, int(spec["port"]), bodies, claim, start, outs[n]),
            name=f"client-{n}",
            daemon=True,
        )
        for n in range(clients)
    ]
    for t in threads:
        t.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    claim.started = time.perf_counter()
    start.wait()  # every client has connected: go
    deadline = claim.started + float(spec["limit_s"]) + REQUEST_TIMEOUT_S + 10
    for t in threads:
        t.join(max(0.0, deadline - time.perf_counter()))
    wall = time.perf_counter() - claim.started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime
    sent = sorted((s for out in outs for s in out), key=lambda s: s.at_s)
    return {
        "clients": clients,
        "wall_s": round(wall, 4),
        "cpu_s": round(cpu, 3),
        "cut_by_time_limit": claim.cut,
        "stuck_clients": sum(t.is_alive() for t in threads),
        "fields": [
            "client",
            "at_s",
            "ms",
            "status",
            "error",
            "degraded",
            "logged",
            "server_ms",
            "request_id",
        ],
        "sent": [s.row() for s in sent],
    }


# --- the questions ----------------------------------------------------------------------


def markdown_body(q: Question) -> str:
    """The body as a person would type it: the prose paragraphs as they are, then each code
    block fenced (with ~~~ when the code holds a ``` line)."""
    parts = [q.body.text.strip()] if q.body.text.strip() else []
    for block in q.body.code_blocks:
        lines = block.split("\n")
        fence = "~~~" if any(line.strip().startswith("```") for line in lines) else "```"
        parts.append("\n".join([fence, *lines, fence]))
    return "\n\n".join(parts)


def payloads() -> list[dict[str, Any]]:
    """The ~2,000-character questions among those bench.latency draws, as API requests."""
    from bench.latency import NEAR_2000, _length, load_questions

    picked = [q for q in load_questions(DRAWN) if NEAR_2000[0] <= _length(q) <= NEAR_2000[1]]
    return [{"title": q.title, "body": markdown_body(q), "tags": list(q.tags)} for q in picked]


# --- the server -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class Server:
    """``askwell serve`` in its own session (process group), stopped on leaving the block."""

    def __init__(self, workers: int, work: Path, name: str, extra: Sequence[str] = ()) -> None:
        self.workers = workers
        self.name = name
        self.port = _free_port()
        self.db = work / f"{name}.db"
        self.log = work / f"{name}.log"
        self.command = [
            str(Path(sys.executable).parent / "askwell"),
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--workers",
            str(workers),
            "--database-url",
            f"sqlite:///{self.db}",
            *extra,
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.tree: list[Any] = []

    def __enter__(self) -> Server:
        print(f"starting: {' '.join(self.command)}", flush=True)
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGINT (uvicorn's Ctrl+C: workers finish and exit), then the group is killed."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            print("server did not stop on SIGINT; killing its process group", flush=True)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        for child in self.tree[1:]:  # workers left behind by a killed parent
            with contextlib.suppress(Exception):
                if child.is_running():
                    child.kill()

    def _alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            tail = self.log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise RuntimeError(f"the server exited before it was ready:\n{tail}")

    def wait_ready(self) -> dict[str, Any]:
        """/readyz answers 200, then every server process has gone quiet (a worker that is
        still loading the model does not accept connections, so one 200 is not enough)."""
        import psutil

        deadline = time.perf_counter() + READY_TIMEOUT_S
        ready: dict[str, Any] | None = None
        while ready is None:
            self._alive()
            if time.perf_counter() > deadline:
                raise RuntimeError(f"/readyz not 200 within {READY_TIMEOUT_S:.0f} s")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, data = _get(self.port, "/readyz")
                if status == 200:
                    ready = json.loads(data)
                    break
            time.sleep(0.25)
        assert self.proc is not None
        self.tree = [psutil.Process(self.proc.pid)]
        self.wait_quiet(deadline, "after /readyz")
        return ready

    def wait_quiet(self, deadline: float, when: str) -> None:
        """Until every server process has used under 50 ms of CPU in each of three half
        seconds in a row (models loaded; in shadow mode, the challenger's backlog scored)."""
        root = self.tree[0]
        quiet = 0
        last = -1.0
        while quiet < 3:
            self._alive()
            if time.perf_counter() > deadline:
                raise RuntimeError(f"the server processes did not go quiet {when}")
            self.tree = [root, *root.children(recursive=True)]
            now = self.cpu_s()
            quiet = quiet + 1 if last >= 0 and now - last < 0.05 else 0
            last = now
            time.sleep(0.5)

    def niceness(self) -> dict[str, int]:
        """Each server process's OS priority (nice), by pid."""
        import psutil

        out: dict[str, int] = {}
        for p in self.tree:
            with contextlib.suppress(psutil.Error):
                out[str(p.pid)] = int(p.nice())
        return out

    def shadow_counts(self) -> dict[str, float]:
        """The shadow's counters on /metrics: requests scored, dropped, failed."""
        status, data = _get(self.port, "/metrics")
        if status != 200:
            raise RuntimeError(f"/metrics answered HTTP {status}")
        out = dict.fromkeys(SHADOW_COUNTERS.values(), 0.0)
        for line in data.decode().splitlines():
            name, _, value = line.rpartition(" ")
            if name in SHADOW_COUNTERS:
                out[SHADOW_COUNTERS[name]] = float(value)
        return out

    def cpu_s(self) -> float:
        return sum(self.cpu_by_process().values())

    def cpu_by_process(self) -> dict[int, float]:
        import psutil

        out: dict[int, float] = {}
        for p in self.tree:
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                out[p.pid] = float(t.user + t.system)
        return out


# --- measuring --------------------------------------------------------------------------


def run_level(
    server: Server, work: Path, label: str, clients: int, requests: int, limit_s: float
) -> dict[str, Any]:
    """One level through a fresh load-generator process; the server's CPU, the load
    generator's and everything else's over the same time."""
    spec = {
        "port": server.port,
        "payloads": str(work / "payloads.json"),
        "clients": clients,
        "requests": requests,
        "limit_s": limit_s,
    }
    spec_path, out_path = work / f"{label}.spec.json", work / f"{label}.out.json"
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    print(f"{label}: {clients} clients, {requests} requests (limit {limit_s:.0f} s)", flush=True)
    command = [sys.executable, "-m", "bench.serve", "--load-gen", str(spec_path), str(out_path)]
    server_cpu0, busy0 = server.cpu_by_process(), _busy_cpu_s()
    kids0, own0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.process_time()
    deadline = time.perf_counter() + limit_s + REQUEST_TIMEOUT_S + 60
    with subprocess.Popen(command, cwd=ROOT) as done:
        try:
            done.wait(max(0.0, deadline - time.perf_counter()))
        except subprocess.TimeoutExpired:
            done.kill()
            raise RuntimeError(f"the load generator did not finish: {label}") from None
    server_cpu1, busy1 = server.cpu_by_process(), _busy_cpu_s()
    kids1, own1 = resource.getrusage(resource.RUSAGE_CHILDREN), time.process_time()
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {done.returncode})")
    result: dict[str, Any] = json.loads(out_path.read_text(encoding="utf-8"))
    per_process = {
        str(pid): round(server_cpu1[pid] - server_cpu0.get(pid, 0.0), 3) for pid in server_cpu1
    }
    server_cpu = sum(per_process.values())
    loadgen_total = (
        kids1.ru_utime - kids0.ru_utime + kids1.ru_stime - kids0.ru_stime
    )  # start-up included
    result["server_cpu_s"] = round(server_cpu, 3)
    result["server_cpu_by_process"] = per_process
    result["loadgen_process_cpu_s"] = round(loadgen_total, 3)
    result["other_cpu_s"] = round(
        max(0.0, busy1 - busy0 - server_cpu - loadgen_total - (own1 - own0)), 3
    )
    return result


def _stats(values: list[float]) -> dict[str, float]:
    import numpy as np

    from bench.latency import _percentiles

    if not values:
        return {"n": 0}
    out = {k: round(v, 3) for k, v in _percentiles(values).items()}
    out["mean"] = round(float(np.mean(values)), 3)
    return out


def summarize_level(raw: dict[str, Any], scoring_ms: dict[str, float]) -> dict[str, Any]:
    """Latency percentiles, throughput and errors, and where the time went: client-side
    latency split into the service's own time (question parsing and scoring, as the store
    records it; then the store write) and everything outside it (HTTP, request parsing and
    validation, response serialization, queueing for a CPU)."""
    fields = raw["fields"]
    sent = [dict(zip(fields, row, strict=True)) for row in raw["sent"]]
    ok = [s for s in sent if s["status"] == 200 and s["degraded"] is False]
    errors = [s for s in sent if s not in ok]
    kinds: dict[str, int] = {}
    for s in errors:
        kind = "degraded" if s["status"] == 200 else (s["error"] or "?").split(":")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    n, wall = len(sent), float(raw["wall_s"])
    ms = [float(s["ms"]) for s in sent]
    answered = [s for s in sent if s["server_ms"] is not None]
    server = [float(s["server_ms"]) for s in answered]
    outside = [float(s["ms"]) - float(s["server_ms"]) for s in answered]
    joined = [s for s in answered if s["request_id"] in scoring_ms]
    scoring = [scoring_ms[s["request_id"]] for s in joined]
    store = [float(s["server_ms"]) - scoring_ms[s["request_id"]] for s in joined]
    stats = _stats(ms)
    rps = n / wall if wall else 0.0
    return {
        "clients": raw["clients"],
        "requests": n,
        "errors": len(errors),
        "error_kinds": kinds,
        "first_error": (errors[0]["error"] or "degraded answer") if errors else None,
        "not_logged": sum(1 for s in sent if s["logged"] is False),
        "wall_s": wall,
        "requests_per_s": round(rps, 2),
        "cut_by_time_limit": raw["cut_by_time_limit"],
        "stuck_clients": raw["stuck_clients"],
        "latency_ms": stats,
        "breakdown_ms": {
            "client": stats,
            "service": _stats(server),
            "service_scoring": _stats(scoring),
            "service_store": _stats(store),
            "outside_service": _stats(outside),
            "joined_with_store": len(joined),
        },
        "littles_law_clients": round(rps * stats.get("mean", 0.0) / 1000, 2),
        "cpu": {
            "server_s": raw["server_cpu_s"],
            "server_by_process": raw["server_cpu_by_process"],
            "loadgen_measured_s": raw["cpu_s"],
            "loadgen_process_s": raw["loadgen_process_cpu_s"],
            "other_s": raw["other_cpu_s"],
            "server_ms_per_request": round(raw["server_cpu_s"] * 1000 / n, 2) if n else None,
            "loadgen_ms_per_request": round(raw["cpu_s"] * 1000 / n, 2) if n else None,
            "busy_cores": round((raw["server_cpu_s"] + raw["cpu_s"]) / wall, 2) if wall else None,
            "worker_cpu_split": _split(raw["server_cpu_by_process"]),
            "cpu_floor_ms": round(
                raw["clients"]
                * (raw["server_cpu_s"] + raw["cpu_s"])
                * 1000
                / n
                / (os.cpu_count() or 1),
                2,
            )
            if n
            else None,
        },
    }


def _split(by_process: dict[str, float]) -> list[int]:
    """Each busy server process's share of the server's CPU in %, largest first (the
    supervisor and helpers use next to none)."""
    total = sum(by_process.values()) or 1.0
    return sorted(
        (round(100 * v / total) for v in by_process.values() if v / total >= 0.01), reverse=True
    )


def stored_scoring_ms(db: Path) -> tuple[dict[str, float], int]:
    """The store's latency_ms per request (taken before the features are computed and the
    row written: parsing and scoring only), and how many predictions it holds."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT request_id, latency_ms FROM predictions").fetchall()
    finally:
        conn.close()
    return {str(r): float(ms) for r, ms in rows}, len(rows)


def time_batch(rows: list[dict[str, Any]], limit_s: float) -> dict[str, Any]:
    """``askwell.serving.batch.score_rows`` over ``rows`` in this process (the model loaded
    first, 20 rows of warm-up, as the server is warmed), stopping at ``limit_s``."""
    from askwell.explain.predictor import Predictor
    from askwell.serving import batch

    predictor = Predictor.load()
    for _ in batch.score_rows(predictor, rows[:20]):
        pass
    n = errors = 0
    versions: set[str] = set()
    cpu0, started = time.process_time(), time.perf_counter()
    for out in batch.score_rows(predictor, rows):
        n += 1
        errors += out["error"] is not None
        versions.add(str(out["model_version"]))
        if time.perf_counter() - started > limit_s:
            break
    wall = time.perf_counter() - started
    return {
        "way": "askwell.serving.batch.score_rows, in process",
        "questions": n,
        "errors": errors,
        "wall_s": round(wall, 3),
        "cpu_s": round(time.process_time() - cpu0, 3),
        "questions_per_s": round(n / wall, 2),
        "model_versions": sorted(versions),
    }


def time_cli(
    rows: list[dict[str, Any]], work: Path, limit_s: float, workers: int = 1
) -> dict[str, Any]:
    """``askwell score IN.jsonl OUT.jsonl [--workers N]``, start-up and model load included."""
    src, dst = work / "batch-in.jsonl", work / f"batch-out-{workers}.jsonl"
    with src.open("w", encoding="utf-8") as f:
        for n, row in enumerate(rows, 1):
            f.write(json.dumps(dict(row, id=n), ensure_ascii=False) + "\n")
    command = [str(Path(sys.executable).parent / "askwell"), "score", str(src), str(dst)]
    way = "askwell score IN.jsonl OUT.jsonl (CLI)"
    if workers > 1:
        command += ["--workers", str(workers)]
        way = f"askwell score IN.jsonl OUT.jsonl --workers {workers} (CLI)"
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=limit_s)
    except subprocess.TimeoutExpired:
        return {"way": way, "timed_out": True, "limit_s": limit_s}
    wall = time.perf_counter() - started
    written = dst.read_text(encoding="utf-8").splitlines() if dst.exists() else []
    errors = sum(1 for line in written if json.loads(line).get("error") is not None)
    return {
        "way": way,
        "returncode": done.returncode,
        "questions": len(written),
        "errors": errors,
        "wall_s": round(wall, 3),
        "questions_per_s": round(len(written) / wall, 2) if wall else None,
        "stdout_tail": done.stdout[-300:],
        "stderr_tail": done.stderr[-500:] if done.returncode else "",
    }


def _cycle(items: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return [items[i % len(items)] for i in range(n)]


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="askwell-bench-serve-") as d:
        yield Path(d)


# --- the report -------------------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def _latency_rows(levels: list[dict[str, Any]]) -> list[str]:
    rows = []
    for lv in levels:
        s = lv["latency_ms"]
        rows.append(
            f"| {lv['clients']} | {lv['requests']:,} | {lv['errors']} | "
            f"{lv['requests_per_s']:.1f} | {s['p50']:.1f} | {s['p95']:.1f} | {s['p99']:.1f} "
            f"| {s['max']:.1f} |"
        )
    return rows


def _machine_lines(doc: dict[str, Any]) -> list[str]:
    m = doc["machine"]
    return [
        f"Machine: {m['cpu_count'] or 1} CPUs ({m['cpu_model']}), shared by the server and the "
        f"load generator; askwell {m.get('askwell', '?')} {m['git_head'][:12]}"
        f"{' with uncommitted changes in src/' if m['src_modified'] else ''}. Run {doc['run_at']}"
        f" (1-minute load average before the start: {doc['load_before'][0]:.2f}, after the end: "
        f"{doc['load_after'][0]:.2f})."
    ]


def markdown(doc: dict[str, Any]) -> str:
    m, t = doc["machine"], doc["target"]
    run = doc["server"]
    cores = m["cpu_count"] or 1
    lines = [
        "# Serving benchmark: `POST /v1/score` over loopback",
        "",
        *_machine_lines(doc),
        f"Server: `askwell serve --workers {doc['workers']}`, SQLite store (WAL) in a fresh "
        f"temporary folder, model {run['model']}. Questions: {doc['questions']['n']} real "
        f"ones of 1,500-2,500 characters (mean {doc['questions']['mean_chars']:,.0f} characters "
        "of title + Markdown body), cycled; each client one keep-alive connection, closed loop; "
        f"{doc['warmup_requests']} warm-up requests first.",
        "",
        "## Latency",
        "",
        "| clients | requests | errors | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        *_latency_rows(run["levels"]),
        "",
        f"**Target: p99 <= {TARGET_P99_MS:.0f} ms at {TARGET_CLIENTS} concurrent clients, zero "
        f"errors: p99 {t['p99_ms']:.1f} ms, {t['errors']} errors, "
        f"{'PASS' if t['pass'] else 'FAIL'}.**",
        "",
        f"**Target: mean latency at {TARGET_CLIENTS} clients within {FLOOR_RATIO}x of the CPU "
        f"floor (below): {t['mean_over_cpu_floor']:.2f}x, "
        f"{'PASS' if t['floor_pass'] else 'FAIL'}.**",
        "",
        *_hostile_lines(run["hostile"]),
        *shadow_lines(doc["shadow"]),
    ]
    lines += [
        "## Where the time goes",
        "",
        "Means, ms per request. *service*: inside `ScoringService.score` (the answer's "
        "`latency_ms`); *scoring*: its part up to the store row (Markdown to question, "
        "waiting for a scoring process, `Predictor.score`), as the store records it; *store*: "
        "the rest (the logged features computed, the row written); *outside*: HTTP, request "
        "parsing and validation, JSON, waiting for a CPU or for the network. "
        "CPU per request is measured on the processes; *CPU split*: each server process's "
        "share of the server's CPU (the scoring processes, then the HTTP process); "
        "*CPU floor*: the mean latency a "
        f"closed loop of that many clients cannot beat on {cores} cores at that CPU per "
        "request (clients x CPU per request / cores).",
        "",
        "| clients | client | service | scoring | store | outside | server CPU/req "
        "| load-gen CPU/req | busy cores | CPU split % | CPU floor |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for lv in run["levels"]:
        b, c = lv["breakdown_ms"], lv["cpu"]
        lines.append(
            f"| {lv['clients']} | {b['client']['mean']:.1f} | "
            f"{b['service']['mean']:.1f} | {b['service_scoring'].get('mean', float('nan')):.1f}"
            f" | {b['service_store'].get('mean', float('nan')):.1f} | "
            f"{b['outside_service']['mean']:.1f} | {c['server_ms_per_request']:.1f} | "
            f"{c['loadgen_ms_per_request']:.1f} | {c['busy_cores']:.2f} | "
            f"{'/'.join(map(str, c['worker_cpu_split']))} | "
            f"{c['cpu_floor_ms']:.1f} |"
        )
    at = next(lv for lv in run["levels"] if lv["clients"] == TARGET_CLIENTS)["breakdown_ms"]
    parts = ("client", "service_scoring", "service_store", "outside_service")
    lines += [
        "",
        f"The tail at {TARGET_CLIENTS} clients, p50 / p99 ms: "
        + ", ".join(
            f"{k.removeprefix('service_').removesuffix('_service')} "
            f"{at[k].get('p50', float('nan')):.1f} / {at[k].get('p99', float('nan')):.1f}"
            for k in parts
        )
        + ".",
    ]
    http1 = run["levels"][0]["requests_per_s"]
    lines += [
        "",
        "## Batch questions per second",
        "",
        "The same questions, cycled. The in-process batch and the plain CLI are one process on "
        "one core; `--workers` and the server use every core. The naive way is one HTTP request "
        "per question (`askwell serve`, 1 client).",
        "",
        "| way | questions | q/s | vs HTTP, 1 client |",
        "|---|---:|---:|---:|",
    ]
    for b in doc["batch"]:
        if b.get("timed_out") or not b.get("questions"):
            lines.append(f"| {b['way']} | failed or timed out | - | - |")
            continue
        lines.append(
            f"| {b['way']} | {b['questions']:,} | {b['questions_per_s']:.1f} "
            f"| {_ratio(b['questions_per_s'], http1) or '-'}x |"
        )
    for lv in run["levels"]:
        lines.append(
            f"| HTTP (`askwell serve`), {lv['clients']} client{'s' if lv['clients'] > 1 else ''} "
            f"| {lv['requests']:,} | {lv['requests_per_s']:.1f} "
            f"| {_ratio(lv['requests_per_s'], http1)}x |"
        )
    lines += ["", *[f"- {note}" for note in doc["notes"]], ""]
    lines += [
        "How to run: `.venv/bin/python -m bench.serve [--out bench/results] [--requests 1000] "
        "[--workers 2]` (see bench/README.md).",
        "",
    ]
    return "\n".join(lines)


def _hostile_lines(h: dict[str, Any]) -> list[str]:
    probes, sent = h["healthz"], h["hostile_ms"]
    return [
        f"**Target: /healthz within {HEALTHZ_LIMIT_MS:.0f} ms while {HOSTILE_CLIENTS} clients "
        f"send 50 kB requests back to back ({h['requests']} in {h['wall_s']:.0f} s, statuses "
        f"{h['hostile_statuses']}, {h['partial']} of them scored in part, as the answers say): "
        f"max {h['healthz_max_ms']:.1f} ms, p99 {probes.get('p99', float('nan')):.1f} ms, "
        f"p50 {probes.get('p50', float('nan')):.1f} ms over {probes.get('n', 0)} probes, "
        f"{'PASS' if h['pass'] else 'FAIL'}.**",
        "",
        f"The hostile requests (cycling {', '.join(HOSTILE_SHAPES)}): p50 "
        f"{sent.get('p50', float('nan')):.1f} ms, p99 {sent.get('p99', float('nan')):.1f} ms, "
        f"max {sent.get('max', float('nan')):.1f} ms each, as their clients saw them.",
        "",
    ]


def shadow_lines(sh: dict[str, Any]) -> list[str]:
    """The shadow's cost: latency and CPU with it off and on, its target, what it scored."""
    t, total = sh["target"], sh["shadow"]["total"]
    rows = []
    for n, in_level in enumerate(lv["cpu_s_in_level"] for lv in sh["shadow"]["levels"]):
        rows.append((f"off, round {n + 1}", sh["off"]["rounds"][n], "-"))
        rows.append((f"on, round {n + 1}", sh["on"]["rounds"][n], f"{in_level:.2f}"))
    rows.append(("**off, all**", sh["off"]["all"], "-"))
    rows.append(("**on, all**", sh["on"]["all"], f"{total['cpu_s_in_levels']:.2f}"))
    if not sh["nice"]["shadow_processes"]:  # at the server's priority: not told apart
        rows = [(name, lv, "-") for name, lv, _ in rows]
    scored = total["scored_after_backlog"] or 1
    shadow_cpu = total["cpu_s_in_levels"]
    lines = [
        "## Shadow cost",
        "",
        f"Two servers up side by side, warmed, `askwell serve --workers {sh['workers']}`: one "
        "with the shadow off, one with `--mode shadow --challenger` the shipped model (its "
        "scoring processes at nice "
        f"{sorted({sh['nice']['by_process'][p] for p in sh['nice']['shadow_processes']})}, the "
        f"server at {sh['nice']['server']}: `serve.shadow_nice`). "
        f"Levels of {sh['clients']} clients alternate {', '.join(sh['order'])}, each started "
        "once both servers are quiet (the challenger's backlog from the level before scored).",
        "",
        "| shadow | requests | errors | req/s | p50 ms | p99 ms | max ms | server CPU/req "
        "| shadow CPU s | busy cores |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, lv, cpu in rows:
        s, c = lv["latency_ms"], lv["cpu"]
        mark = " (disturbed)" if "round" in name and disturbed(lv, sh["cores"]) else ""
        lines.append(
            f"| {name}{mark} | {lv['requests']:,} | {lv['errors']} | {lv['requests_per_s']:.1f} | "
            f"{s['p50']:.1f} | {s['p99']:.1f} | {s['max']:.1f} | "
            f"{c['server_ms_per_request']:.1f} | {cpu} | {c['busy_cores']:.2f} |"
        )
    lines += [
        "",
        f"**Target: p99 with the shadow on at most {SHADOW_P99_RATIO}x p99 with it off at "
        f"{t['clients']} clients, zero errors: {t['p99_on_ms']:.1f} / {t['p99_off_ms']:.1f} ms"
        f" = {t['ratio']:.2f}x, {t['errors']} errors, {'PASS' if t['pass'] else 'FAIL'}** "
        f"(round by round: {', '.join(f'{r:.2f}x' for r in t['round_ratios'])}; in the rounds "
        "where other programs disturbed neither level: "
        f"{', '.join(f'{r:.2f}x' for r in t['quiet_round_ratios']) or 'none'}).",
        "",
        f"The shadow: {total['offered']:,} answers offered to it; "
        f"{total['scored_at_level_end']:,} scored by the end of their level "
        f"({100 * total['scored_at_level_end'] / (total['offered'] or 1):.0f}%), "
        f"{total['scored_after_backlog']:,} once its backlog was scored, "
        f"{total['dropped_after_backlog']:,} dropped (queue full), "
        f"{total['failed_after_backlog']:,} failed on the challenger (`/metrics`); the store holds "
        f"{total['store_rows_by_arm'].get('shadow', 0):,} `shadow` rows (warm-up included).",
        "",
    ]
    if sh["nice"]["shadow_processes"]:
        lines[-2] += (
            f" Its scoring processes used {shadow_cpu:.1f} CPU s during the levels, "
            f"{total['cpu_s_with_backlog']:.1f} with the backlog "
            f"({1000 * total['cpu_s_with_backlog'] / scored:.1f} ms per answer scored)."
        )
    return lines


def disturbed(level: dict[str, Any], cores: int) -> bool:
    """Other programs used over 5% of the machine's CPU while the level ran."""
    return bool(level["cpu"]["other_s"] > 0.05 * cores * level["wall_s"])


def shadow_notes(sh: dict[str, Any], cores: int) -> list[str]:
    """Disturbed, cut or failing levels of the shadow's measurement."""
    out: list[str] = []
    for arm in ("off", "on"):
        for n, lv in enumerate(sh[arm]["rounds"], 1):
            c, where = lv["cpu"], f"shadow {arm}, round {n}"
            if disturbed(lv, cores):
                out.append(
                    f"{where}: other programs used {c['other_s']:.1f} CPU s during the level "
                    f"({lv['wall_s']:.0f} s): disturbed; rerun on a quiet machine."
                )
            if lv["cut_by_time_limit"]:
                out.append(f"{where}: stopped by the time limit.")
            if lv["errors"]:
                out.append(f"{where}: errors {lv['error_kinds']}; first: {lv['first_error']}")
    loads = sh["load_after_levels"]
    out.append(
        "1-minute load average after each level: "
        + ", ".join(f"{arm} {[x[0] for x in loads[arm]]}" for arm in ("off", "on"))
        + "."
    )
    return out


def shadow_markdown(doc: dict[str, Any]) -> str:
    """The table of ``--only shadow``."""
    return "\n".join(
        [
            "# Serving benchmark: the shadow's cost",
            "",
            *_machine_lines(doc),
            "",
            *shadow_lines(doc["shadow"]),
            *[f"- {note}" for note in doc["notes"]],
            "",
            "How to run: `.venv/bin/python -m bench.serve --only shadow [--out bench/results] "
            "[--requests 1000] [--shadow-rounds 2]` (see bench/README.md).",
            "",
        ]
    )


def notes(doc: dict[str, Any]) -> list[str]:
    """What else the run says: disturbance, cut levels, the store."""
    out: list[str] = []
    cores = doc["machine"]["cpu_count"] or 1
    run = doc["server"]
    for lv in run["levels"]:
        c, where = lv["cpu"], f"{lv['clients']} client(s)"
        if disturbed(lv, cores):
            out.append(
                f"{where}: other programs used {c['other_s']:.1f} CPU s during the level "
                f"({lv['wall_s']:.0f} s): disturbed; rerun on a quiet machine."
            )
        if lv["cut_by_time_limit"]:
            out.append(f"{where}: stopped by the time limit.")
        if lv["not_logged"]:
            out.append(f"{where}: {lv['not_logged']} answers not logged.")
        if lv["errors"]:
            out.append(f"{where}: errors {lv['error_kinds']}; first: {lv['first_error']}")
    out += shadow_notes(doc["shadow"], cores)
    st = run["store"]
    out.append(
        f"The store holds {st['predictions']:,} predictions for {st['answers_200']:,} answered "
        f"requests (warm-up included); warm-up errors: {run['warmup']['errors']}."
    )
    if doc["load_before"][0] > BUSY_LOAD:
        out.append(
            f"The 1-minute load average was {doc['load_before'][0]:.2f} before the start "
            "(other programs running): treat the numbers with care."
        )
    return out


# --- main -------------------------------------------------------------------------------


def hostile_payloads(session: str) -> list[bytes]:
    """The 50 kB requests a hostile client cycles through, in its editing session."""
    from bench.latency import hostile_draft

    out = []
    for name in HOSTILE_SHAPES:
        d = hostile_draft(name)
        body = {"title": d.title, "body": d.body, "tags": list(d.tags), "session_id": session}
        out.append(json.dumps(body).encode())
    return out


def healthz_under_hostile_load(port: int) -> dict[str, Any]:
    """/healthz latencies while ``HOSTILE_CLIENTS`` clients each send 50 kB requests back to
    back for ``HOSTILE_S`` seconds (each client its own session, as an editor page has)."""
    # Built before the clients start: nothing but sending and reading runs beside the probes.
    payloads = [hostile_payloads(f"hostile-{c}") for c in range(HOSTILE_CLIENTS)]
    sent: list[tuple[int, float, bool | None]] = []  # status, ms, scored whole
    started_at = time.monotonic()
    deadline = started_at + HOSTILE_S

    def hostile(client: int) -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_S)
        try:
            for i in itertools.count(client):
                if time.monotonic() >= deadline:
                    return
                mine = payloads[client]
                started = time.perf_counter()
                status, data = _send(conn, mine[i % len(mine)])
                ms = (time.perf_counter() - started) * 1000
                whole = json.loads(data)["extent"]["complete"] if status == 200 else None
                sent.append((status, ms, whole))
        finally:
            conn.close()

    threads = [threading.Thread(target=hostile, args=(c,)) for c in range(HOSTILE_CLIENTS)]
    for t in threads:
        t.start()
    healthz_ms: list[float] = []
    while any(t.is_alive() for t in threads):
        started = time.perf_counter()
        _get(port, "/healthz")
        healthz_ms.append((time.perf_counter() - started) * 1000)
        time.sleep(HEALTHZ_EVERY_S)
    for t in threads:
        t.join()
    worst = max(healthz_ms) if healthz_ms else float("nan")
    statuses = {s for s, _, _ in sent}
    return {
        "shapes": list(HOSTILE_SHAPES),
        "clients": HOSTILE_CLIENTS,
        "requests": len(sent),
        "answered": sum(1 for s, _, _ in sent if s == 200),
        "wall_s": time.monotonic() - started_at,
        "hostile_statuses": sorted(statuses),
        "hostile_ms": _stats([ms for _, ms, _ in sent]) if sent else {},
        "partial": sum(1 for _, _, whole in sent if whole is False),
        "healthz": _stats(healthz_ms) if healthz_ms else {},
        "healthz_max_ms": worst,
        "limit_ms": HEALTHZ_LIMIT_MS,
        "pass": bool(healthz_ms) and worst <= HEALTHZ_LIMIT_MS and statuses == {200},
    }


def warm_up(server: Server, work: Path, first: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A first request (its answer names the model), then the warm-up level."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=REQUEST_TIMEOUT_S)
    try:
        status, data = _send(conn, json.dumps(first).encode())
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"a first request failed: HTTP {status}: {data[:300]!r}")
    model = json.loads(data)["model"]
    warm = run_level(
        server, work, f"{server.name}-warmup", WARMUP_CLIENTS, WARMUP_REQUESTS, LEVEL_LIMIT_S
    )
    return f"{model.get('name')} {model.get('version')}", warm


def measure_server(
    name: str, workers: int, work: Path, requests: int, first: dict[str, Any]
) -> dict[str, Any]:
    """Starts one server, warms it, runs every level, stops it; then reads its store."""
    raw: dict[int, dict[str, Any]] = {}
    with Server(workers, work, name) as server:
        ready = server.wait_ready()
        model, warm = warm_up(server, work, first)
        for clients in LEVELS:
            raw[clients] = run_level(
                server, work, f"{name}-c{clients}", clients, requests, LEVEL_LIMIT_S
            )
        hostile = healthz_under_hostile_load(server.port)
        processes = len(server.tree)
    scoring_ms, stored = stored_scoring_ms(server.db)
    levels = [summarize_level(raw[c], scoring_ms) for c in LEVELS]
    answered = 1 + sum(1 for r in [warm, *raw.values()] for row in r["sent"] if row[3] == 200)
    answered += hostile["answered"]
    at_target = next(lv for lv in levels if lv["clients"] == TARGET_CLIENTS)
    p99 = at_target["latency_ms"]["p99"]
    floor = at_target["cpu"]["cpu_floor_ms"]
    over_floor = at_target["latency_ms"]["mean"] / floor if floor else None
    return {
        "command": " ".join(server.command).replace(str(work), "TMP"),
        "processes": processes,
        "readyz": ready,
        "model": model,
        "warmup": {"requests": len(warm["sent"]), "errors": summarize_level(warm, {})["errors"]},
        "levels": levels,
        "store": {"predictions": stored, "answers_200": answered},
        "hostile": hostile,
        "target": {
            "clients": TARGET_CLIENTS,
            "limit_ms": TARGET_P99_MS,
            "p99_ms": p99,
            "errors": at_target["errors"],
            "pass": p99 <= TARGET_P99_MS and at_target["errors"] == 0,
            "mean_over_cpu_floor": over_floor,
            "floor_pass": over_floor is not None and over_floor <= FLOOR_RATIO,
        },
    }


def measure_shadow(
    workers: int, work: Path, requests: int, first: dict[str, Any], rounds: int
) -> dict[str, Any]:
    """The shadow's cost at ``TARGET_CLIENTS``: a server as it ships (shadow off) and one
    with ``--mode shadow`` and the shipped model as the challenger (trusted by its pinned
    SHA-256), both up and warmed; then levels alternate off, on, off, on (``rounds`` of
    each), each once both servers have gone quiet (the challenger's backlog from the level
    before scored), so that drift in the machine's load falls on both alike. The shadow's
    counters (/metrics) and the CPU of its scoring processes (the ones with a higher nice)
    are read before each level, at its end, and once the backlog is scored."""
    from askwell.models.bundle import default_bundle

    arms: dict[str, tuple[str, ...]] = {
        "off": (),
        "on": ("--mode", "shadow", "--challenger", str(default_bundle())),
    }
    raw: dict[str, list[dict[str, Any]]] = {arm: [] for arm in arms}
    shadow_levels: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        servers = {
            arm: stack.enter_context(Server(workers, work, f"shadow_{arm}", extra))
            for arm, extra in arms.items()
        }
        ready = {arm: server.wait_ready() for arm, server in servers.items()}
        if ready["on"].get("challenger", "none") == "none":
            raise RuntimeError(f"the shadow server has no challenger: {ready['on']}")
        models = {arm: warm_up(server, work, first)[0] for arm, server in servers.items()}
        on = servers["on"]

        def quiet() -> None:
            deadline = time.perf_counter() + DRAIN_TIMEOUT_S
            for server in servers.values():
                server.wait_quiet(deadline, "after a level")

        quiet()
        nice = on.niceness()
        base = nice[str(on.tree[0].pid)]
        niced = {pid for pid, n in nice.items() if n > base}  # none with serve.shadow_nice 0
        if not niced:
            print("the challenger's processes run at the server's priority: CPU not told apart")
        for r in range(rounds):
            for arm, server in servers.items():
                counts0, cpu0 = on.shadow_counts(), on.cpu_by_process()
                level = run_level(
                    server, work, f"shadow_{arm}-{r + 1}", TARGET_CLIENTS, requests, LEVEL_LIMIT_S
                )
                level["load_after"] = [round(x, 2) for x in os.getloadavg()]
                raw[arm].append(level)
                at_end = on.shadow_counts()
                quiet()
                drained, cpu1 = on.shadow_counts(), on.cpu_by_process()
                if arm == "on":
                    shadow_levels.append(
                        {
                            "offered": sum(1 for row in level["sent"] if row[3] == 200),
                            "at_level_end": _delta(at_end, counts0),
                            "after_backlog": _delta(drained, counts0),
                            "cpu_s_in_level": round(
                                sum(level["server_cpu_by_process"].get(pid, 0.0) for pid in niced),
                                3,
                            ),
                            "cpu_s_with_backlog": round(
                                sum(
                                    cpu1.get(int(pid), 0.0) - cpu0.get(int(pid), 0.0)
                                    for pid in niced
                                ),
                                3,
                            ),
                        }
                    )
        commands = {
            arm: " ".join(s.command).replace(str(work), "TMP") for arm, s in servers.items()
        }
    scoring_ms = {**stored_scoring_ms(servers["off"].db)[0], **stored_scoring_ms(on.db)[0]}
    by_arm: dict[str, dict[str, Any]] = {
        arm: {
            "all": summarize_level(_merged(levels), scoring_ms),
            "rounds": [summarize_level(level, scoring_ms) for level in levels],
        }
        for arm, levels in raw.items()
    }
    off_all, on_all = by_arm["off"]["all"], by_arm["on"]["all"]
    cores = os.cpu_count() or 1
    ratio = _ratio(on_all["latency_ms"]["p99"], off_all["latency_ms"]["p99"])
    offered = sum(lv["offered"] for lv in shadow_levels)
    total = {
        "offered": offered,
        **{
            f"{k}_{when}": sum(lv[when][k] for lv in shadow_levels)
            for when in ("at_level_end", "after_backlog")
            for k in SHADOW_COUNTERS.values()
        },
        "cpu_s_in_levels": round(sum(lv["cpu_s_in_level"] for lv in shadow_levels), 3),
        "cpu_s_with_backlog": round(sum(lv["cpu_s_with_backlog"] for lv in shadow_levels), 3),
        "store_rows_by_arm": stored_arms(on.db),
    }
    return {
        "clients": TARGET_CLIENTS,
        "workers": workers,
        "cores": cores,
        "rounds": rounds,
        "order": [arm for _ in range(rounds) for arm in arms],
        "commands": commands,
        "readyz": ready,
        "models": models,
        "nice": {"server": base, "by_process": nice, "shadow_processes": sorted(niced)},
        "off": by_arm["off"],
        "on": by_arm["on"],
        "load_after_levels": {arm: [lv["load_after"] for lv in raw[arm]] for arm in arms},
        "shadow": {"levels": shadow_levels, "total": total},
        "target": {
            "clients": TARGET_CLIENTS,
            "limit_ratio": SHADOW_P99_RATIO,
            "p99_off_ms": off_all["latency_ms"]["p99"],
            "p99_on_ms": on_all["latency_ms"]["p99"],
            "ratio": ratio,
            "round_ratios": [  # each round's on over its off: how steady the ratio is
                _ratio(a["latency_ms"]["p99"], b["latency_ms"]["p99"])
                for a, b in zip(by_arm["on"]["rounds"], by_arm["off"]["rounds"], strict=True)
            ],
            "quiet_round_ratios": [
                _ratio(a["latency_ms"]["p99"], b["latency_ms"]["p99"])
                for a, b in zip(by_arm["on"]["rounds"], by_arm["off"]["rounds"], strict=True)
                if not disturbed(a, cores) and not disturbed(b, cores)
            ],
            "errors": off_all["errors"] + on_all["errors"],
            "pass": ratio is not None
            and ratio <= SHADOW_P99_RATIO
            and off_all["errors"] + on_all["errors"] == 0,
        },
    }


def _delta(now: dict[str, float], before: dict[str, float]) -> dict[str, int]:
    return {k: round(now[k] - before.get(k, 0.0)) for k in now}


def _merged(levels: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one level as one: their requests together, their times and CPU added."""
    by_process: dict[str, float] = {}
    for lv in levels:
        for pid, cpu in lv["server_cpu_by_process"].items():
            by_process[pid] = round(by_process.get(pid, 0.0) + cpu, 3)
    added = ("wall_s", "cpu_s", "server_cpu_s", "loadgen_process_cpu_s", "other_cpu_s")
    return {
        "clients": levels[0]["clients"],
        "fields": levels[0]["fields"],
        "sent": [row for lv in levels for row in lv["sent"]],
        **{k: round(sum(float(lv[k]) for lv in levels), 4) for k in added},
        "server_cpu_by_process": by_process,
        "cut_by_time_limit": any(lv["cut_by_time_limit"] for lv in levels),
        "stuck_clients": sum(lv["stuck_clients"] for lv in levels),
    }


def stored_arms(db: Path) -> dict[str, int]:
    """Predictions in the store by arm (champion, shadow...)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT arm, COUNT(*) FROM predictions GROUP BY arm").fetchall()
    finally:
        conn.close()
    return {str(arm): int(n) for arm, n in rows}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m bench.serve",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--requests", type=int, default=1000, help="requests per level (default 1000)"
    )
    parser.add_argument("--workers", type=int, default=2, help="server processes (default 2)")
    parser.add_argument(
        "--only",
        choices=["shadow"],
        help="run only this part: shadow (its cost at 8 clients; writes serve-shadow.json/.md)",
    )
    parser.add_argument(
        "--shadow-rounds",
        type=int,
        default=SHADOW_ROUNDS,
        help=f"levels with the shadow off and on, each, interleaved (default {SHADOW_ROUNDS})",
    )
    parser.add_argument("--load-gen", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_gen:  # inside the load-generator process
        if "askwell" in sys.modules or "numpy" in sys.modules:
            parser.error("the load generator must start bare (askwell or numpy imported)")
        spec_path, out_path = args.load_gen
        result = run_load(json.loads(spec_path.read_text(encoding="utf-8")))
        out_path.write_text(json.dumps(result), encoding="utf-8")
        return 0
    if args.requests < 1 or args.workers < 1 or args.shadow_rounds < 1:
        parser.error("--requests, --workers and --shadow-rounds must be at least 1")
    from bench.latency import NEAR_2000

    load_before = os.getloadavg()
    if load_before[0] > BUSY_LOAD:
        print(f"warning: load average {load_before[0]:.2f}: the machine is busy", flush=True)
    run_at = datetime.now(UTC).isoformat(timespec="seconds")
    machine = machine_info()
    questions = payloads()
    print(f"{len(questions)} questions of 1,500-2,500 characters", flush=True)
    base: dict[str, Any] = {
        "run_at": run_at,
        "argv": sys.argv,
        "load_before": [round(x, 2) for x in load_before],
        "machine": machine,
        "workers": args.workers,
        "questions": {
            "n": len(questions),
            "drawn": DRAWN,
            "chars": list(NEAR_2000),
            "mean_chars": sum(len(q["title"]) + len(q["body"]) for q in questions) / len(questions),
        },
        "warmup_requests": WARMUP_REQUESTS,
    }
    doc: dict[str, Any]
    with _workdir() as work:
        (work / "payloads.json").write_text(json.dumps(questions), encoding="utf-8")

        def shadow() -> dict[str, Any]:
            print("the shadow's cost", flush=True)
            return measure_shadow(
                args.workers, work, args.requests, questions[0], args.shadow_rounds
            )

        if args.only == "shadow":
            doc = {"benchmark": "serve-shadow", **base, "shadow": shadow()}
            doc["load_after"] = [round(x, 2) for x in os.getloadavg()]
            doc["target"] = doc["shadow"]["target"]
            doc["notes"] = shadow_notes(doc["shadow"], machine["cpu_count"] or 1)
            write_results(args.out, "serve-shadow", doc, shadow_markdown(doc))
            return 0
        server = measure_server("askwell_serve", args.workers, work, args.requests, questions[0])
        shadow_cost = shadow()
        rows = _cycle(questions, args.requests)
        print("batch: in process", flush=True)
        batch = [time_batch(rows, BATCH_LIMIT_S)]
        print("batch: askwell score IN OUT", flush=True)
        batch.append(time_cli(rows, work, BATCH_LIMIT_S))
        if args.workers > 1:
            print(f"batch: askwell score IN OUT --workers {args.workers}", flush=True)
            batch.append(time_cli(rows, work, BATCH_LIMIT_S, args.workers))
    doc = {
        "benchmark": "serve",
        **base,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "server": server,
        "shadow": shadow_cost,
        "batch": batch,
        "ratios": {
            **{
                f"batch_in_process_over_http_{lv['clients']}_clients": _ratio(
                    batch[0]["questions_per_s"], lv["requests_per_s"]
                )
                for lv in server["levels"]
            },
            "batch_in_process_over_cli": _ratio(
                batch[0]["questions_per_s"], batch[1].get("questions_per_s")
            ),
        },
        "target": server["target"],
        "shadow_target": shadow_cost["target"],
    }
    doc["notes"] = notes(doc)
    write_results(args.out, "serve", doc, markdown(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
