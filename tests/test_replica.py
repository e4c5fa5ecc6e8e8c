"""DATABASE_REPLICA_URL: with a second local cluster streaming from the first, reads go to
the replica and writes to the primary."""
import os
import shutil
import time

import pytest
from sqlalchemy import create_engine, text

from mapping import create_app
from mapping.core import db as database
from mapping.core import embedded
from tests.conftest import free_port


@pytest.fixture(scope="module")
def primary_and_replica(tmp_path_factory):
    root = tmp_path_factory.mktemp("replication")
    os.chmod(root, 0o755)
    primary_port, replica_port = free_port(), free_port()
    primary = embedded.ensure_running(root / "primary", primary_port)
    try:
        database.upgrade(primary)
        replica = embedded.start_replica(primary_port, root / "replica", replica_port)
        yield primary, replica
    finally:
        embedded.stop_directory(root / "replica")
        embedded.destroy(root / "primary")
        shutil.rmtree((root / "replica").resolve(), ignore_errors=True)


def wait_for(predicate, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def test_reads_go_to_the_replica_and_writes_to_the_primary(primary_and_replica):
    primary, replica = primary_and_replica
    app = create_app({"database_url": primary, "database_replica_url": replica})
    with app.app_context():
        with database.read_engine().connect() as connection:
            assert connection.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
        with database.engine().connect() as connection:
            assert connection.execute(text("SELECT pg_is_in_recovery()")).scalar() is False

    writer = create_engine(primary)
    with writer.begin() as connection:
        connection.execute(text(
            "INSERT INTO places (kind, source, source_id, name, geom) VALUES ('hub', 'test', '1', "
            "'Replicated Hub', ST_SetSRID(ST_MakePoint(-1.78, 53.64), 4326))"))
    writer.dispose()

    client = app.test_client()
    assert wait_for(lambda: b"Replicated Hub" in client.get("/").data)
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_the_replica_refuses_writes(primary_and_replica):
    _, replica = primary_and_replica
    engine = create_engine(replica)
    with pytest.raises(Exception, match="read-only"), engine.begin() as connection:
        connection.execute(text("CREATE TABLE nope (x int)"))
    engine.dispose()
