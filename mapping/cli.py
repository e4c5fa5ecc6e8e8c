"""The `assetmap` command: thin wrappers that parse, call the library and print its report."""
from __future__ import annotations

import os
import sys

import click
from sqlalchemy import text

from mapping.config import Settings


def _settings() -> Settings:
    return Settings.from_env()


def _url() -> str:
    from mapping.embedded import EmbeddedError

    try:
        return _settings().resolved_database_url()
    except EmbeddedError as error:
        raise click.ClickException(str(error)) from error


@click.group()
def main() -> None:
    """Kirklees community asset map: database, data loading and the web server."""


@main.group()
def db() -> None:
    """Create, upgrade or downgrade the database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from mapping import db as database

    database.upgrade(_url(), revision)
    click.echo(f"database upgraded to {revision}")


@db.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Undo migrations down to REVISION ('base' removes every table)."""
    from mapping import db as database

    database.downgrade(_url(), revision)
    click.echo(f"database downgraded to {revision}")


@db.command("url")
def db_url() -> None:
    """Print the database URL in use (starting the embedded cluster if needed)."""
    click.echo(_url())


@main.command()
@click.option("--force", is_flag=True, help="Load the demo data even if places exist.")
@click.option("--seed", default=20261123, show_default=True, help="Random seed.")
def demo(force: bool, seed: int) -> None:
    """Load the generated demo data (only into an empty database unless --force)."""
    from sqlalchemy import create_engine

    from mapping import demo as demo_data

    engine = create_engine(_url())
    with engine.begin() as connection:
        has_places = connection.execute(text("SELECT EXISTS (SELECT 1 FROM places)")).scalar()
        if has_places and not force:
            click.echo("demo: the database already has places; nothing loaded (use --force)")
            return
        counts = demo_data.load(connection, seed=seed)
    engine.dispose()
    click.echo("demo: loaded " + ", ".join(f"{n} {what}" for what, n in counts.items()))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn, the production server."""
    os.environ["DATABASE_URL"] = _url()
    click.echo(f"serving on http://{host}:{port} with {workers} workers")
    args = [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{port}",
            "--workers", str(workers), "--access-logfile", "-", "mapping.wsgi:app"]
    os.execv(sys.executable, args)


@main.group()
def users() -> None:
    """Manage editors and administrators."""


@users.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(["editor", "admin"]), default="editor", show_default=True)
@click.option("--name", default=None)
@click.password_option(prompt="Password (at least 12 characters)")
def users_add(email: str, role: str, name: str | None, password: str) -> None:
    """Add a user who can sign in (the password is asked for, or read from stdin)."""
    from sqlalchemy import create_engine

    from mapping import accounts, audit

    engine = create_engine(_url())
    try:
        with engine.begin() as connection:
            user = accounts.add_user(connection, email, password, role, name)
            audit.record(connection, None, "create", "users", user.id, None,
                         audit.row_as_dict(connection, "users", "id", user.id))
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    finally:
        engine.dispose()
    click.echo(f"added {user.email} as {user.role}")


@users.command("token")
@click.argument("email")
@click.option("--name", default="API token", show_default=True, help="What the token is for.")
def users_token(email: str, name: str) -> None:
    """Make an API token for scripted imports; it is printed once and never stored."""
    from sqlalchemy import create_engine

    from mapping import accounts

    engine = create_engine(_url())
    with engine.begin() as connection:
        user_id = connection.execute(text("SELECT id FROM users WHERE email = :e"),
                                     {"e": email.strip().lower()}).scalar()
        if user_id is None:
            raise click.ClickException(f"there is no user {email}")
        token = accounts.create_token(connection, user_id, name)
    engine.dispose()
    click.echo(token)


@main.command()
def stop() -> None:
    """Stop the embedded PostgreSQL cluster under var/."""
    from mapping import embedded

    settings = _settings()
    if embedded.stop(settings.var_dir):
        click.echo("embedded database stopped")
    else:
        click.echo("embedded database was not running")


if __name__ == "__main__":
    main()
