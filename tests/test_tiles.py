"""Vector tiles: each tile decodes (mapbox-vector-tile) and holds exactly the features in it,
at the right place; empty tiles are 204; paths outside the tile grid are 400; TileJSON
describes every layer."""
from __future__ import annotations

import math

import mapbox_vector_tile
import pytest
from shapely.geometry import box, shape

from layers.registry import LAYERS

EXTENT = 4096
BUFFER = 64


def tile_bounds(z: int, x: int, y: int, margin: float = 0.0) -> tuple[float, float, float, float]:
    """The tile's lon/lat bounds (Web Mercator), widened by `margin` tile widths."""
    n = 2 ** z

    def lon(tx):
        return tx / n * 360 - 180

    def lat(ty):
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    return lon(x - margin), lat(y + 1 + margin), lon(x + 1 + margin), lat(y - margin)


def tile_of(z: int, lon: float, lat: float) -> tuple[int, int]:
    n = 2 ** z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def in_tile_units(z, x, y, lon, lat):
    """A lon/lat position in the tile's own coordinates (0..4096, y up as decoded)."""
    n = 2 ** z
    fx = (lon + 180) / 360 * n - x
    fy = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n - y
    return fx * EXTENT, (1 - fy) * EXTENT


def decode(response) -> dict:
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.data)


@pytest.mark.parametrize("layer_id,z,lon,lat", [
    ("community-assets", 14, -1.7850, 53.6458), ("community-assets", 12, -1.7850, 53.6458),
    ("places", 11, -1.70, 53.65), ("transferred-buildings", 13, -1.75, 53.63),
    ("mutual-aid-groups", 12, -1.78, 53.64), ("wards", 10, -1.78, 53.64),
    ("lsoas", 13, -1.78, 53.64), ("hubs", 8, -1.78, 53.64),
])
def test_each_tile_holds_exactly_the_features_in_it(client, demo_data, layer_id, z, lon, lat):
    x, y = tile_of(z, lon, lat)
    tile = decode(client.get(f"/tiles/{layer_id}/{z}/{x}/{y}.mvt"))
    assert list(tile) == [layer_id]
    decoded = tile[layer_id]["features"]
    everything = client.get(f"/layers/{layer_id}.geojson").get_json()["features"]
    inside = box(*tile_bounds(z, x, y))
    buffered = box(*tile_bounds(z, x, y, BUFFER / EXTENT))
    must = [f for f in everything if shape(f["geometry"]).intersects(inside)]
    may = [f for f in everything if shape(f["geometry"]).intersects(buffered)]
    assert must, "the test tile is not empty"
    if LAYERS[layer_id].source.id_type == "integer":
        ids = [f["id"] for f in decoded]
        assert {f["id"] for f in must} <= set(ids) <= {f["id"] for f in may}
        assert len(ids) == len(set(ids))
    else:
        codes = {f["properties"]["code"] for f in decoded}
        assert {f["id"] for f in must} <= codes <= {f["id"] for f in may}
    by_id = {f["id"]: f for f in everything}
    for feature in decoded:
        properties = feature["properties"]
        assert set(properties) <= set(LAYERS[layer_id].tile_fields)
        assert "phone" not in properties and "email" not in properties
        if feature["geometry"]["type"] == "Point":
            source = by_id[feature["id"]]
            expected = in_tile_units(z, x, y, *source["geometry"]["coordinates"])
            got = feature["geometry"]["coordinates"]
            assert abs(got[0] - expected[0]) <= 1.01 and abs(got[1] - expected[1]) <= 1.01
            assert properties["name"] == source["properties"]["name"]
            assert properties["categories"] == "; ".join(source["properties"]["categories"])


def test_tiles_take_the_layer_filters(client, demo_data):
    z, (x, y) = 9, tile_of(9, -1.78, 53.64)
    hubs = decode(client.get(f"/tiles/places/{z}/{x}/{y}.mvt?kind=hub"))["places"]["features"]
    assert hubs and {f["properties"]["kind"] for f in hubs} == {"hub"}
    ward = decode(client.get(f"/tiles/places/{z}/{x}/{y}.mvt?ward=E05001402"))["places"]["features"]
    assert ward and {f["properties"]["ward_code"] for f in ward} == {"E05001402"}
    assert client.get(f"/tiles/places/{z}/{x}/{y}.mvt?ward=NOWHERE").status_code == 404


def test_an_empty_tile_is_204(client, demo_data):
    x, y = tile_of(12, 0.0, 51.5)  # London: nothing of Kirklees there
    response = client.get(f"/tiles/places/12/{x}/{y}.mvt")
    assert response.status_code == 204 and response.data == b""
    assert response.headers["ETag"]


@pytest.mark.parametrize("path,parameter", [
    ("/tiles/places/-1/0/0.mvt", "z"), ("/tiles/places/23/0/0.mvt", "z"),
    ("/tiles/places/2/4/0.mvt", "x"), ("/tiles/places/2/0/4.mvt", "y"),
    ("/tiles/places/2/-1/0.mvt", "x"), ("/tiles/places/a/0/0.mvt", "z"),
    ("/tiles/places/3/1.5/0.mvt", "x"), ("/tiles/places/3/0/0.mvt?bbox=1,2,3,4", "bbox"),
])
def test_tile_paths_outside_the_grid_are_400(client, path, parameter):
    response = client.get(path)
    assert response.status_code == 400, path
    assert response.get_json()["parameter"] == parameter


def test_unknown_layer_is_404(client):
    assert client.get("/tiles/castles/1/0/0.mvt").status_code == 404
    assert client.get("/tiles/castles.json").status_code == 404


def test_tilejson_describes_every_layer(client, demo_data):
    for layer in LAYERS.values():
        document = client.get(f"/tiles/{layer.id}.json").get_json()
        assert document["tilejson"] == "3.0.0"
        assert document["tiles"] == [f"http://localhost/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt"]
        assert document["vector_layers"][0]["id"] == layer.id
        assert set(document["vector_layers"][0]["fields"]) == set(layer.tile_fields)
        minx, miny, maxx, maxy = document["bounds"]
        assert -2.1 < minx < maxx < -1.5 and 53.4 < miny < maxy < 53.9
        assert "Open Government Licence" in document["attribution"]
    filtered = client.get("/tiles/places.json?kind=hub").get_json()
    assert filtered["tiles"][0].endswith(".mvt?kind=hub")
