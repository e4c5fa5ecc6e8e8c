"""The embedded cluster: created under a var/ directory, run as an unprivileged user,
started on demand, stopped, and restarted with its data intact."""
import os
import subprocess

import psycopg
import pytest

from mapping.core import embedded
from tests.conftest import free_port


def owner_of_postmaster(pgdata) -> str:
    pid = subprocess.run(["sh", "-c", f"head -1 '{pgdata}/postmaster.pid'"], capture_output=True,
                         text=True, check=False).stdout.strip()
    return subprocess.run(["ps", "-o", "user=", "-p", pid], capture_output=True,
                          text=True, check=False).stdout.strip()


@pytest.fixture
def cluster_dir(tmp_path):
    os.chmod(tmp_path, 0o755)  # the postgres user must be able to reach it when we are root
    var_dir = tmp_path / "var"
    yield var_dir
    embedded.destroy(var_dir)


def test_cluster_starts_on_demand_as_an_unprivileged_user_and_stops(cluster_dir):
    port = free_port()
    url = embedded.ensure_running(cluster_dir, port)
    assert url.endswith(f"127.0.0.1:{port}/assetmap")
    expected = "postgres" if os.geteuid() == 0 else subprocess.run(
        ["id", "-un"], capture_output=True, text=True, check=False).stdout.strip()
    assert owner_of_postmaster(embedded.data_dir(cluster_dir)) == expected

    connection = psycopg.connect(host="127.0.0.1", port=port, user="assetmap", dbname="assetmap",
                                 autocommit=True)
    with connection.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        cur.execute("CREATE TABLE kept (x int)")
        cur.execute("INSERT INTO kept VALUES (7)")
    connection.close()

    assert embedded.stop(cluster_dir) is True
    assert embedded.is_running(cluster_dir) is False
    assert embedded.stop(cluster_dir) is False
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(host="127.0.0.1", port=port, user="assetmap", dbname="assetmap",
                        connect_timeout=2)

    # Started again, on demand, with its data.
    embedded.ensure_running(cluster_dir, port)
    connection = psycopg.connect(host="127.0.0.1", port=port, user="assetmap", dbname="assetmap")
    with connection.cursor() as cur:
        cur.execute("SELECT x FROM kept")
        assert cur.fetchone() == (7,)
        cur.execute("SELECT postgis_lib_version()")
        assert cur.fetchone()[0].startswith("3.")
    connection.close()


def test_cluster_listens_on_loopback_only(cluster_dir):
    port = free_port()
    embedded.ensure_running(cluster_dir, port)
    connection = psycopg.connect(host="127.0.0.1", port=port, user="assetmap", dbname="assetmap")
    with connection.cursor() as cur:
        cur.execute("SHOW listen_addresses")
        assert cur.fetchone() == ("127.0.0.1",)
    connection.close()
