"""The body of ``medrules serve`` (cli.py keeps only a thin wrapper)."""
from __future__ import annotations

import os
from pathlib import Path

import typer

DEFAULT_INSTANCE = Path("instance")


def create_clerk(instance: Path, name: str, password: str | None = None) -> None:
    from medrules.service.access import Accounts
    instance.mkdir(parents=True, exist_ok=True)
    if password is None:
        password = os.environ.get("MEDRULES_CLERK_PASSWORD") or typer.prompt(
            f"password for clerk '{name}'", hide_input=True, confirmation_prompt=True)
    try:
        Accounts(instance / "service.sqlite").add_clerk(name, password)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"clerk '{name}' can sign in (accounts in {instance / 'service.sqlite'})")


def serve(host: str, port: int, instance: Path, rulebooks: Path | None, clerk: str | None,
          ledger: str | None = None) -> None:
    if clerk:
        create_clerk(instance, clerk)
        return
    import uvicorn

    from medrules.diagnostics import MedrulesError
    from medrules.service.app import create_app
    try:
        app = create_app(instance, rulebooks, ledger)
    except MedrulesError as exc:
        for d in exc.diagnostics:
            typer.echo(f"{d.span + ': ' if d.span else ''}error[{d.code}]: {d.message}"
                       + (f"\n  hint: {d.hint}" if d.hint else ""), err=True)
        raise typer.Exit(1) from None
    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.echo("note: serving beyond this machine; put it behind HTTPS (sessions are cookies)", err=True)
    typer.echo(f"medrules service on http://{host}:{port}/ (API docs at /docs); instance {instance}", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
