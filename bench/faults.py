"""Figures for docs/reliability.md: what the app does while its database restarts, while
a table is locked, and when an import is killed half-way. Each scenario runs on a
throwaway cluster and prints one JSON line.

    python -m bench.faults
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench import data
from mapping import create_app
from mapping.core import db as database
from mapping.core import embedded


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def restart_under_traffic(var_dir: Path, url: str, port: int) -> dict:
    """Eight client threads request the map page and a feed while PostgreSQL restarts."""
    app = create_app({"database_url": url, "rate_limit_search": "1000000 per second"})
    log: list[tuple[float, int]] = []
    stop = threading.Event()

    def client():
        session = app.test_client()
        paths = ["/", "/ogc/collections/places/items?limit=50", "/healthz"]
        n = 0
        while not stop.is_set():
            response = session.get(paths[n % 3])
            log.append((time.monotonic(), response.status_code))
            n += 1

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(2)
    down = time.monotonic()
    embedded.stop(var_dir)
    time.sleep(2)
    embedded.ensure_running(var_dir, port)
    up = time.monotonic()
    time.sleep(4)
    stop.set()
    for thread in threads:
        thread.join()
    codes = {code for _, code in log}
    errors = [(at, code) for at, code in log if code != 200]
    recovered = max((at for at, code in log if code != 200), default=up)
    return {
        "scenario": "database restart under traffic", "requests": len(log),
        "statuses": sorted(codes), "non_200": len(errors),
        "non_200_outside_window": sum(1 for at, _ in errors if at < down or at > up + 2),
        "database_down_s": round(up - down, 2),
        "full_service_after_restart_s": round(max(0.0, recovered - up), 2),
    }


def locked_table(url: str) -> dict:
    app = create_app({"database_url": url, "lock_timeout_ms": 1000})
    client = app.test_client()
    engine = create_engine(url)
    locker = engine.connect()
    transaction = locker.begin()
    locker.execute(text("LOCK TABLE places IN ACCESS EXCLUSIVE MODE"))
    timings = []
    for _ in range(5):
        started = time.monotonic()
        status = client.get("/ogc/collections/places/items?limit=10").status_code
        timings.append((status, round(time.monotonic() - started, 2)))
    transaction.rollback()
    locker.close()
    after = client.get("/ogc/collections/places/items?limit=10").status_code
    engine.dispose()
    return {"scenario": "table locked by another session", "while_locked": timings,
            "after_release": after}


def killed_import(url: str, workdir: Path) -> dict:
    csv_path = data.write_csv(workdir / "kill-100000.csv", 100_000)
    command = [str(Path(sys.executable).parent / "assetmap"), "import", "assets", str(csv_path),
               "--source", "killed"]
    env = {**os.environ, "DATABASE_URL": url}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    time.sleep(3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    engine = create_engine(url)
    with engine.connect() as connection:
        after_kill = connection.execute(text(
            "SELECT count(*) FROM places WHERE source = 'killed'")).scalar()
    rerun = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    with engine.connect() as connection:
        after_rerun = connection.execute(text(
            "SELECT count(*) FROM places WHERE source = 'killed'")).scalar()
        committed = connection.execute(text(
            "SELECT count(*) FROM import_runs WHERE source = 'killed' AND status = 'committed'"
        )).scalar()
    engine.dispose()
    return {"scenario": "import killed after 3 s (SIGKILL), then run again",
            "places_after_kill": after_kill, "rerun_exit": rerun.returncode,
            "places_after_rerun": after_rerun, "committed_runs": committed}


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="assetmap-faults-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    var_dir = root / "var"
    port = _free_port()
    url = embedded.ensure_running(var_dir, port)
    try:
        database.upgrade(url)
        engine = create_engine(url)
        from importers import demo

        with engine.begin() as connection:
            demo.load(connection)
        engine.dispose()
        results = [restart_under_traffic(var_dir, url, port), locked_table(url),
                   killed_import(url, root)]
    finally:
        embedded.destroy(var_dir)
    for result in results:
        print(json.dumps(result))
    (Path(__file__).resolve().parent / "results").mkdir(exist_ok=True)
    (Path(__file__).resolve().parent / "results" / "faults.json").write_text(
        json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
