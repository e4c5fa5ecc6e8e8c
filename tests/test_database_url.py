"""DATABASE_URL as people paste it: postgresql://, postgres:// (Heroku's) and the older
postgresql+psycopg2:// all connect through psycopg 3; anything else is refused in one line."""
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mapping import create_app
from mapping.core import db as database
from mapping.core.config import DatabaseUrlError, database_url
from tests.conftest import _server_url

ASSETMAP = str(Path(sys.executable).parent / "assetmap")
PASTED_FORMS = ("postgresql://", "postgres://", "postgresql+psycopg2://", "postgresql+psycopg://")
REFUSED = ("mysql://assetmap:s3cret@db.internal/assetmap", "sqlite:///var/assetmap.db",
           "garbage", "postgresql://assetmap@db.internal:notaport/assetmap")


def assetmap(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([ASSETMAP, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def fresh_database():
    """An empty database of its own on the test server, as a driverless URL tail."""
    name = (os.environ.get("ASSETMAP_TEST_DB") or "assetmap_test_main") + "_url"
    url = make_url(_server_url()).set(database=name)
    database.recreate_database(url.render_as_string(hide_password=False))
    yield url.set(drivername="postgresql").render_as_string(hide_password=False).split("://", 1)[1]
    admin = psycopg.connect(url.set(drivername="postgresql", database="postgres")
                            .render_as_string(hide_password=False), autocommit=True)
    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.mark.parametrize("scheme", PASTED_FORMS)
def test_every_postgresql_form_is_read_with_psycopg_3(scheme):
    assert database_url(f"{scheme}assetmap:p%40ss@db.internal:5432/assetmap?sslmode=require") == (
        "postgresql+psycopg://assetmap:p%40ss@db.internal:5432/assetmap?sslmode=require")


def test_pasted_urls_migrate_and_connect_from_the_cli(fresh_database):
    for scheme in PASTED_FORMS:
        shown = assetmap("db", "url", url=scheme + fresh_database)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.strip() == "postgresql+psycopg://" + fresh_database
    upgraded = assetmap("db", "upgrade", url="postgresql://" + fresh_database)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "database upgraded to head" in upgraded.stdout
    # Heroku's form, as the app itself reads it.
    app = create_app({"database_url": "postgres://" + fresh_database})
    with app.test_client() as client:
        health = client.get("/healthz").get_json()
    app.extensions["assetmap.engine"].dispose()
    assert health["migration"] == database.head_revision()


@pytest.mark.parametrize("url", REFUSED)
@pytest.mark.parametrize("command", [("db", "url"), ("db", "upgrade"), ("serve",)])
def test_an_unsupported_url_is_one_line_from_the_cli(command, url):
    result = assetmap(*command, url=url)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DATABASE_URL" in lines[0] and "postgresql://" in lines[0]
    assert "s3cret" not in result.stderr


def test_an_unsupported_url_stops_the_app_before_it_serves():
    with pytest.raises(DatabaseUrlError, match="names mysql://") as raised:
        create_app({"database_url": REFUSED[0]})
    assert "\n" not in str(raised.value) and "s3cret" not in str(raised.value)


def test_the_replica_url_is_checked_and_named_too(database_url):
    with pytest.raises(DatabaseUrlError, match="DATABASE_REPLICA_URL"):
        create_app({"database_url": database_url, "database_replica_url": "sqlite:///x"})


def test_bound_values_mean_what_the_same_sql_literals_mean(engine):
    with engine.connect() as connection:
        row = connection.execute(text(
            "SELECT count(*), pg_typeof(:n)::text, pg_typeof(:big)::text "
            "FROM generate_series(-:n, :n)"), {"n": 3, "big": 2**40}).one()
    assert tuple(row) == (7, "integer", "bigint")
