"""``askwell serve``: the web editor and its API."""

from __future__ import annotations

from pathlib import Path

import typer

from askwell.cli.common import ConfigOption, console, load_settings, reports_errors


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
        help="A model bundle [the registry's champion if there is one, else the bundled model].",
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Serve the web editor at / and the API (/v1/score, /v1/feedback, /healthz, /readyz,
    /metrics; OpenAPI docs at /docs). The model is loaded once at start-up; the database
    schema is brought up to date first."""
    import uvicorn

    from askwell.serving.app import create_app

    flags = {
        "serve.host": host,
        "serve.port": port,
        "serve.workers": workers,
        "serve.database_url": database_url,
        "serve.bundle": bundle,
    }
    full = load_settings(config, **flags)
    settings = full.serve
    out = console()
    app = create_app(full)  # loads the model, migrates the store, starts scoring processes
    checks = app.state.service.readiness()
    for what, problem in (("model", checks["model"]), ("database", checks["database"])):
        if problem != "ok":  # said plainly before the server's log starts
            out.print(f"[yellow]warning ({what}):[/] {problem} (see /readyz)", highlight=False)
    shown = "localhost" if settings.host in ("127.0.0.1", "0.0.0.0") else settings.host
    out.print(
        f"askwell editor: [bold]http://{shown}:{settings.port}/[/]  "
        f"(API docs: http://{shown}:{settings.port}/docs; Ctrl+C stops)",
        highlight=False,
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
