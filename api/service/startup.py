"""What `vigil serve` / `vigil demo` tell the person who started them: the URL, first admin, store notes."""
from __future__ import annotations

import typer
from sqlalchemy import func, select

from api.context import Services
from vigil.db.models import User


def announce(services: Services, host: str, port: int) -> None:
    """Print, once, what the person starting the service needs to know."""
    ensure_first_admin(services)
    note = getattr(services.store, "retention_note", "")
    typer.echo(f"evidence store: {services.store.describe()}" + (f" ({note})" if note else ""))
    typer.echo(f"Vigil is starting: open http://{host}:{port}/  (API docs at /docs)")


def ensure_first_admin(services: Services) -> None:
    """On first start (no users yet) create the admin from settings; a generated password is printed once."""
    from api.auth.users import ensure_first_admin as create

    settings = services.settings
    with services.sessions() as s:
        first_start = not s.scalar(select(func.count(User.id)))
    generated = create(services.sessions, settings.admin_user, settings.admin_password)
    if generated:
        typer.echo(f"first admin created: user {settings.admin_user!r}, password {generated}  "
                   f"(shown once; change it after signing in)")
    elif first_start:
        typer.echo(f"first admin created: user {settings.admin_user!r}, password from VIGIL_ADMIN_PASSWORD")
