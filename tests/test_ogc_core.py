"""The OGC API – Features Part 1 abstract tests (ets-ogcapi-features10), ported to pytest
and named by their ATS ids: core, GeoJSON, HTML and OpenAPI 3.0 conformance classes."""
from __future__ import annotations

import datetime as dt
import json
from html.parser import HTMLParser

import pytest
from shapely.geometry import box, shape
from sqlalchemy import text

from layers.registry import LAYERS
from tests.test_feeds_rfc7946 import check_geojson

ROOT = "/ogc"
CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
OAS = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def links(document, rel):
    return [link for link in document["links"] if link["rel"] == rel]


def get_json(client, url, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.data[:300])
    return response.get_json(force=True)


def walk_pages(client, url):
    """Every feature, following next links from `url` exactly as given."""
    features = []
    pages = 0
    while url:
        document = get_json(client, url.replace("http://localhost", ""))
        features += document["features"]
        pages += 1
        url = next((link["href"] for link in document["links"] if link["rel"] == "next"), None)
        assert pages < 1000
    return features


def database_count(db, layer_id: str) -> int:
    layer = LAYERS[layer_id]
    source = layer.source
    with db.connect() as connection:
        return connection.execute(text(
            f"SELECT count(*) FROM {source.table} {source.alias} "
            f"WHERE {source.live} AND {layer.where}")).scalar()


# -- /conf/core ---------------------------------------------------------------------------

def test_conf_core_http(live_server):
    import http.client
    from urllib.parse import urlsplit

    host = urlsplit(live_server)
    connection = http.client.HTTPConnection(host.hostname, host.port, timeout=10)
    connection.request("GET", "/ogc")
    response = connection.getresponse()
    assert response.version == 11 and response.status == 200
    connection.close()


def test_conf_core_crs84(client, demo_data):
    for layer_id in LAYERS:
        for feature in get_json(client, f"/ogc/collections/{layer_id}/items?limit=10000")["features"]:
            bounds = shape(feature["geometry"]).bounds
            assert -2.2 < bounds[0] <= bounds[2] < -1.4, "longitude first, in Kirklees"
            assert 53.4 < bounds[1] <= bounds[3] < 53.9, "latitude second, in Kirklees"


@pytest.mark.parametrize("path", ["/ogc", "/ogc/"])
def test_conf_core_root_op(client, path):
    assert client.get(path).status_code == 200


def test_conf_core_root_success(client):
    response = client.get("/ogc")
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["title"] and document["description"]
    assert links(document, "service-desc")[0]["type"] == OAS
    assert links(document, "service-doc")[0]["type"] == "text/html"
    assert links(document, "conformance") and links(document, "data")
    for link in document["links"]:
        assert link["href"].startswith(("http://localhost/ogc", "https://")), "absolute hrefs"
        assert link["type"], "every link has a type (OWSLib reads it)"


def test_conf_core_api_definition_op(client):
    href = links(client.get("/ogc").get_json(), "service-desc")[0]["href"]
    assert client.get(href.replace("http://localhost", "")).status_code == 200


def test_conf_core_api_definition_success(client):
    response = client.get("/ogc/api")
    assert response.content_type == OAS
    document = json.loads(response.data)
    assert document["openapi"].startswith("3.0")
    assert document["servers"][0]["url"] == "http://localhost/ogc"


def test_conf_core_conformance_op(client):
    assert client.get("/ogc/conformance").status_code == 200


def test_conf_core_conformance_success(client):
    document = get_json(client, "/ogc/conformance")
    assert CORE in document["conformsTo"]
    assert all(uri.startswith("http://www.opengis.net/spec/") for uri in document["conformsTo"])


def test_conf_core_fc_md_op(client, demo_data):
    assert client.get("/ogc/collections").status_code == 200


def test_conf_core_fc_md_success(client, demo_data, db):
    document = get_json(client, "/ogc/collections")
    # fc-md-links: self and alternate
    assert links(document, "self")[0]["type"] == "application/json"
    assert links(document, "alternate")[0]["type"] == "text/html"
    # fc-md-items: one entry per collection
    assert [c["id"] for c in document["collections"]] == list(LAYERS)
    for collection in document["collections"]:
        # fc-md-items-links: an items link per encoding, with rel and type
        items = {link["type"] for link in links(collection, "items")}
        assert {"application/geo+json", "text/html"} <= items
        assert collection["itemType"] == "feature"
        # fc-md-extent: the extent covers all the data, in CRS84 and the Gregorian calendar
        extent = collection["extent"]
        assert extent["spatial"]["crs"] == CRS84
        assert extent["temporal"]["trs"] == "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
        minx, miny, maxx, maxy = extent["spatial"]["bbox"][0]
        declared = box(minx - 1e-6, miny - 1e-6, maxx + 1e-6, maxy + 1e-6)
        start = dt.datetime.fromisoformat(extent["temporal"]["interval"][0][0])
        for feature in get_json(client, f"/ogc/collections/{collection['id']}/items?limit=10000")["features"]:
            assert declared.contains(shape(feature["geometry"]))
            updated = dt.datetime.fromisoformat(feature["properties"]["updated_at"])
            assert updated >= start - dt.timedelta(seconds=1)


def test_conf_core_sfc_md_op(client, demo_data):
    for layer_id in LAYERS:
        assert client.get(f"/ogc/collections/{layer_id}").status_code == 200
    assert client.get("/ogc/collections/no-such-layer").status_code == 404


def test_conf_core_sfc_md_success(client, demo_data):
    listed = {c["id"]: c for c in get_json(client, "/ogc/collections")["collections"]}
    for layer_id in LAYERS:
        single = get_json(client, f"/ogc/collections/{layer_id}")
        assert single == listed[layer_id]


def test_conf_core_fc_op(client, demo_data):
    base = "/ogc/collections/community-assets/items"
    for query in ("", "?bbox=-1.9,53.6,-1.7,53.7", "?limit=5", "?datetime=2020-01-01T00:00:00Z/..",
                  "?bbox=-1.9,53.6,-1.7,53.7&datetime=2020-01-01T00:00:00Z/.."):
        response = client.get(base + query)
        assert response.status_code == 200, query
        check_geojson(response)


def _parameter(document, path, name):
    for parameter in document["paths"][path]["get"]["parameters"]:
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].split("/")[-1]]
        if parameter["name"] == name:
            return parameter
    raise AssertionError(f"{name} is not declared on {path}")


def test_conf_core_fc_bbox_definition(client):
    document = json.loads(client.get("/ogc/api").data)
    for layer_id in LAYERS:
        bbox = _parameter(document, f"/collections/{layer_id}/items", "bbox")
        assert bbox["in"] == "query" and bbox["required"] is False
        assert bbox["schema"]["type"] == "array" and bbox["schema"]["items"]["type"] == "number"
        assert bbox["schema"]["minItems"] == 4 and bbox["schema"]["maxItems"] == 6
        assert bbox["style"] == "form" and bbox["explode"] is False


def test_conf_core_fc_bbox_response(client, demo_data, db):
    minx, miny, maxx, maxy = -1.80, 53.62, -1.74, 53.66
    box_ = box(minx, miny, maxx, maxy)
    for layer_id in ("community-assets", "mutual-aid-groups", "transferred-buildings", "lsoas"):
        inside = walk_pages(client, f"/ogc/collections/{layer_id}/items?bbox={minx},{miny},{maxx},{maxy}&limit=50")
        everything = walk_pages(client, f"/ogc/collections/{layer_id}/items?limit=10000")
        expected = {f["id"] for f in everything if shape(f["geometry"]).intersects(box_)}
        assert {f["id"] for f in inside} == expected
        assert expected, layer_id


def test_conf_core_fc_limit_definition(client):
    document = json.loads(client.get("/ogc/api").data)
    for layer_id in LAYERS:
        limit = _parameter(document, f"/collections/{layer_id}/items", "limit")
        schema = limit["schema"]
        assert schema["type"] == "integer"
        assert schema["minimum"] == 1 and schema["default"] == 100 and schema["maximum"] == 10000
        assert limit["style"] == "form" and limit["explode"] is False
        # GDAL reads the page size from the literal path's $ref'd limit parameter.
        raw = next(p for p in document["paths"][f"/collections/{layer_id}/items"]["get"]["parameters"]
                   if "limit" in p.get("$ref", ""))
        assert raw["$ref"] == "#/components/parameters/limit"


@pytest.mark.parametrize("limit", [1, 7, 100])
def test_conf_core_fc_limit_response(client, demo_data, limit):
    document = get_json(client, f"/ogc/collections/places/items?limit={limit}")
    assert len(document["features"]) == limit


def test_limit_over_the_maximum_is_clamped_with_a_next_link(client, db):
    with db.begin() as connection:
        connection.execute(text(
            "INSERT INTO places (kind, source, source_id, name, geom) SELECT 'community_asset', "
            "'t', i::text, 'Place ' || i, ST_SetSRID(ST_MakePoint(-1.8 + i * 1e-5, 53.6), 4326) "
            "FROM generate_series(1, 10050) i"))
    document = get_json(client, "/ogc/collections/community-assets/items?limit=20000")
    assert document["numberReturned"] == len(document["features"]) == 10000
    assert document["numberMatched"] == 10050
    next_href = links(document, "next")[0]["href"]
    assert "limit=10000" in next_href and "offset=10000" in next_href
    rest = get_json(client, next_href.replace("http://localhost", ""))
    assert len(rest["features"]) == 50 and not links(rest, "next")


def test_conf_core_fc_time_definition(client):
    document = json.loads(client.get("/ogc/api").data)
    for layer_id in LAYERS:
        parameter = _parameter(document, f"/collections/{layer_id}/items", "datetime")
        assert parameter["schema"]["type"] == "string"
        assert parameter["style"] == "form" and parameter["explode"] is False


def _set_updated(db, when: dict):
    with db.begin() as connection:
        connection.execute(text("ALTER TABLE places DISABLE TRIGGER places_touch"))
        for source_id, stamp in when.items():
            connection.execute(text("UPDATE places SET updated_at = :t WHERE source_id = :s"),
                               {"t": stamp, "s": source_id})
        connection.execute(text("ALTER TABLE places ENABLE TRIGGER places_touch"))


def test_conf_core_fc_time_response(client, db):
    with db.begin() as connection:
        connection.execute(text(
            "INSERT INTO places (kind, source, source_id, name, geom) SELECT 'hub', 't', i::text, "
            "'Hub ' || i, ST_SetSRID(ST_MakePoint(-1.8, 53.6), 4326) FROM generate_series(1, 4) i"))
    _set_updated(db, {"1": "2020-01-01T00:00:00Z", "2": "2021-06-15T12:00:00Z",
                      "3": "2022-01-01T00:00:00Z", "4": "2023-03-01T08:30:00Z"})

    def names(datetime):
        document = get_json(client, f"/ogc/collections/hubs/items?datetime={datetime}")
        return sorted(f["properties"]["name"] for f in document["features"])

    assert names("2021-06-15T12:00:00Z") == ["Hub 2"]
    assert names("2021-06-15") == ["Hub 2"]
    assert names("2021-01-01T00:00:00Z/2022-01-01T00:00:00Z") == ["Hub 2", "Hub 3"]
    assert names("2021-01-01T00:00:00Z/..") == ["Hub 2", "Hub 3", "Hub 4"]
    assert names("../2021-01-01T00:00:00Z") == ["Hub 1"]
    assert names("/2021-01-01T00:00:00Z") == ["Hub 1"]
    assert names("2022-01-01/2023-12-31") == ["Hub 3", "Hub 4"]


@pytest.mark.parametrize("query,parameter", [
    ("limit=unlimited", "limit"), ("limit=0", "limit"), ("limit=-1", "limit"),
    ("limit=1.5", "limit"), ("offset=-3", "offset"),
    ("bbox=1,2,3", "bbox"), ("bbox=1,2,3,4,5", "bbox"), ("bbox=1,2,3,4,5,6,7", "bbox"),
    ("bbox=-1.8,53.6,-1.7,160", "bbox"), ("bbox=-1.8,NaN,-1.7,53.7", "bbox"),
    ("bbox=-1.8,53.7,-1.7,53.6", "bbox"), ("bbox=a,b,c,d", "bbox"), ("bbox=-1.8,53.6,-1.7,inf", "bbox"),
    ("datetime=yesterday", "datetime"), ("datetime=../..", "datetime"), ("datetime=/", "datetime"),
    ("datetime=2022-01-01T00:00:00Z/2021-01-01T00:00:00Z", "datetime"),
    ("datetime=2021-13-01", "datetime"),
    ("crs=EPSG:3857", "crs"), ("crs=http://www.opengis.net/def/crs/EPSG/0/3857", "crs"),
    ("bbox-crs=EPSG:3857&bbox=1,2,3,4", "bbox-crs"),
    ("f=xml", "f"), ("kind=hub", "kind"), ("properties=nonsense", "properties"),
    ("limit=5&limit=6", "limit"), ("category=", "category"),
    ("updated_since=soon", "updated_since"),
])
def test_conf_core_query_param_invalid(client, query, parameter):
    response = client.get(f"/ogc/collections/community-assets/items?{query}")
    assert response.status_code == 400, query
    body = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert body["parameter"] == parameter and body["detail"]


def test_conf_core_query_param_unknown(client, demo_data):
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/wards",
                 "/ogc/collections/wards/items", "/ogc/collections/wards/items/E05008558",
                 "/ogc/collections/wards/queryables", "/ogc/api"):
        response = client.get(path + "?unknownQueryParameter12345=1")
        assert response.status_code == 400, path
        assert response.get_json()["parameter"] == "unknownQueryParameter12345"


def test_conf_core_fc_response(client, demo_data, db):
    for layer_id in LAYERS:
        document = check_geojson(client.get(f"/ogc/collections/{layer_id}/items?limit=10000"))
        assert document["type"] == "FeatureCollection"
        assert len(document["features"]) == database_count(db, layer_id)


def test_conf_core_fc_links(client, demo_data):
    document = get_json(client, "/ogc/collections/places/items?limit=10&offset=20&kind=community_asset")
    assert links(document, "self")[0]["type"] == "application/geo+json"
    assert links(document, "alternate")[0]["type"] == "text/html"
    for link in document["links"]:
        assert link["rel"] and link["type"] and link["href"].startswith("http")
    for rel, offset in (("next", "offset=30"), ("prev", "offset=10")):
        href = links(document, rel)[0]["href"]
        assert offset in href and "limit=10" in href and "kind=community_asset" in href


def test_conf_core_fc_timeStamp(client, demo_data):
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    document = get_json(client, "/ogc/collections/hubs/items")
    after = dt.datetime.now(dt.UTC)
    stamp = dt.datetime.fromisoformat(document["timeStamp"])
    assert before <= stamp <= after


def test_conf_core_fc_numberMatched(client, demo_data):
    for query in ("limit=25", "limit=7&bbox=-1.9,53.6,-1.7,53.7", "limit=3&ward=E05001402",
                  "limit=40&category=mutual aid"):
        first = get_json(client, f"/ogc/collections/places/items?{query}")
        walked = walk_pages(client, f"/ogc/collections/places/items?{query}")
        assert first["numberMatched"] == len(walked) > 0, query
        assert len({f["id"] for f in walked}) == len(walked), "no feature twice"


def test_conf_core_fc_numberReturned(client, demo_data):
    for query in ("limit=25", "limit=25&offset=340", "limit=5&offset=9999"):
        document = get_json(client, f"/ogc/collections/places/items?{query}")
        assert document["numberReturned"] == len(document["features"])


def test_conf_core_f_op(client, demo_data):
    for layer_id in LAYERS:
        first = get_json(client, f"/ogc/collections/{layer_id}/items?limit=1")["features"][0]
        assert client.get(f"/ogc/collections/{layer_id}/items/{first['id']}").status_code == 200
        assert client.get(f"/ogc/collections/{layer_id}/items/999999999").status_code == 404
    assert client.get("/ogc/collections/hubs/items/not-a-number").status_code == 404
    assert client.get("/ogc/collections/nothing/items/1").status_code == 404


def test_conf_core_f_success(client, demo_data):
    for layer_id in LAYERS:
        first = get_json(client, f"/ogc/collections/{layer_id}/items?limit=1")["features"][0]
        feature = check_geojson(client.get(f"/ogc/collections/{layer_id}/items/{first['id']}"))
        assert feature["id"] == first["id"] and feature["properties"] == first["properties"]


def test_conf_core_f_links(client, demo_data):
    feature = get_json(client, "/ogc/collections/wards/items/E05008558")
    rels = {link["rel"]: link for link in feature["links"]}
    assert rels["self"]["type"] == "application/geo+json"
    assert rels["alternate"]["type"] == "text/html"
    assert rels["collection"]["href"] == "http://localhost/ogc/collections/wards"
    assert rels["collection"]["type"] == "application/json"


# -- /conf/geojson ------------------------------------------------------------------------

def test_conf_geojson_definition(client, demo_data):
    assert client.get("/ogc/collections/hubs/items").mimetype == "application/geo+json"
    assert client.get("/ogc/collections/hubs/items/341").mimetype == "application/geo+json"
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/hubs"):
        assert client.get(path).mimetype == "application/json"


def test_conf_geojson_content(client, demo_data):
    document = check_geojson(client.get("/ogc/collections/places/items?limit=50"))
    for feature in document["features"]:
        assert {"name", "kind", "categories", "ward_code", "neighbourhood_codes"} <= set(
            feature["properties"])


# -- /conf/html ---------------------------------------------------------------------------

class _Checker(HTMLParser):
    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"})

    def __init__(self):
        super().__init__()
        self.stack, self.text, self.doctype = [], [], False

    def handle_decl(self, decl):
        self.doctype = decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def html_text(response) -> str:
    assert response.mimetype == "text/html"
    checker = _Checker()
    checker.feed(response.get_data(as_text=True))
    assert checker.doctype and not checker.stack, "a complete HTML5 document"
    return " ".join(" ".join(checker.text).split())


def test_conf_html_definition(client, demo_data):
    for path in ("/ogc", "/ogc/conformance", "/ogc/collections", "/ogc/collections/hubs",
                 "/ogc/collections/hubs/items", "/ogc/collections/hubs/items/341",
                 "/ogc/collections/hubs/queryables", "/ogc/api"):
        html_text(client.get(path + "?f=html"))
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    assert client.get("/ogc/collections", headers={"Accept": browser}).mimetype == "text/html"
    # OWSLib sends */* and GDAL application/json: both get JSON.
    assert client.get("/ogc/collections", headers={"Accept": "*/*"}).mimetype == "application/json"
    assert client.get("/ogc/collections/hubs/items",
                      headers={"Accept": "application/geo+json, application/json"}
                      ).mimetype == "application/geo+json"
    assert client.get("/ogc/collections", headers={"Accept": "application/xml"}).status_code == 406


def test_conf_html_content(client, demo_data):
    as_json = get_json(client, "/ogc/collections/hubs/items/341")
    page = html_text(client.get("/ogc/collections/hubs/items/341?f=html"))
    for key, value in as_json["properties"].items():
        assert key in page
        if isinstance(value, str):
            assert value in page, key
    listing = html_text(client.get("/ogc/collections/hubs/items?f=html"))
    for feature in get_json(client, "/ogc/collections/hubs/items")["features"]:
        assert feature["properties"]["name"] in listing
    collections = html_text(client.get("/ogc/collections?f=html"))
    for layer in LAYERS.values():
        assert layer.title in collections and layer.description in collections


# -- /conf/oas30 --------------------------------------------------------------------------

def test_conf_oas30_oas_definition_1(client):
    response = client.get("/ogc/api", headers={"Accept": OAS})
    assert response.status_code == 200 and response.content_type == OAS
    doc = client.get("/ogc/api", headers={"Accept": "text/html"})
    assert doc.status_code == 200 and doc.mimetype == "text/html"


def test_conf_oas30_oas_definition_2(client):
    from openapi_spec_validator import OpenAPIV30SpecValidator

    document = json.loads(client.get("/ogc/api").data)
    errors = [error.message for error in OpenAPIV30SpecValidator(document).iter_errors()]
    assert errors == []


def test_conf_oas30_oas_impl(client, demo_data):
    """Every documented path answers, with every documented parameter accepted."""
    document = json.loads(client.get("/ogc/api").data)
    samples = {"f": "json", "bbox": "-1.9,53.5,-1.5,53.8", "bbox-crs": CRS84, "crs": CRS84,
               "datetime": "2000-01-01T00:00:00Z/..", "limit": "5", "offset": "0",
               "ward": "E05001402", "neighbourhood": "PN-E01011014", "category": "library", "q": "e",
               "updated_since": "2000-01-01", "kind": "hub", "properties": "name",
               "open": "TU 10:30", "age": "30", "language": "en",
               "filter": "updated_at IS NULL OR updated_at IS NOT NULL",
               "filter-lang": None, "filter-crs": None}
    first_ids = {layer_id: get_json(client, f"/ogc/collections/{layer_id}/items?limit=1")
                 ["features"][0]["id"] for layer_id in LAYERS}
    for path, item in document["paths"].items():
        layer_id = path.split("/")[2] if path.startswith("/collections/") else None
        url = "/ogc" + path.replace("{featureId}", str(first_ids.get(layer_id)))
        for parameter in item["get"]["parameters"]:
            if "$ref" in parameter:
                parameter = document["components"]["parameters"][parameter["$ref"].split("/")[-1]]
            if parameter["in"] != "query":
                continue
            value = samples[parameter["name"]]
            if value is None:  # said only with a filter
                value = {"filter-lang": "cql2-text", "filter-crs": CRS84}[parameter["name"]]
                response = client.get(url, query_string={parameter["name"]: value,
                                                         "filter": samples["filter"]})
                assert response.status_code == 200, (url, parameter["name"], response.data[:200])
                continue
            if parameter["name"] == "properties" and layer_id:
                value = LAYERS[layer_id].fields[0].name  # one the layer has
            response = client.get(url, query_string={parameter["name"]: value})
            assert str(response.status_code) in item["get"]["responses"], url
            assert response.status_code == 200, (url, parameter["name"], response.data[:200])


def test_conf_oas30_completeness(client):
    """Every parameter a client may send (and every one our next links use) is declared,
    and every error status we answer is documented."""
    document = json.loads(client.get("/ogc/api").data)
    for layer in LAYERS.values():
        operation = document["paths"][f"/collections/{layer.id}/items"]["get"]
        for name in ("f", "bbox", "bbox-crs", "crs", "datetime", "limit", "offset",
                     "properties", *layer.filters):
            _parameter(document, f"/collections/{layer.id}/items", name)
        assert {"200", "400", "404", "406", "500", "503", "304"} <= set(operation["responses"])


def test_conf_oas30_exceptions_codes(client, demo_data):
    document = json.loads(client.get("/ogc/api").data)
    for url, status in (("/ogc/collections/hubs/items?limit=x", "400"),
                        ("/ogc/collections/hubs/items?ward=NOWHERE", "404"),
                        ("/ogc/collections/hubs/items/0", "404")):
        assert str(client.get(url).status_code) == status
        path = url.split("?")[0].replace("/ogc", "").replace("/0", "/{featureId}")
        assert status in document["paths"][path]["get"]["responses"]


def test_odd_but_valid_values_never_reach_the_database_unchecked(client, demo_data):
    # A UTC offset Python accepts and PostgreSQL does not; an offset past bigint.
    for query in ("updated_since=2020-05-13T16:05:31%2B19:41",
                  "datetime=2020-05-13T16:05:31%2B19:41/..", "datetime=0001-01-01T00:00:00%2B01:00"):
        assert client.get(f"/ogc/collections/places/items?{query}").status_code in (200, 400)
    huge = client.get("/ogc/collections/places/items?offset=619437664344704074971669856256")
    assert huge.status_code == 400 and huge.get_json()["parameter"] == "offset"


def test_the_definition_matches_what_is_refused(client):
    document = json.loads(client.get("/ogc/api").data)
    parameters = document["components"]["parameters"]
    for name in ("ward", "neighbourhood", "q"):
        assert parameters[name]["schema"]["minLength"] == 1
    assert parameters["category"]["schema"]["minItems"] == 1
    assert parameters["offset"]["schema"]["maximum"] == 10**12
    # Errors asked for as HTML are HTML pages, and the definition says so.
    page = client.get("/ogc/conformance?f=html&nonsense=1")
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert "text/html" in document["components"]["responses"]["InvalidParameter"]["content"]
