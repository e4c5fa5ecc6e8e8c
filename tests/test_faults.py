"""Faults: a locked table gives fast 503s and full service once released; a database
that goes away and comes back is served again without restarting the app."""
import os
import threading
import time

import pytest
from sqlalchemy import text

from mapping import create_app
from mapping.core import db as database
from mapping.core import embedded
from tests.conftest import free_port


def test_a_locked_table_gives_fast_503s_then_recovers(database_url, engine, db):
    app = create_app({"database_url": database_url, "lock_timeout_ms": 300})
    client = app.test_client()
    assert client.get("/").status_code == 200

    locker = engine.connect()
    transaction = locker.begin()
    locker.execute(text("LOCK TABLE places IN ACCESS EXCLUSIVE MODE"))
    try:
        started = time.monotonic()
        response = client.get("/", headers={"Accept": "application/json"})
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert response.headers["Retry-After"]
        assert elapsed < 5  # lock_timeout, not the statement timeout
    finally:
        transaction.rollback()
        locker.close()
    assert client.get("/").status_code == 200


@pytest.fixture
def own_cluster(tmp_path):
    os.chmod(tmp_path, 0o755)
    port = free_port()
    url = embedded.ensure_running(tmp_path / "var", port)
    database.upgrade(url)
    yield tmp_path / "var", url
    embedded.destroy(tmp_path / "var")


def test_a_database_restart_gives_503s_then_full_service_without_an_app_restart(own_cluster):
    var_dir, url = own_cluster
    app = create_app({"database_url": url})
    statuses = []
    stop = threading.Event()

    def traffic():
        client = app.test_client()
        while not stop.is_set():
            path = "/healthz" if len(statuses) % 2 else "/"
            statuses.append((time.monotonic(), client.get(path).status_code))
            time.sleep(0.02)

    worker = threading.Thread(target=traffic)
    worker.start()
    time.sleep(0.5)
    down_at = time.monotonic()
    embedded.stop(var_dir)
    time.sleep(1.0)
    embedded.ensure_running(var_dir, int(url.rsplit(":", 1)[1].split("/")[0]))
    up_at = time.monotonic()
    time.sleep(2.0)
    stop.set()
    worker.join()

    assert {code for _, code in statuses} <= {200, 503}
    before = [code for at, code in statuses if at < down_at]
    after = [code for at, code in statuses if at > up_at + 1.0]
    assert before and set(before) == {200}
    assert any(code == 503 for _, code in statuses)
    assert after and set(after) == {200}
