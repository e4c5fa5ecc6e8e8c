"""Read queries behind the server-rendered pages (the lists that work without JavaScript).

Every query reads the view `published_places` (migration 0006), never `places`: it is the
one statement of what the public sees — live places only, an area-level group without its
address or postcode and at its area, contacts only when published. Values are bound
parameters.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy import text

from layers.extents import VersionedCache
from layers.kinds import KINDS
from layers.query import Query, parse_open
from layers.registry import ALL_DETAIL_FIELDS, LAYERS
from layers.sql import LayerSQL

PAGE_SIZE = 50
NEAREST_LIMIT = 20
# Boundaries sent to browsers are simplified to about 5 m: invisible at ward scale.
SIMPLIFY_DEGREES = 0.00005


@dataclass(frozen=True)
class PlaceFilter:
    """What a resident asked for on the finder: name, kinds and one category, and of a
    place's services: open then (layers.query.parse_open), for an age, in a language."""

    q: str = ""
    kinds: tuple[str, ...] = ()
    category: str = ""
    open: str = ""
    age: int | None = None
    language: str = ""

    @property
    def active(self) -> bool:
        return bool(self.q or self.category or self.services
                    or (self.kinds and set(self.kinds) != set(KINDS)))

    @property
    def services(self) -> bool:
        """Whether it asks anything of the places' services."""
        return bool(self.open or self.age is not None or self.language)

    def query(self, limit: int, offset: int = 0, covering: bool = False) -> Query:
        """The same filter as a layer query (layers/query.py), for the shared builders."""
        return Query(kinds=self.kinds, categories=(self.category,) if self.category else (),
                     name=self.q or None, limit=limit, offset=offset,
                     open_on=parse_open(self.open) if self.open else None, age=self.age,
                     language=self.language or None, covering=covering)


@dataclass
class PlacePage:
    places: list = field(default_factory=list)
    total: int = 0
    page: int = 1

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def postcode_key(postcode: str) -> str:
    return "".join(postcode.split()).upper()


LISTED_COLUMNS = """
    p.id, p.kind, p.name, p.categories, p.location_precision, p.ward_code,
    w.name AS ward_name, p.postcode
"""

# The rows themselves are chosen by layers/sql.py (LayerSQL.name_order); this adds what
# the list shows of each.
PAGE_LISTED = f"""
    SELECT {LISTED_COLUMNS}
      FROM page JOIN published_places p ON p.id = page.id
      LEFT JOIN areas w ON w.kind = 'ward' AND w.code = p.ward_code
     ORDER BY lower(p.name), p.id
"""

# A point is in the district when it lies in a ward or within WARD_EDGE_M of one: ward
# boundaries are generalised, and 4 of the 11,502 Kirklees postcodes in Code-Point Open
# (May 2025) lie up to 10 m outside the 2013 wards. With no wards loaded, every point is.
WARD_EDGE_M = 50
IN_DISTRICT_SQL = """(NOT EXISTS (SELECT 1 FROM areas WHERE kind = 'ward')
        OR EXISTS (SELECT 1 FROM area_parts a
                    WHERE a.kind = 'ward' AND ST_Intersects(a.geom, {geom}))
        OR EXISTS (SELECT 1 FROM areas a
                    WHERE a.kind = 'ward'
                      AND ST_DWithin(a.geom_bng, {geom_bng}, CAST(:edge AS float8))))"""

# Several keys at once, so a whole postcode file can be checked in one statement.
ORIGIN = text(f"""
    SELECT postcode_key, postcode, ST_X(geom) AS lon, ST_Y(geom) AS lat,
           {IN_DISTRICT_SQL.format(geom="pc.geom", geom_bng="pc.geom_bng")} AS in_district
      FROM postcodes pc WHERE postcode_key = ANY(CAST(:keys AS text[]))
""")

# The nearest rows themselves are chosen by layers/sql.py (LayerSQL.nearest_ids), the
# selection /api/nearest makes; this adds what the list shows of each.
NEAREST_LISTED = f"""
    SELECT {LISTED_COLUMNS}, near.distance_m, near.covers, near.extra
      FROM near JOIN published_places p ON p.id = near.id
      LEFT JOIN areas w ON w.kind = 'ward' AND w.code = p.ward_code
     ORDER BY near.distance_m, p.id
"""

CATEGORIES = text("""
    SELECT c.category, count(*) AS places
      FROM published_places p CROSS JOIN LATERAL unnest(p.categories) AS c(category)
     GROUP BY c.category ORDER BY c.category
""")

LANGUAGES = text("""
    SELECT DISTINCT code FROM published_services s CROSS JOIN LATERAL unnest(s.languages) code
     ORDER BY code
""")

KIND_COUNTS = text("""
    SELECT kind, count(*) FROM published_places GROUP BY kind
""")

# What each kind adds to a place, from the kind registry (layers/kinds.py).
DETAIL_COLUMNS = ", ".join(f"{f.sql} AS {f.name}" for f in ALL_DETAIL_FIELDS)
DETAIL_JOINS = " ".join(kind.join for kind in KINDS.values())
COUNTS_BY_KIND = ", ".join(f"count(p.id) FILTER (WHERE p.kind = '{kind.id}') AS {kind.id}"
                           for kind in KINDS.values())

PLACE = text(f"""
    SELECT p.id, p.kind, p.name, p.description, p.categories, p.website, p.accessibility,
           p.opening_hours, p.last_verified, p.location_precision, p.ward_code,
           w.name AS ward_name, p.neighbourhood_codes, p.address, p.postcode, p.phone, p.email,
           ST_AsGeoJSON(p.shape, 6)::json AS geometry, {DETAIL_COLUMNS}
      FROM published_places p
      LEFT JOIN areas w ON w.kind = 'ward' AND w.code = p.ward_code
      {DETAIL_JOINS}
     WHERE p.id = :id
""")

PLACE_LINKS = text("""
    SELECT l.relation, 'from' AS direction, o.id, o.name, o.kind
      FROM place_links l JOIN published_places o ON o.id = l.to_place_id
     WHERE l.from_place_id = :id
    UNION ALL
    SELECT l.relation, 'to', o.id, o.name, o.kind
      FROM place_links l JOIN published_places o ON o.id = l.from_place_id
     WHERE l.to_place_id = :id
     ORDER BY 1, 2, 4
""")

NEIGHBOURHOOD_NAMES = text("""
    SELECT code, name FROM areas WHERE kind = 'neighbourhood' AND code = ANY(:codes) ORDER BY name
""")

WARD_TABLE = text(f"""
    SELECT w.code, w.name, w.population,
           count(p.id) AS places, {COUNTS_BY_KIND},
           (SELECT count(*) FROM areas n
             WHERE n.kind = 'neighbourhood' AND ST_Intersects(n.geom, w.geom)
               AND ST_Area(ST_Intersection(n.geom_bng, w.geom_bng)) > 0.001 * ST_Area(n.geom_bng)
           ) AS neighbourhoods
      FROM areas w
      LEFT JOIN published_places p ON p.ward_code = w.code
     WHERE w.kind = 'ward'
     GROUP BY w.id
     ORDER BY w.name
""")

AREA = text("""
    SELECT a.kind, a.code, a.name, a.population, a.population_0_15, a.population_16_59,
           a.population_60_plus, a.imd_decile, a.vintage,
           round((ST_Area(a.geom_bng) / 1e6)::numeric, 2) AS area_km2,
           ST_AsGeoJSON(ST_SimplifyPreserveTopology(a.geom, :tolerance), 6)::json AS geometry
      FROM areas a WHERE a.kind = :kind AND a.code = :code
""")

# Neighbourhoods overlapping a ward (or wards overlapping a neighbourhood) by more than a
# sliver (0.1 %, as layers.profiles counts them), with the share of the other area that lies
# inside this one.
OVERLAPPING = text("""
    SELECT o.code, o.name, o.population,
           round((100 * ST_Area(ST_Intersection(o.geom_bng, a.geom_bng))
                  / nullif(ST_Area(o.geom_bng), 0))::numeric) AS share_pct,
           ST_AsGeoJSON(ST_SimplifyPreserveTopology(o.geom, :tolerance), 6)::json AS geometry
      FROM areas a JOIN areas o ON o.kind = :other AND ST_Intersects(o.geom, a.geom)
     WHERE a.kind = :kind AND a.code = :code
       AND ST_Area(ST_Intersection(o.geom_bng, a.geom_bng)) > 0.001 * ST_Area(o.geom_bng)
     ORDER BY o.name
""")

AREA_PLACES = text("""
    SELECT p.id, p.kind, p.name, p.categories, p.location_precision,
           ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
      FROM published_places p
     WHERE ((:kind = 'ward' AND p.ward_code = :code)
            OR (:kind = 'neighbourhood' AND :code = ANY(p.neighbourhood_codes)))
     ORDER BY lower(p.name), p.id
""")


def place_page(connection, place_filter: PlaceFilter, page: int = 1) -> PlacePage:
    layer_sql = LayerSQL(LAYERS["places"], place_filter.query(PAGE_SIZE, (page - 1) * PAGE_SIZE))
    ids = layer_sql.name_order()
    rows = connection.execute(text(f"WITH page AS ({ids.sql}) {PAGE_LISTED}"),
                              ids.params).mappings().all()
    if place_filter.q or place_filter.category or place_filter.services:
        total = LayerSQL(LAYERS["places"], place_filter.query(PAGE_SIZE)).count() \
            .execute(connection).scalar_one()
    else:
        counts = kind_counts(connection)
        total = sum(n for kind, n in counts.items()
                    if not place_filter.kinds or kind in place_filter.kinds)
    return PlacePage(places=[dict(r) for r in rows], total=total, page=page)


# The places whose area served holds the words searched for though their name does not
# ("Soothill, Batley" for "batley"), with the kinds and category asked for.
AREA_SERVED = next(f.sql for f in ALL_DETAIL_FIELDS if f.name == "area_served")
SERVING = f"""
    SELECT {LISTED_COLUMNS}, {AREA_SERVED} AS area_served
      FROM published_places p
      LEFT JOIN areas w ON w.kind = 'ward' AND w.code = p.ward_code
      {" ".join(kind.join for kind in KINDS.values()
                if any(f.name == "area_served" for f in kind.fields))}
     WHERE {AREA_SERVED} ILIKE :pattern AND p.name NOT ILIKE :pattern
       AND (cardinality(CAST(:kinds AS text[])) = 0 OR p.kind = ANY(CAST(:kinds AS text[])))
       AND (:category = '' OR p.categories && ARRAY[CAST(:category AS text)])
"""
MAX_SERVING = 50


def serving(connection, place_filter: PlaceFilter) -> list[dict]:
    """Places found by the area they serve rather than by their name (`covers`), in name
    order; none unless a name is searched for."""
    if not place_filter.q:
        return []
    sql, params = SERVING, {}
    if place_filter.services:
        # Only those whose services meet the filter, as the layer SQL finds them.
        allowed = LayerSQL(LAYERS["places"], replace(place_filter, q="").query(10_000)).name_order()
        sql, params = f"WITH allowed AS ({allowed.sql}) {sql} AND p.id IN (SELECT id FROM allowed)", \
            allowed.params
    rows = connection.execute(text(sql + " ORDER BY lower(p.name), p.id LIMIT :limit"), {
        **params, "pattern": contains_pattern(place_filter.q), "kinds": list(place_filter.kinds),
        "category": place_filter.category, "limit": MAX_SERVING}).mappings()
    return [{**row, "covers": True} for row in rows]


def contains_pattern(words: str) -> str:
    """An ILIKE pattern matching text that contains `words` literally."""
    return "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def origin(connection, postcode: str) -> dict | None:
    """The postcode's point and whether it lies in the district (`in_district`), or None
    when it is not a known postcode."""
    return origins(connection, [postcode]).get(postcode_key(postcode))


def origins(connection, postcodes: list[str]) -> dict[str, dict]:
    """origin() for many postcodes in one statement, by postcode key."""
    rows = connection.execute(ORIGIN, {"keys": [postcode_key(p) for p in postcodes],
                                       "edge": WARD_EDGE_M}).mappings()
    return {row["postcode_key"]: {k: v for k, v in row.items() if k != "postcode_key"}
            for row in rows}


def nearest(connection, postcode: str, place_filter: PlaceFilter,
            limit: int = NEAREST_LIMIT, within_m: float | None = None) -> list[dict]:
    """The `limit` places nearest the postcode, then the farther places with a service
    whose area covers it (`extra`); with `within_m`, only those that close."""
    near = LayerSQL(LAYERS["places"], place_filter.query(limit, covering=True)).nearest_ids(
        postcode_key=postcode_key(postcode))
    rows = connection.execute(text(f"WITH near AS ({near.sql}) {NEAREST_LISTED}"),
                              near.params).mappings().all()
    # Rows come nearest first, so cutting at the radius keeps the nearest within it.
    return [dict(r) for r in rows if within_m is None or round(r["distance_m"]) <= within_m]


_summary = VersionedCache()


def _summary_of(connection) -> dict:
    """Categories and counts by kind, read once per data version: every page shows them,
    and counting a big table for each visitor would cost more than the page itself."""
    version = connection.execute(DATA_VERSION).scalar()
    return _summary.get(connection, version, lambda: {
        "categories": [dict(r) for r in connection.execute(CATEGORIES).mappings()],
        "kind_counts": dict(connection.execute(KIND_COUNTS).all()),
        "languages": connection.execute(LANGUAGES).scalars().all()})


def place_name(connection, place_id: int):
    """The published place's id and name (for the report form); None if it is not public."""
    return connection.execute(text("SELECT id, name FROM published_places WHERE id = :id"),
                              {"id": place_id}).mappings().first()


def languages(connection) -> list[str]:
    """The languages the published services are offered in (codes), in code order."""
    return list(_summary_of(connection)["languages"])


def categories(connection) -> list[dict]:
    return [dict(c) for c in _summary_of(connection)["categories"]]


def kind_counts(connection) -> dict[str, int]:
    return dict(_summary_of(connection)["kind_counts"])


def place(connection, place_id: int) -> dict | None:
    row = connection.execute(PLACE, {"id": place_id}).mappings().first()
    if row is None:
        return None
    result = dict(row)
    result["links_to"] = [dict(r) for r in connection.execute(PLACE_LINKS, {"id": place_id}).mappings()]
    result["neighbourhoods"] = [dict(r) for r in connection.execute(
        NEIGHBOURHOOD_NAMES, {"codes": list(row["neighbourhood_codes"])}).mappings()]
    return result


def ward_table(connection) -> list[dict]:
    rows = [dict(r) for r in connection.execute(WARD_TABLE).mappings()]
    for row in rows:
        row["per_1000"] = per_1000(row["places"], row["population"])
    return rows


def per_1000(count: int, population: int | None) -> float | None:
    if not population:
        return None
    return round(1000 * count / population, 2)


def area(connection, kind: str, code: str) -> dict | None:
    row = connection.execute(AREA, {"kind": kind, "code": code,
                                    "tolerance": SIMPLIFY_DEGREES}).mappings().first()
    return dict(row) if row else None


def overlapping(connection, kind: str, code: str) -> list[dict]:
    other = "neighbourhood" if kind == "ward" else "ward"
    return [dict(r) for r in connection.execute(OVERLAPPING, {
        "kind": kind, "code": code, "other": other, "tolerance": SIMPLIFY_DEGREES}).mappings()]


def area_places(connection, kind: str, code: str) -> list[dict]:
    return [dict(r) for r in connection.execute(AREA_PLACES, {"kind": kind, "code": code}).mappings()]


def is_demo(connection) -> bool:
    """True while generated demo places are on the map (`assetmap demo --remove` ends it).
    The real reference layers the demo loads are recorded under their own file names."""
    return bool(connection.execute(text(
        "SELECT EXISTS (SELECT 1 FROM places WHERE source = 'demo' AND deleted_at IS NULL)"
    )).scalar())


# Postcode search (mapping/postcode_search.py): is a point in the district (as for ORIGIN),
# and are there postcodes to search.
# From outside the district only places this close are offered: a resident further away is
# better served by their own council's directory.
OUTSIDE_RADIUS_M = 5000

IN_DISTRICT = text(f"""
    SELECT {IN_DISTRICT_SQL.format(geom="point.geom", geom_bng="ST_Transform(point.geom, 27700)")}
      FROM (SELECT ST_SetSRID(ST_MakePoint(CAST(:lon AS float8), CAST(:lat AS float8)), 4326)
                   AS geom) point
""")

DATA_VERSION = text("SELECT version FROM published_version")
PUBLISHED_CHANGED = text("SELECT changed_at FROM published_version")

# The demo's run loads its postcodes too.
POSTCODE_STATUS = text("""
    SELECT (SELECT count(*) FROM postcodes) AS postcodes, r.loaded_at, r.file_name
      FROM (SELECT 1) one LEFT JOIN LATERAL (
            SELECT coalesce(finished_at, started_at) AS loaded_at, file_name
              FROM import_runs WHERE kind IN ('postcodes', 'demo') AND status = 'committed'
             ORDER BY coalesce(finished_at, started_at) DESC LIMIT 1) r ON true
""")


def in_district(connection, lon: float, lat: float) -> bool:
    return bool(connection.execute(IN_DISTRICT, {"lon": lon, "lat": lat,
                                                 "edge": WARD_EDGE_M}).scalar())


def postcode_status(connection) -> dict:
    """{"postcodes": how many are loaded, "loaded_at", "file_name": of the last load}."""
    return dict(connection.execute(POSTCODE_STATUS).mappings().one())
