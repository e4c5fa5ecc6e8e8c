"""What the importer tests share: the real Kirklees boundaries, files written as councils
write them, and a way to run `assetmap` and read what it printed. (No tests here.)"""
from __future__ import annotations

import csv
import json
from functools import cache

import numpy as np
import shapely
from conftest import shared_data
from shapely.geometry import shape
from sqlalchemy import text

from mapping.cli import main

WARDS = "kirklees/wards-2013.geojson"
LSOAS = "kirklees/lsoa-2011.geojson"


@cache
def ward_shapes() -> dict[str, tuple[str, object]]:
    """code → (name, shapely geometry) from the real ward file."""
    features = json.loads(shared_data(WARDS).read_text())["features"]
    return {f["properties"]["WD13CD"]: (f["properties"]["WD13NM"], shape(f["geometry"]))
            for f in features}


def ward_of(lon: float, lat: float) -> str | None:
    """The truth, from shapely: the ward holding a point."""
    point = shapely.Point(lon, lat)
    return next((code for code, (_, geom) in ward_shapes().items() if geom.contains(point)), None)


def points_in_kirklees(count: int, seed: int = 3) -> list[tuple[float, float]]:
    """`count` (lon, lat) points inside the real wards, 6 decimal places."""
    district = shapely.union_all([geom for _, geom in ward_shapes().values()])
    rng = np.random.default_rng(seed)
    minx, miny, maxx, maxy = district.bounds
    found: list[tuple[float, float]] = []
    while len(found) < count:
        lon = np.round(rng.uniform(minx, maxx, count * 2), 6)
        lat = np.round(rng.uniform(miny, maxy, count * 2), 6)
        inside = shapely.contains_xy(district, lon, lat)
        found.extend(zip(lon[inside].tolist(), lat[inside].tolist()))
    return found[:count]


def write_csv(path, header: list[str], rows: list[list], encoding: str = "utf-8",
              delimiter: str = ",") -> object:
    with open(path, "w", newline="", encoding=encoding) as handle:
        writer = csv.writer(handle, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def run(runner, *args: str):
    """`assetmap ARGS` through click; returns the result (exit_code, output)."""
    return runner.invoke(main, [str(arg) for arg in args], catch_exceptions=False)


def scalar(engine, sql: str, **params):
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def rows(engine, sql: str, **params) -> list:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).all()


def load_wards(runner) -> dict:
    """The 23 real Kirklees wards (2013), loaded the way an officer would."""
    result = run(runner, "boundaries", "wards", shared_data(WARDS), "--code-field", "WD13CD",
                 "--name-field", "WD13NM")
    assert result.exit_code == 0, result.output
    return ward_shapes()
