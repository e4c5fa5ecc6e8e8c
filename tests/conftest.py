"""Fixtures: one real PostGIS database for the session, built by running the migrations;
`app`, `client`, `runner`, a live gunicorn-free server thread for browsers and GDAL; the
real data in ../shared.

Two ways a test gets a clean database:

- `connection` / `demo_connection`: one engine connection inside a transaction that is
  rolled back when the test ends (as Warehouse's conftest does). A rollback costs under a
  millisecond; emptying every table costs about 90 ms, and `db` does it twice. Use these
  when everything the test reads and writes goes through that one connection: SQL run
  directly, the layer SQL builders, `layers.profiles`, `importers.demo.load`. Code under
  test may open savepoints (`connection.begin_nested()`); an expected error belongs in one,
  `with pytest.raises(...), connection.begin_nested():`, so the transaction stays usable.
  Nothing is ever committed, so: ids are not restarted (sequences ignore rollbacks; assert
  on ids the test got back, never on 1, 2, 3), `now()` is one instant for the whole test,
  and a commit (or anything deferred to one) never happens. An ORM session would join with
  `Session(bind=connection, join_transaction_mode="create_savepoint")`.
- `db` / `demo_data`: every table emptied with TRUNCATE before and after the test, and the
  data committed. Use these whenever anything opens connections of its own and so would
  not see uncommitted rows: the app (`app`, `client`, `live_server`), the CLI (`runner`),
  the importers and anything else given an engine, pg_dump, a second session taking locks.
"""
from __future__ import annotations

import os
import socket
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from mapping import create_app
from mapping.core import db as database
from mapping.core.config import PROJECT_ROOT, Settings

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts"

# Tables that hold configuration rather than data, kept between tests.
# initiatives: the council's programmes, written by migration 0008 (tests leave them be).
KEPT_TABLES = ("alembic_version", "spatial_ref_sys", "data_version", "initiatives")
# Fixtures that need a running server: PostgreSQL, the app over HTTP, or Chromium.
SERVER_FIXTURES = {"database_url", "engine", "live_server", "browser", "cluster_dir", "own_cluster",
                   "primary_and_replica", "fresh_database"}


def pytest_collection_modifyitems(items):
    """Mark `fast` every test that needs no server and installs nothing: `make test-fast`
    runs them, in seconds, on a machine without PostgreSQL."""
    for item in items:
        if (SERVER_FIXTURES.isdisjoint(getattr(item, "fixturenames", ()))
                and not item.get_closest_marker("browser")
                and not item.get_closest_marker("install")):
            item.add_marker(pytest.mark.fast)


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


def _data_tables(connection) -> list[str]:
    """Every table the migrations made but those in KEPT_TABLES, quoted."""
    return connection.execute(text(
        "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
        "AND tablename <> ALL(:kept)"), {"kept": list(KEPT_TABLES)}).scalars().all()


def empty_tables(engine) -> None:
    """Empty every table the migrations made (a new table needs no change here)."""
    with engine.begin() as connection:
        connection.execute(text("TRUNCATE " + ", ".join(_data_tables(connection))
                                + " RESTART IDENTITY CASCADE"))


def _has_rows(connection) -> bool:
    return connection.execute(text("SELECT " + " OR ".join(
        f"EXISTS (SELECT FROM {table})" for table in _data_tables(connection)))).scalar()


@pytest.fixture
def db(engine):
    """A clean database for one test: tables are emptied after it, whatever it wrote."""
    empty_tables(engine)
    yield engine
    empty_tables(engine)


@contextmanager
def rolled_back(engine):
    """One connection in a transaction that is rolled back at the end; rows left committed
    by a test that wrote without `db` are emptied first, so it starts from the empty tables
    `db` gives. A commit on it is an error: the tables are emptied and the test fails."""
    commits = []
    with engine.connect() as connection:
        leftovers = _has_rows(connection)
        connection.rollback()
        if leftovers:
            empty_tables(engine)
        event.listen(connection, "commit", commits.append)
        connection.begin()
        try:
            yield connection
        finally:
            connection.rollback()
            if commits:
                empty_tables(engine)
    if commits:
        pytest.fail("the test committed the `connection` fixture's transaction, so its writes "
                    "outlived it (the tables are emptied now): use `db`, or a savepoint")


@pytest.fixture
def connection(engine):
    """A clean database seen through one connection, in a transaction rolled back after
    the test: whatever it wrote is gone without a TRUNCATE (see the module docstring for
    when this fits)."""
    with rolled_back(engine) as connection:
        yield connection


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


SNAPSHOT = "demo_snapshot"


@pytest.fixture(scope="session")
def _demo_snapshot(engine):
    """The demo data loaded once per session and copied, table by table, into a schema of
    its own; None when the role cannot restore it (not a superuser: see `demo_data`)."""
    from importers import demo

    empty_tables(engine)
    with engine.begin() as connection:
        counts = demo.load(connection)
        if not connection.execute(text("SELECT rolsuper FROM pg_roles "
                                        "WHERE rolname = current_user")).scalar():
            snapshot = None
        else:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {SNAPSHOT} CASCADE; "
                                    f"CREATE SCHEMA {SNAPSHOT}"))
            tables = {}
            for table, columns in connection.execute(text("""
                    SELECT quote_ident(c.relname), string_agg(quote_ident(a.attname), ', '
                                                              ORDER BY a.attnum)
                      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                      JOIN pg_attribute a ON a.attrelid = c.oid
                     WHERE n.nspname = 'public' AND c.relkind = 'r'
                       AND c.relname <> ALL(:kept) AND a.attnum > 0 AND NOT a.attisdropped
                       AND a.attgenerated = ''
                     GROUP BY c.relname"""), {"kept": list(KEPT_TABLES)}):
                connection.execute(text(f"CREATE TABLE {SNAPSHOT}.{table} AS "
                                        f"SELECT {columns} FROM public.{table}"))
                tables[table] = columns
            sequences = connection.execute(text(
                "SELECT quote_ident(sequencename), last_value FROM pg_sequences "
                "WHERE schemaname = 'public'")).all()
            snapshot = (tables, sequences)
    empty_tables(engine)
    return counts, snapshot


def _restore_demo(connection, snapshot) -> None:
    """Copy the session's snapshot into the empty tables, in the caller's transaction.
    Triggers are off while it is copied, since every derived row (area parts, public
    locations) is in the copy, and on again afterwards: SET LOCAL lasts until the
    transaction ends, which for `demo_connection` is the end of the test."""
    tables, sequences = snapshot
    connection.execute(text("SET LOCAL session_replication_role = replica"))
    for table, columns in tables.items():
        connection.execute(text(f"INSERT INTO public.{table} ({columns}) "
                                f"OVERRIDING SYSTEM VALUE SELECT {columns} FROM {SNAPSHOT}.{table}"))
    for sequence, last_value in sequences:
        connection.execute(text("SELECT setval(:sequence, :value, :called)"), {
            "sequence": sequence, "value": last_value or 1,
            "called": last_value is not None})
    connection.execute(text("SET LOCAL session_replication_role = DEFAULT"))
    connection.execute(text("UPDATE data_version SET version = version + 1, "
                            "changed_at = clock_timestamp()"))


@pytest.fixture
def demo_data(db, _demo_snapshot):
    """The demo data (the real district from data/ and the generated places), as
    `demo.load` leaves it: the same rows, ids and sequences, copied back from the
    session's snapshot in a fraction of the time a load takes, and committed."""
    counts, snapshot = _demo_snapshot
    if snapshot is None:
        from importers import demo

        with db.begin() as connection:
            return demo.load(connection)
    with db.begin() as connection:
        _restore_demo(connection, snapshot)
    return dict(counts)


@pytest.fixture
def demo_connection(_demo_snapshot, connection):
    """`connection` with the demo data (as `demo_data` gives it) copied in inside its
    transaction, so the rollback at the end takes it away again."""
    _, snapshot = _demo_snapshot
    if snapshot is None:
        from importers import demo

        demo.load(connection)
    else:
        _restore_demo(connection, snapshot)
    return connection


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
