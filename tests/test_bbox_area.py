"""A bbox may cover at most MAX_BBOX_AREA_KM2 of ground (10 million km² by default): a
larger one is a 400 naming bbox, on every feed that takes one. The whole world, which
map clients send when zoomed right out, is answered."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from sqlalchemy import text

from mapping import create_app
from mapping.core.config import Settings
from tests.test_ogc_core import database_count, get_json

EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
DEFAULT = Settings().max_bbox_area_km2
EUROPE = (-25.0, 35.0, 45.0, 72.0)
# Two bands between 50° and 60° N, 1 % under and 1 % over ten million km².
UNDER = (-69.8, 50.0, 69.8, 60.0)
OVER = (-71.5, 50.0, 71.5, 60.0)


def _bbox(numbers) -> str:
    return ",".join(str(n) for n in numbers)


def _true_area_km2(db, numbers, srid: int = 4326) -> float:
    """PostGIS on the WGS 84 ellipsoid, the box's edges cut finely so they follow the
    parallels (or the grid lines) rather than great circles."""
    step = 0.05 if srid == 4326 else 100
    with db.connect() as connection:
        return connection.execute(text(
            "SELECT ST_Area(ST_Transform(ST_Segmentize(ST_MakeEnvelope(:a, :b, :c, :d, :srid), "
            ":step), 4326)::geography) / 1e6"),
            {**dict(zip("abcd", numbers)), "srid": srid, "step": step}).scalar()


def _refused(response, area: str | None = None) -> str:
    assert response.status_code == 400, response.data[:300]
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["parameter"] == "bbox" and body["status"] == 400
    assert "MAX_BBOX_AREA_KM2" in body["detail"] and "leave bbox out" in body["detail"]
    if area is not None:
        assert f"bbox covers {area} km²" in body["detail"], body["detail"]
    return body["detail"]


def _stated_area(detail: str) -> float:
    return float(re.search(r"bbox covers ([\d,.]+) km²", detail).group(1).replace(",", ""))


@pytest.fixture
def small_app(database_url, db):
    app = create_app({"database_url": database_url, "TESTING": True,
                      "max_bbox_area_km2": 700})
    yield app
    for key in ("assetmap.engine", "assetmap.read_engine"):
        app.extensions[key].dispose()


@pytest.mark.parametrize("path,advice", [
    ("/ogc/collections/places/items", "read the whole layer a page at a time (limit, offset)"),
    ("/ogc/collections/wards/items", "read the whole layer a page at a time (limit, offset)"),
    ("/layers/places.geojson", "download the whole layer"),
    ("/layers/community-assets.csv", "download the whole layer"),
])
def test_a_bbox_over_the_maximum_is_a_400_naming_bbox(client, db, path, advice):
    detail = _refused(client.get(path, query_string={"bbox": _bbox(EUROPE)}))
    assert "more than the 10,000,000 km² a bbox may cover" in detail
    assert detail.endswith(f"ask for a smaller box, or leave bbox out to {advice}")
    # The figure given is the box's real area on the ground, to within half a per cent.
    assert _stated_area(detail) == pytest.approx(_true_area_km2(db, EUROPE), rel=0.005)


def test_the_default_maximum_lies_between_a_box_just_under_and_one_just_over(client, db,
                                                                             demo_data):
    assert DEFAULT == 10_000_000
    assert _true_area_km2(db, UNDER) < DEFAULT < _true_area_km2(db, OVER)
    under = get_json(client, f"/ogc/collections/places/items?bbox={_bbox(UNDER)}&limit=1")
    assert under["numberMatched"] == database_count(db, "places") > 0
    _refused(client.get(f"/ogc/collections/places/items?bbox={_bbox(OVER)}"))
    assert client.get(f"/layers/hubs.geojson?bbox={_bbox(UNDER)}").status_code == 200


def test_a_latitude_first_bbox_is_measured_the_same(client, db):
    crs84 = _refused(client.get(f"/ogc/collections/hubs/items?bbox={_bbox(EUROPE)}"))
    lon0, lat0, lon1, lat1 = EUROPE
    lat_first = _refused(client.get(
        "/ogc/collections/hubs/items",
        query_string={"bbox": _bbox((lat0, lon0, lat1, lon1)), "bbox-crs": EPSG4326}))
    assert _stated_area(lat_first) == _stated_area(crs84)


def test_a_grid_bbox_is_measured_in_square_kilometres_on_the_grid(small_app, db):
    client = small_app.test_client()
    # 30 km by 25 km of British National Grid around Huddersfield: 750 km².
    grid = (400_000, 400_000, 430_000, 425_000)
    _refused(client.get("/ogc/collections/places/items",
                        query_string={"bbox": _bbox(grid), "bbox-crs": BNG}), area="750")
    assert _true_area_km2(db, grid, srid=27700) == pytest.approx(750, rel=0.001)
    smaller = (400_000, 400_000, 430_000, 423_000)                  # 690 km²
    for path in ("/ogc/collections/places/items", "/layers/places.csv"):
        assert client.get(path, query_string={"bbox": _bbox(smaller), "bbox-crs": "EPSG:27700"}
                          ).status_code == 200
    # Six numbers (with heights) are measured on the first four.
    _refused(client.get("/ogc/collections/places/items",
                        query_string={"bbox": "400000,400000,0,430000,425000,100",
                                      "bbox-crs": BNG}), area="750")


def test_the_setting_is_read_from_max_bbox_area_km2(monkeypatch):
    monkeypatch.setenv("MAX_BBOX_AREA_KM2", "2500")
    assert Settings.from_env().max_bbox_area_km2 == 2500


@pytest.mark.parametrize("bbox", ["-180,-90,180,90", "-180,-85.0511,180,85.0511",
                                  "-180,-90,0,180,90,1000"])
def test_the_whole_world_is_answered_like_no_bbox(client, db, demo_data, bbox):
    everything = get_json(client, "/ogc/collections/places/items?limit=1")["numberMatched"]
    world = get_json(client, f"/ogc/collections/places/items?bbox={bbox}&limit=1")
    assert world["numberMatched"] == everything > 0
    assert client.get(f"/layers/places.geojson?bbox={bbox}").status_code == 200


@pytest.mark.parametrize("bbox", ["-179.9,-90,180,90", "-180,-85,180,90", "-180,-90,180,85"])
def test_nearly_the_whole_world_is_refused(client, bbox):
    _refused(client.get(f"/ogc/collections/places/items?bbox={bbox}"))


def test_the_openapi_document_describes_the_maximum_and_its_400(client, small_app):
    document = get_json(client, "/ogc/api")
    bbox = document["components"]["parameters"]["bbox"]
    assert "more than 10,000,000 km² of ground is refused (400, naming bbox)" in \
        bbox["description"]
    assert "leave bbox out" in bbox["description"] and "whole world" in bbox["description"]
    assert "bbox covering too much ground" in \
        document["components"]["responses"]["InvalidParameter"]["description"]
    for path, operation in document["paths"].items():
        if path.endswith("/items"):
            assert operation["get"]["responses"]["400"] == {
                "$ref": "#/components/responses/InvalidParameter"}
            assert {"$ref": "#/components/parameters/bbox"} in operation["get"]["parameters"]
    small = get_json(small_app.test_client(), "/ogc/api")
    assert "more than 700 km²" in small["components"]["parameters"]["bbox"]["description"]


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is missing")
def test_gdal_zoomed_out_to_the_world_reads_everything_and_a_continent_is_told_why(
        app, live_server, demo_data, db):
    seen: list[str] = []
    serve = app.wsgi_app

    def recording(environ, start_response):
        seen.append(environ.get("QUERY_STRING", ""))
        return serve(environ, start_response)

    app.wsgi_app = recording

    def ogrinfo(*spat: float):
        return subprocess.run(
            ["ogrinfo", "-ro", "-al", "-q", "-spat", *map(str, spat), f"OAPIF:{live_server}/ogc",
             "hubs"], check=False, capture_output=True, text=True, timeout=240,
            env={"CPL_DEBUG": "OFF", "GDAL_HTTP_TIMEOUT": "60", "PATH": "/usr/bin:/bin"})

    # A Web Mercator map zoomed right out: GDAL clamps it to ±180 and sends it.
    world = ogrinfo(-200, -85.0511, 200, 85.0511)
    assert world.returncode == 0, world.stderr[-2000:]
    assert len(re.findall(r"^OGRFeature\(", world.stdout, re.MULTILINE)) == \
        database_count(db, "hubs")
    assert any(q.startswith("limit=") and "bbox=-180," in q for q in seen), seen
    europe = ogrinfo(*EUROPE[:2], *EUROPE[2:])
    assert "MAX_BBOX_AREA_KM2" in europe.stderr and "leave bbox out" in europe.stderr
    assert not re.findall(r"^OGRFeature\(", europe.stdout, re.MULTILINE)

