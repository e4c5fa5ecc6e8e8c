"""Real clients read the OGC API over HTTP: GDAL's OAPIF driver (Debian's ogrinfo, GDAL
3.6, and pyogrio's bundled GDAL, which asks for crs and bbox-crs), and OWSLib, paging with
next links to the end. Each reads every feature, as many as the database holds."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest
import requests
from sqlalchemy import text

from layers.registry import LAYERS
from tests.test_ogc_core import database_count

pytestmark = pytest.mark.skipif(shutil.which("ogrinfo") is None,
                                reason="GDAL's ogrinfo is missing (make test installs gdal-bin)")


def ogrinfo(*args: str) -> str:
    result = subprocess.run(["ogrinfo", "-ro", *args], check=False, capture_output=True, text=True,
                            timeout=240, env={"CPL_DEBUG": "OFF", "GDAL_HTTP_TIMEOUT": "60",
                                              "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_gdal_lists_every_collection(live_server, demo_data):
    listing = ogrinfo("-so", f"OAPIF:{live_server}/ogc")
    names = re.findall(r"^\d+: (\S+) \(title: ([^)]*)\)", listing, re.MULTILINE)
    assert [(name, LAYERS[name].title) for name, _ in names] == \
        [(layer.id, layer.title) for layer in LAYERS.values()]


def test_gdal_summary_counts_match_the_database(live_server, demo_data, db):
    summary = ogrinfo("-al", "-so", f"OAPIF:{live_server}/ogc")
    counts = dict(re.findall(r"Layer name: (\S+).*?Feature Count: (\d+)", summary, re.DOTALL))
    assert {k: int(v) for k, v in counts.items()} == {
        layer_id: database_count(db, layer_id) for layer_id in LAYERS}
    assert "TITLE=Community assets" in summary
    assert "Extent: (-1.9" in summary or "Extent: (-2.0" in summary


def test_gdal_reads_every_feature_of_every_collection(live_server, demo_data, db):
    for layer_id in LAYERS:
        output = ogrinfo("-al", "-q", f"OAPIF:{live_server}/ogc", layer_id)
        read = len(re.findall(r"^OGRFeature\(", output, re.MULTILINE))
        assert read == database_count(db, layer_id), layer_id
    sample = ogrinfo("-al", "-q", f"OAPIF:{live_server}/ogc", "hubs")
    assert "name (String) = North Kirklees Community Response Hub" in sample
    assert "categories (StringList) = (1:community hub)" in sample


PYOGRIO_READ = """
import json, sys
import pyogrio.raw
url, bbox = sys.argv[1], json.loads(sys.argv[2])
out = {}
for layer in json.loads(sys.argv[3]):
    meta, fids, geometries, fields = pyogrio.raw.read(url, layer=layer, return_fids=True)
    out[layer] = [len(geometries), meta["crs"]]
meta, fids, geometries, fields = pyogrio.raw.read(url, layer="places", bbox=tuple(bbox))
out["bbox"] = len(geometries)
print(json.dumps(out))
"""


def test_pyogrio_reads_in_the_storage_crs_and_filters_by_bbox(live_server, demo_data, db):
    pytest.importorskip("pyogrio")
    bbox = [-1.80, 53.62, -1.74, 53.66]
    # In a child process: GDAL would otherwise hold the interpreter while it waits on the
    # server thread of this one.
    result = subprocess.run([sys.executable, "-c", PYOGRIO_READ, f"OAPIF:{live_server}/ogc",
                             json.dumps(bbox), json.dumps(list(LAYERS))],
                            check=False, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    read = json.loads(result.stdout)
    for layer_id in LAYERS:
        count, crs = read[layer_id]
        assert count == database_count(db, layer_id), layer_id
        assert "CRS84" in crs
    with db.connect() as connection:
        expected = connection.execute(text(
            "SELECT count(*) FROM places WHERE deleted_at IS NULL AND ST_Intersects(public_point, "
            "ST_MakeEnvelope(:a, :b, :c, :d, 4326))"),
            dict(zip("abcd", bbox))).scalar()
    assert read["bbox"] == expected > 0


def test_owslib_reads_the_service_and_pages_to_the_end(live_server, demo_data, db):
    from owslib.ogcapi.features import Features

    service = Features(f"{live_server}/ogc")
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in \
        service.conformance()["conformsTo"]
    assert service.feature_collections() == list(LAYERS)
    assert service.collection("hubs")["title"] == "Community hubs"
    assert "ward_code" in service.collection_queryables("places")["properties"]
    assert service.api()["openapi"].startswith("3.0")
    assert service.collection_item("hubs", "341")["properties"]["kind"] == "hub"

    page = service.collection_items("community-assets", limit=25, bbox=[-2.1, 53.5, -1.5, 53.8])
    features = list(page["features"])
    pages = 1
    next_href = next((l["href"] for l in page["links"] if l["rel"] == "next"), None)
    while next_href:
        page = requests.get(next_href, headers={"Accept": "application/geo+json"}, timeout=30).json()
        features += page["features"]
        pages += 1
        next_href = next((l["href"] for l in page["links"] if l["rel"] == "next"), None)
    with db.connect() as connection:
        ids = set(connection.execute(text(
            "SELECT id FROM places WHERE kind = 'community_asset' AND deleted_at IS NULL")).scalars())
    assert [f["id"] for f in features] == sorted(ids)
    assert pages == -(-len(ids) // 25)

    with pytest.raises(RuntimeError):
        service.collection_item("hubs", "999999")
