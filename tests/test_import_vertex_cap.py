"""A geometry with more vertices than IMPORT_MAX_VERTICES is refused on its row, with the
row and the count named; nothing is written unless the officer asks to skip bad rows."""
from __future__ import annotations

import json

import numpy as np
import shapely
from conftest import shared_data
from shapely.geometry import mapping, shape
from test_import_helpers import LSOAS, WARDS, rows, run, scalar, write_csv

from importers.base import Options
from importers.boundaries import import_boundaries
from importers.places import import_places
from importers.report import Problem
from mapping.core.config import Settings

DEFAULT_CAP = Settings().import_max_vertices
HUDDERSFIELD = (-1.785, 53.646)


def _ward_features() -> list[dict]:
    return json.loads(shared_data(WARDS).read_text())["features"]


def _most_vertices(relative: str) -> int:
    features = json.loads(shared_data(relative).read_text())["features"]
    return max(int(shapely.get_num_coordinates(shape(f["geometry"]))) for f in features)


def _ring(vertices: int, radius: float = 0.01, centre=HUDDERSFIELD) -> shapely.Polygon:
    """A round polygon with exactly `vertices` vertices (the closing one counted)."""
    angles = np.linspace(0, 2 * np.pi, vertices - 1, endpoint=False)
    xy = np.column_stack([centre[0] + radius * np.cos(angles),
                          centre[1] + radius * np.sin(angles)])
    ring = shapely.Polygon(xy)
    assert shapely.get_num_coordinates(ring) == vertices and ring.is_valid
    return ring


def _write_geojson(path, features: list[dict]):
    # shapely writes the big geometry itself (json.dumps of a million pairs is slow).
    parts = []
    for feature in features:
        geometry = feature["geometry"]
        text = (shapely.to_geojson(geometry) if isinstance(geometry, shapely.Geometry)
                else json.dumps(geometry))
        parts.append(f'{{"type":"Feature","properties":{json.dumps(feature["properties"])},'
                     f'"geometry":{text}}}')
    path.write_text('{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}")
    return path


def test_the_real_boundaries_are_far_under_the_default_cap(db):
    # The generalised ONS files have at most a few hundred vertices an area; full-resolution
    # ward boundaries have tens of thousands. The default leaves room for both.
    assert DEFAULT_CAP == 1_000_000
    assert _most_vertices(WARDS) == 311 and _most_vertices(LSOAS) == 182
    wards = import_boundaries(db, "wards", shared_data(WARDS), code_field="WD13CD",
                              name_field="WD13NM")
    lsoas = import_boundaries(db, "lsoas", shared_data(LSOAS))
    assert (wards.status, wards.counts["inserted"], wards.errors) == ("committed", 23, 0)
    assert (lsoas.status, lsoas.counts["inserted"], lsoas.errors) == ("committed", 259, 0)


def test_a_ward_over_the_default_cap_is_refused_by_name_and_nothing_is_written(db, tmp_path):
    features = _ward_features()
    code = features[4]["properties"]["WD13CD"]
    # The real ward, densified to just over a million vertices (a full-resolution boundary
    # gone wrong, or a hostile upload).
    real = shape(features[4]["geometry"])
    dense = shapely.segmentize(real, real.length / (DEFAULT_CAP + 50))
    count = int(shapely.get_num_coordinates(dense))
    assert DEFAULT_CAP < count < DEFAULT_CAP + 1000
    features[4] = {**features[4], "geometry": dense}
    path = _write_geojson(tmp_path / "wards.geojson", features)

    report = import_boundaries(db, "wards", path, code_field="WD13CD", name_field="WD13NM")
    assert report.status == "failed" and report.invalid == 1
    [problem] = [p for p in report.problems if p.severity == "error"]
    assert (problem.row, problem.field) == (5, "geometry")
    assert problem.reason == (f"area {code}: the geometry has {count:,} vertices, more than "
                              f"the 1,000,000 allowed (IMPORT_MAX_VERTICES)")
    assert "row 5" in problem.line() and "IMPORT_MAX_VERTICES" in problem.line()
    assert scalar(db, "SELECT count(*) FROM areas") == 0

    skipped = import_boundaries(db, "wards", path, Options(skip_invalid=True),
                                code_field="WD13CD", name_field="WD13NM")
    assert skipped.status == "committed" and skipped.counts["inserted"] == 22
    assert scalar(db, "SELECT count(*) FROM areas WHERE code = :c", c=code) == 0


def test_a_reload_skipping_an_over_cap_ward_keeps_the_ward_already_loaded(db, tmp_path):
    import_boundaries(db, "wards", shared_data(WARDS), code_field="WD13CD", name_field="WD13NM")
    features = _ward_features()
    code = features[0]["properties"]["WD13CD"]
    before = scalar(db, "SELECT ST_AsBinary(geom) FROM areas WHERE code = :c", c=code)
    features[0] = {**features[0], "geometry": mapping(_ring(501, centre=(-1.9, 53.6)))}
    path = _write_geojson(tmp_path / "wards.geojson", features)
    report = import_boundaries(db, "wards", path, Options(skip_invalid=True, max_vertices=500),
                               code_field="WD13CD", name_field="WD13NM")
    assert report.status == "committed" and report.invalid == 1
    assert report.counts == {"inserted": 0, "updated": 0, "unchanged": 22, "removed": 0}
    assert scalar(db, "SELECT ST_AsBinary(geom) FROM areas WHERE code = :c", c=code) == before


def _places(tmp_path, footprint) -> object:
    points = [{"type": "Feature", "properties": {"id": f"P{i}", "name": f"Place {i}"},
               "geometry": {"type": "Point", "coordinates": [-1.78 + i / 100, 53.64]}}
              for i in range(1, 4)]
    building = {"type": "Feature", "properties": {"id": "B1", "name": "Big footprint"},
                "geometry": footprint}
    return _write_geojson(tmp_path / "assets.geojson", [points[0], building, *points[1:]])


def test_a_footprint_over_the_cap_is_refused_by_row_and_the_rest_load_when_skipping(db, tmp_path):
    path = _places(tmp_path, _ring(1001))
    report = import_places(db, "assets", path, Options(max_vertices=1000))
    assert report.status == "failed"
    assert [(p.row, p.field, p.reason) for p in report.problems if p.severity == "error"] == [
        (2, "geometry", ("the geometry has 1,001 vertices, more than the 1,000 allowed "
                         "(IMPORT_MAX_VERTICES)"))]
    assert scalar(db, "SELECT count(*) FROM places") == 0

    skipped = import_places(db, "assets", path, Options(max_vertices=1000, skip_invalid=True))
    assert skipped.status == "committed" and skipped.counts["inserted"] == 3
    assert sorted(r[0] for r in rows(db, "SELECT source_id FROM places")) == ["P1", "P2", "P3"]


def test_a_footprint_at_the_cap_loads(db, tmp_path):
    report = import_places(db, "assets", _places(tmp_path, _ring(1000)), Options(max_vertices=1000))
    assert report.status == "committed" and report.counts["inserted"] == 4
    assert scalar(db, "SELECT ST_NPoints(geom) FROM places WHERE source_id = 'B1'") == 1000


def test_a_wkt_column_over_the_cap_is_refused_on_its_row(db, tmp_path):
    path = write_csv(tmp_path / "assets.csv", ["id", "name", "wkt"], [
        ["A1", "Small hall", "POINT (-1.78 53.64)"],
        ["A2", "Huge hall", _ring(101).wkt]])
    report = import_places(db, "assets", path, Options(max_vertices=100))
    assert [(p.row, p.field) for p in report.problems if p.severity == "error"] == [(2, "wkt")]
    assert "101 vertices, more than the 100 allowed" in report.problems[0].reason
    assert scalar(db, "SELECT count(*) FROM places") == 0


def test_a_coverage_area_over_the_cap_is_left_out_and_the_group_loads(db, tmp_path):
    path = write_csv(tmp_path / "groups.csv", ["id", "name", "latitude", "longitude", "coverage"], [
        ["G1", "Marsh helpers", "53.646", "-1.81", _ring(201).wkt]])
    report = import_places(db, "mutual-aid", path, Options(max_vertices=200))
    assert report.status == "committed" and report.counts["inserted"] == 1
    [warning] = [p for p in report.problems if p.severity == "warning"]
    assert (warning.row, warning.field) == (1, "coverage")
    assert warning.reason.endswith("201 vertices, more than the 200 allowed "
                                   "(IMPORT_MAX_VERTICES); left out")
    assert scalar(db, "SELECT coverage IS NULL FROM mutual_aid_groups") is True


def test_the_cap_is_read_from_import_max_vertices(db, runner, monkeypatch):
    """Tests the CLI: `assetmap boundaries` takes its cap from IMPORT_MAX_VERTICES. The real
    ward file has one ward of 311 vertices: a cap of 300 refuses it (exit 1), and the
    printed report names the ward's row, the count and the setting."""
    monkeypatch.setenv("IMPORT_MAX_VERTICES", "300")
    assert Settings.from_env().import_max_vertices == 300
    assert Options.from_settings(Settings.from_env()).max_vertices == 300
    result = run(runner, "boundaries", "wards", shared_data(WARDS), "--code-field", "WD13CD",
                 "--name-field", "WD13NM")
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("wards: NOTHING WRITTEN; 23 rows read; 1 invalid, 0 warnings ("), \
        lines
    [(number, code)] = [(n, f["properties"]["WD13CD"])
                        for n, f in enumerate(_ward_features(), 1)
                        if shapely.get_num_coordinates(shape(f["geometry"])) > 300]
    reason = f"area {code}: the geometry has 311 vertices, more than the 300 allowed " \
             f"(IMPORT_MAX_VERTICES)"
    assert "  " + Problem(number, "geometry", reason).line() in lines, lines
    assert scalar(db, "SELECT count(*) FROM areas") == 0
