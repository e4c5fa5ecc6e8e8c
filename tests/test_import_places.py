"""Loading places: the real mutual aid exports, council spreadsheets as Excel writes them,
GIS files, and what happens to bad rows, re-imports, dry runs and pruning. The tests call
the importer and assert on its `Report`; two at the end run `assetmap import` itself."""
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
    load_places,
    load_postcodes,
    load_wards,
    note,
    points_in_kirklees,
    problems,
    rows,
    run,
    scalar,
    ward_of,
    warnings,
    write_csv,
)

MARCH = "mutual-aid/uk-groups-2020-03-27.json"
API = "mutual-aid/api-response-2020-05.json"
STAR = "mutual-aid/uk-groups-star-delimited.csv"


@pytest.fixture
def wards(db):
    return load_wards(db)


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


def _counts(inserted=0, updated=0, unchanged=0, pruned=0, **district) -> dict:
    """A place import's counts, in the report's order; `district` as the district check
    names them (left_out="left out (outside)", kept_outside, in_margin)."""
    names = {"left_out": "left out (outside)", "kept_outside": "kept outside",
             "in_margin": "in the margin (no ward)"}
    return {"inserted": inserted, "updated": updated, "unchanged": unchanged,
            "pruned": pruned, **{names[k]: v for k, v in district.items()}}


# --- the real mutual aid exports -------------------------------------------------------

def test_mutual_aid_groups_land_in_the_ward_that_contains_them(wards, db):
    report = load_places(db, "mutual-aid", shared_data(MARCH), keep_outside=True)
    assert report.status == "committed", report.lines()
    assert report.counts == _counts(2791, kept_outside=2764, in_margin=7)
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


def test_groups_outside_the_district_are_left_out_or_kept_and_flagged(wards, db):
    flagged = load_places(db, "mutual-aid", shared_data(MARCH), source="march", dry_run=True,
                          keep_outside=True)
    assert flagged.status == "dry-run", flagged.lines()
    outside = [(row, reason) for row, field, reason in warnings(flagged)
               if field == "location" and reason.startswith("outside the district: ")]
    assert len(outside) == 2764
    # The first group in the file (Call to Arms, near Ripon) is 43.0 km beyond the wards.
    assert outside[0] == (
        1, "outside the district: 43.0 km beyond the wards (the margin is 2,000 m)")
    assert scalar(db, "SELECT count(*) FROM places") == 0
    skipped = load_places(db, "mutual-aid", shared_data(MARCH), source="march")
    assert skipped.status == "committed", skipped.lines()
    # Kept: the 20 in a ward, and those within the 2 km margin around the wards.
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code IS NOT NULL") == 20
    kept = scalar(db, "SELECT count(*) FROM places")
    assert kept > 20 and skipped.counts["inserted"] == kept
    assert scalar(db, """
        SELECT count(*) FROM places p, (SELECT ST_Union(geom_bng) AS g FROM areas) w
         WHERE ST_Distance(p.geom_bng, w.g) > 2000""") == 0
    assert skipped.counts["left out (outside)"] == 2791 - kept


def test_the_api_response_loads_with_contacts_kept_private(wards, db):
    report = load_places(db, "mutual-aid", shared_data(API), keep_outside=True)
    assert report.status == "committed", report.lines()
    assert "unwrapped the API response's body" in report.notes
    body = json.loads(json.loads(shared_data(API).read_text())["body"])
    assert report.counts["inserted"] == len(body)
    assert scalar(db, "SELECT count(*) FROM places") == len(body)
    with_phone = [g for g in body if (g.get("contact") or {}).get("phone")]
    assert scalar(db, "SELECT count(*) FROM places WHERE phone IS NOT NULL") == len(with_phone)
    assert scalar(db, "SELECT count(*) FROM places WHERE phone_public OR email_public") == 0
    polygons = [g for g in body if g.get("location_poly")]
    assert scalar(db, "SELECT count(*) FROM mutual_aid_groups WHERE coverage IS NOT NULL") == len(
        polygons)
    assert scalar(db, "SELECT count(*) FROM places WHERE last_verified = '2020-05-15'") > 0


def test_the_star_delimited_export_names_its_broken_rows(wards, db):
    refused = load_places(db, "mutual-aid", shared_data(STAR))
    assert refused.status == "failed" and refused.invalid == 4
    assert any(n.endswith("star-separated") for n in refused.notes), refused.notes
    broken = problems(refused)
    assert [row for row, _, _ in broken] == [1114, 1155, 3172, 3705]
    for _, field, reason in broken:
        assert field is None and "does a value contain the delimiter '*'" in reason, reason
    assert scalar(db, "SELECT count(*) FROM places") == 0

    loaded = load_places(db, "mutual-aid", shared_data(STAR), skip_invalid=True,
                         keep_outside=True)
    assert loaded.status == "committed", loaded.lines()
    assert loaded.invalid == 4
    lines = shared_data(STAR).read_text().splitlines()[1:]
    distinct = {tuple(part.strip() for part in line.split("*")) for line in lines
                if line.count("*") == 5}
    # Exact repeats load once; everything else is a place of its own.
    assert loaded.counts["inserted"] == len(distinct)
    assert scalar(db, "SELECT count(*) FROM places") == len(distinct)
    repeats = [row for row, field, reason in warnings(loaded)
               if (field, reason) == ("source_id", "repeats row 315 exactly; loaded once")]
    assert repeats == [397, 852, 2358, 3277]


# --- the rules for bad rows ------------------------------------------------------------

def test_bad_row_is_named_and_nothing_is_written(wards, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 10_000, bad_row=5_000)
    before = _version(db)
    report = load_places(db, "assets", path)
    assert report.status == "failed" and not report.ok
    assert (report.rows, report.invalid, report.errors) == (10_000, 1, 1)
    assert problems(report) == [(5_000, "latitude", "latitude 953.6 is outside -90 to 90")]
    assert scalar(db, "SELECT count(*) FROM places") == 0
    assert scalar(db, "SELECT count(*) FROM community_assets") == 0
    assert _version(db) == before
    assert rows(db, "SELECT status, invalid FROM import_runs WHERE kind = 'community_asset'") == [
        ("failed", 1)]


def test_skip_invalid_loads_the_other_rows(wards, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 10_000, bad_row=5_000)
    report = load_places(db, "assets", path, skip_invalid=True)
    assert report.status == "committed", report.lines()
    assert report.counts == _counts(9_999) and report.invalid == 1
    assert problems(report) == [(5_000, "latitude", "latitude 953.6 is outside -90 to 90")]
    assert scalar(db, "SELECT count(*) FROM places") == 9_999
    assert scalar(db, "SELECT count(*) FROM community_assets") == 9_999
    assert scalar(db, "SELECT count(*) FROM places WHERE source_id = 'A05000'") == 0
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code IS NULL") == 0


def test_reimport_changes_nothing(wards, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 500)
    first = load_places(db, "assets", path)
    assert (first.status, first.counts) == ("committed", _counts(500)), first.lines()
    stamps = rows(db, "SELECT id, updated_at FROM places ORDER BY id")
    version = _version(db)
    second = load_places(db, "assets", path)
    assert (second.status, second.counts) == ("committed", _counts(unchanged=500)), \
        second.lines()
    assert rows(db, "SELECT id, updated_at FROM places ORDER BY id") == stamps
    assert _version(db) == version


def test_a_changed_row_is_updated_and_linked_to_its_run(wards, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 50)
    assert load_places(db, "assets", path).status == "committed"
    content = path.read_text().replace("Community place 7,", "Community Place Seven,")
    path.write_text(content)
    report = load_places(db, "assets", path)
    assert (report.status, report.counts) == ("committed", _counts(updated=1, unchanged=49)), \
        report.lines()
    assert report.run_id == scalar(db, "SELECT max(id) FROM import_runs")
    assert rows(db, "SELECT source_id, name FROM places WHERE import_run_id = :r",
                r=report.run_id) == [("A00007", "Community Place Seven")]


def test_dry_run_writes_nothing_and_says_what_would_change(wards, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 30)
    version = _version(db)
    report = load_places(db, "assets", path, dry_run=True)
    assert report.status == "dry-run" and report.ok, report.lines()
    assert report.counts == _counts(30)
    assert scalar(db, "SELECT count(*) FROM places") == 0
    assert _version(db) == version
    assert scalar(db, "SELECT status FROM import_runs WHERE kind = 'community_asset'") == "dry-run"


def test_prune_soft_deletes_missing_rows_and_a_returning_row_is_restored(wards, db, tmp_path):
    full = _assets_csv(tmp_path / "assets.csv", 20)
    assert load_places(db, "assets", full, source="council-assets").counts == _counts(20)
    lines = full.read_text().splitlines(keepends=True)
    shorter = tmp_path / "assets-short.csv"
    shorter.write_text("".join(lines[:1] + lines[1:16]))  # rows 16-20 gone
    pruned = load_places(db, "assets", shorter, source="council-assets", prune=True)
    assert (pruned.status, pruned.counts) == ("committed", _counts(unchanged=15, pruned=5)), \
        pruned.lines()
    assert scalar(db, "SELECT count(*) FROM places WHERE deleted_at IS NOT NULL") == 5
    assert scalar(db, "SELECT count(*) FROM places WHERE deleted_at IS NULL") == 15
    back = load_places(db, "assets", full, source="council-assets")
    assert (back.status, back.counts) == ("committed", _counts(updated=5, unchanged=15)), \
        back.lines()
    assert note(back, "back on the map") == ("5 of the updated places had been removed before "
                                             "and are back on the map")
    assert scalar(db, "SELECT count(*) FROM places WHERE deleted_at IS NOT NULL") == 0


def test_prune_leaves_other_sources_alone(wards, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 10)
    assert load_places(db, "assets", path, source="one").counts == _counts(10)
    assert load_places(db, "assets", path, source="two").counts == _counts(10)
    empty = write_csv(tmp_path / "empty.csv", ["Ref", "Name", "Latitude", "Longitude"], [])
    report = load_places(db, "assets", empty, source="one", prune=True)
    assert (report.status, report.counts) == ("committed", _counts(pruned=10)), report.lines()
    assert scalar(db, "SELECT count(*) FROM places WHERE source = 'one' AND deleted_at IS NULL") == 0
    assert scalar(db, "SELECT count(*) FROM places WHERE source = 'two' AND deleted_at IS NULL") == 10


def _hubs_with_repeated_ids(path):
    (lon, lat), = points_in_kirklees(1)
    return write_csv(path, ["id", "name", "lat", "lon", "type"], [
        ["H1", "North Hub", lat, lon, "response hub"],
        ["H1", "North Hub", lat, lon, "response hub"],
        ["H2", "South Hub", lat, lon, "anchor"],
        ["H2", "Another Hub", lat, lon, "anchor"],
    ])


REPEATED_IDS = [(3, "source_id", "id H2 is used by 2 rows with different details (rows 3, 4)"),
                (4, "source_id", "id H2 is used by 2 rows with different details (rows 3, 4)")]
EXACT_REPEAT = [(2, "source_id", "repeats row 1 exactly; loaded once")]


def test_duplicate_ids_with_different_details_are_refused(wards, db, tmp_path):
    path = _hubs_with_repeated_ids(tmp_path / "hubs.csv")
    refused = load_places(db, "hubs", path)
    assert refused.status == "failed" and refused.invalid == 2
    assert problems(refused) == REPEATED_IDS
    assert warnings(refused) == EXACT_REPEAT
    ok = load_places(db, "hubs", path, skip_invalid=True)
    assert ok.status == "committed", ok.lines()
    assert ok.counts == _counts(1)
    assert rows(db, "SELECT p.source_id, h.hub_type FROM places p JOIN hubs h ON h.place_id = p.id"
                ) == [("H1", "response_hub")]


def test_provenance_is_recorded_for_each_run(wards, db, tmp_path):
    path = _assets_csv(tmp_path / "assets.csv", 5)
    report = load_places(db, "assets", path, source="council-assets")
    assert report.source == "council-assets"
    run_row = rows(db, "SELECT id, source, kind, file_name, sha256, run_by, inserted, status, "
                       "importer_version, finished_at IS NOT NULL FROM import_runs "
                       "WHERE kind = 'community_asset'")[0]
    from importers import VERSION

    assert run_row == (report.run_id, "council-assets", "community_asset", "assets.csv",
                       hashlib.sha256(path.read_bytes()).hexdigest(), run_row.run_by, 5,
                       "committed", VERSION, True)
    assert run_row.run_by
    assert scalar(db, "SELECT count(DISTINCT import_run_id) FROM places") == 1


# --- spreadsheets as people save them -----------------------------------------------------

def test_windows_1252_csv_round_trips_pound_and_accents(wards, db, tmp_path):
    (lon, lat), = points_in_kirklees(1)
    name, description = "Café Réunion", "Lunch £3.50 — soup & a roll, “homemade”"
    path = write_csv(tmp_path / "excel.csv", ["Name", "Description", "Latitude", "Longitude"],
                     [[name, description, lat, lon]], encoding="cp1252")
    assert b"\xa3" in path.read_bytes()  # £ in Windows-1252, not UTF-8
    report = load_places(db, "assets", path)
    assert (report.status, report.counts) == ("committed", _counts(1)), report.lines()
    assert "read as Windows-1252 (Excel 'CSV'), comma-separated" in report.notes
    assert rows(db, "SELECT name, description FROM places") == [(name, description)]


def test_excel_utf8_bom_csv_round_trips_its_text(wards, db, tmp_path):
    (lon, lat), = points_in_kirklees(1)
    name, description = "Crèche £ Ünïcödé", "Room hire £12/hour, café open"
    path = write_csv(tmp_path / "excel-utf8.csv", ["Name", "Description", "Latitude", "Longitude"],
                     [[name, description, lat, lon]], encoding="utf-8-sig", delimiter=";")
    report = load_places(db, "assets", path)
    assert (report.status, report.counts) == ("committed", _counts(1)), report.lines()
    assert ("read as UTF-8 with a byte order mark (Excel), semicolon-separated"
            in report.notes)
    assert rows(db, "SELECT name, description FROM places") == [(name, description)]
    assert scalar(db, "SELECT count(*) FROM places WHERE name LIKE '%\ufeff%'") == 0


def _grid_in_degree_columns(path):
    # Huddersfield town centre on the British National Grid, typed into lat/long columns.
    return write_csv(path, ["Name", "Latitude", "Longitude"],
                     [["Town hall", "416456", "414351"], ["Library", "416619", "414545"]])


def _looks_like_grid(northing: str, easting: str) -> str:
    return (f"{northing}, {easting} look like a northing and an easting (British National "
            f"Grid), not a latitude and longitude: if the 'Latitude' and 'Longitude' columns "
            f"hold northings and eastings, run again with --crs EPSG:27700")


def test_eastings_in_latitude_columns_are_detected(wards, db, tmp_path):
    path = _grid_in_degree_columns(tmp_path / "grid.csv")
    report = load_places(db, "assets", path)
    assert report.status == "failed" and report.invalid == 2
    assert problems(report) == [(1, "latitude", _looks_like_grid("416,456", "414,351")),
                                (2, "latitude", _looks_like_grid("416,619", "414,545"))]
    assert report.notes[0] == ("2 rows have eastings and northings in the latitude/longitude "
                               "columns: if the whole file is on the British National Grid, "
                               "run again with --crs EPSG:27700")
    assert scalar(db, "SELECT count(*) FROM places") == 0
    fixed = load_places(db, "assets", path, crs="EPSG:27700")
    assert (fixed.status, fixed.counts) == ("committed", _counts(2)), fixed.lines()
    assert problems(fixed) == []
    placed = rows(db, "SELECT ST_X(geom), ST_Y(geom), ward_code FROM places ORDER BY name")
    assert len(placed) == 2
    for lon, lat, code in placed:
        assert code == ward_of(lon, lat) is not None


def test_easting_and_northing_columns_and_a_map_override(wards, db, tmp_path):
    path = write_csv(tmp_path / "buildings.csv",
                     ["Asset No", "Property", "X coord (BNG)", "Y coord (BNG)", "Tenure"],
                     [["T1", "Old Library", "414351", "416456", "Leasehold"]])
    report = load_places(db, "transfers", path, mapping=[
        "source_id=Asset No", "name=Property", "easting=X coord (BNG)",
        "northing=Y coord (BNG)"])
    assert (report.status, report.counts) == ("committed", _counts(1)), report.lines()
    assert rows(db, "SELECT p.source_id, p.name, t.tenure FROM places p "
                    "JOIN transferred_buildings t ON t.place_id = p.id") == [
        ("T1", "Old Library", "leasehold")]
    lon, lat = rows(db, "SELECT ST_X(geom), ST_Y(geom) FROM places")[0]
    assert ward_of(lon, lat) == scalar(db, "SELECT ward_code FROM places")


def test_rows_with_only_a_postcode_are_placed_by_lookup(wards, db, tmp_path):
    (lon, lat), = points_in_kirklees(1)
    postcodes = write_csv(tmp_path / "onspd.csv", ["pcd", "pcds", "lat", "long"],
                          [["HD1 2TA", "HD1 2TA", lat, lon]])
    loaded = load_postcodes(db, postcodes)
    assert (loaded.status, loaded.counts["inserted"]) == ("committed", 1), loaded.lines()
    assets = write_csv(tmp_path / "assets.csv", ["Name", "Postcode"],
                       [["Drop-in", "hd12ta"], ["Nowhere", "ZZ9 9ZZ"]])
    refused = load_places(db, "assets", assets)
    assert refused.status == "failed" and refused.invalid == 1
    assert problems(refused) == [
        (2, "postcode", "postcode ZZ9 9ZZ is not in the postcodes table; is the postcode current?")]
    report = load_places(db, "assets", assets, skip_invalid=True)
    assert (report.status, report.counts) == ("committed", _counts(1)), report.lines()
    assert rows(db, "SELECT name, postcode, location_precision, ward_code FROM places") == [
        ("Drop-in", "HD1 2TA", "street", ward_of(lon, lat))]


# --- GIS files ---------------------------------------------------------------------------

def _write_gis(path, driver: str, geometries, names, crs: str = "EPSG:4326", **options):
    pyogrio.raw.write(path, np.array(shapely.to_wkb(geometries), dtype=object),
                      [np.array(names, dtype=object), np.array(["Leasehold"] * len(names),
                                                               dtype=object)],
                      fields=["name", "tenure"], geometry_type=options.pop("geometry_type"),
                      crs=crs, driver=driver, **options)


def test_shapefile_zip_and_geopackage_load(wards, db, tmp_path):
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
    from_zip = load_places(db, "transfers", archive, source="shapefile")
    assert (from_zip.status, from_zip.counts) == ("committed", _counts(3)), from_zip.lines()
    assert "read with GDAL's ESRI Shapefile driver, EPSG:4326" in from_zip.notes

    _write_gis(tmp_path / "transfers.gpkg", "GPKG", footprints, names, geometry_type="Polygon")
    from_gpkg = load_places(db, "transfers", tmp_path / "transfers.gpkg", source="geopackage")
    assert (from_gpkg.status, from_gpkg.counts) == ("committed", _counts(3)), from_gpkg.lines()
    assert "read with GDAL's GPKG driver, EPSG:4326" in from_gpkg.notes
    for source in ("shapefile", "geopackage"):
        loaded = rows(db, "SELECT p.name, p.ward_code, GeometryType(p.geom), t.tenure FROM places p "
                          "JOIN transferred_buildings t ON t.place_id = p.id WHERE p.source = :s "
                          "ORDER BY p.name", s=source)
        expected = sorted((n, ward_of(*pt), "POLYGON", "leasehold") for n, pt in zip(names, points))
        assert loaded == expected


def test_geojson_in_british_national_grid_loads(wards, db, tmp_path):
    path = tmp_path / "hubs.geojson"
    path.write_text(json.dumps({
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}},
        "features": [{"type": "Feature", "properties": {"id": "H9", "name": "Town Hub",
                                                          "hub_type": "anchor organisation"},
                      "geometry": {"type": "Point", "coordinates": [414351, 416456]}}]}))
    report = load_places(db, "hubs", path)
    assert (report.status, report.counts) == ("committed", _counts(1)), report.lines()
    assert "read with GDAL's GeoJSON driver, EPSG:27700" in report.notes
    lon, lat, code, hub_type = rows(db, "SELECT ST_X(p.geom), ST_Y(p.geom), p.ward_code, h.hub_type "
                                        "FROM places p JOIN hubs h ON h.place_id = p.id")[0]
    assert -1.79 < lon < -1.77 and 53.64 < lat < 53.65
    assert code == ward_of(lon, lat) and hub_type == "anchor_organisation"


def test_an_invalid_footprint_is_repaired_with_a_warning(wards, db, tmp_path):
    (lon, lat), = points_in_kirklees(1, seed=5)
    d = 0.0003
    bow_tie = (f"POLYGON(({lon} {lat}, {lon + d} {lat + d}, {lon + d} {lat}, {lon} {lat + d}, "
               f"{lon} {lat}))")
    path = write_csv(tmp_path / "transfers.csv", ["id", "name", "wkt"], [["T7", "Mill", bow_tie]])
    report = load_places(db, "transfers", path)
    assert (report.status, report.counts) == ("committed", _counts(1)), report.lines()
    assert problems(report) == []
    [(row, field, reason)] = warnings(report)
    assert (row, field) == (1, "geometry")
    assert reason.startswith("the polygon was invalid (Self-intersection"), reason
    assert reason.endswith(") and has been repaired with ST_MakeValid"), reason
    assert rows(db, "SELECT ST_IsValid(geom), GeometryType(geom) FROM places") == [
        (True, "MULTIPOLYGON")]


def test_a_missing_location_column_fails_before_reading(wards, db, tmp_path):
    path = write_csv(tmp_path / "names.csv", ["Name", "Town"], [["Hall", "Batley"]])
    report = load_places(db, "assets", path)
    assert report.status == "failed" and report.rows == 0
    assert report.fatal == (
        "no column gives a location: the file needs latitude and longitude, easting and "
        "northing, a WKT geometry or a postcode (columns: Name, Town); name them with "
        "--map latitude=COLUMN ...")
    with db.connect() as connection:
        assert connection.execute(text(
            "SELECT status FROM import_runs WHERE kind = 'community_asset'")).scalar() == "failed"


def test_a_file_that_is_not_the_encoding_its_start_claims_is_refused_with_a_reason(
        wards, db, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"\xef\xbb\xbfname,lat,lon\n" + b"a,53.6,-1.7\n" * 7000 + b"\x80,53.6,-1.7\n")
    report = load_places(db, "assets", path)
    assert report.status == "failed" and report.fatal, report.lines()
    assert "broken.csv is not UTF-8 with a byte order mark (Excel)" in report.fatal
    assert "at about byte 84,013" in report.fatal and "--encoding" in report.fatal
    assert scalar(db, "SELECT count(*) FROM places") == 0


def test_text_postgresql_cannot_hold_is_made_safe(wards, db, tmp_path):
    (lon, lat), = points_in_kirklees(1)
    nul = tmp_path / "nul-in-header.csv"
    nul.write_bytes(f"name\x00,lat,lon\nA place,{lat},{lon}\n".encode())
    in_header = load_places(db, "assets", nul)
    assert (in_header.status, in_header.counts) == ("committed", _counts(1)), in_header.lines()
    half = tmp_path / "half-a-character.json"
    half.write_text(f'[{{"id": "1", "name": "Caf\\ud800", "lat": {lat}, "lon": {lon}}}]')
    report = load_places(db, "hubs", half)
    assert (report.status, report.counts) == ("committed", _counts(1)), report.lines()
    assert scalar(db, "SELECT name FROM places WHERE source = 'half-a-character'") == "Caf?"


# --- the command: what only `assetmap import` does ---------------------------------------

def test_the_command_prints_the_report_and_the_options_that_fix_a_refused_file(
        wards, runner, db, tmp_path):
    """Tests the CLI: `assetmap import` exits 1 on a refused file and prints the report's
    summary, the hints to --skip-invalid and --crs EPSG:27700, and the problems by row;
    --crs EPSG:27700 typed as text then loads the file (exit 0)."""
    path = _grid_in_degree_columns(tmp_path / "grid.csv")
    refused = run(runner, "import", "assets", path)
    assert refused.exit_code == 1, refused.output
    lines = refused.output.splitlines()
    assert lines[0].startswith("assets: NOTHING WRITTEN; 2 rows read; 2 invalid, 0 warnings (")
    assert ("  2 rows have problems, so nothing was written. Fix them and run again, or add "
            "--skip-invalid to load the other rows.") in lines
    assert any(line.endswith("run again with --crs EPSG:27700") for line in lines[2:]), lines
    assert "  row 1 is the first row after the header" in lines
    assert any(line.split()[:4] == ["error", "row", "1", "latitude"]
               and "look like a northing and an easting (British National Grid)" in line
               for line in lines), lines
    assert scalar(db, "SELECT count(*) FROM places") == 0
    fixed = run(runner, "import", "assets", path, "--crs", "EPSG:27700")
    assert fixed.exit_code == 0, fixed.output
    assert fixed.output.startswith("assets: done; 2 rows read; 2 inserted, 0 updated, "
                                   "0 unchanged, 0 pruned; 0 invalid, 0 warnings (")
    assert scalar(db, "SELECT count(*) FROM places WHERE ward_code IS NOT NULL") == 2


def test_the_command_writes_every_problem_to_the_problems_file(wards, runner, db, tmp_path):
    """Tests the CLI: with --skip-invalid it loads the good rows (exit 0), says the refused
    ones were left out, and --problems FILE gets every problem as a spreadsheet."""
    path = _hubs_with_repeated_ids(tmp_path / "hubs.csv")
    problems_file = tmp_path / "problems.csv"
    result = run(runner, "import", "hubs", path, "--skip-invalid", "--problems", problems_file)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("hubs: done; 4 rows read; 1 inserted, 0 updated, "
                                    "0 unchanged, 0 pruned; 2 invalid, 1 warning (")
    assert "  2 rows with problems were left out (--skip-invalid)." in result.output
    assert f"  3 problems written to {problems_file}" in result.output
    written = problems_file.read_text(encoding="utf-8-sig").splitlines()
    assert written == ["row,severity,field,reason",
                       "2,warning,source_id,repeats row 1 exactly; loaded once",
                       *(f"{row},error,{field},{reason}" if "," not in reason
                         else f'{row},error,{field},"{reason}"'
                         for row, field, reason in REPEATED_IDS)]
    assert scalar(db, "SELECT count(*) FROM places") == 1
