"""What `vigil serve` / `vigil demo` tell the person who started them: the URL, first admin, store notes."""
from __future__ import annotations

import typer

from api.context import Services


def announce(services: Services, host: str, port: int) -> None:
    """Print, once, what the person starting the service needs to know."""
    note = getattr(services.store, "retention_note", "")
    typer.echo(f"evidence store: {services.store.describe()}" + (f" ({note})" if note else ""))
    typer.echo(f"Vigil is starting: open http://{host}:{port}/  (API docs at /docs)")
