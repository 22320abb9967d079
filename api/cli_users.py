"""`vigil user ...`: add users, list them, make API tokens (registered into the main CLI)."""
from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Optional

import typer

user_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
ConfigOpt = typer.Option(None, "--config", "-c", help="config file (default: $VIGIL_CONFIG or config/vigil.example.yaml)")


def _services(config: Optional[Path]):
    from api.cli import open_services

    return open_services(config)


@user_app.command("add")
def add(name: str = typer.Argument(..., help="user name"),
        role: str = typer.Option(..., "--role", help="operator | reviewer | officer | data_staff | admin"),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from stdin"),
        config: Optional[Path] = ConfigOpt) -> None:
    """Add a user; the password is read from stdin or asked for (never a command-line argument)."""
    from api.auth.roles import check_role
    from api.auth.users import create_user
    from vigil.audit import record

    try:
        check_role(role)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--role") from None
    password = sys.stdin.readline().rstrip("\n") if password_stdin else getpass.getpass(f"password for {name}: ")
    services = _services(config)
    try:
        create_user(services.sessions, name, role, password)
    except ValueError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2)
    record(services.sessions, "cli", "user_created", "user", name, {"role": role})
    typer.echo(f"user {name} added with role {role}")


@user_app.command("list")
def list_users(config: Optional[Path] = ConfigOpt) -> None:
    """Every user with role and whether active."""
    from sqlalchemy import select

    from vigil.db.models import User

    services = _services(config)
    with services.sessions() as s:
        for u in s.scalars(select(User).order_by(User.username)):
            typer.echo(f"{u.username}\t{u.role}\t{'active' if u.active else 'inactive'}")


@user_app.command("token")
def token(name: str = typer.Argument(..., help="user name"), label: str = typer.Option("script", help="token name"),
          config: Optional[Path] = ConfigOpt) -> None:
    """Make a bearer token for NAME (printed once; only its hash is stored)."""
    from sqlalchemy import select

    from api.auth.users import issue_token
    from vigil.audit import record
    from vigil.db.models import User

    services = _services(config)
    with services.sessions() as s:
        user_id = s.scalar(select(User.id).where(User.username == name))
    if user_id is None:
        typer.echo(f"error: no user {name!r}", err=True)
        raise typer.Exit(2)
    issued = issue_token(services.sessions, user_id, label)
    record(services.sessions, "cli", "token_created", "token", str(issued.id), {"owner": name, "name": label[:100]})
    typer.echo(issued.token)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
