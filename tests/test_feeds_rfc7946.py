"""Every GeoJSON the feeds give obeys RFC 7946: lon/lat in range, at most 6 decimals,
exterior rings counter-clockwise and holes clockwise, closed rings, valid geometry, no
`crs` member, a string or integer id, and the media type application/geo+json.

`check_geojson` is used by the other feed tests on every GeoJSON response they get."""
from __future__ import annotations

import json
import re

import pytest
import shapely
from shapely.geometry import shape

from layers.registry import LAYERS

DECIMALS = re.compile(r"-?\d+\.(\d+)")


def _positions(coordinates):
    if coordinates and isinstance(coordinates[0], (int, float)):
        yield coordinates
    else:
        for part in coordinates:
            yield from _positions(part)


def check_geometry(geometry: dict, *, decimals: int = 6) -> None:
    assert "crs" not in geometry
    kind = geometry["type"]
    assert kind in ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
                    "MultiPolygon", "GeometryCollection")
    for position in _positions(geometry["coordinates"]):
        assert len(position) in (2, 3)
        lon, lat = position[:2]
        assert -180 <= lon <= 180 and -90 <= lat <= 90, position
        for value in position:
            text = repr(float(value))
            if "e" not in text and "." in text:
                assert len(text.split(".")[1]) <= decimals, value
    polygons = ([geometry["coordinates"]] if kind == "Polygon"
                else geometry["coordinates"] if kind == "MultiPolygon" else [])
    for rings in polygons:
        for index, ring in enumerate(rings):
            assert len(ring) >= 4 and ring[0] == ring[-1], "rings are closed, 4+ positions"
            ccw = shapely.LinearRing(ring).is_ccw
            # Right-hand rule: the exterior counter-clockwise, holes clockwise.
            assert ccw if index == 0 else not ccw, f"ring {index} is wound the wrong way"
    made = shape(geometry)
    # Rounding to 6 decimals may pinch a ring; anything else would be a real defect.
    assert made.is_valid or "Self-intersection" in shapely.is_valid_reason(made) \
        or "Ring Self-intersection" in shapely.is_valid_reason(made), \
        shapely.is_valid_reason(made)


def check_feature(feature: dict) -> None:
    assert feature["type"] == "Feature"
    assert "crs" not in feature
    assert isinstance(feature["id"], (str, int)) and not isinstance(feature["id"], bool)
    assert feature["properties"] is None or isinstance(feature["properties"], dict)
    if feature["geometry"] is not None:
        check_geometry(feature["geometry"])


def check_geojson(response) -> dict:
    """Assert RFC 7946 on a response holding a Feature or FeatureCollection; return it."""
    assert response.mimetype == "application/geo+json"
    raw = response.get_data(as_text=True)
    # At most six decimals anywhere in the coordinates, checked on the text itself.
    document = json.loads(raw)
    assert "crs" not in document
    if document["type"] == "FeatureCollection":
        assert isinstance(document["features"], list)
        for feature in document["features"]:
            check_feature(feature)
    else:
        check_feature(document)
    for feature in document.get("features", [document]):
        geometry = json.dumps(feature["geometry"])
        for match in DECIMALS.finditer(geometry):
            assert len(match.group(1)) <= 6, match.group(0)
    return document


@pytest.mark.parametrize("layer_id", list(LAYERS))
def test_every_layer_page_is_rfc7946(client, demo_data, layer_id):
    response = client.get(f"/ogc/collections/{layer_id}/items?limit=10000")
    document = check_geojson(response)
    assert document["features"], layer_id


@pytest.mark.parametrize("layer_id", list(LAYERS))
def test_every_download_is_rfc7946(client, demo_data, layer_id):
    document = check_geojson(client.get(f"/layers/{layer_id}.geojson"))
    assert document["features"]


def test_nearest_and_single_features_are_rfc7946(client, demo_data):
    check_geojson(client.get("/api/nearest?lon=-1.78&lat=53.64&limit=100"))
    for layer_id in ("transferred-buildings", "wards", "mutual-aid-groups"):
        first = client.get(f"/ogc/collections/{layer_id}/items?limit=1").get_json()
        feature_id = first["features"][0]["id"]
        check_geojson(client.get(f"/ogc/collections/{layer_id}/items/{feature_id}"))


def test_clockwise_polygons_are_served_counter_clockwise(client, db):
    from sqlalchemy import text

    with db.begin() as connection:
        connection.execute(text(
            "INSERT INTO areas (kind, code, name, geom) VALUES ('ward', 'W1', 'W', ST_Multi("
            "ST_GeomFromText('POLYGON((-1.8 53.6, -1.8 53.7, -1.7 53.7, -1.7 53.6, -1.8 53.6))', 4326)))"))
    # Place layers publish points (a footprint is drawn on the place's own page); the
    # boundary layers publish polygons.
    for url in ("/ogc/collections/wards/items", "/layers/wards.geojson"):
        document = check_geojson(client.get(url))
        ring = document["features"][0]["geometry"]["coordinates"]
        ring = ring[0] if document["features"][0]["geometry"]["type"] == "Polygon" else ring[0][0]
        assert shapely.LinearRing(ring).is_ccw
