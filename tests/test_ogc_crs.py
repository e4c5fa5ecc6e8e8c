"""OGC API – Features Part 2 (Coordinate Reference Systems by Reference) abstract tests,
named by their ATS ids, for CRS84, EPSG:4326 (latitude first) and EPSG:27700."""
from __future__ import annotations

import re

import pytest
import shapely
from shapely.geometry import box, shape
from sqlalchemy import text

from layers.registry import LAYERS
from tests.test_ogc_core import get_json, walk_pages

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"
BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
URI = re.compile(r"^http://www\.opengis\.net/def/crs/(OGC/1\.3/CRS84h?|EPSG/0/\d+)$")


def collections(client):
    return get_json(client, "/ogc/collections")["collections"]


def test_conf_crs_crs_uri(client, demo_data):
    document = get_json(client, "/ogc/collections")
    for uri in document["crs"]:
        assert URI.match(uri), uri
    for collection in document["collections"]:
        for uri in collection["crs"] + [collection["storageCrs"]]:
            assert uri == "#/crs" or URI.match(uri), uri


def test_conf_crs_default_crs(client, demo_data):
    for collection in collections(client):
        assert CRS84 in collection["crs"]


def test_conf_crs_storageCrs(client, demo_data):
    for collection in collections(client):
        assert collection["storageCrs"] in collection["crs"]


# What GDAL and QGIS read from a saved file: the GeoJSON 2008 `crs` member (RFC 7946 has none).
CRS_MEMBER = {CRS84: None,
              EPSG4326: {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}},
              BNG: {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}}


@pytest.mark.parametrize("crs", [CRS84, EPSG4326, BNG])
def test_conf_crs_crs_parameter(client, demo_data, crs):
    for collection in collections(client):
        items = client.get(f"/ogc/collections/{collection['id']}/items",
                           query_string={"crs": crs, "limit": 3})
        assert items.status_code == 200
        assert items.headers["Content-Crs"] == f"<{crs}>"
        assert items.get_json().get("crs") == CRS_MEMBER[crs]
        feature_id = items.get_json()["features"][0]["id"]
        single = client.get(f"/ogc/collections/{collection['id']}/items/{feature_id}",
                            query_string={"crs": crs})
        assert single.status_code == 200 and single.headers["Content-Crs"] == f"<{crs}>"
        assert single.get_json().get("crs") == CRS_MEMBER[crs]
        assert single.get_json()["links"], "the members after the feature's own are kept"


def test_conf_crs_crs_parameter_invalid(client, demo_data):
    for crs in ("http://www.opengis.net/def/crs/EPSG/0/3857", "EPSG:999999", "nonsense"):
        assert client.get("/ogc/collections/hubs/items", query_string={"crs": crs}).status_code == 400
        response = client.get("/ogc/collections/hubs/items/341", query_string={"crs": crs})
        assert response.status_code == 400 and response.get_json()["parameter"] == "crs"


def test_conf_crs_crs_parameter_default(client, demo_data):
    assert client.get("/ogc/collections/hubs/items").headers["Content-Crs"] == f"<{CRS84}>"
    assert client.get("/ogc/collections/hubs/items/341").headers["Content-Crs"] == f"<{CRS84}>"


def _to_crs84_from_bng(db, geometries):
    with db.connect() as connection:
        return [shapely.from_wkt(connection.execute(text(
            "SELECT ST_AsText(ST_Transform(ST_SetSRID(ST_GeomFromText(:w), 27700), 4326))"),
            {"w": g.wkt}).scalar()) for g in geometries]


@pytest.mark.parametrize("layer_id", ["hubs", "transferred-buildings", "wards"])
def test_conf_crs_crs_parameter_transform(client, demo_data, db, layer_id):
    default = {f["id"]: shape(f["geometry"]) for f in
               get_json(client, f"/ogc/collections/{layer_id}/items?limit=10000")["features"]}
    lat_first = get_json(client, f"/ogc/collections/{layer_id}/items?limit=10000&crs={EPSG4326}")
    for feature in lat_first["features"]:
        swapped = shapely.transform(shape(feature["geometry"]), lambda xy: xy[:, ::-1])
        assert swapped.normalize().equals_exact(default[feature["id"]].normalize(), 1e-6)
        first = shape(feature["geometry"]).representative_point()
        assert 53 < first.x < 54 and -2.1 < first.y < -1.5, "latitude first"
    grid = get_json(client, f"/ogc/collections/{layer_id}/items?limit=10000&crs={BNG}")["features"]
    for feature in grid:
        easting, northing = shape(feature["geometry"]).representative_point().coords[0]
        assert 390000 < easting < 430000 and 400000 < northing < 440000
    back = _to_crs84_from_bng(db, [shape(f["geometry"]) for f in grid])
    for feature, geometry in zip(grid, back):
        # Centimetre grid coordinates are within 1e-6 degrees after the round trip.
        assert geometry.normalize().equals_exact(default[feature["id"]].normalize(), 2e-6), \
            feature["id"]


def test_conf_crs_bbox_crs_parameter(client, demo_data):
    lon0, lat0, lon1, lat1 = -1.80, 53.62, -1.74, 53.66
    default = {f["id"] for f in walk_pages(
        client, f"/ogc/collections/places/items?bbox={lon0},{lat0},{lon1},{lat1}&limit=50")}
    lat_first = {f["id"] for f in walk_pages(
        client, f"/ogc/collections/places/items?bbox={lat0},{lon0},{lat1},{lon1}"
                f"&bbox-crs={EPSG4326}&limit=50")}
    assert lat_first == default and default
    # A box on the grid: exactly the features whose grid geometry meets it. Its edges are
    # off the whole metre, where generated areas put points that the output rounds onto it.
    e0, n0, e1, n1 = 412000.5, 414000.5, 416000.5, 417500.5
    everything = get_json(client, f"/ogc/collections/places/items?limit=10000&crs={BNG}")
    expected = {f["id"] for f in everything["features"]
                if shape(f["geometry"]).intersects(box(e0, n0, e1, n1))}
    on_grid = {f["id"] for f in walk_pages(
        client, f"/ogc/collections/places/items?bbox={e0},{n0},{e1},{n1}&bbox-crs={BNG}&limit=50")}
    assert on_grid == expected and expected


def test_conf_crs_bbox_crs_parameter_invalid(client, demo_data):
    response = client.get("/ogc/collections/hubs/items",
                          query_string={"bbox": "1,2,3,4", "bbox-crs": "EPSG:3857"})
    assert response.status_code == 400 and response.get_json()["parameter"] == "bbox-crs"
    # EPSG:4326 is latitude first: a third number of 95 is a latitude, and refused.
    ok = client.get("/ogc/collections/hubs/items",
                    query_string={"bbox": "53.6,-1.8,53.7,-1.7", "bbox-crs": EPSG4326})
    assert ok.status_code == 200
    response = client.get("/ogc/collections/hubs/items",
                          query_string={"bbox": "53.6,-1.8,95,-1.7", "bbox-crs": EPSG4326})
    assert response.status_code == 400 and response.get_json()["parameter"] == "bbox"
    assert "latitude" in response.get_json()["detail"]


def test_conf_crs_bbox_crs_parameter_default(client, demo_data):
    bbox = "-1.9,53.6,-1.7,53.7"
    plain = {f["id"] for f in walk_pages(client, f"/ogc/collections/places/items?bbox={bbox}&limit=500")}
    explicit = {f["id"] for f in walk_pages(
        client, f"/ogc/collections/places/items?bbox={bbox}&bbox-crs={CRS84}&limit=500")}
    assert plain == explicit and plain


def test_short_crs_names_are_understood(client, demo_data):
    for name, uri in (("EPSG:27700", BNG), ("EPSG:4326", EPSG4326), ("OGC:CRS84", CRS84)):
        response = client.get("/ogc/collections/hubs/items", query_string={"crs": name})
        assert response.status_code == 200 and response.headers["Content-Crs"] == f"<{uri}>"


def test_every_layer_reads_the_same_in_every_crs(client, demo_data):
    for layer_id in LAYERS:
        counts = {crs: get_json(client, f"/ogc/collections/{layer_id}/items?limit=10000&crs={crs}")
                  ["numberMatched"] for crs in (CRS84, EPSG4326, BNG)}
        assert len(set(counts.values())) == 1
