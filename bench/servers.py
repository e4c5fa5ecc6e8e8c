"""Start and stop the servers under test — this app under gunicorn, tipg under uvicorn,
pygeoapi under gunicorn — on the same database table, and read their memory use."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bench import data
from mapping.cli import gunicorn_command

PROJECT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    workers: int
    port: int
    process: subprocess.Popen
    # Paths of the benchmark requests on this server, by query name.
    paths: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The master and its workers."""
        children = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                                  text=True, check=False).stdout.split()
        return [self.process.pid] + [int(pid) for pid in children]

    def peak_rss_mb(self) -> float:
        """Sum over the processes of each one's peak resident set (VmHWM)."""
        total = 0
        for pid in self.pids():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
            except FileNotFoundError:
                continue
        return total / 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _wait(url: str, process: subprocess.Popen, name: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{name} did not answer {url} within {seconds} s")


def _spawn(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = open(log, "ab")  # noqa: SIM115 - the server process owns it until it exits
    return subprocess.Popen(command, env={**os.environ, **env}, stdout=handle, stderr=handle,
                            cwd=PROJECT)


def psycopg_url(url: str) -> str:
    """The URL without SQLAlchemy's driver name, as libpq and tipg read it."""
    return url.replace("postgresql+psycopg://", "postgresql://").replace(
        "postgresql+psycopg2://", "postgresql://")


def feed_paths(items: str, ward_parameter: str, suffix: str = "") -> dict:
    """The feed requests every server is given, in its own URL scheme."""
    return {"bbox": f"{items}?bbox={{bbox}}&limit=1000{suffix}",
            "ward": f"{items}?{ward_parameter}={{ward}}&limit=1000{suffix}",
            "category": f"{items}?category=library&limit=500{suffix}",
            "paged": f"{items}?limit=1000{suffix}"}


def start_ours(database_url: str, workers: int, logs: Path, threads: int = 1) -> Server:
    """This app under gunicorn. One thread a worker (sync) for the comparisons, as each peer
    gets one process per worker; `threads` > 1 is how `assetmap serve` runs it in
    production (gthread), for the mixed-traffic load and soak runs."""
    port = free_port()
    if threads > 1:
        command = gunicorn_command("127.0.0.1", port, workers, threads)
        command.remove("--access-logfile")
        command.remove("-")
    else:
        # A long timeout so a million-feature download is not cut off.
        command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
                   f"127.0.0.1:{port}", "--backlog", "2048", "--timeout", "900",
                   "mapping.wsgi:app"]
    process = _spawn(command,
                     # Rate limits protect the public site; the load generator is one client.
                     {"DATABASE_URL": database_url, "DB_POOL_SIZE": "4",
                      "RATE_LIMIT_SEARCH": "1000000 per second"},
                     logs / f"ours-{workers}x{threads}.log")
    server = Server("this app", workers, port, process)
    _wait(server.base + "/healthz", process, server.name)
    server.paths = {
        **feed_paths("/ogc/collections/community-assets/items", "ward"),
        "nearest": "/api/nearest?lon={lon}&lat={lat}&limit=10",
        "mvt z12": "/tiles/community-assets/{z12}.mvt",
        "mvt z14": "/tiles/community-assets/{z14}.mvt",
        "download": "/layers/community-assets.geojson",
    }
    return server


def start_tipg(database_url: str, workers: int, logs: Path) -> Server:
    port = free_port()
    env = {
        "DATABASE_URL": psycopg_url(database_url),
        "TIPG_DB_TABLES": '["public.places"]',
        "TIPG_TABLE_CONFIG__public_places__geomcol": "geom",
        "TIPG_TABLE_CONFIG__public_places__pk": "id",
        "TIPG_TABLE_CONFIG__public_places__properties": json_list(data.SERVED_PROPERTIES + ["category"]),
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
        "TIPG_DB_MAX_CONN_SIZE": "4",
    }
    process = _spawn([sys.executable, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
                      "--port", str(port), "--workers", str(workers), "--log-level", "warning"],
                     env, logs / f"tipg-{workers}.log")
    server = Server("tipg", workers, port, process)
    _wait(server.base + "/collections", process, server.name, seconds=90)
    server.paths = {
        **feed_paths("/collections/public.places/items", "ward_code"),
        "mvt z12": "/collections/public.places/tiles/WebMercatorQuad/{z12}",
        "mvt z14": "/collections/public.places/tiles/WebMercatorQuad/{z14}",
    }
    return server


def json_list(items) -> str:
    import json

    return json.dumps(list(items))


def start_pygeoapi(database_url: str, workers: int, logs: Path) -> Server:
    from sqlalchemy.engine import make_url

    port = free_port()
    url = make_url(database_url)
    config = {
        "server": {"bind": {"host": "127.0.0.1", "port": port}, "url": f"http://127.0.0.1:{port}",
                   "mimetype": "application/json; charset=UTF-8", "encoding": "utf-8",
                   "language": "en-GB", "limits": {"default_items": 10, "max_items": 10000},
                   "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                           "attribution": "OpenStreetMap"}},
        "logging": {"level": "ERROR"},
        "metadata": {"identification": {"title": "bench", "description": "bench",
                                        "keywords": ["bench"], "keywords_type": "theme",
                                        "terms_of_service": "", "url": "http://example.org"},
                     "license": {"name": "OGL", "url": "http://example.org"},
                     "provider": {"name": "bench", "url": "http://example.org"},
                     "contact": {"name": "bench"}},
        "resources": {"places": {
            "type": "collection", "title": "places", "description": "places",
            "keywords": ["places"],
            "extents": {"spatial": {"bbox": [-2.1, 53.5, -1.5, 53.8],
                                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}},
            "providers": [{
                "type": "feature", "name": "PostgreSQL",
                "data": {"host": url.host, "port": url.port, "dbname": url.database,
                         "user": url.username, "password": url.password or "",
                         "search_path": ["public"]},
                "id_field": "id", "table": "places", "geom_field": "geom",
                "properties": data.SERVED_PROPERTIES + ["category"],
            }],
        }},
    }
    directory = Path(tempfile.mkdtemp(prefix="pygeoapi-"))
    config_path = directory / "config.yml"
    config_path.write_text(yaml.safe_dump(config))
    openapi_path = directory / "openapi.yml"
    env = {"PYGEOAPI_CONFIG": str(config_path), "PYGEOAPI_OPENAPI": str(openapi_path)}
    generated = subprocess.run([str(Path(sys.executable).parent / "pygeoapi"), "openapi",
                                "generate", str(config_path), "--output-file", str(openapi_path)],
                               env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if generated.returncode != 0:
        raise RuntimeError("pygeoapi openapi generate failed: " + generated.stderr[-2000:])
    process = _spawn([sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
                      f"127.0.0.1:{port}", "pygeoapi.flask_app:APP"], env,
                     logs / f"pygeoapi-{workers}.log")
    server = Server("pygeoapi", workers, port, process)
    _wait(server.base + "/collections?f=json", process, server.name, seconds=90)
    server.paths = feed_paths("/collections/places/items", "ward_code", "&f=json")
    return server


STARTERS = {"this app": start_ours, "tipg": start_tipg, "pygeoapi": start_pygeoapi}
