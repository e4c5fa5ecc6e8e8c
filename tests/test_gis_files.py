"""Saved files open right in GDAL (Debian's ogrinfo and ogr2ogr, which QGIS is built on):
a download or OGC API page on the British National Grid names EPSG:27700 in the file and
lands where the CRS84 one does; the CRS84 default stays plain RFC 7946; and every layer
becomes a GeoPackage of one geometry type, without warnings."""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import shapely
from shapely.geometry import shape

from layers.registry import LAYERS

pytestmark = pytest.mark.skipif(shutil.which("ogr2ogr") is None,
                                reason="GDAL's ogrinfo and ogr2ogr are missing (gdal-bin)")

BNG = "http://www.opengis.net/def/crs/EPSG/0/27700"
BNG_MEMBER = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
# Kirklees on the grid, with a margin: a file read in the wrong CRS lands far outside.
KIRKLEES_BNG = (395000, 395000, 435000, 430000)
GEOMETRY_TYPES = {"geometry-point": "Point", "geometry-multipolygon": "Multi Polygon"}
LIST_FIELD = re.compile(r"^Warning 1: The output driver does not natively support StringList "
                        r"type for field \w+\. ")
SOURCES = {
    "crs84": "/layers/{layer}.geojson",
    "bng": "/layers/{layer}.geojson?crs=EPSG:27700",
    "ogc-bng": f"/ogc/collections/{{layer}}/items?limit=10000&crs={BNG}",
}


def gdal(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(args, check=False, capture_output=True, text=True, timeout=120,
                            env={"CPL_DEBUG": "OFF", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result


def summary(path) -> dict:
    """What `ogrinfo -so -al` says of a file's one layer: EPSG code, geometry type, extent."""
    text = gdal("ogrinfo", "-ro", "-so", "-al", str(path)).stdout
    wkt = text.split("Layer SRS WKT:")[1].split("Data axis to CRS axis mapping")[0]
    extent = re.search(r"^Extent: \(([-\d.]+), ([-\d.]+)\) - \(([-\d.]+), ([-\d.]+)\)",
                       text, re.MULTILINE)
    return {"epsg": int(re.findall(r'ID\["EPSG",(\d+)\]', wkt)[-1]),
            "geometry": re.search(r"^Geometry: (.+)$", text, re.MULTILINE).group(1),
            "layers": len(re.findall(r"^Layer name: ", text, re.MULTILINE)),
            "extent": tuple(float(v) for v in extent.groups())}


@pytest.fixture
def files(client, demo_data, tmp_path):
    """files(layer, source): the layer fetched from SOURCES[source] into a file, once."""
    saved = {}

    def get(layer_id: str, source: str):
        if (layer_id, source) not in saved:
            response = client.get(SOURCES[source].format(layer=layer_id))
            assert response.status_code == 200, (layer_id, source, response.data[:300])
            path = tmp_path / f"{layer_id}-{source}.geojson"
            path.write_bytes(response.get_data())
            saved[layer_id, source] = path
        return saved[layer_id, source]

    return get


def test_crs84_downloads_stay_rfc7946_and_gdal_reads_wgs84(files):
    for layer_id in LAYERS:
        path = files(layer_id, "crs84")
        assert "crs" not in json.loads(path.read_text())
        info = summary(path)
        assert info["epsg"] == 4326, layer_id
        x0, y0, x1, y1 = info["extent"]
        assert -2.1 < x0 <= x1 < -1.5 and 53.5 < y0 <= y1 < 53.8, (layer_id, info["extent"])


@pytest.mark.parametrize("source", ["bng", "ogc-bng"])
def test_grid_files_name_epsg_27700_and_open_where_the_crs84_file_does(files, tmp_path, source):
    for layer_id in LAYERS:
        path = files(layer_id, source)
        assert json.loads(path.read_text())["crs"] == BNG_MEMBER
        info = summary(path)
        assert info["epsg"] == 27700, layer_id
        x0, y0, x1, y1 = info["extent"]
        e0, n0, e1, n1 = KIRKLEES_BNG
        assert e0 < x0 <= x1 < e1 and n0 < y0 <= y1 < n1, (layer_id, info["extent"])
        # GDAL takes the grid file back to longitude and latitude by the CRS it read from it.
        back = tmp_path / f"{layer_id}-{source}-back.geojson"
        gdal("ogr2ogr", "-f", "GeoJSON", "-t_srs", "OGC:CRS84", str(back), str(path))
        expected = {f["id"]: shape(f["geometry"]) for f in
                    json.loads(files(layer_id, "crs84").read_text())["features"]}
        read = json.loads(back.read_text())["features"]
        assert len(read) == len(expected), layer_id
        for feature in read:
            # Every vertex within about ten metres: PROJ here and PostGIS in the database
            # may pick different OSGB36 transforms.
            apart = shapely.hausdorff_distance(shape(feature["geometry"]),
                                               expected[feature["id"]])
            assert apart < 1.5e-4, (layer_id, feature["id"], apart)


@pytest.mark.parametrize("source", ["crs84", "bng"])
def test_every_layer_becomes_a_geopackage_of_one_geometry_type(files, tmp_path, source):
    for layer_id, layer in LAYERS.items():
        geopackage = tmp_path / f"{layer_id}-{source}.gpkg"
        result = gdal("ogr2ogr", "-f", "GPKG", str(geopackage), str(files(layer_id, source)))
        assert "is not compatible with" not in result.stderr, (layer_id, result.stderr)
        # The one warning left is GDAL's about list fields (a GeoPackage has no list type),
        # which ARRAY_AS_STRING=YES answers, as docs/api.md says.
        others = [line for line in result.stderr.splitlines() if not LIST_FIELD.match(line)]
        assert not others, (layer_id, others)
        info = summary(geopackage)
        assert info["layers"] == 1
        assert info["geometry"] == GEOMETRY_TYPES[layer.geometry], (layer_id, info["geometry"])
        assert info["epsg"] == (27700 if source == "bng" else 4326), layer_id


def test_list_fields_go_into_a_geopackage_as_json_without_a_warning(files, tmp_path):
    geopackage = tmp_path / "places.gpkg"
    result = gdal("ogr2ogr", "-oo", "ARRAY_AS_STRING=YES", "-f", "GPKG", str(geopackage),
                  str(files("places", "crs84")))
    assert result.stderr == ""
    text = gdal("ogrinfo", "-ro", "-al", "-q", "-fid", "1", str(geopackage)).stdout
    assert re.search(r"^  categories \(String\(JSON\)\) = \[ \"", text, re.MULTILINE), text[:800]
