"""Loading places: the real mutual aid exports, council spreadsheets as Excel writes them,
GIS files, and what happens to bad rows, re-imports, dry runs and pruning."""
from __future__ import annotations

import hashlib
import json
import zipfile
from collections import Counter

import numpy as np
import pyogrio.raw
import pytest
import shapely
from conftest import shared_data
from sqlalchemy import text
from test_import_helpers import (
    load_wards,
    points_in_kirklees,
    rows,
    run,
    scalar,
    ward_of,
    write_csv,
)

MARCH = "mutual-aid/uk-groups-2020-03-27.json"
API = "mutual-aid/api-response-2020-05.json"
STAR = "mutual-aid/uk-groups-star-delimited.csv"


@pytest.fixture
def wards(db, runner):
    return load_wards(runner)


def _version(engine) -> int:
    return scalar(engine, "SELECT version FROM data_version")


def _assets_csv(path, count: int, bad_row: int | None = None):
    header = ["Ref", "Name", "Category", "Description", "Latitude", "Longitude"]
    body = []
    for index, (lon, lat) in enumerate(points_in_kirklees(count), 1):
        latitude = "953.6" if index == bad_row else f"{lat:.6f}"
        body.append([f"A{index:05d}", f"Community place {index}", "community centre",
                     f"Place number {index}", latitude, f"{lon:.6f}"])
    return write_csv(path, header, body)


# --- the real mutual aid exports -------------------------------------------------------

def test_mutual_aid_groups_land_in_the_ward_that_contains_them(wards, runner, db):
    result = run(runner, "import", "mutual-aid", shared_data(MARCH), "--keep-outside")
    assert result.exit_code == 0, result.output
    assert "2,791 inserted" in result.output
    groups = json.loads(shared_data(MARCH).read_text())
    truth = {g["id"]: ward_of(g["location_coord"]["lng"], g["location_coord"]["lat"])
             for g in groups}
    inside = {gid: code for gid, code in truth.items() if code}
    assert len(inside) == 20
    loaded = dict(rows(db, "SELECT source_id, ward_code FROM places WHERE ward_code IS NOT NULL"))
    assert loaded == inside
    # Five groups share one geocoded point; all five are kept, each in that point's ward.
    shared = Counter((g["location_coord"]["lng"], g["location_coord"]["lat"]) for g in groups
                     if g["id"] in inside)
    point, count = shared.most_common(1)[0]
    assert count == 5
    same_point = rows(db, "SELECT ward_code FROM places WHERE geom = "
                          "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)", lon=point[0], lat=point[1])
    assert [code for (code,) in same_point] == [ward_of(*point)] * 5


def test_groups_outside_the_district_are_left_out_or_kept_and_flagged(wards, runner, db):
    flagged = run(runner, "import", "mutual-aid", shared_data(MARCH), "--source", "march",
                  "--dry-run", "--show", "3", "--keep-outside")
    assert flagged.exit_code == 0, flagged.output
    assert "outside the district: 43.0 km beyond the wards" in flagged.output
    skipped = run(runner, "import", "mutual-aid", shared_data(MARCH), "--source", "march")
    assert skipped.exit_code == 0, skipped.output
    # Kept: the 20 in a ward, and those within the 2 km margin around the wards.
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code IS NOT NULL") == 20
    kept = scalar(db, "SELECT count(*) FROM places")
    assert kept > 20 and f"{kept:,} inserted" in skipped.output
    assert scalar(db, """
        SELECT count(*) FROM places p, (SELECT ST_Union(geom_bng) AS g FROM areas) w
         WHERE ST_Distance(p.geom_bng, w.g) > 2000""") == 0
    assert f"{2791 - kept:,} left out (outside)" in skipped.output


def test_the_api_response_loads_with_contacts_kept_private(wards, runner, db):
    result = run(runner, "import", "mutual-aid", shared_data(API), "--keep-outside")
    assert result.exit_code == 0, result.output
    assert "unwrapped the API response's body" in result.output
    body = json.loads(json.loads(shared_data(API).read_text())["body"])
    assert scalar(db, "SELECT count(*) FROM places") == len(body)
    with_phone = [g for g in body if (g.get("contact") or {}).get("phone")]
    assert scalar(db, "SELECT count(*) FROM places WHERE phone IS NOT NULL") == len(with_phone)
    assert scalar(db, "SELECT count(*) FROM places WHERE phone_public OR email_public") == 0
    polygons = [g for g in body if g.get("location_poly")]
    assert scalar(db, "SELECT count(*) FROM mutual_aid_groups WHERE coverage IS NOT NULL") == len(
        polygons)
    assert scalar(db, "SELECT count(*) FROM places WHERE last_verified = '2020-05-15'") > 0


def test_the_star_delimited_export_names_its_broken_rows(wards, runner, db, tmp_path):
    refused = run(runner, "import", "mutual-aid", shared_data(STAR))
    assert refused.exit_code == 1
    assert "star-separated" in refused.output
    for row in ("1,114", "1,155", "3,172", "3,705"):
        assert f"row {row}" in refused.output
    assert "does a value contain the delimiter '*'" in refused.output
    assert scalar(db, "SELECT count(*) FROM places") == 0

    problems = tmp_path / "problems.csv"
    loaded = run(runner, "import", "mutual-aid", shared_data(STAR), "--skip-invalid",
                 "--keep-outside", "--problems", problems)
    assert loaded.exit_code == 0, loaded.output
    lines = shared_data(STAR).read_text().splitlines()[1:]
    distinct = {tuple(part.strip() for part in line.split("*")) for line in lines
                if line.count("*") == 5}
    # Exact repeats load once; everything else is a place of its own.
    assert scalar(db, "SELECT count(*) FROM places") == len(distinct)
    written = problems.read_text(encoding="utf-8-sig")
    assert written.startswith("row,severity,field,reason")
    assert "repeats row 315 exactly; loaded once" in written


# --- the rules for bad rows ------------------------------------------------------------

def test_bad_row_is_named_and_nothing_is_written(wards, runner, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 10_000, bad_row=5_000)
    before = _version(db)
    result = run(runner, "import", "assets", path)
    assert result.exit_code != 0
    assert "row 5,000" in result.output
    assert "latitude 953.6 is outside -90 to 90" in result.output
    assert "nothing was written" in result.output
    assert scalar(db, "SELECT count(*) FROM places") == 0
    assert scalar(db, "SELECT count(*) FROM community_assets") == 0
    assert _version(db) == before
    assert rows(db, "SELECT status, invalid FROM import_runs WHERE kind = 'community_asset'") == [
        ("failed", 1)]


def test_skip_invalid_loads_the_other_rows(wards, runner, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 10_000, bad_row=5_000)
    result = run(runner, "import", "assets", path, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert "9,999 inserted" in result.output and "row 5,000" in result.output
    assert scalar(db, "SELECT count(*) FROM places") == 9_999
    assert scalar(db, "SELECT count(*) FROM community_assets") == 9_999
    assert scalar(db, "SELECT count(*) FROM places WHERE source_id = 'A05000'") == 0
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code IS NULL") == 0


def test_reimport_changes_nothing(wards, runner, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 500)
    first = run(runner, "import", "assets", path)
    assert "500 inserted" in first.output, first.output
    stamps = rows(db, "SELECT id, updated_at FROM places ORDER BY id")
    version = _version(db)
    second = run(runner, "import", "assets", path)
    assert second.exit_code == 0, second.output
    assert "0 inserted, 0 updated, 500 unchanged" in second.output
    assert rows(db, "SELECT id, updated_at FROM places ORDER BY id") == stamps
    assert _version(db) == version


def test_a_changed_row_is_updated_and_linked_to_its_run(wards, runner, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 50)
    run(runner, "import", "assets", path)
    content = path.read_text().replace("Community place 7,", "Community Place Seven,")
    path.write_text(content)
    result = run(runner, "import", "assets", path)
    assert "0 inserted, 1 updated, 49 unchanged" in result.output, result.output
    run_id = scalar(db, "SELECT max(id) FROM import_runs")
    assert rows(db, "SELECT source_id, name FROM places WHERE import_run_id = :r", r=run_id) == [
        ("A00007", "Community Place Seven")]


def test_dry_run_writes_nothing_and_says_what_would_change(wards, runner, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 30)
    version = _version(db)
    result = run(runner, "import", "assets", path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "dry run, nothing written" in result.output
    assert "would be 30 inserted, 0 updated, 0 unchanged, 0 pruned" in result.output
    assert scalar(db, "SELECT count(*) FROM places") == 0
    assert _version(db) == version
    assert scalar(db, "SELECT status FROM import_runs WHERE kind = 'community_asset'") == "dry-run"


def test_prune_soft_deletes_missing_rows_and_a_returning_row_is_restored(wards, runner, db,
                                                                          tmp_path):
    full = _assets_csv(tmp_path / "assets.csv", 20)
    run(runner, "import", "assets", full, "--source", "council-assets")
    lines = full.read_text().splitlines(keepends=True)
    shorter = tmp_path / "assets-short.csv"
    shorter.write_text("".join(lines[:1] + lines[1:16]))  # rows 16-20 gone
    pruned = run(runner, "import", "assets", shorter, "--source", "council-assets", "--prune")
    assert "0 inserted, 0 updated, 15 unchanged, 5 pruned" in pruned.output, pruned.output
    assert scalar(db, "SELECT count(*) FROM places WHERE deleted_at IS NOT NULL") == 5
    assert scalar(db, "SELECT count(*) FROM places WHERE deleted_at IS NULL") == 15
    back = run(runner, "import", "assets", full, "--source", "council-assets")
    assert "0 inserted, 5 updated, 15 unchanged" in back.output, back.output
    assert "back on the map" in back.output
    assert scalar(db, "SELECT count(*) FROM places WHERE deleted_at IS NOT NULL") == 0


def test_prune_leaves_other_sources_alone(wards, runner, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 10)
    run(runner, "import", "assets", path, "--source", "one")
    run(runner, "import", "assets", path, "--source", "two")
    empty = write_csv(tmp_path / "empty.csv", ["Ref", "Name", "Latitude", "Longitude"], [])
    result = run(runner, "import", "assets", empty, "--source", "one", "--prune")
    assert "10 pruned" in result.output, result.output
    assert scalar(db, "SELECT count(*) FROM places WHERE source = 'two' AND deleted_at IS NULL") == 10


def test_duplicate_ids_with_different_details_are_refused(wards, runner, db, tmp_path):
    (lon, lat), = points_in_kirklees(1)
    path = write_csv(tmp_path / "hubs.csv", ["id", "name", "lat", "lon", "type"], [
        ["H1", "North Hub", lat, lon, "response hub"],
        ["H1", "North Hub", lat, lon, "response hub"],
        ["H2", "South Hub", lat, lon, "anchor"],
        ["H2", "Another Hub", lat, lon, "anchor"],
    ])
    result = run(runner, "import", "hubs", path)
    assert result.exit_code == 1
    assert "id H2 is used by 2 rows with different details (rows 3, 4)" in result.output
    assert "repeats row 1 exactly; loaded once" in result.output
    ok = run(runner, "import", "hubs", path, "--skip-invalid")
    assert ok.exit_code == 0, ok.output
    assert rows(db, "SELECT p.source_id, h.hub_type FROM places p JOIN hubs h ON h.place_id = p.id"
                ) == [("H1", "response_hub")]


def test_provenance_is_recorded_for_each_run(wards, runner, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 5)
    run(runner, "import", "assets", path, "--source", "council-assets")
    run_row = rows(db, "SELECT source, kind, file_name, sha256, run_by, inserted, status, "
                       "importer_version, finished_at IS NOT NULL FROM import_runs "
                       "WHERE kind = 'community_asset'")[0]
    from importers import VERSION

    assert run_row == ("council-assets", "community_asset", "assets.csv",
                       hashlib.sha256(path.read_bytes()).hexdigest(), run_row.run_by, 5,
                       "committed", VERSION, True)
    assert run_row.run_by
    assert scalar(db, "SELECT count(DISTINCT import_run_id) FROM places") == 1


# --- spreadsheets as people save them -----------------------------------------------------

def test_windows_1252_csv_round_trips_pound_and_accents(wards, runner, db, tmp_path):
    (lon, lat), = points_in_kirklees(1)
    name, description = "Café Réunion", "Lunch £3.50 — soup & a roll, “homemade”"
    path = write_csv(tmp_path / "excel.csv", ["Name", "Description", "Latitude", "Longitude"],
                     [[name, description, lat, lon]], encoding="cp1252")
    assert b"\xa3" in path.read_bytes()  # £ in Windows-1252, not UTF-8
    result = run(runner, "import", "assets", path)
    assert result.exit_code == 0, result.output
    assert "Windows-1252" in result.output
    assert rows(db, "SELECT name, description FROM places") == [(name, description)]


def test_excel_utf8_bom_csv_round_trips_its_text(wards, runner, db, tmp_path):
    (lon, lat), = points_in_kirklees(1)
    name, description = "Crèche £ Ünïcödé", "Room hire £12/hour, café open"
    path = write_csv(tmp_path / "excel-utf8.csv", ["Name", "Description", "Latitude", "Longitude"],
                     [[name, description, lat, lon]], encoding="utf-8-sig", delimiter=";")
    result = run(runner, "import", "assets", path)
    assert result.exit_code == 0, result.output
    assert "byte order mark" in result.output and "semicolon-separated" in result.output
    assert rows(db, "SELECT name, description FROM places") == [(name, description)]
    assert scalar(db, "SELECT count(*) FROM places WHERE name LIKE '%\ufeff%'") == 0


def test_eastings_in_latitude_columns_are_detected(wards, runner, db, tmp_path):
    # Huddersfield town centre on the British National Grid, typed into lat/long columns.
    path = write_csv(tmp_path / "grid.csv", ["Name", "Latitude", "Longitude"],
                     [["Town hall", "416456", "414351"], ["Library", "416619", "414545"]])
    result = run(runner, "import", "assets", path)
    assert result.exit_code == 1
    assert "look like a northing and an easting (British National Grid)" in result.output
    assert "--crs EPSG:27700" in result.output
    assert scalar(db, "SELECT count(*) FROM places") == 0
    fixed = run(runner, "import", "assets", path, "--crs", "EPSG:27700")
    assert fixed.exit_code == 0, fixed.output
    placed = rows(db, "SELECT ST_X(geom), ST_Y(geom), ward_code FROM places ORDER BY name")
    for lon, lat, code in placed:
        assert code == ward_of(lon, lat) is not None


def test_easting_and_northing_columns_and_a_map_override(wards, runner, db, tmp_path):
    path = write_csv(tmp_path / "buildings.csv",
                     ["Asset No", "Property", "X coord (BNG)", "Y coord (BNG)", "Tenure"],
                     [["T1", "Old Library", "414351", "416456", "Leasehold"]])
    result = run(runner, "import", "transfers", path, "--map", "source_id=Asset No",
                 "--map", "name=Property", "--map", "easting=X coord (BNG)",
                 "--map", "northing=Y coord (BNG)")
    assert result.exit_code == 0, result.output
    assert rows(db, "SELECT p.source_id, p.name, t.tenure FROM places p "
                    "JOIN transferred_buildings t ON t.place_id = p.id") == [
        ("T1", "Old Library", "leasehold")]
    lon, lat = rows(db, "SELECT ST_X(geom), ST_Y(geom) FROM places")[0]
    assert ward_of(lon, lat) == scalar(db, "SELECT ward_code FROM places")


def test_rows_with_only_a_postcode_are_placed_by_lookup(wards, runner, db, tmp_path):
    (lon, lat), = points_in_kirklees(1)
    postcodes = write_csv(tmp_path / "onspd.csv", ["pcd", "pcds", "lat", "long"],
                          [["HD1 2TA", "HD1 2TA", lat, lon]])
    assert run(runner, "postcodes", postcodes).exit_code == 0
    assets = write_csv(tmp_path / "assets.csv", ["Name", "Postcode"],
                       [["Drop-in", "hd12ta"], ["Nowhere", "ZZ9 9ZZ"]])
    result = run(runner, "import", "assets", assets)
    assert result.exit_code == 1
    assert "postcode ZZ9 9ZZ is not in the postcodes table" in result.output
    result = run(runner, "import", "assets", assets, "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert rows(db, "SELECT name, postcode, location_precision, ward_code FROM places") == [
        ("Drop-in", "HD1 2TA", "street", ward_of(lon, lat))]


# --- GIS files ---------------------------------------------------------------------------

def _write_gis(path, driver: str, geometries, names, crs: str = "EPSG:4326", **options):
    pyogrio.raw.write(path, np.array(shapely.to_wkb(geometries), dtype=object),
                      [np.array(names, dtype=object), np.array(["Leasehold"] * len(names),
                                                               dtype=object)],
                      fields=["name", "tenure"], geometry_type=options.pop("geometry_type"),
                      crs=crs, driver=driver, **options)


def test_shapefile_zip_and_geopackage_load(wards, runner, db, tmp_path):
    points = points_in_kirklees(3, seed=11)
    footprints = [shapely.Point(lon, lat).buffer(0.0002, quad_segs=2) for lon, lat in points]
    names = ["Old Library", "Park Pavilion", "Youth Centre"]
    folder = tmp_path / "shp"
    folder.mkdir()
    _write_gis(folder / "transfers.shp", "ESRI Shapefile", footprints, names,
               geometry_type="Polygon")
    archive = tmp_path / "transfers.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for part in folder.iterdir():
            handle.write(part, part.name)
    from_zip = run(runner, "import", "transfers", archive, "--source", "shapefile")
    assert from_zip.exit_code == 0, from_zip.output
    assert "3 inserted" in from_zip.output and "ESRI Shapefile" in from_zip.output

    _write_gis(tmp_path / "transfers.gpkg", "GPKG", footprints, names, geometry_type="Polygon")
    from_gpkg = run(runner, "import", "transfers", tmp_path / "transfers.gpkg",
                    "--source", "geopackage")
    assert from_gpkg.exit_code == 0, from_gpkg.output
    assert "3 inserted" in from_gpkg.output
    for source in ("shapefile", "geopackage"):
        loaded = rows(db, "SELECT p.name, p.ward_code, GeometryType(p.geom), t.tenure FROM places p "
                          "JOIN transferred_buildings t ON t.place_id = p.id WHERE p.source = :s "
                          "ORDER BY p.name", s=source)
        expected = sorted((n, ward_of(*pt), "POLYGON", "leasehold") for n, pt in zip(names, points))
        assert loaded == expected


def test_geojson_in_british_national_grid_loads(wards, runner, db, tmp_path):
    path = tmp_path / "hubs.geojson"
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
        "features": [{"type": "Feature", "properties": {"id": "H9", "name": "Town Hub",
                                                          "hub_type": "anchor organisation"},
                      "geometry": {"type": "Point", "coordinates": [414351, 416456]}}]}))
    result = run(runner, "import", "hubs", path)
    assert result.exit_code == 0, result.output
    assert "EPSG:27700" in result.output
    lon, lat, code, hub_type = rows(db, "SELECT ST_X(p.geom), ST_Y(p.geom), p.ward_code, h.hub_type "
                                        "FROM places p JOIN hubs h ON h.place_id = p.id")[0]
    assert -1.79 < lon < -1.77 and 53.64 < lat < 53.65
    assert code == ward_of(lon, lat) and hub_type == "anchor_organisation"


def test_an_invalid_footprint_is_repaired_with_a_warning(wards, runner, db, tmp_path):
    (lon, lat), = points_in_kirklees(1, seed=5)
    d = 0.0003
    bow_tie = (f"POLYGON(({lon} {lat}, {lon + d} {lat + d}, {lon + d} {lat}, {lon} {lat + d}, "
               f"{lon} {lat}))")
    path = write_csv(tmp_path / "transfers.csv", ["id", "name", "wkt"], [["T7", "Mill", bow_tie]])
    result = run(runner, "import", "transfers", path)
    assert result.exit_code == 0, result.output
    assert "the polygon was invalid (Self-intersection" in result.output
    assert "repaired with ST_MakeValid" in result.output
    assert rows(db, "SELECT ST_IsValid(geom), GeometryType(geom) FROM places") == [
        (True, "MULTIPOLYGON")]


def test_a_missing_location_column_fails_before_reading(wards, runner, db, tmp_path):
    path = write_csv(tmp_path / "names.csv", ["Name", "Town"], [["Hall", "Batley"]])
    result = run(runner, "import", "assets", path)
    assert result.exit_code == 1
    assert "no column gives a location" in result.output
    assert "--map latitude=COLUMN" in result.output
    with db.connect() as connection:
        assert connection.execute(text(
            "SELECT status FROM import_runs WHERE kind = 'community_asset'")).scalar() == "failed"


def test_a_file_that_is_not_the_encoding_its_start_claims_is_refused_with_a_reason(
        wards, runner, db, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\xef\xbb\xbfname,lat,lon\n" + b"a,53.6,-1.7\n" * 7000 + b"\x80,53.6,-1.7\n")
    result = run(runner, "import", "assets", path)
    assert result.exit_code == 1
    assert "is not UTF-8 with a byte order mark" in result.output
    assert "at about byte 84,013" in result.output and "--encoding" in result.output
    assert scalar(db, "SELECT count(*) FROM places") == 0


def test_text_postgresql_cannot_hold_is_made_safe(wards, runner, db, tmp_path):
    (lon, lat), = points_in_kirklees(1)
    nul = tmp_path / "nul-in-header.csv"
    nul.write_bytes(f"name\x00,lat,lon\nA place,{lat},{lon}\n".encode())
    assert run(runner, "import", "assets", nul).exit_code == 0
    half = tmp_path / "half-a-character.json"
    half.write_text(f'[{{"id": "1", "name": "Caf\\ud800", "lat": {lat}, "lon": {lon}}}]')
    result = run(runner, "import", "hubs", half)
    assert result.exit_code == 0, result.output
    assert scalar(db, "SELECT name FROM places WHERE source = 'half-a-character'") == "Caf?"
