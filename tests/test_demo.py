"""`make run`'s data: the real district from data/, generated places on top, and one
command that takes the generated places away (and the banner with them)."""
from __future__ import annotations

import filecmp
import io
import json

from conftest import shared_data
from sqlalchemy import text
from test_import_helpers import run, scalar, write_csv

from mapping.core.config import PROJECT_ROOT
from mapping.staff import accounts

DATA = PROJECT_ROOT / "data"
SHIPPED = {"wards-2013.geojson": "kirklees/wards-2013.geojson",
           "lsoa-2011.geojson": "kirklees/lsoa-2011.geojson",
           "imd-2019-lsoa.csv": "kirklees/imd-2019-lsoa.csv",
           "population-2015-lsoa.csv": "kirklees/population-2015-lsoa.csv",
           "codepoint-open-kirklees-2025-05.csv": "postcodes/codepoint-open-kirklees-2025-05.csv"}


def test_the_shipped_reference_data_is_the_publishers_files_with_their_licences():
    for name, original in SHIPPED.items():
        assert filecmp.cmp(DATA / name, shared_data(original), shallow=False), name
    wards = json.loads((DATA / "wards-2013.geojson").read_text())["features"]
    assert len(wards) == 23
    assert len(json.loads((DATA / "lsoa-2011.geojson").read_text())["features"]) == 259
    for name, rows in (("imd-2019-lsoa.csv", 259), ("population-2015-lsoa.csv", 259),
                       ("codepoint-open-kirklees-2025-05.csv", 11_502)):
        lines = [line for line in (DATA / name).read_bytes().splitlines() if line.strip()]
        assert len(lines) - 1 == rows, name  # less the header
    licences = (DATA / "LICENCES").read_text()
    for name in SHIPPED:
        assert name in licences
    for attribution in ("CC BY 4.0", "Open Government Licence v3.0", "UK-GeoJSON",
                        "Contains OS data © Crown copyright and database right 2025",
                        "Royal Mail copyright", "MHCLG"):
        assert attribution in licences
    # The non-commercial mutual aid exports are never shipped.
    assert not any("mutual" in path.name or "groups" in path.name for path in DATA.iterdir())


def test_demo_loads_the_real_district_and_places_inside_it(runner, db):
    result = run(runner, "demo")
    assert result.exit_code == 0, result.output
    assert ("23 wards, 259 LSOAs, 259 LSOAs with IMD and population, 13 priority "
            "neighbourhoods, 11,502 postcodes") in result.output
    with db.connect() as connection:
        wards = dict(connection.execute(text(
            "SELECT code, name FROM areas WHERE kind = 'ward'")).all())
        assert len(wards) == 23 and wards["E05001398"] == "Dewsbury East"
        assert all(code.startswith("E0500") for code in wards)
        # The neighbourhoods are the IMD deciles 1-2 LSOAs, merged: nothing else (but for
        # the slivers between neighbouring LSOAs, closed by the union's 10 cm grid).
        differ, area = connection.execute(text("""
            WITH n AS (SELECT ST_Union(geom_bng) AS g FROM areas WHERE kind = 'neighbourhood'),
                 l AS (SELECT ST_Union(geom_bng) AS g FROM areas
                        WHERE kind = 'lsoa' AND imd_decile <= 2)
            SELECT ST_Area(ST_SymDifference(n.g, l.g)), ST_Area(l.g) FROM n, l""")).one()
        assert differ < area * 1e-4, (differ, area)
        assert connection.execute(text(
            "SELECT name FROM areas WHERE code = 'PN-E01011014'")).scalar() == (
            "Dewsbury West and Batley East priority neighbourhood")
        places = connection.execute(text("""
            SELECT count(*), count(*) FILTER (WHERE ward_code IS NULL),
                   count(*) FILTER (WHERE NOT EXISTS (
                       SELECT 1 FROM areas w WHERE w.kind = 'ward'
                          AND ST_Contains(w.geom, ST_PointOnSurface(p.geom)))),
                   count(*) FILTER (WHERE kind = 'mutual_aid_group'),
                   count(*) FILTER (WHERE kind = 'mutual_aid_group' AND location_precision = 'area'),
                   count(*) FILTER (WHERE kind = 'hub'), count(DISTINCT ward_code)
              FROM places p WHERE source = 'demo'""")).one()
        assert places == (352, 0, 0, 130, 130, 12, 23)
        assert connection.execute(text(
            "SELECT count(*) FROM places p WHERE NOT EXISTS ("
            "SELECT 1 FROM postcodes c WHERE c.postcode = p.postcode)")).scalar() == 0
        sources = connection.execute(text(
            "SELECT source FROM import_runs ORDER BY id")).scalars().all()
    # Only the generated places count as demo; the real layers go by their file names.
    assert sources == ["wards-2013", "lsoa-2011", "imd-2019-lsoa", "population-2015-lsoa",
                       "imd-deciles-1-2", "codepoint-open-kirklees-2025-05", "demo"]


def test_removing_the_demo_takes_only_the_generated_places_and_the_banner(runner, db, client):
    assert run(runner, "demo").exit_code == 0
    with db.begin() as connection:
        accounts.add_user(connection, "editor@example.org", "a long enough password", "editor")
    page = " ".join(client.get("/").get_data(as_text=True).split())
    assert ("The places on this map are generated examples; the ward and LSOA boundaries, "
            "postcodes and deprivation figures are real") in page

    result = run(runner, "demo", "--remove")
    assert result.exit_code == 0, result.output
    assert ("removed 352 generated places (184 community asset, 12 hub, 130 mutual aid group, "
            "26 transferred building); the boundaries, postcodes, statistics and users are "
            "kept") in result.output
    counts = {table: scalar(db, f"SELECT count(*) FROM {table}") for table in (
        "places", "community_assets", "mutual_aid_groups", "hubs", "transferred_buildings",
        "place_links", "postcodes", "users")}
    assert counts == {"places": 0, "community_assets": 0, "mutual_aid_groups": 0, "hubs": 0,
                      "transferred_buildings": 0, "place_links": 0, "postcodes": 11_502,
                      "users": 1}
    assert scalar(db, "SELECT count(*) FROM areas WHERE imd_decile IS NOT NULL") == 259
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'ward'") == 23
    page = client.get("/").get_data(as_text=True)
    assert "demo-banner" not in page and "generated examples" not in page
    assert client.get("/wards/E05001398").status_code == 200

    # make run again does not bring them back; --force does.
    again = run(runner, "demo")
    assert "the demo places were removed; nothing loaded" in again.output
    assert scalar(db, "SELECT count(*) FROM places") == 0
    forced = run(runner, "demo", "--force")
    assert forced.exit_code == 0, forced.output
    assert scalar(db, "SELECT count(*) FROM places WHERE source = 'demo'") == 352
    assert scalar(db, "SELECT count(*) FROM areas WHERE kind = 'ward'") == 23


def test_a_real_import_says_how_to_remove_the_demo_places(runner, db, tmp_path):
    assert run(runner, "demo").exit_code == 0
    path = write_csv(tmp_path / "groups.csv", ["name", "latitude", "longitude"],
                     [["Ravensthorpe Helpers", "53.6880", "-1.6580"]])
    result = run(runner, "import", "mutual-aid", path)
    assert result.exit_code == 0, result.output
    assert ("352 generated demo places are still on the map (and its demo banner); remove "
            "them, and nothing else, with: assetmap demo --remove") in result.output
    wards = run(runner, "boundaries", "wards", DATA / "wards-2013.geojson",
                "--code-field", "WD13CD", "--name-field", "WD13NM")
    assert "assetmap demo --remove" in wards.output
    assert run(runner, "demo", "--remove").exit_code == 0
    after = run(runner, "import", "mutual-aid", path)
    assert "demo" not in after.output
    assert scalar(db, "SELECT count(*) FROM places") == 1


def test_the_web_upload_says_how_to_remove_the_demo_places(runner, db, client):
    assert run(runner, "demo").exit_code == 0
    with db.begin() as connection:
        accounts.add_user(connection, "editor@example.org", "a long enough password", "editor")
        token = accounts.create_token(connection, connection.execute(text(
            "SELECT id FROM users")).scalar(), "test")
    csv_bytes = b"name,latitude,longitude\r\nRavensthorpe Helpers,53.6880,-1.6580\r\n"
    response = client.post("/api/import", headers={"Authorization": f"Bearer {token}"},
                           data={"kind": "mutual-aid",
                                 "file": (io.BytesIO(csv_bytes), "groups.csv")})
    assert response.status_code == 200, response.get_json()
    assert any("assetmap demo --remove" in note for note in response.get_json()["notes"])


def test_demo_data_is_deterministic(connection):
    from importers import demo

    def snapshot():
        # Loaded in a savepoint rolled back afterwards, so the next load starts from the
        # same empty tables.
        savepoint = connection.begin_nested()
        demo.load(connection)
        rows = connection.execute(text(
            "SELECT kind, name, ST_AsText(geom), ward_code, postcode FROM places "
            "ORDER BY source_id")).all()
        savepoint.rollback()
        return rows

    assert snapshot() == snapshot()
