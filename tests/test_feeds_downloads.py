"""Whole-layer downloads and the HTTP every feed speaks: filters (a ward filter on the real
Kirklees wards returns exactly the places inside the ward), CSV that spreadsheets cannot run,
private contact details never published, licence headers, ETag/304, gzip, CORS, caching,
streaming in flat memory, and a statement timeout that answers 503."""
from __future__ import annotations

import csv
import gzip
import io
import json
import random
import tracemalloc

import pytest
import shapely
from shapely.geometry import box, shape
from sqlalchemy import text

from mapping import create_app
from tests.conftest import shared_data
from tests.test_feeds_rfc7946 import check_geojson


def load_real_wards(db) -> dict:
    """The 23 real Kirklees wards (ONS 2013) as areas; returns {code: shapely geometry}."""
    wards = json.loads(shared_data("kirklees/wards-2013.geojson").read_text())["features"]
    with db.begin() as connection:
        connection.execute(text(
            "INSERT INTO areas (kind, code, name, vintage, geom) SELECT 'ward', r.code, r.name, "
            "'2013', ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(r.geom), 4326)) "
            "FROM json_to_recordset(CAST(:rows AS json)) AS r(code text, name text, geom text)"),
            {"rows": json.dumps([{"code": w["properties"]["WD13CD"], "name": w["properties"]["WD13NM"],
                                  "geom": json.dumps(w["geometry"])} for w in wards])})
    return {w["properties"]["WD13CD"]: shape(w["geometry"]) for w in wards}


def insert_places(db, rows: list[dict]) -> None:
    """rows: {kind, source_id, name, wkt, and any other places column}."""
    columns = sorted({k for row in rows for k in row} - {"wkt"})
    with db.begin() as connection:
        connection.execute(text(
            f"INSERT INTO places (source, geom, {', '.join(columns)}) "
            f"SELECT 'test', ST_GeomFromText(r.wkt, 4326), {', '.join('r.' + c for c in columns)} "
            f"FROM json_to_recordset(CAST(:rows AS json)) AS r(wkt text, "
            + ", ".join(f"{c} {'text[]' if c == 'categories' else 'boolean' if c.endswith('_public') else 'text'}"
                        for c in columns) + ")"),
            {"rows": json.dumps(rows)})
        connection.execute(text("SELECT assetmap_assign_areas()"))


@pytest.fixture
def real_wards_with_places(db):
    wards = load_real_wards(db)
    rng = random.Random(4)
    minx, miny, maxx, maxy = -2.01, 53.52, -1.57, 53.765
    rows = []
    for index in range(700):
        lon, lat = round(rng.uniform(minx, maxx), 6), round(rng.uniform(miny, maxy), 6)
        rows.append({"kind": "community_asset", "source_id": f"p{index}", "name": f"Point {index}",
                     "wkt": f"POINT({lon} {lat})"})
    # Footprints: some anywhere (mostly well inside a ward), some across a ward boundary.
    centres = [(rng.uniform(minx, maxx), rng.uniform(miny, maxy)) for _ in range(40)]
    inner = [g for g in wards.values()]
    while len(centres) < 70:
        ward = rng.choice(inner)
        point = ward.exterior.interpolate(rng.random(), normalized=True)
        if sum(w.buffer(1e-7).contains(point) for w in inner) >= 2:
            centres.append((point.x, point.y))
    for index, (lon, lat) in enumerate(centres):
        footprint = box(lon - 0.0004, lat - 0.0003, lon + 0.0004, lat + 0.0003)
        rows.append({"kind": "transferred_building", "source_id": f"b{index}",
                     "name": f"Building {index}", "wkt": footprint.wkt})
    insert_places(db, rows)
    with db.connect() as connection:
        places = {row.id: shape(json.loads(row.g)) for row in connection.execute(text(
            "SELECT id, ST_AsGeoJSON(geom) AS g FROM places"))}
    return wards, places


def test_ward_filter_returns_exactly_the_places_inside_each_real_ward(client, real_wards_with_places):
    wards, places = real_wards_with_places
    straddling = {pid for pid, g in places.items()
                  if sum(w.intersects(g) for w in wards.values()) > 1}
    assert len(wards) == 23 and straddling, "the test needs footprints across boundaries"
    seen = {}
    for code, ward in wards.items():
        download = check_geojson(client.get(f"/layers/places.geojson?ward={code}"))
        got = {f["id"] for f in download["features"]}
        inside = {pid for pid, g in places.items() if ward.contains(g)}
        assert inside <= got, code
        # Beyond those wholly inside: only footprints across this ward's boundary.
        assert got - inside <= {pid for pid in straddling if ward.intersects(places[pid])}
        assert all(f["properties"]["ward_code"] == code for f in download["features"])
        page = client.get(f"/ogc/collections/places/items?ward={code}&limit=10000").get_json()
        assert {f["id"] for f in page["features"]} == got
        for pid in got:
            seen[pid] = seen.get(pid, 0) + 1
    district = shapely.union_all(list(wards.values())).buffer(1e-9)
    within = {pid for pid, g in places.items() if district.contains(g)}
    outside = {pid for pid, g in places.items() if not district.intersects(g)}
    # Inside the district: in exactly one ward; outside: in none; across its edge: at most one.
    assert within <= set(seen) and not outside & set(seen)
    assert all(count == 1 for count in seen.values()), "each place is in one ward"


def test_an_unknown_ward_or_neighbourhood_is_404_naming_it(client, real_wards_with_places):
    for url, parameter in (("/layers/places.geojson?ward=E05999999", "ward"),
                           ("/layers/places.csv?neighbourhood=NOPE", "neighbourhood"),
                           ("/ogc/collections/hubs/items?ward=E05999999", "ward")):
        response = client.get(url)
        assert response.status_code == 404
        assert response.get_json()["parameter"] == parameter
    assert client.get("/layers/nothing.geojson").status_code == 404


@pytest.fixture
def awkward_places(db):
    insert_places(db, [
        {"kind": "community_asset", "source_id": "1", "name": "=HYPERLINK(\"http://x\",\"y\")",
         "description": "+44 1484 000000", "address": "-1 Minus Street", "phone": "@SUM(1)",
         "phone_public": True, "email": "private@example.org", "email_public": False,
         "opening_hours": "\t=1+1", "accessibility": "\r=2", "categories": ["=evil", "library"],
         "wkt": "POINT(-1.781234 53.645678)"},
        {"kind": "community_asset", "source_id": "2", "name": "Plain \"quoted\", with comma",
         "description": "two\nlines", "phone": "01484 111111", "phone_public": False,
         "email": "public@example.org", "email_public": True, "categories": ["music"],
         "wkt": "POINT(-1.7 53.6)"},
    ])


def _csv(response):
    assert response.mimetype == "text/csv"
    raw = response.get_data(as_text=True)
    assert raw.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(raw[1:], newline="")))


def test_csv_cells_cannot_run_as_formulas_and_numbers_stay_numbers(client, awkward_places):
    rows = {row["id"]: row for row in _csv(client.get("/layers/community-assets.csv"))}
    first = rows["1"]
    for column in ("name", "description", "address", "phone", "opening_hours", "accessibility",
                   "categories"):
        assert first[column].startswith("'"), (column, first[column])
    assert first["name"] == "'=HYPERLINK(\"http://x\",\"y\")"
    assert first["categories"] == "'=evil; library"
    assert float(first["longitude"]) == -1.781234 and first["longitude"] == "-1.781234"
    assert float(first["latitude"]) == 53.645678
    assert first["wkt"] == "POINT(-1.781234 53.645678)"
    second = rows["2"]
    assert second["name"] == "Plain \"quoted\", with comma"
    assert second["description"] == "two\nlines"


def test_private_contact_details_are_never_published(client, awkward_places):
    rows = {row["id"]: row for row in _csv(client.get("/layers/places.csv"))}
    assert rows["1"]["email"] == "" and rows["2"]["phone"] == ""
    assert rows["2"]["email"] == "public@example.org"
    everything = b"".join(client.get(url).data for url in (
        "/layers/places.geojson", "/layers/places.csv", "/layers/community-assets.geojson",
        "/ogc/collections/places/items", "/ogc/collections/community-assets/items/2",
        "/api/nearest?lon=-1.7&lat=53.6"))
    assert b"private@example.org" not in everything
    assert b"01484 111111" not in everything
    features = {f["id"]: f for f in client.get("/layers/places.geojson").get_json()["features"]}
    assert features[2]["properties"]["phone"] is None
    assert features[1]["properties"]["email"] is None
    assert features[1]["properties"]["phone"] == "@SUM(1)"


def test_csv_has_every_feature_and_the_layer_fields(client, demo_data, db):
    rows = _csv(client.get("/layers/hubs.csv"))
    assert len(rows) == 12
    assert list(rows[0]) == ["id", "name", "kind", "categories", "description", "address",
                             "postcode", "website", "phone", "email", "opening_hours",
                             "accessibility", "last_verified", "location_precision", "ward_code",
                             "ward_name", "neighbourhood_codes", "updated_at", "hub_type",
                             "services", "area_served", "longitude", "latitude", "wkt"]
    wards = _csv(client.get("/layers/wards.csv?crs=EPSG:27700"))
    assert len(wards) == 23 and "easting" in wards[0] and wards[0]["wkt"].startswith("MULTIPOLYGON")
    assert 390000 < float(wards[0]["easting"]) < 430000


def test_downloads_name_their_licence_and_attribution(client, demo_data):
    for url in ("/layers/places.geojson", "/layers/wards.csv"):
        response = client.get(url)
        assert response.headers["X-Data-Licence"] == "Open Government Licence v3.0"
        assert response.headers["X-Data-Attribution"] == "Kirklees Council community asset map"
        assert 'rel="license"' in response.headers["Link"]
        assert response.headers["Content-Disposition"].startswith("attachment;")
    document = client.get("/layers/places.geojson").get_json()
    assert document["licence"] == "Open Government Licence v3.0"
    collection = client.get("/ogc/collections/places").get_json()
    assert "Open Government Licence" in collection["attribution"]
    assert any(link["rel"] == "license" for link in collection["links"])


@pytest.mark.parametrize("query,expected", [
    ("category=library", lambda p: "library" in p["categories"]),
    ("category=library,music", lambda p: {"library", "music"} & set(p["categories"])),
    ("q=orchestra", lambda p: "orchestra" in (p["name"] + (p["description"] or "")).lower()),
    ("kind=hub,transferred_building", lambda p: p["kind"] in ("hub", "transferred_building")),
    ("neighbourhood=PN-E01011014", lambda p: "PN-E01011014" in p["neighbourhood_codes"]),
    ("updated_since=2000-01-01", lambda p: True),
    ("updated_since=2999-01-01", lambda p: False),
])
def test_download_filters_keep_exactly_the_matching_places(client, demo_data, query, expected):
    everything = client.get("/layers/places.geojson").get_json()["features"]
    kept = check_geojson(client.get(f"/layers/places.geojson?{query}"))["features"]
    assert {f["id"] for f in kept} == {f["id"] for f in everything if expected(f["properties"])}
    csv_ids = {int(row["id"]) for row in _csv(client.get(f"/layers/places.csv?{query}"))}
    assert csv_ids == {f["id"] for f in kept}


def test_download_bad_parameters_are_400_naming_them(client, demo_data):
    for url, parameter in (("/layers/places.geojson?bbox=1,2,3", "bbox"),
                           ("/layers/places.csv?limit=5", "limit"),
                           ("/layers/wards.geojson?category=library", "category"),
                           ("/layers/hubs.geojson?kind=hub", "kind"),
                           ("/layers/places.geojson?updated_since=later", "updated_since"),
                           ("/layers/places.geojson?crs=EPSG:2154", "crs")):
        response = client.get(url)
        assert response.status_code == 400, url
        assert response.get_json()["parameter"] == parameter


def test_etag_and_last_modified_answer_304_until_the_data_changes(client, demo_data, db):
    for url in ("/layers/hubs.geojson", "/ogc/collections/hubs/items", "/ogc/collections",
                "/ogc/collections/hubs/items/341", "/api/nearest?lon=-1.78&lat=53.64",
                "/tiles/places/12/2027/1323.mvt", "/api/wards/E05001402", "/tiles/hubs.json"):
        first = client.get(url)
        assert first.status_code == 200, url
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        again = client.get(url, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
        assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
        other = client.get(url + ("&" if "?" in url else "?") + "f=json") if url.startswith(
            "/ogc") else None
        if other is not None:
            assert other.headers["ETag"] != etag, "the ETag belongs to the exact request"
    etag = client.get("/layers/hubs.geojson").headers["ETag"]
    with db.begin() as connection:
        connection.execute(text("UPDATE places SET name = name || ' (new)' WHERE id = 341"))
    changed = client.get("/layers/hubs.geojson", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"(new)" in changed.data


def test_gzip_when_asked_for_streamed_or_not(client, demo_data):
    for url in ("/layers/places.geojson", "/layers/places.csv", "/ogc/collections/places/items",
                "/api/wards/E05001402"):
        plain = client.get(url)
        zipped = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
        assert zipped.headers["Content-Encoding"] == "gzip"
        assert "Accept-Encoding" in zipped.headers["Vary"]
        unzipped = gzip.decompress(zipped.data)
        if url.startswith("/ogc"):
            # Only the generation time differs between two pages.
            a, b = json.loads(unzipped), plain.get_json()
            a.pop("timeStamp"), b.pop("timeStamp")
            assert a == b
        else:
            assert unzipped == plain.data
        assert len(zipped.data) < len(plain.data) / 2
        assert "Content-Encoding" not in plain.headers


def test_cors_and_cache_headers_for_a_cdn(client, demo_data):
    for url in ("/layers/places.geojson", "/ogc/collections/hubs/items", "/api/nearest?lon=-1.7&lat=53.6",
                "/tiles/places/12/2027/1323.mvt", "/ogc"):
        response = client.get(url, headers={"Origin": "https://dashboard.example.org"})
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert response.headers["Cache-Control"].startswith("public, max-age=")
        assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    error = client.get("/ogc/collections/hubs/items?limit=0", headers={"Origin": "https://x.example"})
    assert error.headers["Access-Control-Allow-Origin"] == "*"
    preflight = client.options("/ogc/collections/hubs/items", headers={
        "Origin": "https://x.example", "Access-Control-Request-Method": "GET"})
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]


def _streamed_peak(client) -> tuple[int, int, int]:
    """Bytes, chunks and the peak of Python memory while streaming a whole layer."""
    response = client.get("/layers/community-assets.geojson")
    assert response.is_streamed
    tracemalloc.start()
    size = chunks = 0
    tail = b""
    for chunk in response.response:
        size += len(chunk)
        chunks += 1
        tail = (tail + chunk)[-10:]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    response.close()
    assert tail.endswith(b"]}\n")
    return size, chunks, peak


def test_a_large_download_streams_in_flat_memory(client, db):
    def add(first, last):
        with db.begin() as connection:
            connection.execute(text(
                "INSERT INTO places (kind, source, source_id, name, description, categories, geom) "
                "SELECT 'community_asset', 's', i::text, 'Place number ' || i, repeat('words ', 20), "
                "ARRAY['music'], ST_SetSRID(ST_MakePoint(-1.9 + (i % 300) * 0.001, "
                "53.55 + (i / 300) * 0.001), 4326) FROM generate_series(:a, :b) i"),
                {"a": first, "b": last})

    add(1, 15000)
    size, chunks, peak = _streamed_peak(client)
    add(15001, 45000)
    bigger, more_chunks, bigger_peak = _streamed_peak(client)
    assert bigger > 2.9 * size > 25_000_000 and more_chunks > chunks > 5
    # Three times the features, the same memory: rows come a batch at a time from a
    # server-side cursor and leave as soon as they are written.
    assert bigger_peak < 1.3 * peak, (peak, bigger_peak)
    assert bigger_peak < bigger / 4
    with db.connect() as connection:
        idle = connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'idle in transaction'")).scalar()
    assert idle == 0, "the cursor's connection went back to the pool"


def test_a_statement_timeout_is_503_json(database_url, db):
    with db.begin() as connection:
        connection.execute(text(
            "INSERT INTO places (kind, source, source_id, name, geom) SELECT 'community_asset', "
            "'s', i::text, 'Place ' || i, ST_SetSRID(ST_MakePoint(-1.8 + i * 1e-6, 53.6), 4326) "
            "FROM generate_series(1, 20000) i"))
    app = create_app({"database_url": database_url, "statement_timeout_ms": 1})
    try:
        response = app.test_client().get("/ogc/collections/community-assets/items?limit=10000"
                                         "&q=Place")
        assert response.status_code == 503
        assert response.mimetype == "application/problem+json"
        assert response.headers["Retry-After"]
    finally:
        app.extensions["assetmap.engine"].dispose()


@pytest.mark.parametrize("url", [
    "/ogc/collections/places/items?q=a%00b", "/ogc/collections/wards/items?q=a%00b",
    "/layers/places.geojson?q=a%00b", "/layers/places.csv?ward=a%00b", "/api/wards/a%00b",
    "/api/neighbourhoods/a%00b", "/ogc/collections/wards/items/a%00b",
    "/api/nearest?postcode=HD1%00", "/tiles/places/1/0/0.mvt?category=a%00",
])
def test_a_nul_character_is_a_400_not_a_database_error(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
