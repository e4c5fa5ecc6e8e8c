"""What the importer tests share: the real Kirklees boundaries, files written as councils
write them, the importers called as the CLI calls them (returning their `Report`, which is
what the tests assert on), and a way to run `assetmap` itself for the few tests of the
command's own text and exit codes. (No tests here.)"""
from __future__ import annotations

import csv
import json
from functools import cache

import numpy as np
import shapely
from conftest import shared_data
from shapely.geometry import shape
from sqlalchemy import text

from importers.base import Options, parse_crs
from importers.boundaries import import_boundaries
from importers.fields import parse_mapping
from importers.neighbourhoods import derive_from_imd
from importers.places import import_places
from importers.postcodes import import_postcodes
from importers.report import Report
from importers.statistics import import_deprivation, import_population
from mapping.cli import main
from mapping.core.config import Settings

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


# --- the importers, as the CLI calls them ------------------------------------------------

def options(*, mapping=(), crs=None, **given) -> Options:
    """Options as `assetmap` builds them (mapping.cli._options): the deployment's limits
    from the environment, `mapping` as --map FIELD=COLUMN pairs and `crs` as --crs takes it
    ("EPSG:27700"); the rest (dry_run, skip_invalid, source, prune, keep_outside, ...) as
    `importers.base.Options` names them."""
    return Options.from_settings(Settings.from_env(), mapping=parse_mapping(mapping),
                                 crs=parse_crs(None if crs is None else str(crs)), **given)


def load_places(engine, kind: str, path, **given) -> Report:
    """`assetmap import KIND PATH`, as a library call: the importer's report."""
    return import_places(engine, kind, path, options(**given))


def load_boundaries(engine, kind: str, path, *, code_field=None, name_field=None,
                    vintage=None, **given) -> Report:
    """`assetmap boundaries KIND PATH`: wards, neighbourhoods or lsoas."""
    return import_boundaries(engine, kind, path, options(**given), code_field=code_field,
                             name_field=name_field, vintage=vintage)


def load_deprivation(engine, path, **given) -> Report:
    return import_deprivation(engine, path, options(**given))


def load_population(engine, path, **given) -> Report:
    return import_population(engine, path, options(**given))


def load_postcodes(engine, path, *, everywhere: bool = False, district: str | None = None,
                   **given) -> Report:
    return import_postcodes(engine, path, options(**given), everywhere=everywhere,
                            district=district)


def derive_neighbourhoods(engine, deciles: str = "1-2", tolerance_m: float = 0.0,
                          **given) -> Report:
    """`assetmap neighbourhoods from-imd`."""
    return derive_from_imd(engine, deciles, options(**given), tolerance_m)


def load_wards(engine) -> dict:
    """The 23 real Kirklees wards (2013), loaded the way an officer would."""
    report = load_boundaries(engine, "wards", shared_data(WARDS), code_field="WD13CD",
                             name_field="WD13NM")
    assert report.status == "committed", report.lines()
    assert report.counts["inserted"] + report.counts["unchanged"] == 23, report.counts
    return ward_shapes()


def problems(report: Report, severity: str = "error") -> list[tuple[int | None, str | None, str]]:
    """(row, field, reason) of the report's problems of one severity, by row."""
    return sorted(((p.row, p.field, p.reason) for p in report.problems
                   if p.severity == severity), key=lambda p: (p[0] or 0, p[1] or ""))


def warnings(report: Report) -> list[tuple[int | None, str | None, str]]:
    return problems(report, "warning")


def note(report: Report, words: str) -> str:
    """The one note holding `words` (fails, naming every note, when there is none)."""
    found = [n for n in report.notes if words in n]
    assert len(found) == 1, (words, report.notes)
    return found[0]


# --- the command itself ------------------------------------------------------------------

def run(runner, *args: str):
    """`assetmap ARGS` through click; returns the result (exit_code, output). For tests of
    the CLI's own work: exit codes, printing the report, options parsed from text."""
    return runner.invoke(main, [str(arg) for arg in args], catch_exceptions=False)


def scalar(engine, sql: str, **params):
    with engine.connect() as connection:
        return connection.execute(text(sql), params).scalar()


def rows(engine, sql: str, **params) -> list:
    with engine.connect() as connection:
        return connection.execute(text(sql), params).all()

