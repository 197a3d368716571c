"""``askwell serve``: the web editor and its API."""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from pathlib import Path

import typer

from askwell.cli.common import ConfigOption, console, load_settings, reports_errors
from askwell.config import ENV_CONFIG, ENV_PREFIX
from askwell.errors import InputError


@reports_errors
def serve_command(
    host: str | None = typer.Option(None, "--host", help="Address to listen on [127.0.0.1]."),
    port: int | None = typer.Option(None, "--port", help="Port [8000]."),
    workers: int | None = typer.Option(None, "--workers", help="Server processes [1]."),
    database_url: str | None = typer.Option(
        None,
        "--database-url",
        help="The store: sqlite:///PATH [sqlite:///var/askwell.db] or "
        "postgresql+psycopg://USER:PASSWORD@HOST/DB.",
    ),
    bundle: Path | None = typer.Option(
        None,
        "--bundle",
        help="A model bundle [the registry's champion if there is one, else the bundled model].",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Serve the web editor at / and the API (/v1/score, /v1/feedback, /healthz, /readyz,
    /metrics; OpenAPI docs at /docs). The model is loaded once at start-up; the database
    schema is brought up to date first."""
    import uvicorn

    from askwell.serving.metrics import MULTIPROC_ENV
    from askwell.store.db import StoreError, make_engine, migrate

    flags = {
        "serve.host": host,
        "serve.port": port,
        "serve.workers": workers,
        "serve.database_url": database_url,
        "serve.bundle": bundle,
    }
    settings = load_settings(config, **flags).serve
    out = console()
    try:  # once, here, so that server processes do not race to build the schema
        migrate(make_engine(settings.database_url))
    except StoreError as exc:
        out.print(
            f"[yellow]warning:[/] {exc}; scores are served but not stored until it is "
            "reachable (see /readyz)",
            highlight=False,
        )
    # Server processes build the app from the settings: hand them the same ones.
    if config is not None:
        os.environ[ENV_CONFIG] = str(config.resolve())
    for dotted, value in flags.items():
        if value is not None:
            os.environ[ENV_PREFIX + dotted.replace(".", "__").upper()] = str(value)
    if settings.workers > 1 and not os.environ.get(MULTIPROC_ENV):
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="askwell-metrics-")
    shown = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host
    out.print(
        f"askwell editor: [bold]http://{shown}:{settings.port}/[/]  "
        f"(API docs: http://{shown}:{settings.port}/docs; Ctrl+C stops)",
        highlight=False,
    )
    app = "askwell.serving.app:create_app"
    if settings.workers == 1:
        uvicorn.run(app, factory=True, host=settings.host, port=settings.port, log_level="info")
        return
    from uvicorn.supervisors import Multiprocess

    server = uvicorn.Config(
        app,
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level="info",
    )
    with contextlib.suppress(KeyboardInterrupt):
        Multiprocess(server, sockets=[_listener(settings.host, settings.port)]).run()


def _listener(host: str, port: int) -> socket.socket:
    """The socket the server processes share. uvicorn binds it with protocol 0, and asyncio
    turns on TCP_NODELAY only for sockets that say IPPROTO_TCP: every keep-alive answer then
    waits ~40 ms for the client's delayed ACK (uvicorn issue 3149). Bound here, with it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(True)
    return sock
