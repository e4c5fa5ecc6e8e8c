"""Build one benchmark database per dataset size: schema by migration, the real wards,
and the synthetic places loaded with the project's own importer."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench import data
from mapping.core import db as database


def database_for(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


recreate = database.recreate_database


def drop(url: str) -> None:
    """Drop a scratch database once measured (a million places take a gigabyte of disk)."""
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    admin.dispose()


def assetmap(*args: str, url: str) -> subprocess.CompletedProcess:
    command = [str(Path(sys.executable).parent / "assetmap"), *args]
    result = subprocess.run(command, env={**_env(), "DATABASE_URL": url}, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _env() -> dict:
    import os

    return dict(os.environ)


def build(server_url: str, size: int, workdir: Path) -> tuple[str, float]:
    """A database holding `size` places; returns its URL and the import's seconds."""
    url = database_for(server_url, f"bench_{size}")
    csv_path = data.write_csv(workdir / f"places-{size}.csv", size)
    if _already_built(url, size):
        return url, float("nan")
    recreate(url)
    database.upgrade(url)
    assetmap("boundaries", "wards", str(data.WARDS_FILE), "--code-field", "WD13CD",
             "--name-field", "WD13NM", "--vintage", "2013", url=url)
    started = time.perf_counter()
    assetmap("import", "assets", str(csv_path), "--source", "bench", url=url)
    seconds = time.perf_counter() - started
    _prepare_for_peers(url)
    return url, seconds


def _already_built(url: str, size: int) -> bool:
    try:
        engine = create_engine(url)
        with engine.connect() as connection:
            count = connection.execute(text(
                "SELECT count(*) FROM places WHERE deleted_at IS NULL")).scalar()
            peers_ready = connection.execute(text(
                "SELECT count(*) FROM information_schema.columns "
                "WHERE table_name = 'places' AND column_name = 'category'")).scalar()
        engine.dispose()
        return count == size and peers_ready == 1
    except Exception:  # noqa: BLE001 - no database yet
        return False


def _prepare_for_peers(url: str) -> None:
    """tipg and pygeoapi filter on a scalar column, not an array: give them `category`
    (every synthetic place has exactly one), indexed; order the table spatially, and
    refresh statistics for everyone."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("ALTER TABLE places ADD COLUMN category text"))
        connection.execute(text("UPDATE places SET category = categories[1]"))
        connection.execute(text("CREATE INDEX places_category_bench_idx ON places (category)"))
        # Store the rows in spatial order, as a council would after a big load (see
        # docs/scaling.md); every server reads the same table, so all gain alike.
        connection.execute(text("CREATE INDEX places_cluster_bench_idx ON places "
                                "USING gist (public_geom)"))
        connection.execute(text("CLUSTER places USING places_cluster_bench_idx"))
        connection.execute(text("DROP INDEX places_cluster_bench_idx"))
        connection.execute(text("VACUUM ANALYZE places"))
        connection.execute(text("VACUUM ANALYZE areas"))
    engine.dispose()


def busiest_ward(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        code = connection.execute(text(
            "SELECT ward_code FROM places WHERE ward_code IS NOT NULL "
            "GROUP BY ward_code ORDER BY count(*) DESC LIMIT 1")).scalar()
    engine.dispose()
    return code
