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
