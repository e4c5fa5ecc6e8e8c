"""/api/nearest: the places nearest a point or a postcode, nearest first by true distance,
found through the spatial index, never revealing where an area-level group really is."""
from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import text

from layers.query import Query
from layers.registry import LAYERS
from layers.sql import LayerSQL
from tests.test_feeds_rfc7946 import check_geojson


def geodesic_distances(db, lon: float, lat: float) -> dict[int, float]:
    """Every published place's distance on the spheroid (PostGIS geography), in metres."""
    with db.connect() as connection:
        return dict(connection.execute(text(
            "SELECT id, ST_Distance(public_point::geography, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography) FROM places "
            "WHERE deleted_at IS NULL"), {"lon": lon, "lat": lat}).all())


def assert_true_nearest(features, truth: dict[int, float], limit: int) -> None:
    distances = [truth[f["id"]] for f in features]
    # In order of true distance (British National Grid distances differ from the spheroid
    # by under 0.04 %, so only near-ties may swap).
    for before, after in itertools.pairwise(distances):
        assert before <= after * 1.0005 + 0.5
    ranked = sorted(truth.values())
    assert len(features) == min(limit, len(truth))
    assert max(distances) <= ranked[len(features) - 1] * 1.0005 + 0.5, "none nearer was left out"
    for feature in features:
        reported = feature["properties"]["distance_m"]
        assert isinstance(reported, int)
        assert abs(reported - truth[feature["id"]]) <= truth[feature["id"]] * 0.0005 + 1


@pytest.mark.parametrize("lon,lat", [(-1.7850, 53.6458), (-1.95, 53.58), (-1.62, 53.70)])
def test_nearest_to_a_point_orders_by_true_distance(client, demo_data, db, lon, lat):
    document = check_geojson(client.get(f"/api/nearest?lon={lon}&lat={lat}&limit=25"))
    assert document["origin"] == {"lon": lon, "lat": lat, "postcode": None}
    assert_true_nearest(document["features"], geodesic_distances(db, lon, lat), 25)


def test_nearest_to_a_postcode_orders_by_true_distance(client, demo_data, db):
    with db.connect() as connection:
        postcodes = connection.execute(text(
            "SELECT postcode, ST_X(geom), ST_Y(geom) FROM postcodes ORDER BY postcode LIMIT 5")).all()
    for postcode, lon, lat in postcodes:
        for written in (postcode, postcode.lower(), postcode.replace(" ", ""), f"  {postcode} "):
            response = client.get("/api/nearest", query_string={"postcode": written})
            document = check_geojson(response)
            assert document["origin"] == {"lon": round(lon, 6), "lat": round(lat, 6),
                                          "postcode": postcode}
        assert_true_nearest(document["features"], geodesic_distances(db, lon, lat), 10)
        names = {"name", "kind", "categories", "ward_code", "ward_name", "neighbourhood_codes",
                 "location_precision", "updated_at", "distance_m"}
        assert names <= set(document["features"][0]["properties"])


def test_an_unknown_postcode_is_404_naming_it(client, demo_data):
    response = client.get("/api/nearest?postcode=zz9 9zz")
    assert response.status_code == 404
    body = response.get_json()
    assert body["parameter"] == "postcode" and "ZZ9 9ZZ" in body["detail"]


def test_kind_category_and_limit(client, demo_data, db):
    hubs = client.get("/api/nearest?lon=-1.78&lat=53.64&kind=hub&limit=100").get_json()
    assert {f["properties"]["kind"] for f in hubs["features"]} == {"hub"}
    assert len(hubs["features"]) == 12
    libraries = client.get("/api/nearest?lon=-1.78&lat=53.64&category=library").get_json()
    assert len(libraries["features"]) == 10
    assert all("library" in f["properties"]["categories"] for f in libraries["features"])
    truth = geodesic_distances(db, -1.78, 53.64)
    with db.connect() as connection:
        library_ids = set(connection.execute(text(
            "SELECT id FROM places WHERE 'library' = ANY(categories)")).scalars())
    assert_true_nearest(libraries["features"], {k: v for k, v in truth.items() if k in library_ids}, 10)
    default = client.get("/api/nearest?lon=-1.78&lat=53.64").get_json()
    assert len(default["features"]) == 10
    most = client.get("/api/nearest?lon=-1.78&lat=53.64&limit=500").get_json()
    assert len(most["features"]) == 100, "over the maximum is lowered to it"


def test_an_area_level_group_is_measured_to_its_area_never_its_home(client, db):
    with db.begin() as connection:
        place_id = connection.execute(text(
            "INSERT INTO places (kind, source, source_id, name, geom, location_precision) VALUES "
            "('mutual_aid_group', 't', '1', 'Street helpers', "
            "ST_SetSRID(ST_MakePoint(-1.7800, 53.6400), 4326), 'area') RETURNING id")).scalar()
        connection.execute(text(
            "INSERT INTO mutual_aid_groups (place_id, coverage) VALUES (:id, ST_Multi(ST_Buffer("
            "ST_SetSRID(ST_MakePoint(-1.7700, 53.6450), 4326)::geography, 500)::geometry))"),
            {"id": place_id})
    at_home = client.get("/api/nearest?lon=-1.7800&lat=53.6400").get_json()["features"][0]
    # Shown, and measured, at one point inside the area it covers (as the map draws it).
    assert at_home["geometry"]["type"] == "Point"
    with db.connect() as connection:
        inside_coverage = connection.execute(text(
            "SELECT ST_Within(ST_SetSRID(ST_GeomFromGeoJSON(:g), 4326), coverage) "
            "FROM mutual_aid_groups WHERE place_id = :id"),
            {"g": json.dumps(at_home["geometry"]), "id": place_id}).scalar()
    assert inside_coverage
    assert at_home["properties"]["distance_m"] > 200, "distance to the area, not to the home"
    inside = client.get("/api/nearest?lon=-1.7700&lat=53.6450").get_json()["features"][0]
    assert inside["properties"]["distance_m"] < 500, "from inside its area it is near"
    features = client.get("/api/nearest?lon=-1.7800&lat=53.6400").get_json()["features"]
    assert "[-1.78,53.64]" not in str(features).replace(" ", "")


@pytest.mark.parametrize("query,parameter", [
    ("lon=-1.78&lat=160", "lat"), ("lon=-1.78&lat=NaN", "lat"), ("lon=200&lat=53.6", "lon"),
    ("lon=east&lat=53.6", "lon"), ("lon=-1.78", "lat"), ("lat=53.6", "lon"), ("", "lon"),
    ("lon=-1.78&lat=53.64&limit=0", "limit"), ("lon=-1.78&lat=53.64&limit=-1", "limit"),
    ("lon=-1.78&lat=53.64&limit=unlimited", "limit"), ("postcode=not a postcode", "postcode"),
    ("postcode=HD1 2AB&lon=-1.7&lat=53.6", "postcode"), ("lon=-1.78&lat=53.64&kind=castle", "kind"),
    ("lon=-1.78&lat=53.64&radius=5", "radius"), ("lon=-1.78&lat=53.64&lat=53.65", "lat"),
])
def test_bad_parameters_are_400_naming_them(client, query, parameter):
    response = client.get(f"/api/nearest?{query}")
    assert response.status_code == 400, query
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["parameter"] == parameter


def test_nearest_walks_the_spatial_index_not_a_full_sort(demo_connection):
    statement = LayerSQL(LAYERS["places"], Query(limit=10, kinds=("community_asset",))).nearest(
        lon=-1.78, lat=53.64)
    demo_connection.execute(text("ANALYZE places"))
    # As on a large table; LOCAL, so it ends with the test's transaction.
    demo_connection.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(row[0] for row in demo_connection.execute(
        text("EXPLAIN " + statement.sql), statement.params))
    assert "Index Scan using places_public_point_bng_idx" in plan, plan
    assert "Order By: (public_point_bng <-> $" in plan
    # No sort by distance: the index gives the order. (A sort of a few mutual aid rows by
    # place id, inside the view's join to their areas, is the planner's choice and no
    # full sort.)
    by_distance = [line for line in plan.splitlines()
                   if "Sort Key" in line and ("<->" in line or "distance" in line.lower())]
    assert not by_distance, plan


@pytest.mark.parametrize("filters", [
    {}, {"kind": "hub"}, {"kind": "mutual_aid_group"}, {"category": "library"}])
def test_the_finder_page_and_the_feed_choose_the_same_nearest_places(client, demo_data, filters):
    """One selection (LayerSQL._nearest_rows) behind both: the same places in the same
    order, whatever the filter."""
    postcode = "HD1 2TG"
    page = client.get("/places.json", query_string={"postcode": postcode, **filters})
    assert page.status_code == 200, page.get_data(as_text=True)
    listed = [p["id"] for p in page.get_json()["places"]]
    feed = client.get("/api/nearest", query_string={"postcode": postcode, "limit": 20,
                                                    "covering": "true", **filters})
    features = feed.get_json()["features"]
    assert listed, filters
    assert listed == [f["id"] for f in features]
    distances = [f["properties"]["distance_m"] for f in features]
    assert distances == sorted(distances)
