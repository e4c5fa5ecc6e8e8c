"""Fixtures: one real PostGIS database for the session, built by running the migrations;
each test that writes gets the tables emptied afterwards; `app`, `client`, `runner`,
a live gunicorn-free server thread for browsers and GDAL; the real data in ../shared."""
from __future__ import annotations

import os
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from mapping import create_app
from mapping import db as database
from mapping.config import PROJECT_ROOT, Settings

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"

# Tables that hold configuration rather than data, kept between tests.
KEPT_TABLES = ("alembic_version", "spatial_ref_sys", "data_version")


def shared_data(relative: str) -> Path:
    """A real data file from ../shared/data; fails loudly when it is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.fail(f"real data file {path} is missing: the tests need ../shared/data beside "
                    f"the repository (see README.md)")
    return path


def _server_url() -> str:
    """The server the test database lives on: TEST_DATABASE_URL, DATABASE_URL or embedded."""
    explicit = os.environ.get("TEST_DATABASE_URL")
    if explicit:
        return explicit
    return Settings.from_env().resolved_database_url()


def _test_database_url() -> str:
    if os.environ.get("TEST_DATABASE_URL"):
        return os.environ["TEST_DATABASE_URL"]
    url = make_url(_server_url())
    # ASSETMAP_TEST_DB lets two test runs share one server without dropping each other's data.
    name = os.environ.get("ASSETMAP_TEST_DB") or "assetmap_test_" + os.environ.get(
        "PYTEST_XDIST_WORKER", "main")
    return url.set(database=name).render_as_string(hide_password=False)


_recreate = database.recreate_database


@pytest.fixture(scope="session")
def database_url() -> str:
    url = _test_database_url()
    if not os.environ.get("TEST_DATABASE_URL"):
        _recreate(url)
    database.upgrade(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url):
    engine = create_engine(database_url, pool_pre_ping=True)
    yield engine
    engine.dispose()


def empty_tables(engine) -> None:
    """Empty every table the migrations made (a new table needs no change here)."""
    with engine.begin() as connection:
        tables = connection.execute(text(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> ALL(:kept)"), {"kept": list(KEPT_TABLES)}).scalars().all()
        connection.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(engine):
    """A clean database for one test: tables are emptied after it, whatever it wrote."""
    empty_tables(engine)
    yield engine
    empty_tables(engine)


@pytest.fixture
def app(database_url, db):
    app = create_app({"database_url": database_url, "TESTING": True})
    yield app
    for key in ("assetmap.engine", "assetmap.read_engine"):
        app.extensions[key].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(database_url, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setenv("DATABASE_URL", database_url)
    return CliRunner()


@pytest.fixture
def demo_data(db):
    """The generated demo data, loaded once for the test."""
    from mapping import demo

    with db.begin() as connection:
        counts = demo.load(connection)
    return counts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free port, for browsers and GDAL/OWSLib."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def with_database(url: str, name: str) -> str:
    """The same server as `url`, another database name."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))
