"""CQL2 filters on the OGC API items (Part 3): each filter, in CQL2 text and in CQL2 JSON,
selects exactly what an independent SQL query over the same published view selects; a
bad filter is a 400 naming `filter` and the reason; a filter never reaches SQL as text;
and GDAL's OAPIF driver hands its attribute filters to the server."""
from __future__ import annotations

import json
import logging
import shutil
import subprocess

import pytest
from sqlalchemy import text

ITEMS = "/ogc/collections/{layer}/items"

# (collection, CQL2 text, the same in CQL2 JSON, the SQL over the published view)
CASES = [
    ("places", "kind = 'hub'",
     {"op": "=", "args": [{"property": "kind"}, "hub"]},
     "SELECT id FROM published_places WHERE kind = 'hub'"),
    ("places", "kind <> 'hub' AND name LIKE 'B%'",
     {"op": "and", "args": [{"op": "<>", "args": [{"property": "kind"}, "hub"]},
                            {"op": "like", "args": [{"property": "name"}, "B%"]}]},
     "SELECT id FROM published_places WHERE kind <> 'hub' AND name LIKE 'B%'"),
    ("places", "ward_code IN ('E05001390', 'E05001400') OR kind = 'hub'",
     {"op": "or", "args": [
         {"op": "in", "args": [{"property": "ward_code"}, ["E05001390", "E05001400"]]},
         {"op": "=", "args": [{"property": "kind"}, "hub"]}]},
     ("SELECT id FROM published_places WHERE ward_code IN ('E05001390', 'E05001400') "
     "OR kind = 'hub'")),
    ("places", "phone IS NULL",
     {"op": "isNull", "args": [{"property": "phone"}]},
     "SELECT id FROM published_places WHERE phone IS NULL"),
    ("places", "NOT (phone IS NULL)",
     {"op": "not", "args": [{"op": "isNull", "args": [{"property": "phone"}]}]},
     "SELECT id FROM published_places WHERE phone IS NOT NULL"),
    ("places", "S_INTERSECTS(geometry, BBOX(-1.80, 53.60, -1.70, 53.70))",
     {"op": "s_intersects", "args": [{"property": "geometry"},
                                     {"bbox": [-1.80, 53.60, -1.70, 53.70]}]},
     ("SELECT id FROM published_places WHERE ST_Intersects(geom, "
     "ST_MakeEnvelope(-1.80, 53.60, -1.70, 53.70, 4326))")),
    ("places", "S_INTERSECTS(geometry, POLYGON((-1.8 53.6, -1.6 53.6, -1.7 53.75, -1.8 53.6)))",
     {"op": "s_intersects", "args": [{"property": "geometry"}, {
         "type": "Polygon",
         "coordinates": [[[-1.8, 53.6], [-1.6, 53.6], [-1.7, 53.75], [-1.8, 53.6]]]}]},
     ("SELECT id FROM published_places WHERE ST_Intersects(geom, ST_GeomFromText("
     "'POLYGON((-1.8 53.6, -1.6 53.6, -1.7 53.75, -1.8 53.6))', 4326))")),
    ("places", "S_DWITHIN(geometry, POINT(-1.7849 53.6458), 1500)",
     {"op": "s_dwithin", "args": [{"property": "geometry"},
                                  {"type": "Point", "coordinates": [-1.7849, 53.6458]}, 1500]},
     ("SELECT id FROM published_places WHERE ST_DWithin(geom_bng, ST_Transform("
     "ST_SetSRID(ST_MakePoint(-1.7849, 53.6458), 4326), 27700), 1500)")),
    ("places", "A_OVERLAPS(categories, ('community hub', 'food'))",
     {"op": "a_overlaps", "args": [{"property": "categories"}, ["community hub", "food"]]},
     "SELECT id FROM published_places WHERE categories && ARRAY['community hub', 'food']"),
    ("places", "T_AFTER(updated_at, TIMESTAMP('2000-01-01T00:00:00Z')) AND kind = 'hub'",
     {"op": "and", "args": [
         {"op": "t_after", "args": [{"property": "updated_at"},
                                    {"timestamp": "2000-01-01T00:00:00Z"}]},
         {"op": "=", "args": [{"property": "kind"}, "hub"]}]},
     ("SELECT id FROM published_places WHERE updated_at > '2000-01-01T00:00:00Z' "
     "AND kind = 'hub'")),
    ("places", "T_BEFORE(updated_at, TIMESTAMP('2000-01-01T00:00:00Z'))",
     {"op": "t_before", "args": [{"property": "updated_at"},
                                 {"timestamp": "2000-01-01T00:00:00Z"}]},
     "SELECT id FROM published_places WHERE updated_at < '2000-01-01T00:00:00Z'"),
    ("lsoas", "imd_decile BETWEEN 1 AND 2 AND population >= 1500",
     {"op": "and", "args": [
         {"op": "between", "args": [{"property": "imd_decile"}, 1, 2]},
         {"op": ">=", "args": [{"property": "population"}, 1500]}]},
     ("SELECT code FROM areas WHERE kind = 'lsoa' AND imd_decile BETWEEN 1 AND 2 "
     "AND population >= 1500")),
    ("wards", "population < 17000 OR name = 'Dalton'",
     {"op": "or", "args": [{"op": "<", "args": [{"property": "population"}, 17000]},
                           {"op": "=", "args": [{"property": "name"}, "Dalton"]}]},
     "SELECT code FROM areas WHERE kind = 'ward' AND (population < 17000 OR name = 'Dalton')"),
]


def _ids(client, layer: str, **params) -> set:
    response = client.get(ITEMS.format(layer=layer), query_string={"limit": 10000, **params})
    assert response.status_code == 200, response.get_json()
    document = response.get_json()
    assert document["numberMatched"] == document["numberReturned"]
    return {feature["id"] for feature in document["features"]}


def test_each_filter_selects_what_sql_selects(client, demo_data, db):
    """One demo load for all the cases; every case is checked and every failure named."""
    everything = {layer: _ids(client, layer) for layer in {case[0] for case in CASES}}
    wrong = []
    for layer, cql_text, cql_json, truth in CASES:
        with db.connect() as connection:
            expected = set(connection.execute(text(truth)).scalars())
        by_text = _ids(client, layer, filter=cql_text)
        by_json = _ids(client, layer, filter=json.dumps(cql_json), **{"filter-lang": "cql2-json"})
        if not by_text == expected == by_json:
            wrong.append((cql_text, len(expected), len(by_text), len(by_json)))
        # Each case selects some and leaves some out, so each could fail.
        if not (0 < len(expected) < len(everything[layer]) or "T_BEFORE" in cql_text):
            wrong.append((cql_text, "selects all or nothing", len(expected)))
    assert not wrong, wrong


def test_a_filter_in_the_british_national_grid(client, demo_data, db):
    with db.connect() as connection:
        expected = set(connection.execute(text(
            "SELECT id FROM published_places WHERE ST_Intersects(geom_bng, "
            "ST_MakeEnvelope(410000, 415000, 420000, 425000, 27700))")).scalars())
    found = _ids(client, "places", filter="S_INTERSECTS(geometry, BBOX(410000,415000,420000,425000))",
                 **{"filter-crs": "http://www.opengis.net/def/crs/EPSG/0/27700"})
    assert found == expected and expected


BAD = [
    ({"filter": "nope = 1"}, "'nope' is not a queryable of this collection"),
    ({"filter": "name = 3"}, "name is a text; 3 is not"),
    ({"filter": "name ="}, "filter is not valid cql2-text"),
    ({"filter": "ward_name = 'Dalton'"}, "'ward_name' is not a queryable"),
    ({"filter": "FROB(name, 'x')"}, "the operator 'FROB' is not offered here"),
    ({"filter": "phone BETWEEN 1 AND 2"}, "BETWEEN needs a number or a date"),
    ({"filter": "S_DWITHIN(geometry, POINT(-1.78 53.64), 90000)"}, "metres from 0 to 50,000"),
    ({"filter": "{\"op\": \"=\"", "filter-lang": "cql2-json"}, "filter is not JSON"),
    ({"filter": "kind = 'hub'", "filter-lang": "cql3"}, "filter-lang 'cql3'"),
    ({"filter-lang": "cql3"}, "filter-lang 'cql3' is not one of"),
    ({"filter": "updated_at > TIMESTAMP('yesterday')"}, "not an RFC 3339 date-time"),
    ({"filter": " OR ".join(["kind = 'hub'"] * 120)}, "more than 200 terms"),
]


def test_a_bad_filter_is_refused_naming_it_and_why(client):
    wrong = []
    for params, reason in BAD:
        response = client.get(ITEMS.format(layer="places"), query_string=params)
        problem = response.get_json() or {}
        if not (response.status_code == 400 and problem.get("parameter") in (
                "filter", "filter-lang") and reason in problem.get("detail", "")):
            wrong.append((params, reason, response.status_code, problem.get("detail")))
    assert not wrong, wrong


def test_a_filter_is_bound_never_spliced(client, demo_data, db):
    hostile = "name = 'x''; DROP TABLE places; --' OR name LIKE '%'' OR ''1''=''1'"
    assert _ids(client, "places", filter=hostile) == set()
    with db.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM places")).scalar() > 0


def test_conformance_and_queryables_say_what_a_filter_may_use(client, demo_data):
    conforms = client.get("/ogc/conformance").get_json()["conformsTo"]
    for name in ("ogcapi-features-3/1.0/conf/filter", "ogcapi-features-3/1.0/conf/features-filter",
                 "cql2/1.0/conf/cql2-text", "cql2/1.0/conf/cql2-json",
                 "cql2/1.0/conf/basic-cql2", "cql2/1.0/conf/advanced-comparison-operators"):
        assert f"http://www.opengis.net/spec/{name}" in conforms
    queryables = client.get("/ogc/collections/places/queryables").get_json()["properties"]
    assert {"name", "kind", "ward_code", "categories", "updated_at", "geometry"} <= set(queryables)
    assert "ward_name" not in queryables  # a joined field is read, not filtered on
    # Every queryable listed can be filtered on.
    for name in queryables:
        if name == "geometry":
            continue
        response = client.get(ITEMS.format(layer="places"),
                              query_string={"filter": f"{name} IS NULL", "limit": 1})
        assert response.status_code == 200, (name, response.get_json())


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is missing")
def test_gdal_hands_its_attribute_filter_to_the_server(live_server, demo_data, db, caplog):
    with db.connect() as connection:
        expected = connection.execute(text(
            "SELECT count(*) FROM published_places WHERE kind = 'hub' AND ward_code = 'E05001400'"
        )).scalar()
    caplog.set_level(logging.INFO, logger="werkzeug")
    result = subprocess.run(
        ["ogrinfo", "-ro", "-al", "-q", "-where", "kind = 'hub' AND ward_code = 'E05001400'",
         f"OAPIF:{live_server}/ogc", "places"],
        check=False, capture_output=True, text=True, timeout=240,
        env={"CPL_DEBUG": "OFF", "GDAL_HTTP_TIMEOUT": "60", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("OGRFeature(") == expected > 0
    asked = [r.getMessage() for r in caplog.records if "/ogc/collections/places/items" in
             r.getMessage()]
    assert any("filter=" in line for line in asked), asked
