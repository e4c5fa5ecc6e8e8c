"""Battery (issue 7): injection strings in every text parameter of every GET endpoint give
2xx or 4xx only (4xx as JSON problem details on API paths) and change no data."""
from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import text

from mapping import create_app

PAYLOADS = [
    "'; DROP TABLE places; --",
    "' OR '1'='1",
    "%",
    "_",
    "\\",
    "Ünïcödé 🗺",
    "x" * 10_000,
    "1) OR pg_sleep(5) IS NULL --",
    "$1",
    ":name",
    "{{7*7}}",
]
PAYLOAD_IDS = ["drop", "or-true", "percent", "underscore", "backslash", "unicode",
               "long", "sleep", "dollar", "colon", "template"]
API_PREFIXES = ("/api/", "/ogc/", "/layers/", "/tiles/")

OGC_ITEMS = ("q", "category", "ward", "neighbourhood", "bbox", "datetime", "crs", "bbox-crs",
             "limit", "offset", "f", "kind", "properties", "updated_since")
DOWNLOAD = ("q", "category", "ward", "neighbourhood", "kind", "updated_since", "bbox", "crs")
# (path, its text parameters); {place}, {ward}, {neighbourhood} are filled from the data.
QUERY_ENDPOINTS = [
    ("/ogc/collections/places/items", OGC_ITEMS),
    ("/ogc/collections/community-assets/items", ("q", "category", "ward", "neighbourhood")),
    ("/ogc/collections/wards/items", ("q", "bbox", "datetime", "limit", "offset", "f")),
    ("/ogc/collections/places/items/{place}", ("f", "crs", "properties")),
    ("/ogc/collections/places", ("f",)),
    ("/layers/places.geojson", DOWNLOAD),
    ("/layers/places.csv", DOWNLOAD),
    ("/layers/wards.geojson", ("q",)),
    ("/api/nearest", ("postcode", "lon", "lat", "kind", "category", "limit")),
    ("/api/wards/{ward}", ("f",)),
    ("/api/neighbourhoods/{neighbourhood}", ("f",)),
    ("/", ("q", "postcode", "kind", "category", "page")),
    ("/places.json", ("q", "postcode", "kind", "category", "page")),
    ("/wards", ("measure", "kind")),
    ("/wards/{ward}", ("kind",)),   # a slow page; measure and distance are allow-listed
    ("/neighbourhoods/{neighbourhood}", ("kind",)),
    ("/places/{place}", ("f",)),
    ("/data", ("q",)),
]
# Paths with a payload as one segment.
PATH_ENDPOINTS = ["/api/wards/{}", "/api/neighbourhoods/{}", "/wards/{}", "/wards/{}.json",
                  "/wards/{}/map.html", "/neighbourhoods/{}", "/neighbourhoods/{}/map.html",
                  "/places/{}", "/ogc/collections/{}", "/ogc/collections/{}/items",
                  "/ogc/collections/places/items/{}", "/ogc/collections/wards/items/{}",
                  "/layers/{}.geojson", "/layers/{}.csv", "/tiles/{}.json"]

CHECKSUM = text("""
    SELECT (SELECT count(*) FROM places) || ':' ||
           coalesce((SELECT md5(string_agg(p::text, '|' ORDER BY p.id)) FROM places p), '') || ':' ||
           (SELECT count(*) FROM areas) || ':' ||
           coalesce((SELECT md5(string_agg(a.kind || a.code || a.name || md5(ST_AsEWKB(a.geom)::text),
                                            '|' ORDER BY a.kind, a.code)) FROM areas a), '')""")


@pytest.fixture(scope="module")
def demo_app(database_url, engine):
    """The demo data loaded once for the module (these tests only read), and an app whose
    search rate limit would not turn this many requests into 429s and hide the rest."""
    from importers import demo
    from tests.conftest import empty_tables

    empty_tables(engine)
    with engine.begin() as connection:
        demo.load(connection)
    app = create_app({"database_url": database_url, "TESTING": True,
                      "rate_limit_search": "100000 per minute"})
    yield app
    for key in ("assetmap.engine", "assetmap.read_engine"):
        app.extensions[key].dispose()
    empty_tables(engine)


@pytest.fixture
def client(demo_app):
    return demo_app.test_client()


@pytest.fixture(scope="module")
def codes(demo_app, engine):
    with engine.connect() as connection:
        return {
            "place": connection.execute(text("SELECT min(id) FROM places")).scalar_one(),
            "ward": connection.execute(text(
                "SELECT min(code) FROM areas WHERE kind = 'ward'")).scalar_one(),
            "neighbourhood": connection.execute(text(
                "SELECT min(code) FROM areas WHERE kind = 'neighbourhood'")).scalar_one(),
        }


def _checksum(engine) -> str:
    with engine.connect() as connection:
        return connection.execute(CHECKSUM).scalar_one()


def _assert_answer(response, path: str, what: str) -> None:
    status = response.status_code
    assert 200 <= status < 300 or 400 <= status < 500, f"{what}: {status}"
    if 400 <= status < 500 and path.startswith(API_PREFIXES):
        assert response.mimetype == "application/problem+json", f"{what}: {response.mimetype}"
        body = response.get_json()
        assert body["status"] == status and body["title"], f"{what}: {body}"


@pytest.mark.parametrize("path,parameters", QUERY_ENDPOINTS,
                         ids=[path for path, _ in QUERY_ENDPOINTS])
def test_injection_strings_in_query_parameters_are_answered_and_change_nothing(
        client, engine, codes, path, parameters):
    before = _checksum(engine)
    url = path.format(**codes)
    for parameter in parameters:
        for payload, name in zip(PAYLOADS, PAYLOAD_IDS):
            response = client.get(url, query_string={parameter: payload})
            _assert_answer(response, url, f"GET {url}?{parameter}=<{name}>")
    assert _checksum(engine) == before
    with engine.connect() as connection:
        assert connection.execute(text("SELECT to_regclass('places') IS NOT NULL")).scalar_one()


@pytest.mark.parametrize("template", PATH_ENDPOINTS)
def test_injection_strings_in_path_segments_are_answered_and_change_nothing(
        client, engine, codes, template):
    before = _checksum(engine)
    for payload, name in zip(PAYLOADS, PAYLOAD_IDS):
        url = template.format(quote(payload, safe=""))
        response = client.get(url)
        _assert_answer(response, url, f"GET {template.format('<' + name + '>')}")
    assert _checksum(engine) == before


def test_the_places_table_survives_a_search_for_drop_table(client, engine, codes):
    """The payload is searched for as text: nothing matches, and places is still there."""
    response = client.get("/ogc/collections/places/items",
                          query_string={"q": "'; DROP TABLE places; --"})
    assert response.status_code == 200
    assert response.get_json()["numberMatched"] == 0
    assert client.get("/ogc/collections/places/items").get_json()["numberMatched"] > 0


@pytest.mark.parametrize("wildcard", ["%", "_"])
def test_like_wildcards_are_searched_for_literally(client, engine, codes, wildcard):
    """`%` and `_` match themselves, not every name (no place name holds them)."""
    with engine.connect() as connection:
        holding = connection.execute(text(
            "SELECT count(*) FROM places WHERE deleted_at IS NULL AND "
            "(strpos(name, :w) > 0 OR strpos(coalesce(description, ''), :w) > 0)"),
            {"w": wildcard}).scalar_one()
    response = client.get("/ogc/collections/places/items", query_string={"q": wildcard})
    assert response.status_code == 200
    assert response.get_json()["numberMatched"] == holding


# --- found by the battery --------------------------------------------------------------

NUL_FEEDS = ["/ogc/collections/places/items?q=a%00b", "/ogc/collections/wards/items?q=a%00b",
             "/layers/places.geojson?q=a%00b", "/layers/places.csv?q=a%00b",
             "/api/wards/a%00b", "/api/neighbourhoods/a%00b",
             "/ogc/collections/wards/items/a%00b"]
NUL_PAGES = ["/?q=a%00b", "/places.json?q=a%00b", "/wards/a%00b", "/wards/a%00b/map.html",
             "/neighbourhoods/a%00b"]


@pytest.mark.parametrize("url", NUL_FEEDS)
def test_a_nul_byte_in_a_feed_parameter_is_a_400(client, url):
    response = client.get(url)
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"


@pytest.mark.parametrize("url", NUL_PAGES)
def test_a_nul_byte_in_a_page_parameter_is_a_400(client, url):
    response = client.get(url)
    assert 400 <= response.status_code < 500
