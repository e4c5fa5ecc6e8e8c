"""Deterministic demo data for `make run`: plausible Kirklees geography, made up.

Ward-like areas are Voronoi cells around the real wards' town centres (facts), not the
real boundaries; LSOA-like cells, priority neighbourhoods, postcodes and places are
generated from a seed. Codes start with DEMO so they can never be mistaken for ONS codes.
"""
from __future__ import annotations

import json
import random
from collections import defaultdict

import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box, mapping
from shapely.ops import unary_union
from sqlalchemy import text

from importers import VERSION as IMPORTER_VERSION

# (ward name, centre lon, centre lat, local place names, postcode district)
WARDS = [
    ("Almondbury", -1.752, 53.628, ["Almondbury", "Lowerhouses"], "HD4"),
    ("Ashbrow", -1.775, 53.670, ["Sheepridge", "Fartown"], "HD2"),
    ("Batley East", -1.620, 53.703, ["Batley Carr", "Mount Pleasant"], "WF17"),
    ("Batley West", -1.650, 53.712, ["Batley", "Staincliffe"], "WF17"),
    ("Birstall and Birkenshaw", -1.665, 53.736, ["Birstall", "Birkenshaw"], "WF17"),
    ("Cleckheaton", -1.713, 53.724, ["Cleckheaton", "Scholes"], "BD19"),
    ("Colne Valley", -1.910, 53.615, ["Slaithwaite", "Marsden"], "HD7"),
    ("Crosland Moor and Netherton", -1.812, 53.630, ["Crosland Moor", "Netherton"], "HD4"),
    ("Dalton", -1.745, 53.648, ["Dalton", "Moldgreen"], "HD5"),
    ("Denby Dale", -1.660, 53.573, ["Denby Dale", "Skelmanthorpe"], "HD8"),
    ("Dewsbury East", -1.610, 53.688, ["Thornhill Lees", "Earlsheaton"], "WF12"),
    ("Dewsbury South", -1.640, 53.672, ["Thornhill", "Overthorpe"], "WF12"),
    ("Dewsbury West", -1.650, 53.693, ["Ravensthorpe", "Westborough"], "WF13"),
    ("Golcar", -1.850, 53.640, ["Golcar", "Milnsbridge"], "HD7"),
    ("Greenhead", -1.800, 53.652, ["Marsh", "Paddock"], "HD1"),
    ("Heckmondwike", -1.677, 53.708, ["Heckmondwike", "Flush"], "WF16"),
    ("Holme Valley North", -1.810, 53.600, ["Honley", "Meltham"], "HD9"),
    ("Holme Valley South", -1.780, 53.568, ["Holmfirth", "Hepworth"], "HD9"),
    ("Kirkburton", -1.705, 53.610, ["Kirkburton", "Shepley"], "HD8"),
    ("Lindley", -1.830, 53.662, ["Lindley", "Salendine Nook"], "HD3"),
    ("Liversedge and Gomersal", -1.700, 53.714, ["Liversedge", "Gomersal"], "WF15"),
    ("Mirfield", -1.695, 53.675, ["Mirfield", "Upper Hopton"], "WF14"),
    ("Newsome", -1.782, 53.637, ["Huddersfield town centre", "Newsome"], "HD1"),
]

DISTRICT_OUTLINE = Polygon([
    (-2.03, 53.56), (-1.95, 53.52), (-1.80, 53.52), (-1.68, 53.53), (-1.60, 53.57),
    (-1.58, 53.66), (-1.59, 53.72), (-1.64, 53.76), (-1.70, 53.755), (-1.76, 53.735),
    (-1.80, 53.70), (-1.88, 53.675), (-1.98, 53.645), (-2.05, 53.60),
])

ASSET_TEMPLATES = [
    ("{town} Community Centre", ["community centre"], "Rooms for hire, coffee mornings and classes."),
    ("{town} Library", ["library"], "Books, computers, job clubs and rhyme time."),
    ("{town} Cricket Club", ["sports club"], "Junior and senior teams; volunteers welcome."),
    ("{town} Volunteer Orchestra", ["music", "volunteering"], "A friendly orchestra for all abilities."),
    ("{town} Food Bank", ["food bank"], "Emergency food parcels with a referral."),
    ("Out and About {town}", ["loneliness support", "older people"],
     "Walks, trips and lunches for older people who feel lonely."),
    ("MENtors {town}", ["mentoring", "young people"], "Mentoring for young men aged 16 to 25."),
    ("{town} Youth Club", ["young people"], "Youth club nights for 11 to 18 year olds."),
    ("{town} Allotment Society", ["gardening", "volunteering"], "Plots, seed swaps and open days."),
    ("{town} Warm Space", ["warm space", "older people"], "A warm room, hot drinks and company."),
]
RESPONSE_HUBS = ["North Kirklees", "Batley and Spen", "Huddersfield", "Kirklees Rural"]
ANCHORS = ["Volunteer Centre", "Community Foundation", "Carers Network", "Age Concern",
           "Youth Alliance", "Refugee Support", "Disability Forum", "Faith Network"]
FORMER_USES = ["library", "public toilets", "community centre", "youth centre", "park pavilion",
               "housing office", "day centre"]
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def _round(geom):
    return shapely.set_precision(geom, 1e-6)


def _wards():
    centres = shapely.MultiPoint([(lon, lat) for _, lon, lat, _, _ in WARDS])
    cells = shapely.voronoi_polygons(centres, extend_to=DISTRICT_OUTLINE.buffer(0.2))
    wards = []
    for index, (name, lon, lat, towns, district) in enumerate(WARDS):
        cell = next(c for c in cells.geoms if c.contains(Point(lon, lat)))
        shape = _round(cell.intersection(DISTRICT_OUTLINE))
        wards.append({"code": f"DEMOW{index + 1:02d}", "name": name, "geom": shape,
                      "centre": (lon, lat), "towns": towns, "district": district})
    return wards


def _lsoas(rng, wards):
    deprived_centres = [(-1.630, 53.692), (-1.640, 53.708), (-1.775, 53.668), (-1.812, 53.635),
                        (-1.785, 53.645), (-1.678, 53.708)]
    cells = []
    lon = -2.06
    index = 0
    while lon < -1.57:
        lat = 53.51
        while lat < 53.77:
            cell = _round(box(lon, lat, lon + 0.02, lat + 0.0125).intersection(DISTRICT_OUTLINE))
            if not cell.is_empty and cell.area > 0.00002:
                index += 1
                c = cell.centroid
                near = min(((c.x - x) * 0.6) ** 2 + (c.y - y) ** 2 for x, y in deprived_centres) ** 0.5
                urban = min(((c.x - w["centre"][0]) * 0.6) ** 2 + (c.y - w["centre"][1]) ** 2
                            for w in wards) ** 0.5
                decile = max(1, min(10, int(near / 0.006) + rng.choice([0, 0, 1, -1])))
                population = int(2400 * max(0.2, 1 - urban / 0.04)) + rng.randint(200, 600)
                older = int(population * rng.uniform(0.15, 0.32))
                young = int(population * rng.uniform(0.15, 0.25))
                cells.append({"code": f"DEMOL{index:03d}", "name": f"Demo LSOA {index:03d}",
                              "geom": cell, "imd_decile": decile, "population": population,
                              "population_0_15": young, "population_60_plus": older,
                              "population_16_59": population - young - older})
            lat += 0.0125
        lon += 0.02
    return cells


def _neighbourhoods(lsoas, wards):
    deprived = unary_union([c["geom"] for c in lsoas if c["imd_decile"] <= 2])
    parts = list(getattr(deprived, "geoms", [deprived]))
    parts.sort(key=lambda g: (round(g.centroid.x, 4), round(g.centroid.y, 4)))
    result = []
    for index, part in enumerate(parts):
        ward = max(wards, key=lambda w: w["geom"].intersection(part).area)
        result.append({"code": f"DEMON{index + 1:02d}",
                       "name": f"{ward['towns'][0]} priority neighbourhood",
                       "geom": _round(part)})
    return result


def _postcodes(rng, wards, count=3000):
    seen = set()
    result = []
    while len(result) < count:
        ward = rng.choice(wards)
        lon = ward["centre"][0] + rng.gauss(0, 0.012)
        lat = ward["centre"][1] + rng.gauss(0, 0.007)
        if not ward["geom"].contains(Point(lon, lat)):
            continue
        code = (f"{ward['district']} {rng.randint(1, 9)}{rng.choice(POSTCODE_LETTERS)}"
                f"{rng.choice(POSTCODE_LETTERS)}")
        if code in seen:
            continue
        seen.add(code)
        result.append({"postcode": code, "lon": round(lon, 6), "lat": round(lat, 6)})
    return result


def _point_in(rng, ward, spread=0.006):
    while True:
        lon = ward["centre"][0] + rng.gauss(0, spread)
        lat = ward["centre"][1] + rng.gauss(0, spread * 0.6)
        if ward["geom"].contains(Point(lon, lat)):
            return round(lon, 6), round(lat, 6)


def _footprint(rng, lon, lat):
    # A building of roughly 20 x 30 metres, turned a little.
    w, h = 0.00015, 0.00014
    rect = Polygon([(lon - w, lat - h), (lon + w, lat - h), (lon + w, lat + h), (lon - w, lat + h)])
    return _round(shapely.affinity.rotate(rect, rng.uniform(0, 40)))


def _phone(rng):
    return f"01484 {rng.randint(200, 999):03d} {rng.randint(0, 999):03d}"


def _places(rng, wards, postcodes):
    places = []
    postcode_points = [Point(p["lon"], p["lat"]) for p in postcodes]
    postcode_index = shapely.STRtree(postcode_points)

    def add(kind, name, ward, categories, description, geom, **extra):
        source_id = f"{kind}-{len(places) + 1:04d}"
        postcode = postcodes[int(postcode_index.nearest(geom.centroid))]["postcode"]
        places.append({
            "kind": kind, "source_id": source_id, "name": name, "categories": categories,
            "description": description, "geom": geom, "postcode": postcode,
            "address": f"{rng.randint(1, 120)} {rng.choice(['High', 'Church', 'Station', 'Mill', 'King'])} "
                       f"{rng.choice(['Street', 'Road', 'Lane'])}, {ward['towns'][0]}",
            "phone": _phone(rng), "phone_public": kind not in ("mutual_aid_group",),
            "email": f"hello@{source_id}.example.org", "email_public": kind == "hub",
            "website": f"https://{source_id}.example.org",
            "opening_hours": rng.choice(["Mo-Fr 09:00-17:00", "Tu,Th 10:00-14:00",
                                         "Sa 10:00-12:00", "By arrangement"]),
            "accessibility": rng.choice(["Step-free entrance and accessible toilet.",
                                         "Ground floor only; hearing loop.", None]),
            "last_verified": f"2026-{rng.randint(1, 10):02d}-{rng.randint(1, 28):02d}",
            "location_precision": extra.pop("precision", "exact"),
            "extra": extra,
        })
        return places[-1]

    for ward in wards:
        for town in ward["towns"]:
            for template, categories, description in rng.sample(ASSET_TEMPLATES, 4):
                lon, lat = _point_in(rng, ward)
                add("community_asset", template.format(town=town), ward, categories, description,
                    Point(lon, lat), operator=f"{town} Community Association",
                    volunteering="volunteering" in categories or rng.random() < 0.3)
    for index in range(26):
        ward = wards[index % len(wards)]
        lon, lat = _point_in(rng, ward, 0.004)
        former = rng.choice(FORMER_USES)
        add("transferred_building", f"{ward['towns'][index % 2]} {former.title()}", ward,
            ["community building"], f"Former council {former}, now run by the community.",
            _footprint(rng, lon, lat), transfer_date=f"{rng.randint(2012, 2025)}-04-01",
            tenure=rng.choice(["leasehold", "leasehold", "freehold", "licence"]),
            receiving_organisation=f"{ward['towns'][0]} Community Trust", former_use=former)
    for index in range(130):
        ward = wards[index % len(wards)]
        town = ward["towns"][index % 2]
        lon, lat = _point_in(rng, ward, 0.008)
        add("mutual_aid_group", f"{town} Mutual Aid" + ("" if index < 46 else f" {index // 46 + 1}"),
            ward, ["mutual aid"], "Neighbours helping neighbours with shopping and prescriptions.",
            Point(lon, lat), precision="area", area_served=town,
            links=[f"https://facebook.example.org/groups/{town.lower().replace(' ', '')}{index}"])
    hub_wards = ["Dewsbury West", "Heckmondwike", "Newsome", "Holme Valley South"]
    for name, ward_name in zip(RESPONSE_HUBS, hub_wards):
        ward = next(w for w in wards if w["name"] == ward_name)
        add("hub", f"{name} Community Response Hub", ward, ["community hub"],
            "Help with food, money, loneliness and getting involved.",
            Point(*_point_in(rng, ward, 0.002)), hub_type="response_hub",
            services=["food", "money advice", "befriending", "volunteering"])
    for index, name in enumerate(ANCHORS):
        ward = wards[(index * 3) % len(wards)]
        add("hub", f"Kirklees {name}", ward, ["anchor organisation"],
            "One of the eight voluntary and community sector anchor organisations.",
            Point(*_point_in(rng, ward, 0.003)), hub_type="anchor_organisation",
            services=["advice", "training", "grants"])
    return places


def load(connection, seed: int = 20261123) -> dict:
    """Write the demo data through `connection` (inside the caller's transaction)."""
    rng = random.Random(seed)
    wards = _wards()
    lsoas = _lsoas(rng, wards)
    neighbourhoods = _neighbourhoods(lsoas, wards)
    postcodes = _postcodes(rng, wards)
    places = _places(rng, wards, postcodes)

    run_id = connection.execute(text(
        "INSERT INTO import_runs (source, kind, file_name, status, importer_version) "
        "VALUES ('demo', 'demo', 'generated', 'committed', :v) RETURNING id"),
        {"v": IMPORTER_VERSION}).scalar_one()

    area_rows = []
    for kind, items in (("ward", wards), ("lsoa", lsoas), ("neighbourhood", neighbourhoods)):
        for item in items:
            geom = item["geom"]
            if isinstance(geom, Polygon):
                geom = MultiPolygon([geom])
            area_rows.append({
                "kind": kind, "code": item["code"], "name": item["name"], "vintage": "demo",
                "geom": json.dumps(mapping(geom)), "population": item.get("population"),
                "p0": item.get("population_0_15"), "p16": item.get("population_16_59"),
                "p60": item.get("population_60_plus"), "decile": item.get("imd_decile"),
                "run": run_id})
    connection.execute(text(
        "INSERT INTO areas (kind, code, name, vintage, geom, population, population_0_15, "
        "population_16_59, population_60_plus, imd_decile, import_run_id) "
        "SELECT kind, code, name, vintage, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(geom), 4326)), "
        "population, p0, p16, p60, decile, run FROM json_to_recordset(CAST(:rows AS json)) AS r("
        "kind text, code text, name text, vintage text, geom text, population int, p0 int, "
        "p16 int, p60 int, decile int, run bigint)"), {"rows": json.dumps(area_rows)})
    # Wards' population is the sum of the LSOA-like cells whose centre lies in them.
    connection.execute(text(
        "UPDATE areas w SET population = s.total FROM ("
        " SELECT w2.id, sum(l.population) AS total FROM areas w2 JOIN areas l"
        " ON l.kind = 'lsoa' AND ST_Intersects(w2.geom, ST_PointOnSurface(l.geom))"
        " WHERE w2.kind IN ('ward', 'neighbourhood') GROUP BY w2.id) s WHERE w.id = s.id"))

    # One statement for the lot: a JSON array unpacked in the database.
    connection.execute(text(
        "INSERT INTO postcodes (postcode, geom, source, import_run_id) "
        "SELECT postcode, ST_SetSRID(ST_MakePoint(lon, lat), 4326), 'demo', :run "
        "FROM json_to_recordset(CAST(:rows AS json)) AS r(postcode text, lon float8, lat float8)"),
        {"rows": json.dumps(postcodes), "run": run_id})

    rows = []
    for place in places:
        row = {k: v for k, v in place.items() if k not in ("geom", "extra")}
        rows.append({**row, "geom": json.dumps(mapping(place["geom"]))})
    ids = dict(connection.execute(text(
        "INSERT INTO places (kind, source, source_id, name, description, categories, address, "
        "postcode, website, phone, phone_public, email, email_public, accessibility, "
        "opening_hours, last_verified, location_precision, geom, import_run_id) "
        "SELECT kind, 'demo', source_id, name, description, categories, address, postcode, "
        "website, phone, phone_public, email, email_public, accessibility, opening_hours, "
        "last_verified, location_precision, ST_SetSRID(ST_GeomFromGeoJSON(geom), 4326), :run "
        "FROM json_to_recordset(CAST(:rows AS json)) AS r(kind text, source_id text, name text, "
        "description text, categories text[], address text, postcode text, website text, "
        "phone text, phone_public boolean, email text, email_public boolean, accessibility text, "
        "opening_hours text, last_verified date, location_precision text, geom text) "
        "RETURNING source_id, id"), {"rows": json.dumps(rows), "run": run_id}).all())
    _insert_details(connection, ids, places)
    _link(connection, places, ids)
    connection.execute(text("SELECT assetmap_assign_areas()"))
    counts = defaultdict(int)
    for place in places:
        counts[place["kind"]] += 1
    return {"wards": len(wards), "LSOAs": len(lsoas), "priority neighbourhoods": len(neighbourhoods),
            "postcodes": len(postcodes), **{f"{k} places": v for k, v in counts.items()}}


DETAILS = {
    "community_asset": "INSERT INTO community_assets (place_id, operator, volunteering) "
                       "SELECT id, operator, volunteering FROM json_to_recordset(CAST(:rows AS json)) "
                       "AS r(id bigint, operator text, volunteering boolean)",
    "transferred_building": "INSERT INTO transferred_buildings (place_id, transfer_date, tenure, "
                            "receiving_organisation, former_use) SELECT id, transfer_date, tenure, "
                            "receiving_organisation, former_use FROM json_to_recordset(CAST(:rows "
                            "AS json)) AS r(id bigint, transfer_date date, tenure text, "
                            "receiving_organisation text, former_use text)",
    "mutual_aid_group": "INSERT INTO mutual_aid_groups (place_id, area_served, links, coverage) "
                        "SELECT r.id, r.area_served, r.links, "
                        # Centred on a 1 km grid point, so the area does not point to a home.
                        "ST_Multi(ST_Transform(ST_Buffer(ST_SnapToGrid(p.geom_bng, 1000), 1500, 16), "
                        "4326)) "
                        "FROM json_to_recordset(CAST(:rows AS json)) AS r(id bigint, "
                        "area_served text, links text[]) JOIN places p ON p.id = r.id",
    "hub": "INSERT INTO hubs (place_id, hub_type, services) SELECT id, hub_type, services "
           "FROM json_to_recordset(CAST(:rows AS json)) AS r(id bigint, hub_type text, "
           "services text[])",
}


def _insert_details(connection, ids, places):
    for kind, statement in DETAILS.items():
        rows = [{"id": ids[p["source_id"]], **p["extra"]} for p in places if p["kind"] == kind]
        connection.execute(text(statement), {"rows": json.dumps(rows)})


def _link(connection, places, ids):
    """Groups operate from a nearby transferred building; everything belongs to its nearest
    response hub."""
    def centre(place):
        return place["geom"].centroid

    buildings = [p for p in places if p["kind"] == "transferred_building"]
    hubs = [p for p in places if p["kind"] == "hub" and p["extra"]["hub_type"] == "response_hub"]
    links = []
    for building in buildings:
        nearby = sorted((p for p in places if p["kind"] == "community_asset"),
                        key=lambda p: centre(p).distance(centre(building)))[:2]
        for asset in nearby:
            links.append((ids[asset["source_id"]], ids[building["source_id"]], "operates_from"))
    for place in places:
        if place["kind"] == "hub":
            continue
        hub = min(hubs, key=lambda h: centre(h).distance(centre(place)))
        links.append((ids[place["source_id"]], ids[hub["source_id"]], "part_of_hub"))
    connection.execute(text(
        "INSERT INTO place_links (from_place_id, to_place_id, relation) "
        "SELECT DISTINCT a, b, r FROM json_to_recordset(CAST(:rows AS json)) "
        "AS l(a bigint, b bigint, r text)"),
        {"rows": json.dumps([{"a": a, "b": b, "r": r} for a, b, r in links])})
