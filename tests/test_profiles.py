"""Ward and priority neighbourhood profiles agree with a brute-force computation in Python:
counts, places per 1,000 residents, the share of residents (LSOA populations spread over
their area) within 400/800/1,600 m of each kind of place, the neighbourhoods in a ward,
and the farthest point from each kind (on a fine grid)."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import shapely
from shapely import wkb
from sqlalchemy import text

from layers.profiles import DISTANCES_M, POSTCODE_WITHIN_M, area_profile
from layers.registry import PLACE_KINDS


def _geometry(value):
    return wkb.loads(bytes(value))


@pytest.fixture
def world(demo_connection):
    """Everything a brute-force profile needs, on the British National Grid."""
    areas = {(row.kind, row.code): row for row in demo_connection.execute(text(
        "SELECT kind, code, name, population, ST_AsBinary(geom_bng) AS g FROM areas"))}
    places = demo_connection.execute(text(
        "SELECT id, kind, categories, ward_code, neighbourhood_codes, "
        "ST_AsBinary(public_point_bng) AS g FROM places WHERE deleted_at IS NULL")).all()
    return {
        "areas": {key: (row, _geometry(row.g)) for key, row in areas.items()},
        "places": [(row, _geometry(row.g)) for row in places],
    }


def brute_force(world, kind: str, code: str) -> dict:
    row, area = world["areas"][(kind, code)]
    members = [(p, g) for p, g in world["places"]
               if (p.ward_code == code if kind == "ward" else code in p.neighbourhood_codes)]
    counts = Counter(p.kind for p, _ in members)
    categories = Counter(c for p, _ in members for c in p.categories)
    parts = []
    for (area_kind, _), (lsoa, shape_) in world["areas"].items():
        if area_kind == "lsoa" and lsoa.population is not None and shape_.intersects(area):
            parts.append((shape_.intersection(area), lsoa.population / shape_.area))
    residents = sum(part.area * density for part, density in parts)
    coverage = {}
    for place_kind in PLACE_KINDS:
        geometries = [g for p, g in world["places"] if p.kind == place_kind]
        for distance in DISTANCES_M:
            # PostGIS buffers with 8 segments a quarter circle; so does this.
            reach = shapely.union_all([g.buffer(distance, quad_segs=8) for g in geometries]) \
                if geometries else None
            covered = sum(part.intersection(reach).area * density for part, density in parts) \
                if reach is not None else 0.0
            coverage[(place_kind, distance)] = covered / residents
    neighbourhoods = sorted(
        c for (k, c), (_, g) in world["areas"].items()
        if k == "neighbourhood" and g.intersection(area).area / g.area > 0.001) \
        if kind == "ward" else None
    return {"counts": counts, "categories": categories, "population": row.population,
            "residents": residents, "coverage": coverage, "neighbourhoods": neighbourhoods}


def farthest_on_grid(world, kind: str, code: str, place_kind: str, step: float = 25.0) -> float:
    _, area = world["areas"][(kind, code)]
    minx, miny, maxx, maxy = area.bounds
    xs, ys = np.meshgrid(np.arange(minx, maxx, step), np.arange(miny, maxy, step))
    points = shapely.points(xs.ravel(), ys.ravel())
    points = points[shapely.contains(area, points)]
    geometries = [g for p, g in world["places"] if p.kind == place_kind]
    tree = shapely.STRtree(geometries)
    _, distances = tree.query_nearest(points, return_distance=True, all_matches=False)
    return float(distances.max())


@pytest.mark.parametrize("kind,code", [("ward", "E05001402"), ("ward", "E05001400"),
                                       ("ward", "E05008559"), ("neighbourhood", "PN-E01011014")])
def test_profile_numbers_agree_with_brute_force(demo_connection, world, kind, code):
    profile = area_profile(demo_connection, kind, code)
    truth = brute_force(world, kind, code)
    assert profile["code"] == code and profile["kind"] == kind
    assert profile["places"]["by_kind"] == {k: truth["counts"].get(k, 0) for k in PLACE_KINDS}
    assert profile["places"]["total"] == sum(truth["counts"].values())
    assert profile["places"]["by_category"] == dict(truth["categories"])
    population = truth["population"]
    assert profile["places_per_1000_residents"]["total"] == pytest.approx(
        sum(truth["counts"].values()) * 1000 / population, abs=0.01)
    for place_kind in PLACE_KINDS:
        assert profile["places_per_1000_residents"][place_kind] == pytest.approx(
            truth["counts"].get(place_kind, 0) * 1000 / population, abs=0.01)
    assert profile["residents"] == pytest.approx(truth["residents"], abs=1)
    assert len(profile["coverage"]) == len(PLACE_KINDS) * len(DISTANCES_M)
    for item in profile["coverage"]:
        expected = truth["coverage"][(item["kind"], item["distance_m"])]
        assert item["share"] == pytest.approx(expected, abs=0.0005), item
        assert item["percent"] == pytest.approx(expected * 100, abs=0.05)
    # Farther reaches never cover fewer residents.
    for place_kind in PLACE_KINDS:
        shares = [i["share"] for i in profile["coverage"] if i["kind"] == place_kind]
        assert shares == sorted(shares)
    if kind == "ward":
        assert [n["code"] for n in profile["priority_neighbourhoods"]] == truth["neighbourhoods"]
    else:
        assert profile["wards"] and all(0 < w["share_inside"] <= 1 for w in profile["wards"])


@pytest.mark.parametrize("code", ["E05001402", "E05008559"])
def test_gaps_are_the_points_farthest_from_each_kind(demo_connection, world, code):
    profile = area_profile(demo_connection, "ward", code)
    _, ward = world["areas"][("ward", code)]
    assert [g["kind"] for g in profile["gaps"]] == list(PLACE_KINDS)
    for gap in profile["gaps"]:
        truth = farthest_on_grid(world, "ward", code, gap["kind"])
        # Sampled at a few tens of metres on both sides; the answer is never beyond the
        # true farthest distance and close below it.
        assert truth - 2 * gap["precision_m"] - 25 <= gap["distance_m"] <= truth + 25, gap
        point, check = demo_connection.execute(text(
            "SELECT ST_AsBinary(p), (SELECT min(ST_Distance(public_point_bng, p)) FROM places "
            "WHERE kind = :k AND deleted_at IS NULL) FROM ST_Transform(ST_SetSRID("
            "ST_MakePoint(:lon, :lat), 4326), 27700) AS p"),
            {"k": gap["kind"], "lon": gap["lon"], "lat": gap["lat"]}).one()
        assert ward.buffer(1).contains(_geometry(point))
        assert check == pytest.approx(gap["distance_m"], abs=1.5)
        # Named by the LSOA and ward it lies in and its nearest postcode.
        gap_point = _geometry(point)
        lsoa = min(((g.distance(gap_point), c) for (k, c), (_, g) in world["areas"].items()
                    if k == "lsoa"))
        assert gap["lsoa_code"] == lsoa[1] and gap["ward_code"] == code, gap
        postcodes = demo_connection.execute(text(
            "SELECT postcode, ST_AsBinary(geom_bng) FROM postcodes")).all()
        nearest = min((_geometry(g).distance(gap_point), p) for p, g in postcodes)
        if nearest[0] <= POSTCODE_WITHIN_M:
            assert gap["postcode"] == nearest[1], (gap, nearest)
            assert gap["postcode_distance_m"] == pytest.approx(nearest[0], abs=0.5)
        else:  # on the moors, no postcode is near enough to say where it is
            assert gap.get("postcode") is None, (gap, nearest)
        # Residents beyond 800 m: the population less the share within 800 m.
        truth = brute_force(world, "ward", code)
        share = truth["coverage"][(gap["kind"], 800)]
        assert gap["beyond_m"] == 800
        assert gap["residents_beyond"] == pytest.approx(
            truth["population"] * (1 - share), abs=0.0005 * truth["population"] + 1)


def test_profile_api_answers_and_refuses(client, demo_data, db):
    response = client.get("/api/wards/E05001402")
    assert response.status_code == 200 and response.mimetype == "application/json"
    with db.connect() as connection:
        assert response.get_json() == area_profile(connection, "ward", "E05001402")
    neighbourhood = client.get("/api/neighbourhoods/PN-E01011014").get_json()
    assert neighbourhood["kind"] == "neighbourhood" and neighbourhood["wards"]
    missing = client.get("/api/wards/E05999999")
    assert missing.status_code == 404 and missing.get_json()["parameter"] == "code"
    assert client.get("/api/neighbourhoods/E05001402").status_code == 404
    unknown = client.get("/api/wards/E05001402?verbose=1")
    assert unknown.status_code == 400 and unknown.get_json()["parameter"] == "verbose"


def test_a_profile_without_gaps_for_tables_of_wards(demo_connection):
    quick = area_profile(demo_connection, "ward", "E05001402", gaps=False)
    full = area_profile(demo_connection, "ward", "E05001402")
    assert area_profile(demo_connection, "ward", "NOWHERE") is None
    with pytest.raises(ValueError):
        area_profile(demo_connection, "lsoa", "E01011004")
    assert "gaps" not in quick
    full.pop("gaps")
    assert quick == full
