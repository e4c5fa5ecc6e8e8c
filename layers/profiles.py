"""Area profiles for councillors: what a ward (or priority neighbourhood) has, for how many
residents, who lives within reach of it, and where the gaps are.

All the spatial work runs in PostGIS on the British National Grid (metres):
- counts by kind and by category of the places assigned to the area;
- coverage: the share of the area's residents within 400, 800 and 1,600 m of at least one
  place of each kind. Residents come from LSOA populations, spread evenly over each LSOA
  (area-weighted): residents in reach = Σ over LSOAs of population × (area of the LSOA's
  part inside the area and within reach) / (LSOA area). Places just outside the area
  count: a resident is served by the nearest place whichever side of a boundary it is;
- gaps: for each kind, the point of the area farthest from any place of that kind, found
  on a grid of sample points and refined around the worst one.
"""
from __future__ import annotations

import math

from sqlalchemy import text

from layers.registry import PLACE_KINDS

DISTANCES_M = (400, 800, 1600)
AREA_KINDS = ("ward", "neighbourhood")
# Sample points on the coarse gap grid (about); the refinement adds 9 x 9 per kind.
GAP_SAMPLES = 250
GAP_REFINE_STEPS = 4

AREA = text("""
    SELECT kind, code, name, vintage, population, imd_decile, imd_rank,
           ST_Area(geom_bng) AS area_m2
      FROM areas WHERE kind = :kind AND code = :code
""")

COUNTS = text("""
    SELECT p.kind, count(*) AS places
      FROM published_places p
     WHERE {membership}
     GROUP BY p.kind
""")

CATEGORIES = text("""
    SELECT category, count(*) AS places
      FROM published_places p, unnest(p.categories) AS category
     WHERE {membership}
     GROUP BY category ORDER BY count(*) DESC, category
""")

# Each LSOA's part inside the area with its residents per square metre; then for each kind
# and distance, the union of the places' reach (a buffer of the point the map shows them
# at, so an area-level group is measured from inside its own ward and LSOA) and the
# residents who live in it.
COVERAGE = text("""
    WITH area AS (SELECT geom_bng AS g FROM areas WHERE kind = :kind AND code = :code),
    parts AS (
        SELECT l.population::float8 / NULLIF(ST_Area(l.geom_bng), 0) AS density,
               ST_Intersection(l.geom_bng, a.g) AS g
          FROM areas l, area a
         WHERE l.kind = 'lsoa' AND l.population IS NOT NULL AND ST_Intersects(l.geom_bng, a.g)
    ),
    reach AS (
        SELECT p.kind, d.distance, ST_Union(ST_Buffer(p.geom_bng, d.distance)) AS g
          FROM published_places p CROSS JOIN unnest(CAST(:distances AS integer[])) AS d(distance),
               area a
         WHERE ST_DWithin(p.geom_bng, a.g, d.distance)
         GROUP BY p.kind, d.distance
    )
    SELECT NULL AS kind, NULL AS distance, sum(density * ST_Area(g)) AS residents FROM parts
    UNION ALL
    SELECT r.kind, r.distance, sum(pt.density * ST_Area(ST_Intersection(pt.g, r.g)))
      FROM reach r CROSS JOIN parts pt
     WHERE ST_Intersects(pt.g, r.g)
     GROUP BY r.kind, r.distance
""")

NEIGHBOURHOODS_IN_WARD = text("""
    SELECT n.code, n.name, n.population,
           ST_Area(ST_Intersection(n.geom_bng, w.geom_bng)) / ST_Area(n.geom_bng) AS share_inside
      FROM areas w JOIN areas n ON n.kind = 'neighbourhood' AND ST_Intersects(n.geom_bng, w.geom_bng)
     WHERE w.kind = 'ward' AND w.code = :code
     ORDER BY n.code
""")

WARDS_OF_NEIGHBOURHOOD = text("""
    SELECT w.code, w.name,
           ST_Area(ST_Intersection(n.geom_bng, w.geom_bng)) / ST_Area(n.geom_bng) AS share_inside
      FROM areas n JOIN areas w ON w.kind = 'ward' AND ST_Intersects(n.geom_bng, w.geom_bng)
     WHERE n.kind = 'neighbourhood' AND n.code = :code
     ORDER BY w.code
""")

# The distance from each sample point to the nearest place of each kind, by index (KNN),
# and for each kind the sample farthest from any. Sample points are the centres of a square
# grid over the area that fall inside it, or (when refining) a finer grid around points.
# One branch per kind, with the kind written in (a constant from the registry): with it
# the planner sees how many places the kind has, and for a rare kind (a dozen hubs among a
# million places) sorts those few instead of walking the whole index to find one.
_GAP_DISTANCES = " UNION ALL ".join(f"""
        SELECT '{place_kind}' AS kind, s.g,
               (SELECT ST_Distance(p.geom_bng, s.g) FROM published_places p
                 WHERE p.kind = '{place_kind}'
                 ORDER BY p.geom_bng <-> s.g LIMIT 1) AS distance
          FROM samples s, area a
         WHERE ST_Intersects(a.g, s.g)""" for place_kind in PLACE_KINDS)

GAPS = text(f"""
    WITH area AS (SELECT geom_bng AS g FROM areas WHERE kind = :kind AND code = :code),
    samples AS MATERIALIZED (
        SELECT ST_Centroid(cell.geom) AS g
          FROM area a, ST_SquareGrid(:step, a.g) AS cell
         WHERE CAST(:coarse AS boolean)
        UNION ALL
        SELECT ST_SetSRID(ST_MakePoint(x + dx * :fine, y + dy * :fine), 27700)
          FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) AS c(x, y),
               generate_series(-:steps, :steps) AS dx, generate_series(-:steps, :steps) AS dy
    ),
    distances AS ({_GAP_DISTANCES}
    ),
    farthest AS (
        SELECT DISTINCT ON (kind) kind, g, distance FROM distances
         WHERE distance IS NOT NULL ORDER BY kind, distance DESC
    )
    SELECT kind, distance, ST_X(g) AS x, ST_Y(g) AS y,
           ST_X(ST_Transform(g, 4326)) AS lon, ST_Y(ST_Transform(g, 4326)) AS lat
      FROM farthest
""")


# Where each gap is, in words a councillor can act on: the LSOA and ward it lies in (or,
# in a sliver where the 2011 LSOAs and 2013 wards do not quite meet, the nearest) and the
# nearest postcode (a postcode's point is where its addresses are, so this is a street's
# name in all but words).
GAP_PLACES = text("""
    SELECT g.kind, l.code AS lsoa_code, l.name AS lsoa_name, w.code AS ward_code,
           w.name AS ward_name, pc.postcode, round(pc.distance) AS postcode_distance_m
      FROM unnest(CAST(:kinds AS text[]), CAST(:xs AS float8[]), CAST(:ys AS float8[]))
           AS g(kind, x, y)
      CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(g.x, g.y), 27700) AS p) point
      LEFT JOIN LATERAL (SELECT code, name FROM areas WHERE kind = 'lsoa'
                          ORDER BY geom_bng <-> point.p, code LIMIT 1) l ON true
      LEFT JOIN LATERAL (SELECT code, name FROM areas WHERE kind = 'ward'
                          ORDER BY geom_bng <-> point.p, code LIMIT 1) w ON true
      LEFT JOIN LATERAL (SELECT postcode, ST_Distance(geom_bng, point.p) AS distance
                           FROM postcodes ORDER BY geom_bng <-> point.p LIMIT 1) pc
        ON pc.distance <= :postcode_within
""")
# A postcode farther than this from the gap does not name where it is.
POSTCODE_WITHIN_M = 3000
# The distance residents are counted beyond, for each gap: a 10-minute walk.
BEYOND_M = 800


def _membership(kind: str) -> str:
    # Constants chosen here, never from a request; the code is a bound parameter.
    if kind == "ward":
        return "p.ward_code = :code"
    return "p.neighbourhood_codes @> ARRAY[CAST(:code AS text)]"


def _gaps(connection, kind: str, code: str, area_m2: float) -> list[dict]:
    step = max(50.0, math.ceil(math.sqrt(area_m2 / GAP_SAMPLES) / 10) * 10)
    params = {"kind": kind, "code": code, "step": step, "fine": step / GAP_REFINE_STEPS,
              "steps": GAP_REFINE_STEPS}
    worst = {row["kind"]: dict(row) for row in connection.execute(
        GAPS, {**params, "coarse": True, "xs": [], "ys": []}).mappings()}
    # Refine around each kind's worst sample: a grid spanning one coarse cell each way.
    for row in connection.execute(GAPS, {**params, "coarse": False,
                                         "xs": [w["x"] for w in worst.values()],
                                         "ys": [w["y"] for w in worst.values()]}).mappings():
        if row["distance"] > worst[row["kind"]]["distance"]:
            worst[row["kind"]] = dict(row)
    found = [k for k in PLACE_KINDS if k in worst]
    where = {row["kind"]: dict(row) for row in connection.execute(GAP_PLACES, {
        "kinds": found, "xs": [worst[k]["x"] for k in found],
        "ys": [worst[k]["y"] for k in found],
        "postcode_within": POSTCODE_WITHIN_M}).mappings()}
    return [{"kind": k, "distance_m": round(worst[k]["distance"]),
             "lon": round(worst[k]["lon"], 6), "lat": round(worst[k]["lat"], 6),
             "precision_m": round(params["fine"]),
             **{key: value for key, value in where.get(k, {}).items() if key != "kind"}}
            for k in found]


def area_profile(connection, kind: str, code: str, *, gaps: bool = True) -> dict | None:
    """The profile of the ward or priority neighbourhood `code`, or None if there is none.
    `gaps=False` leaves out the gap search (the slowest part) for tables of many areas."""
    if kind not in AREA_KINDS:
        raise ValueError(f"kind must be one of {AREA_KINDS}")
    area = connection.execute(AREA, {"kind": kind, "code": code}).mappings().first()
    if area is None:
        return None
    membership = _membership(kind)
    by_kind = dict(connection.execute(text(COUNTS.text.format(membership=membership)),
                                      {"code": code}).all())
    by_category = dict(connection.execute(text(CATEGORIES.text.format(membership=membership)),
                                          {"code": code}).all())
    counts = {k: by_kind.get(k, 0) for k in PLACE_KINDS}
    total = sum(counts.values())
    population = area["population"]

    def per_1000(n):
        return round(n * 1000 / population, 2) if population else None

    rows = connection.execute(COVERAGE, {"kind": kind, "code": code,
                                         "distances": list(DISTANCES_M)}).mappings().all()
    residents = next((r["residents"] for r in rows if r["kind"] is None), None) or 0.0
    covered = {(r["kind"], r["distance"]): r["residents"] or 0.0 for r in rows if r["kind"]}
    coverage = []
    for place_kind in PLACE_KINDS:
        for distance in DISTANCES_M:
            reached = covered.get((place_kind, distance), 0.0)
            share = reached / residents if residents else None
            coverage.append({"kind": place_kind, "distance_m": distance,
                             "residents": round(reached),
                             "share": None if share is None else round(share, 4),
                             "percent": None if share is None else round(share * 100, 1)})

    if kind == "ward":
        related = {"priority_neighbourhoods": [
            {"code": r["code"], "name": r["name"], "population": r["population"],
             "share_inside": round(r["share_inside"], 4)}
            for r in connection.execute(NEIGHBOURHOODS_IN_WARD, {"code": code}).mappings()
            if r["share_inside"] > 0.001]}
    else:
        related = {"wards": [
            {"code": r["code"], "name": r["name"], "share_inside": round(r["share_inside"], 4)}
            for r in connection.execute(WARDS_OF_NEIGHBOURHOOD, {"code": code}).mappings()
            if r["share_inside"] > 0.001]}

    profile = {
        "kind": kind,
        "code": area["code"],
        "name": area["name"],
        "vintage": area["vintage"],
        "population": population,
        # Residents by LSOA, area-weighted: the base of the coverage shares.
        "residents": round(residents),
        "imd_decile": area["imd_decile"],
        "area_km2": round(area["area_m2"] / 1e6, 3),
        "places": {"total": total, "by_kind": counts, "by_category": by_category},
        "places_per_1000_residents": {"total": per_1000(total),
                                      **{k: per_1000(n) for k, n in counts.items()}},
        "coverage": coverage,
        **related,
    }
    if gaps:
        profile["gaps"] = _gaps(connection, kind, code, area["area_m2"])
        # How many of the area's residents live beyond a 10-minute walk of any place of the
        # gap's kind: the share from the coverage, of the one residents figure the pages
        # give (the area's population).
        for gap in profile["gaps"]:
            share = next(c["share"] for c in coverage
                         if c["kind"] == gap["kind"] and c["distance_m"] == BEYOND_M)
            gap["beyond_m"] = BEYOND_M
            gap["residents_beyond"] = (None if share is None or population is None
                                       else round(population * (1 - share)))
    return profile
