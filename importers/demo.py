"""`assetmap demo` (and so `make run`): the real district with generated places on top.

The reference layers are real and shipped in data/ (see data/LICENCES): the 23 wards,
the 259 LSOAs with IMD 2019 and mid-2015 population, priority neighbourhoods derived
from IMD deciles 1-2, and Code-Point Open's Kirklees postcodes. They are loaded by the
same importers an officer runs, recorded under their file names as any import is. The
places are made up, from a seed, inside the real wards; they are the only thing marked
as demo (places.source and import_runs.source 'demo'), and `remove()` takes them away.
"""
from __future__ import annotations

import datetime as dt
import json
import random
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import shapely
from shapely.geometry import Point, Polygon, mapping
from sqlalchemy import text

from importers import VERSION as IMPORTER_VERSION
from importers import schedules
from importers.base import Options
from importers.opportunities import days_of
from layers.kinds import (
    COMMUNITY_ASSET,
    HUB,
    KINDS,
    MUTUAL_AID_GROUP,
    TRANSFERRED_BUILDING,
)

# The district's open reference data, shipped in the checkout (data/LICENCES).
DATA = Path(__file__).resolve().parents[1] / "data"
SOURCE = "demo"
# Where the places cluster in each real ward: (ward name, lon, lat, local place names).
WARDS = [
    ("Almondbury", -1.752, 53.628, ["Almondbury", "Lowerhouses"]),
    ("Ashbrow", -1.775, 53.670, ["Sheepridge", "Fartown"]),
    ("Batley East", -1.620, 53.703, ["Batley Carr", "Mount Pleasant"]),
    ("Batley West", -1.650, 53.712, ["Batley", "Staincliffe"]),
    ("Birstall and Birkenshaw", -1.665, 53.736, ["Birstall", "Birkenshaw"]),
    ("Cleckheaton", -1.713, 53.724, ["Cleckheaton", "Scholes"]),
    ("Colne Valley", -1.910, 53.615, ["Slaithwaite", "Marsden"]),
    ("Crosland Moor and Netherton", -1.812, 53.630, ["Crosland Moor", "Netherton"]),
    ("Dalton", -1.745, 53.648, ["Dalton", "Moldgreen"]),
    ("Denby Dale", -1.660, 53.573, ["Denby Dale", "Skelmanthorpe"]),
    ("Dewsbury East", -1.610, 53.688, ["Thornhill Lees", "Earlsheaton"]),
    ("Dewsbury South", -1.640, 53.672, ["Thornhill", "Overthorpe"]),
    ("Dewsbury West", -1.650, 53.693, ["Ravensthorpe", "Westborough"]),
    ("Golcar", -1.850, 53.640, ["Golcar", "Milnsbridge"]),
    ("Greenhead", -1.800, 53.652, ["Marsh", "Paddock"]),
    ("Heckmondwike", -1.677, 53.708, ["Heckmondwike", "Flush"]),
    ("Holme Valley North", -1.810, 53.600, ["Honley", "Meltham"]),
    ("Holme Valley South", -1.780, 53.568, ["Holmfirth", "Hepworth"]),
    ("Kirkburton", -1.705, 53.610, ["Kirkburton", "Shepley"]),
    ("Lindley", -1.830, 53.662, ["Lindley", "Salendine Nook"]),
    ("Liversedge and Gomersal", -1.700, 53.714, ["Liversedge", "Gomersal"]),
    ("Mirfield", -1.695, 53.675, ["Mirfield", "Upper Hopton"]),
    ("Newsome", -1.782, 53.637, ["Huddersfield town centre", "Newsome"]),
]


class DemoError(RuntimeError):
    """The demo could not be loaded; the message says why (an importer's report)."""


def _round(geom):
    return shapely.set_precision(geom, 1e-6)


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
            "phone": _phone(rng), "phone_public": KINDS[kind].contacts_public,
            "email": f"hello@{source_id}.example.org", "email_public": kind == HUB.id,
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
                add(COMMUNITY_ASSET.id, template.format(town=town), ward, categories, description,
                    Point(lon, lat), operator=f"{town} Community Association",
                    volunteering="volunteering" in categories or rng.random() < 0.3)
    for index in range(26):
        ward = wards[index % len(wards)]
        lon, lat = _point_in(rng, ward, 0.004)
        former = rng.choice(FORMER_USES)
        add(TRANSFERRED_BUILDING.id, f"{ward['towns'][index % 2]} {former.title()}", ward,
            ["community building"], f"Former council {former}, now run by the community.",
            _footprint(rng, lon, lat), transfer_date=f"{rng.randint(2012, 2025)}-04-01",
            tenure=rng.choice(["leasehold", "leasehold", "freehold", "licence"]),
            receiving_organisation=f"{ward['towns'][0]} Community Trust", former_use=former)
    for index in range(130):
        ward = wards[index % len(wards)]
        town = ward["towns"][index % 2]
        lon, lat = _point_in(rng, ward, 0.008)
        add(MUTUAL_AID_GROUP.id, f"{town} Mutual Aid" + ("" if index < 46 else f" {index // 46 + 1}"),
            ward, ["mutual aid"], "Neighbours helping neighbours with shopping and prescriptions.",
            Point(lon, lat), precision="area", area_served=town,
            links=[f"https://facebook.example.org/groups/{town.lower().replace(' ', '')}{index}"])
    hub_wards = ["Dewsbury West", "Heckmondwike", "Newsome", "Holme Valley South"]
    for name, ward_name in zip(RESPONSE_HUBS, hub_wards):
        ward = next(w for w in wards if w["name"] == ward_name)
        add(HUB.id, f"{name} Community Response Hub", ward, ["community hub"],
            "Help with food, money, loneliness and getting involved.",
            Point(*_point_in(rng, ward, 0.002)), hub_type="response_hub",
            services=["food", "money advice", "befriending", "volunteering"])
    for index, name in enumerate(ANCHORS):
        ward = wards[(index * 3) % len(wards)]
        add(HUB.id, f"Kirklees {name}", ward, ["anchor organisation"],
            "One of the eight voluntary and community sector anchor organisations.",
            Point(*_point_in(rng, ward, 0.003)), hub_type="anchor_organisation",
            services=["advice", "training", "grants"])
    return places


def _reference_steps():
    """The real layers in data/, in the go-live order, each through its own importer."""
    from importers.boundaries import import_boundaries
    from importers.neighbourhoods import derive_from_imd
    from importers.postcodes import import_postcodes
    from importers.statistics import import_deprivation, import_population

    return [
        ("wards", "wards-2013.geojson", lambda engine, path, options: import_boundaries(
            engine, "wards", path, options, code_field="WD13CD", name_field="WD13NM")),
        ("LSOAs", "lsoa-2011.geojson", lambda engine, path, options: import_boundaries(
            engine, "lsoas", path, options)),
        ("deprivation", "imd-2019-lsoa.csv", import_deprivation),
        ("population", "population-2015-lsoa.csv", import_population),
        ("priority neighbourhoods", None, lambda engine, path, options: derive_from_imd(
            engine, "1-2", options)),
        ("postcodes", "codepoint-open-kirklees-2025-05.csv", import_postcodes),
    ]


class _CallersTransaction:
    """Engine enough for an importer to run inside the caller's transaction.

    An importer opens its own connection and transaction; here each gets the caller's
    connection and a savepoint instead, so the demo loads all or nothing.
    """

    def __init__(self, connection):
        self.connection = connection

    @contextmanager
    def connect(self):
        yield _Savepoints(self.connection)

    @contextmanager
    def begin(self):
        with self.connection.begin_nested():
            yield self.connection


class _Savepoints:
    def __init__(self, connection):
        self._connection = connection

    def begin(self):
        return self._connection.begin_nested()

    def __getattr__(self, name):
        return getattr(self._connection, name)


def load_reference(connection, options: Options | None = None) -> dict:
    """Load the real layers from data/ through the importers; {what: count}."""
    missing = [name for _, name, _ in _reference_steps() if name and not (DATA / name).is_file()]
    if missing:
        raise DemoError(f"the reference data is missing from {DATA}: {', '.join(missing)} "
                        f"(it comes with the repository; see data/LICENCES)")
    engine = _CallersTransaction(connection)
    for _, name, importer in _reference_steps():
        report = importer(engine, DATA / name if name else None, options or Options())
        # A savepoint does not end the transaction, so the staging table outlives it.
        connection.execute(text("DROP TABLE IF EXISTS pg_temp.import_stage"))
        if not report.ok:
            raise DemoError("\n".join(report.lines()))
    counts = connection.execute(text("""
        SELECT count(*) FILTER (WHERE kind = 'ward') AS wards,
               count(*) FILTER (WHERE kind = 'lsoa') AS "LSOAs",
               count(*) FILTER (WHERE kind = 'lsoa' AND imd_decile IS NOT NULL
                                AND population IS NOT NULL) AS "LSOAs with IMD and population",
               count(*) FILTER (WHERE kind = 'neighbourhood') AS "priority neighbourhoods",
               (SELECT count(*) FROM postcodes) AS postcodes
          FROM areas""")).mappings().one()
    return dict(counts)


def _real_wards(connection) -> list[dict]:
    """The loaded wards, with a centre inside each and its local place names."""
    known = {name: ((lon, lat), towns) for name, lon, lat, towns in WARDS}
    wards = []
    for code, name, wkb in connection.execute(text(
            "SELECT code, name, ST_AsBinary(geom) FROM areas WHERE kind = 'ward' ORDER BY name")):
        geom = shapely.from_wkb(bytes(wkb))
        centre, towns = known.get(name, (None, [name, name]))
        if centre is None or not geom.contains(Point(centre)):
            inside = geom.point_on_surface()
            centre = (inside.x, inside.y)
        wards.append({"code": code, "name": name, "geom": geom, "centre": centre,
                      "towns": towns})
    return wards


def _real_postcodes(connection) -> list[dict]:
    return [{"postcode": postcode, "lon": lon, "lat": lat} for postcode, lon, lat in
            connection.execute(text(
                "SELECT postcode, ST_X(geom), ST_Y(geom) FROM postcodes ORDER BY postcode_key"))]


def load(connection, seed: int = 20261123, options: Options | None = None) -> dict:
    """The real layers (unless wards are loaded already) and the generated places, through
    `connection`, inside the caller's transaction; {what: count}."""
    counts = {}
    if not connection.execute(text("SELECT EXISTS (SELECT 1 FROM areas WHERE kind = 'ward')")
                              ).scalar():
        counts.update(load_reference(connection, options))
    counts.update(generate_places(connection, seed))
    return counts


def generate_places(connection, seed: int = 20261123) -> dict:
    """Made-up places inside the loaded wards, marked as demo; {"<kind> places": count}."""
    rng = random.Random(seed)
    wards = _real_wards(connection)
    postcodes = _real_postcodes(connection)
    if not wards or not postcodes:
        raise DemoError("the demo places need wards and postcodes loaded first")
    places = _places(rng, wards, postcodes)

    run_id = connection.execute(text(
        "INSERT INTO import_runs (source, kind, file_name, status, importer_version, "
        "inserted, finished_at) VALUES (:source, 'demo', 'generated', 'committed', :v, :n, "
        "clock_timestamp()) RETURNING id"),
        {"source": SOURCE, "v": IMPORTER_VERSION, "n": len(places)}).scalar_one()
    rows = []
    for place in places:
        row = {k: v for k, v in place.items() if k not in ("geom", "extra")}
        rows.append({**row, "geom": json.dumps(mapping(place["geom"]))})
    ids = dict(connection.execute(text(
        "INSERT INTO places (kind, source, source_id, name, description, categories, address, "
        "postcode, website, phone, phone_public, email, email_public, accessibility, "
        "opening_hours, last_verified, location_precision, geom, import_run_id) "
        "SELECT kind, :source, source_id, name, description, categories, address, postcode, "
        "website, phone, phone_public, email, email_public, accessibility, opening_hours, "
        "last_verified, location_precision, ST_SetSRID(ST_GeomFromGeoJSON(geom), 4326), :run "
        "FROM json_to_recordset(CAST(:rows AS json)) AS r(kind text, source_id text, name text, "
        "description text, categories text[], address text, postcode text, website text, "
        "phone text, phone_public boolean, email text, email_public boolean, accessibility text, "
        "opening_hours text, last_verified date, location_precision text, geom text) "
        "RETURNING source_id, id"),
        {"rows": json.dumps(rows), "run": run_id, "source": SOURCE}).all())
    _insert_details(connection, ids, places)
    _link(connection, places, ids)
    connection.execute(text("SELECT assetmap_assign_areas()"))
    counts = defaultdict(int)
    for place in places:
        counts[f"{place['kind']} places"] += 1
    # A generator of its own, so the places stay the same whatever the services do.
    counts["services"] = _services(connection, random.Random(seed + 1), places, ids)
    schedules.refresh(connection)
    counts["volunteering opportunities"], counts["outcome records"] = _volunteering(
        connection, random.Random(seed + 2), places, ids)
    return dict(counts)


# The services the demo's places offer: (name, description, schedule, minimum age,
# maximum age, free, cost, languages, accessibility, categories). Hubs serve their ward
# and the wards beside it; other services have no area (they are where they are).
HUB_SERVICES = [
    ("Food support", "Emergency food parcels and a community pantry.",
     "Mon-Fri 10:00-14:00, closed bank holidays", None, None, True, None, ["en", "ur"],
     ["step-free access"], ["food"]),
    ("Money and debt advice", "Help with benefits, bills and debt, by appointment or drop-in.",
     "Tuesdays 10:00-12:00; Thursdays 13:00-15:00", 18, None, True, None, ["en", "ur", "pa"],
     ["step-free access", "hearing loop"], ["advice"]),
    ("Out and About befriending", ("Volunteers who visit and go out with older people who "
     "are lonely (an I'm in, Kirklees initiative)."), "Mon-Sat 9am-5pm", 65, None, True, None,
     ["en"], [], ["befriending", "older people"]),
]
ANCHOR_SERVICES = [
    ("Volunteer training", "Short courses for new volunteers: safeguarding, first aid.",
     "1st Sat of the month 10:00-13:00", 16, None, True, None, ["en"], ["step-free access"],
     ["volunteering"]),
    ("Community grants advice", "Help for groups applying for small grants.",
     "Wednesdays 13:00-16:00", 18, None, True, None, ["en"], [], ["advice"]),
]
ASSET_SERVICES = [
    ("Coffee morning", "Tea, coffee and a chat; everyone welcome.", "Tuesdays 10:00-12:00",
     None, None, False, "£1 donation", ["en"], ["step-free access"], ["social"]),
    ("Youth club", "Games, sport and trips for young people.", "Fridays 18:00-20:00", 11, 18,
     True, None, ["en"], [], ["young people"]),
    ("Baby and toddler group", "Play and songs for under-fives with their carers.",
     "Mon, Wed 9.30am-11.30am", 0, 5, False, "£2 per family", ["en", "ur"],
     ["step-free access", "baby changing"], ["families"]),
    ("Lunch club", "A hot two-course lunch for older residents.",
     "1st Thu of the month 12:00-14:00", 60, None, False, "£4 a meal", ["en", "pa"],
     ["step-free access", "hearing loop"], ["food", "older people"]),
    ("Conversation English (ESOL)", "Practise spoken English in a friendly group.",
     "Wednesdays 1-3", 16, None, True, None, ["en", "ur", "pa", "pl"], [], ["learning"]),
    ("Repair cafe", "Bring broken things and fix them with a volunteer.",
     "last Saturday of each month 10am-1pm", None, None, True, None, ["en"],
     ["step-free access"], ["environment"]),
]


def _services(connection, rng, places, ids) -> int:
    """Services at the demo's hubs and at some of its community assets."""
    neighbours = dict(connection.execute(text(
        "SELECT a.code, array_agg(b.code ORDER BY b.code) FROM areas a JOIN areas b "
        "ON b.kind = 'ward' AND ST_DWithin(a.geom_bng, b.geom_bng, 10) "
        "WHERE a.kind = 'ward' GROUP BY a.code")).all())
    wards = dict(connection.execute(text(
        "SELECT id, ward_code FROM places WHERE id = ANY(:ids)"),
        {"ids": list(ids.values())}).all())
    rows = []
    for place in places:
        place_id = ids[place["source_id"]]
        if place["kind"] == HUB.id:
            offered = HUB_SERVICES if place["extra"]["hub_type"] == "response_hub" \
                else ANCHOR_SERVICES
            area = neighbours.get(wards.get(place_id), [])
        elif place["kind"] == COMMUNITY_ASSET.id and rng.random() < 0.4:
            offered, area = rng.sample(ASSET_SERVICES, rng.randint(1, 2)), []
        else:
            continue
        for number, (name, description, schedule, minimum, maximum, free, cost, languages,
                     access, categories) in enumerate(offered):
            rows.append({
                "source_id": f"{place['source_id']}-service-{number + 1}", "place": place_id,
                "name": name, "description": description, "schedule": schedule,
                "minimum": minimum, "maximum": maximum, "free": free, "cost": cost,
                "languages": languages, "access": access, "categories": categories,
                "url": f"{place['website']}/{name.lower().split()[0]}", "area": area})
    if not rows:
        return 0
    # Community Plus answers the phone for the whole district, from no place of its own.
    organisation = connection.execute(text(
        "INSERT INTO organisations (id, source, source_id, name, description, website) "
        "VALUES (assetmap_uuid('organisation:demo:community-plus'), :source, 'community-plus', "
        "'Kirklees Council Community Plus', 'The council team that links people to support "
        "in their community.', 'https://www.kirklees.gov.uk/') RETURNING id"),
        {"source": SOURCE}).scalar_one()
    connection.execute(text(
        "INSERT INTO services (id, source, source_id, organisation_id, name, description, "
        "url, free, languages, categories, schedule_text) VALUES "
        "(assetmap_uuid('service:demo:community-plus-line'), :source, 'community-plus-line', "
        ":organisation, 'Community Plus helpline', 'A phone line that finds help near you: "
        "food, money, company and ways to get involved.', 'https://www.kirklees.gov.uk/', "
        "true, '{en,ur,pa}', '{advice}', 'Mon-Fri 9am-5pm, closed bank holidays')"),
        {"source": SOURCE, "organisation": organisation})
    rows.append({"source_id": "community-plus-line", "area": list(neighbours)})
    connection.execute(text(
        "INSERT INTO services (id, source, source_id, place_id, name, description, url, "
        "minimum_age, maximum_age, free, cost, languages, accessibility, categories, "
        "schedule_text) VALUES (assetmap_uuid('service:' || :source || ':' || :source_id), "
        ":source, :source_id, :place, :name, :description, :url, :minimum, :maximum, :free, "
        ":cost, :languages, :access, :categories, :schedule)"),
        [{**row, "source": SOURCE} for row in rows if "place" in row])
    connection.execute(text(
        "INSERT INTO service_areas (id, service_id, name, area_kind, area_codes, geom) "
        "SELECT assetmap_uuid('service_area:' || s.id), s.id, "
        "string_agg(a.name, ', ' ORDER BY a.name), 'ward', array_agg(a.code ORDER BY a.code), "
        "ST_Multi(ST_Union(a.geom)) FROM services s "
        "JOIN areas a ON a.kind = 'ward' AND a.code = ANY(CAST(:codes AS text[])) "
        "WHERE s.source = :source AND s.source_id = :source_id GROUP BY s.id"),
        [{"source": SOURCE, "source_id": row["source_id"], "codes": row["area"]}
         for row in rows if row["area"]])
    return len(rows)


# "I'm in": the ways to help at the demo's places, as (title, what you would do,
# commitment, hours a week, when, minimum age, DBS check, skills, days from today to the
# closing date or None). Out and About and MENtors places recruit for their initiative.
OUT_AND_ABOUT_ROLES = [
    ("Walking buddy", ("Walk with an older neighbour who would like company to get out: to "
     "the park, the shops or a group."), "regular", 2, "Tuesdays 10am-12pm", 18, True,
     ["listening", "walking"], 60),
    ("Befriending visitor", "Visit an older person at home for a cup of tea and a chat.",
     "regular", 1, "Thursdays 2-3pm", 18, True, ["listening", "patience"], None),
    ("Tea and chat host", "Welcome people to the weekly tea afternoon and help set up.",
     "flexible", None, "", 16, False, ["hosting", "baking"], None),
]
MENTOR_ROLES = [
    ("Mentor a young man", ("An hour a week with a young man aged 16 to 25: listening, "
     "advice and doing things together. Training is given."), "regular", 1,
     "Wednesdays 6-7pm", 25, True, ["listening", "mentoring"], 90),
    ("Activity volunteer", "Help run football, cooking and trips for the MENtors group.",
     "regular", 2, "Saturdays 10am-12pm", 18, True, ["sport", "cooking"], None),
]
GENERAL_ROLES = [
    ("Food bank driver", "Collect donations from supermarkets and deliver parcels.",
     "flexible", None, "", 21, False, ["driving"], None),
    ("Garden volunteer", "Help keep the community garden growing.", "regular", 3,
     "Saturdays 9am-12pm", 14, False, ["gardening"], 120),
    ("Repair cafe fixer", "Mend bikes, lamps and clothes at the next repair cafe.", "one-off",
     None, "", 16, False, ["repairs", "sewing"], None),
    ("Digital helper", "Help people get online: phones, e-mail, forms.", "regular", 2,
     "Mondays 1-3pm", 16, False, ["computers", "patience"], 45),
]
# Results per quarter: (measure, which way is better, typical score before, after).
MEASURES = {
    "out-and-about": ("UCLA 3-item loneliness scale (3 to 9)", "lower", 7.2, 5.6),
    "mentors": ("Short Warwick-Edinburgh Mental Wellbeing Scale (7 to 35)", "higher", 19.5,
                23.0),
}


def _volunteering(connection, rng, places, ids) -> tuple[int, int]:
    """Opportunities at the demo's places, and a year of results for both initiatives at
    each of their places, some small enough to be shown as "fewer than 5"."""
    today = connection.execute(text("SELECT assetmap_london_today()")).scalar_one()
    rows, initiative_places = [], {"out-and-about": [], "mentors": []}
    for place in places:
        if place["kind"] != COMMUNITY_ASSET.id:
            continue
        if place["name"].startswith("Out and About"):
            roles, initiative = OUT_AND_ABOUT_ROLES, "out-and-about"
        elif place["name"].startswith("MENtors"):
            roles, initiative = MENTOR_ROLES, "mentors"
        elif rng.random() < 0.2:
            roles, initiative = [rng.choice(GENERAL_ROLES)], None
        else:
            continue
        if initiative:
            initiative_places[initiative].append(ids[place["source_id"]])
        for number, (title, description, commitment, hours, when, age, dbs, skills,
                     closes_in) in enumerate(roles):
            starts = today + dt.timedelta(days=rng.randint(5, 40)) \
                if commitment == "one-off" else None
            rows.append({
                "source_id": f"{place['source_id']}-role-{number + 1}",
                "place": ids[place["source_id"]], "initiative": initiative, "title": title,
                "description": description, "commitment": commitment, "hours": hours,
                "schedule": when or None, "days": days_of(when, commitment, starts),
                "starts": starts, "age": age, "dbs": dbs, "skills": skills,
                "closes": None if closes_in is None else today + dt.timedelta(
                    days=closes_in + rng.randint(0, 30)),
                "url": f"{place['website']}/volunteer"})
    connection.execute(text(
        "INSERT INTO opportunities (id, source, source_id, place_id, initiative_id, title, "
        "description, commitment, hours_per_week, schedule_text, days, starts_on, closes_on, "
        "minimum_age, dbs_check, skills, apply_url) VALUES (assetmap_uuid('opportunity:' || "
        ":source || ':' || :source_id), :source, :source_id, :place, :initiative, :title, "
        ":description, :commitment, :hours, :schedule, :days, :starts, :closes, :age, :dbs, "
        ":skills, :url)"), [{**row, "source": SOURCE} for row in rows])
    # The last four whole quarters.
    quarter = (today.month - 1) // 3
    end = dt.date(today.year, quarter * 3 + 1, 1) - dt.timedelta(days=1)
    periods = []
    for _ in range(4):
        start = dt.date(end.year, end.month - 2, 1)
        periods.append((start, end))
        end = start - dt.timedelta(days=1)
    outcomes = []
    for initiative, where in initiative_places.items():
        measure, better, before, after = MEASURES[initiative]
        for age, (start, end) in enumerate(reversed(periods)):
            for place_id in where:
                # Growing over the year; a few places have fewer than five people.
                people = rng.randint(2, 9) + age * rng.randint(1, 4)
                measured = max(0, people - rng.randint(0, 3))
                sessions, volunteers = rng.randint(6, 13), rng.randint(2, 8)
                outcomes.append({
                    "initiative": initiative, "start": start, "end": end, "place": place_id,
                    "people": people, "sessions": sessions, "volunteers": volunteers,
                    "hours": volunteers * rng.randint(8, 20),
                    "measure": measure if measured else None,
                    "better": better if measured else None, "measured": measured or None,
                    "before": round(before + rng.uniform(-0.6, 0.6), 1) if measured else None,
                    "after": round(after + rng.uniform(-0.6, 0.6) + (age * 0.1 if better ==
                                   "higher" else -age * 0.1), 1) if measured else None})
    connection.execute(text(
        "INSERT INTO outcomes (initiative_id, period_start, period_end, place_id, "
        "people_supported, sessions_held, volunteers, volunteer_hours, measure, better, "
        "measured_people, score_before, score_after, recorded_by) VALUES (:initiative, "
        ":start, :end, :place, :people, :sessions, :volunteers, :hours, "
        ":measure, :better, :measured, :before, :after, :source)"), [{**o, "source": SOURCE} for o in outcomes])
    return len(rows), len(outcomes)


def remove(connection) -> dict:
    """Delete every generated place (their details and links go with them) and nothing
    else; note it, so `assetmap demo` does not bring them back. {kind: count removed}."""
    removed = dict(connection.execute(text(
        "WITH gone AS (DELETE FROM places WHERE source = :source RETURNING kind) "
        "SELECT kind, count(*) FROM gone GROUP BY kind ORDER BY kind"),
        {"source": SOURCE}).all())
    # Services, opportunities and outcomes at the places went with them; these are the
    # ones at no place.
    connection.execute(text("DELETE FROM services WHERE source = :source"), {"source": SOURCE})
    connection.execute(text("DELETE FROM opportunities WHERE source = :source"),
                       {"source": SOURCE})
    connection.execute(text("DELETE FROM outcomes WHERE recorded_by = :source"),
                       {"source": SOURCE})
    connection.execute(text("DELETE FROM organisations WHERE source = :source"),
                       {"source": SOURCE})
    schedules.refresh(connection)
    connection.execute(text(
        "INSERT INTO import_runs (source, kind, file_name, status, importer_version, pruned, "
        "finished_at) VALUES (:source, 'demo-removed', 'generated', 'committed', :v, :n, "
        "clock_timestamp())"),
        {"source": SOURCE, "v": IMPORTER_VERSION, "n": sum(removed.values())})
    return removed


def has_places(connection) -> bool:
    """Whether the database holds any place at all, demo or real, hidden or not."""
    return connection.execute(text("SELECT EXISTS (SELECT 1 FROM places)")).scalar()


def was_removed(connection) -> bool:
    """True once the demo places have been removed (and not generated again since)."""
    last = connection.execute(text(
        "SELECT kind FROM import_runs WHERE source = :source AND kind IN ('demo', 'demo-removed') "
        "ORDER BY id DESC LIMIT 1"), {"source": SOURCE}).scalar()
    return last == "demo-removed"


def remaining(connection) -> int:
    """How many generated places are still in the database."""
    return connection.execute(text(
        "SELECT count(*) FROM places WHERE source = :source"), {"source": SOURCE}).scalar_one()


def remaining_note(connection) -> str | None:
    """What to tell someone who imports real data while the demo places are still there."""
    count = remaining(connection)
    if not count:
        return None
    return (f"{count:,} generated demo places are still on the map (and its demo banner); "
            f"remove them, and nothing else, with: assetmap demo --remove")


DETAILS = {
    COMMUNITY_ASSET.id: f"INSERT INTO {COMMUNITY_ASSET.table} (place_id, operator, volunteering) "
                       "SELECT id, operator, volunteering FROM json_to_recordset(CAST(:rows AS json)) "
                       "AS r(id bigint, operator text, volunteering boolean)",
    TRANSFERRED_BUILDING.id: f"INSERT INTO {TRANSFERRED_BUILDING.table} (place_id, transfer_date, tenure, "
                            "receiving_organisation, former_use) SELECT id, transfer_date, tenure, "
                            "receiving_organisation, former_use FROM json_to_recordset(CAST(:rows "
                            "AS json)) AS r(id bigint, transfer_date date, tenure text, "
                            "receiving_organisation text, former_use text)",
    MUTUAL_AID_GROUP.id: f"INSERT INTO {MUTUAL_AID_GROUP.table} (place_id, area_served, links, coverage) "
                        "SELECT r.id, r.area_served, r.links, "
                        # Centred on a 1 km grid point, so the area does not point to a home.
                        "ST_Multi(ST_Transform(ST_Buffer(ST_SnapToGrid(p.geom_bng, 1000), 1500, 16), "
                        "4326)) "
                        "FROM json_to_recordset(CAST(:rows AS json)) AS r(id bigint, "
                        "area_served text, links text[]) JOIN places p ON p.id = r.id",
    HUB.id: f"INSERT INTO {HUB.table} (place_id, hub_type, services) SELECT id, hub_type, services "
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

    buildings = [p for p in places if p["kind"] == TRANSFERRED_BUILDING.id]
    hubs = [p for p in places if p["kind"] == HUB.id and p["extra"]["hub_type"] == "response_hub"]
    links = []
    for building in buildings:
        nearby = sorted((p for p in places if p["kind"] == COMMUNITY_ASSET.id),
                        key=lambda p: centre(p).distance(centre(building)))[:2]
        for asset in nearby:
            links.append((ids[asset["source_id"]], ids[building["source_id"]], "operates_from"))
    for place in places:
        if place["kind"] == HUB.id:
            continue
        hub = min(hubs, key=lambda h: centre(h).distance(centre(place)))
        links.append((ids[place["source_id"]], ids[hub["source_id"]], "part_of_hub"))
    connection.execute(text(
        "INSERT INTO place_links (from_place_id, to_place_id, relation) "
        "SELECT DISTINCT a, b, r FROM json_to_recordset(CAST(:rows AS json)) "
        "AS l(a bigint, b bigint, r text)"),
        {"rows": json.dumps([{"a": a, "b": b, "r": r} for a, b, r in links])})
