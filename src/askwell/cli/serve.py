"""``askwell serve``: the web editor and its API."""

from __future__ import annotations

import errno
import socket
from pathlib import Path

import typer

from askwell.cli.common import (
    BUNDLE_TRUST,
    ConfigOption,
    console,
    load_settings,
    reports_errors,
)
from askwell.errors import ConfigError


@reports_errors
def serve_command(
    host: str | None = typer.Option(None, "--host", help="Address to listen on [127.0.0.1]."),
    port: int | None = typer.Option(None, "--port", help="Port [8000]."),
    workers: int | None = typer.Option(
        None,
        "--workers",
        help="Scoring processes, fed by one HTTP process (0: one per CPU core) [1].",
    ),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="The store: sqlite:///PATH [sqlite:///var/askwell.db] or "
        "postgresql+psycopg://USER:PASSWORD@HOST/DB.",
    ),
    bundle: Path | None = typer.Option(
        None,
        "--bundle",
        help="A model bundle [the registry's champion if there is one, else the bundled "
        f"model]. {BUNDLE_TRUST}",
    ),
    challenger: Path | None = typer.Option(
        None,
        "--challenger",
        help="A challenger bundle for --mode shadow or canary [the registry's 'challenger' "
        f"alias]. {BUNDLE_TRUST}",
    ),
    mode: str | None = typer.Option(
        None,
        "--mode",
        help="off | shadow (the challenger scores each request off the request path, logged, "
        "never shown) | canary (it answers serve.canary_share of editor sessions) [off].",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Serve the web editor at / and the API (/v1/score, /v1/feedback, /healthz, /readyz,
    /metrics; OpenAPI docs at /docs). The model is loaded at start-up, and a promotion or a
    rollback in the registry is followed while it runs (serve.registry_poll_s, or POST
    /admin/reload with the admin token); the database schema is brought up to date first."""
    import uvicorn

    from askwell.serving.app import create_app

    flags = {
        "serve.host": host,
        "serve.port": port,
        "serve.workers": workers,
        "serve.database_url": database_url,
        "serve.bundle": bundle,
        "serve.challenger": challenger,
        "serve.mode": mode,
    }
    full = load_settings(config, **flags)
    settings = full.serve
    # The address first: a port in use is said in one line before the model loads, and the
    # server is handed this very socket, so no other process can take it in between.
    with _listen(settings.host, settings.port) as listener:
        bound = listener.getsockname()[1]  # the port given, or the one chosen for 0
        out = console()
        app = create_app(full)  # loads the model, migrates the store, starts scoring processes
        checks = app.state.service.readiness()
        for what, problem in (("model", checks["model"]), ("database", checks["database"])):
            if problem != "ok":  # said plainly before the server's log starts
                out.print(f"[yellow]warning ({what}):[/] {problem} (see /readyz)", highlight=False)
        shown = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host
        out.print(
            f"askwell editor: [bold]http://{shown}:{bound}/[/]  "
            f"(API docs: http://{shown}:{bound}/docs; Ctrl+C stops)",
            highlight=False,
        )
        uv_config = uvicorn.Config(app, host=settings.host, port=bound, log_level="info")
        uvicorn.Server(uv_config).run(sockets=[listener])


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` as uvicorn binds one (IPv6 when the host has a
    colon; ``SO_REUSEADDR``, so a port left in TIME_WAIT is free), or a ConfigError saying
    in one line why it cannot be."""
    ipv6 = ":" in host
    where = f"[{host}]:{port}" if ipv6 else f"{host}:{port}"
    sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except (OSError, UnicodeError) as exc:
        sock.close()
        code = exc.errno if isinstance(exc, OSError) else None
        if code == errno.EADDRINUSE:
            why = "the port is in use (is askwell serve already running?); choose another --port"
        elif code == errno.EACCES:
            why = "permission denied (ports below 1024 need privileges); choose another --port"
        elif code == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror | UnicodeError):
            why = "not an address of this machine; check --host"
        else:
            why = (exc.strerror if isinstance(exc, OSError) else None) or str(exc)
        raise ConfigError(f"cannot listen on {where}: {why}") from None
    return sock
