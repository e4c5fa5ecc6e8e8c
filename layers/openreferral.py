"""Open Referral UK (HSDS 3.0, UK profile): the checked filters, the SQL and the records
behind /openreferral (mapping/api/openreferral.py).

Everything reads the published views of migrations 0006 and 0007 (`published_services`,
`published_places`, ...), so the rules of what the public sees hold here as on every
other output: an area-level group's location is its area, and only a published e-mail
or phone ever appears. Values from a request are bound parameters.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field

from sqlalchemy import text

from layers.errors import QueryError
from layers.kinds import KINDS
from layers.query import MAX_TEXT, check_known, parse_instant, single
from layers.sql import Params

HSDS_VERSION = "3.0"
PROFILE_URL = "https://github.com/OpenReferralUK/uk-profile"
DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 500
MAX_PROXIMITY_M = 100_000
REGION, COUNTRY = "West Yorkshire", "GB"

LIST_PARAMETERS = ("search", "page", "per_page", "taxonomy_term_id", "taxonomy_id",
                   "minimum_age", "maximum_age", "day", "start_time", "end_time",
                   "modified_after")
LOCATION_PARAMETERS = (*LIST_PARAMETERS, "postcode", "proximity")
PAGE_PARAMETERS = ("page", "per_page")

DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
LANGUAGES = {"en": "English", "ur": "Urdu", "pa": "Punjabi", "pl": "Polish", "ar": "Arabic",
             "gu": "Gujarati", "bn": "Bengali", "ro": "Romanian", "ku": "Kurdish",
             "so": "Somali", "cy": "Welsh", "fr": "French", "es": "Spanish", "zh": "Chinese",
             "hi": "Hindi", "ps": "Pashto", "fa": "Persian", "ti": "Tigrinya", "uk": "Ukrainian"}


def stable_uuid(name: str) -> str:
    """The UUID `assetmap_uuid(name)` gives in SQL (migration 0007): version 8 (RFC 9562),
    from the SHA-256 of `name`, so a derived record's id never changes."""
    h = hashlib.sha256(name.encode()).hexdigest()
    variant = "89ab"[int(h[16], 16) % 4]
    return str(uuid.UUID(h[:12] + "8" + h[13:16] + variant + h[17:32]))


@dataclass(frozen=True)
class Taxonomy:
    key: str
    name: str
    description: str

    @property
    def id(self) -> str:
        return stable_uuid(f"taxonomy:{self.key}")


CATEGORIES = Taxonomy("categories", "Kirklees community asset map categories",
                      "What a place or service is for, as the council's asset map files it.")
PLACE_KINDS = Taxonomy("kinds", "Kirklees community asset map kinds of place",
                       "Community assets, transferred buildings, mutual aid groups and hubs.")
TAXONOMIES = {t.id: t for t in (CATEGORIES, PLACE_KINDS)}


@dataclass(frozen=True)
class Term:
    taxonomy: Taxonomy
    value: str            # the category, or the kind id
    name: str

    @property
    def id(self) -> str:
        return stable_uuid(f"taxonomy_term:{self.taxonomy.key}:{self.value}")

    def record(self) -> dict:
        return {"id": self.id, "name": self.name, "description": self.name,
                "taxonomy": self.taxonomy.name, "taxonomy_id": self.taxonomy.id,
                "term": self.value}


def terms(connection) -> list[Term]:
    """Every term: the categories in use (published places' and services'), then the kinds."""
    categories = connection.execute(text(
        "SELECT DISTINCT c FROM published_services s CROSS JOIN LATERAL unnest(s.categories) c "
        "ORDER BY c")).scalars().all()
    return ([Term(CATEGORIES, c, c[:1].upper() + c[1:]) for c in categories]
            + [Term(PLACE_KINDS, k.id, k.singular) for k in KINDS.values()])


# -- the checked request --------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    search: str | None = None
    term: Term | None = None
    taxonomy: Taxonomy | None = None
    minimum_age: float | None = None
    maximum_age: float | None = None
    day: str | None = None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    modified_after: dt.datetime | None = None
    postcode_key: str | None = None
    proximity: float | None = None
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    # What the request named, for error messages and the 404 of an unknown postcode.
    postcode: str | None = field(default=None, compare=False)


def _bounded(raw: str, name: str, low: float, high: float, whole: bool = False):
    """A number from `low` to `high` (a whole one if `whole`), or a QueryError naming it."""
    try:
        value = int(raw.strip()) if whole else float(raw.strip())
    except ValueError:
        kind = "a whole number" if whole else "a number"
        raise QueryError(f"{name} {raw!r} is not {kind}", parameter=name) from None
    if not low <= value <= high:
        raise QueryError(f"{name} must be from {low:,} to {high:,}", parameter=name)
    return value


def _clock(raw: str, name: str) -> dt.time:
    try:
        return dt.time.fromisoformat(raw.strip())
    except ValueError:
        raise QueryError(f"{name} {raw!r} is not a time such as 09:30", parameter=name) from None


def parse_day(raw: str, name: str = "day") -> str:
    value = raw.strip().lower()
    if value.upper() in DAYS:
        return value.upper()
    if value in DAY_NAMES:
        return DAYS[DAY_NAMES.index(value)]
    raise QueryError(f"{name} {raw!r} is not a day: give MO, TU, WE, TH, FR, SA or SU (or the "
                     "day's name)", parameter=name)


def parse_page(args) -> tuple[int, int]:
    page = single(args, "page")
    per_page = single(args, "per_page")
    return (_bounded(page, "page", 1, 10**9, whole=True) if page is not None else 1,
            _bounded(per_page, "per_page", 1, MAX_PER_PAGE, whole=True) if per_page is not None
            else DEFAULT_PER_PAGE)


def parse_filters(args, known_terms: list[Term], *, locations: bool = False,
                  postcode_key: str | None = None) -> Filters:
    """The filters of /services (or, with `locations`, /service_at_locations). Every value
    is checked; an unknown parameter or value is a QueryError naming it. The postcode is
    checked by the caller (it knows the postcodes), which passes its key."""
    check_known(args, LOCATION_PARAMETERS if locations else LIST_PARAMETERS)
    values: dict = {}
    if (search := single(args, "search")) is not None:
        if len(search) > MAX_TEXT:
            raise QueryError(f"search is longer than {MAX_TEXT} characters", parameter="search")
        values["search"] = search.strip() or None
    if (raw := single(args, "taxonomy_term_id")) is not None:
        term = next((t for t in known_terms if t.id == raw.strip().lower()), None)
        if term is None:
            raise QueryError(f"taxonomy_term_id {raw!r} is not a term of this directory; "
                             "/openreferral/taxonomy_terms lists them",
                             parameter="taxonomy_term_id")
        values["term"] = term
    if (raw := single(args, "taxonomy_id")) is not None:
        if raw.strip().lower() not in TAXONOMIES:
            raise QueryError(f"taxonomy_id {raw!r} is not a taxonomy of this directory; "
                             "/openreferral/taxonomies lists them", parameter="taxonomy_id")
        values["taxonomy"] = TAXONOMIES[raw.strip().lower()]
    for name in ("minimum_age", "maximum_age"):
        if (raw := single(args, name)) is not None:
            values[name] = _bounded(raw, name, 0, 130)
    if (raw := single(args, "day")) is not None:
        values["day"] = parse_day(raw)
    for name in ("start_time", "end_time"):
        if (raw := single(args, name)) is not None:
            values[name] = _clock(raw, name)
    if (raw := single(args, "modified_after")) is not None:
        values["modified_after"] = parse_instant(raw, "modified_after")
    if locations:
        if (raw := single(args, "proximity")) is not None:
            if postcode_key is None:
                raise QueryError("proximity needs a postcode to measure from",
                                 parameter="proximity")
            values["proximity"] = _bounded(raw, "proximity", 0, MAX_PROXIMITY_M)
        values["postcode_key"] = postcode_key
    values["page"], values["per_page"] = parse_page(args)
    return Filters(**values)


# -- the SQL --------------------------------------------------------------------------------

def _where(f: Filters, bind: Params) -> list[str]:
    clauses = []
    if f.search:
        pattern = bind("%" + f.search.replace("\\", "\\\\").replace("%", "\\%")
                       .replace("_", "\\_") + "%")
        clauses.append(f"(s.name ILIKE {pattern} OR s.description ILIKE {pattern})")
    for term in [f.term] if f.term else []:
        if term.taxonomy is CATEGORIES:
            clauses.append(f"CAST({bind(term.value)} AS text) = ANY(s.categories)")
        else:
            clauses.append(f"p.kind = {bind(term.value)}")
    if f.taxonomy is CATEGORIES:
        clauses.append("cardinality(s.categories) > 0")
    elif f.taxonomy is PLACE_KINDS:
        clauses.append("p.kind IS NOT NULL")
    # As the profile states them: a minimum age of at least, a maximum of at most.
    if f.minimum_age is not None:
        clauses.append(f"s.minimum_age >= {bind(f.minimum_age)}")
    if f.maximum_age is not None:
        clauses.append(f"s.maximum_age <= {bind(f.maximum_age)}")
    if f.day or f.start_time or f.end_time:
        # One session must meet them all: open on the day, from start_time, until end_time.
        # By indexed columns: a service's own sessions, or its place's when derived.
        session = [("((NOT s.derived AND sc.service_id = s.id) "
                   "OR (s.derived AND sc.place_id = s.place_id))")]
        if f.day:
            session.append(f"EXISTS (SELECT 1 FROM unnest(sc.byday) d "
                           f"WHERE right(d, 2) = {bind(f.day)})")
        if f.start_time:
            session.append(f"sc.opens_at >= CAST({bind(f.start_time)} AS time)")
        if f.end_time:
            session.append(f"sc.closes_at <= CAST({bind(f.end_time)} AS time)")
        clauses.append("EXISTS (SELECT 1 FROM schedules sc WHERE "
                       + " AND ".join(session) + ")")
    if f.modified_after:
        clauses.append(f"s.last_modified >= {bind(f.modified_after)}")
    return clauses


def _coverage(f: Filters, bind: Params) -> str:
    """With a postcode: a service whose area holds the postcode; with `proximity`, also one
    at a place that close; without, also one with no area (it serves whoever comes). The
    CTEs `covering` and `with_area` (page_of_services) hold the services of both."""
    covers = "s.id IN (SELECT service_id FROM covering)"
    if f.proximity is not None:
        return (f"({covers} OR ST_DWithin(p.geom_bng, o.geom_bng, "
                f"CAST({bind(f.proximity)} AS float8)))")
    return f"({covers} OR s.id NOT IN (SELECT service_id FROM with_area))"


def page_of_services(connection, f: Filters, *, at_locations: bool = False) -> tuple[int, list]:
    """(total, this page's rows) of the services (or service-at-locations) that match."""
    bind = Params()
    clauses = _where(f, bind)
    origin, ctes = "", ""
    order = "lower(s.name), s.id"
    distance = "NULL::float8"
    if at_locations:
        clauses.append("p.id IS NOT NULL")
        if f.postcode_key is not None:
            # Found once from the areas (GiST) and kept, not tested service by service.
            ctes = (f"WITH o AS (SELECT geom, geom_bng FROM postcodes "
                    f"WHERE postcode_key = {bind(f.postcode_key)}), "
                    "covering AS MATERIALIZED (SELECT a.service_id FROM "
                    "published_service_areas a, o WHERE ST_Intersects(a.geom, o.geom)), "
                    "with_area AS MATERIALIZED (SELECT DISTINCT service_id "
                    "FROM published_service_areas) ")
            origin = ", o"
            clauses.append(_coverage(f, bind))
            distance = "ST_Distance(p.geom_bng, o.geom_bng)"
            order = "distance, lower(s.name), s.id"
    where = " AND ".join(clauses) or "TRUE"
    limit, offset = bind(f.per_page), bind((f.page - 1) * f.per_page)
    rows = connection.execute(text(
        f"{ctes}SELECT s.*, p.kind, {distance} AS distance, count(*) OVER () AS total "
        f"FROM published_services s LEFT JOIN published_places p ON p.id = s.place_id{origin} "
        f"WHERE {where} ORDER BY {order} LIMIT {limit} OFFSET {offset}"),
        bind.values).mappings().all()
    if rows:
        return rows[0]["total"], rows
    total = connection.execute(text(
        f"{ctes}SELECT count(*) FROM published_services s "
        f"LEFT JOIN published_places p ON p.id = s.place_id{origin} WHERE {where}"),
        bind.values).scalar()
    return total, []


# -- the records ----------------------------------------------------------------------------

def _time(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value else None


def _drop_none(record: dict) -> dict:
    return {k: v for k, v in record.items() if v is not None}


def _organisations(connection, ids: list[str]) -> dict[str, dict]:
    rows = connection.execute(text(
        "SELECT id::text, name, description, website, email FROM published_organisations "
        "WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}).mappings()
    return {r["id"]: _drop_none({"id": r["id"], "name": r["name"],
                                 "description": r["description"] or "",
                                 "website": r["website"], "email": r["email"]}) for r in rows}


def service_summary(row, organisations: dict[str, dict]) -> dict:
    """A service with its one-to-one fields (compiled/service_list.json)."""
    record = {
        "id": str(row["id"]),
        "organization_id": str(row["organisation_id"]) if row["organisation_id"] else None,
        "name": row["name"], "description": row["description"] or "", "url": row["url"],
        "email": row["email"], "status": row["status"], "minimum_age": row["minimum_age"],
        "maximum_age": row["maximum_age"],
        "last_modified": row["last_modified"].astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    organisation = organisations.get(str(row["organisation_id"]))
    if organisation:
        record["organization"] = organisation
    return _drop_none(record)


def summaries(connection, rows) -> list[dict]:
    organisations = _organisations(connection, list({str(r["organisation_id"]) for r in rows}))
    return [service_summary(r, organisations) for r in rows]


def _address(place, location_id: str) -> list[dict]:
    """The place's published address; none for an area-level group (the view hides it)."""
    if not place["address"] or not place["postcode"]:
        return []
    street, _, town = place["address"].rpartition(",")
    if not street:
        street, town = town, "Kirklees"
    return [{"id": stable_uuid(f"address:{location_id}"), "location_id": location_id,
             "address_1": street.strip(), "city": town.strip(), "state_province": REGION,
             "postal_code": place["postcode"], "country": COUNTRY, "address_type": "physical"}]


def location(place, accessibility: list[str]) -> dict:
    location_id = stable_uuid(f"location:{place['id']}")
    return {
        "id": location_id, "location_type": "physical", "name": place["name"],
        "latitude": round(place["lat"], 6), "longitude": round(place["lon"], 6),
        "external_identifier": str(place["id"]),
        "external_identifier_type": "Kirklees community asset map place id",
        "addresses": _address(place, location_id),
        "accessibility": [{"id": stable_uuid(f"accessibility:{location_id}:{n}"),
                           "location_id": location_id, "description": item}
                          for n, item in enumerate(accessibility)],
    }


def service_at_location_id(service_id) -> str:
    return stable_uuid(f"service_at_location:{service_id}")


def full_services(connection, ids: list[str], known_terms: list[Term]) -> dict[str, dict]:
    """Fully nested services (compiled/service.json), by id."""
    rows = connection.execute(text(
        "SELECT s.*, p.kind FROM published_services s "
        "LEFT JOIN published_places p ON p.id = s.place_id "
        "WHERE s.id = ANY(CAST(:ids AS uuid[]))"), {"ids": ids}).mappings().all()
    if not rows:
        return {}
    organisations = _organisations(connection, list({str(r["organisation_id"]) for r in rows}))
    places = places_of(connection, rows)
    schedules: dict[str, list] = {}
    for sc in connection.execute(text(
            "SELECT id::text, service_id::text, freq, byday, opens_at, closes_at, description "
            "FROM published_schedules WHERE service_id = ANY(CAST(:ids AS uuid[])) "
            # The place narrows a derived service's sessions by index, before its id is made.
            "AND (place_id = ANY(:places) OR place_id IS NULL) "
            "ORDER BY service_id, description, id"),
            {"ids": ids, "places": [r["place_id"] for r in rows if r["place_id"]]}).mappings():
        schedules.setdefault(sc["service_id"], []).append(_drop_none({
            "id": sc["id"], "service_id": sc["service_id"], "freq": sc["freq"], "interval": 1,
            "byday": ",".join(sc["byday"]), "opens_at": _time(sc["opens_at"]),
            "closes_at": _time(sc["closes_at"]), "description": sc["description"]}))
    areas: dict[str, list] = {}
    for a in connection.execute(text(
            "SELECT id::text, service_id::text, name, area_kind, area_codes, "
            "ST_AsGeoJSON(geom, 5) AS extent FROM published_service_areas "
            "WHERE service_id = ANY(CAST(:ids AS uuid[])) ORDER BY id"), {"ids": ids}).mappings():
        areas.setdefault(a["service_id"], []).append({
            "id": a["id"], "service_id": a["service_id"], "name": a["name"],
            "extent": a["extent"], "extent_type": "geojson",
            "service_area": ", ".join(a["area_codes"]) if a["area_codes"] else a["name"]})
    by_value = {(t.taxonomy.key, t.value): t for t in known_terms}
    records = {}
    for row in rows:
        service_id = str(row["id"])
        record = service_summary(row, organisations)
        attached = [by_value.get(("categories", c)) for c in row["categories"]]
        if row["kind"]:
            attached.append(by_value.get(("kinds", row["kind"])))
        record["attributes"] = [
            {"id": stable_uuid(f"attribute:{service_id}:{t.id}"), "link_id": service_id,
             "link_type": "service", "taxonomy_term_id": t.id, "taxonomy_term": t.record()}
            for t in attached if t is not None]
        record["schedules"] = schedules.get(service_id, [])
        record["service_areas"] = areas.get(service_id, [])
        record["languages"] = [
            {"id": stable_uuid(f"language:{service_id}:{code}"), "service_id": service_id,
             "name": LANGUAGES.get(code, code), "code": code} for code in row["languages"]]
        costs = []
        if row["free"]:
            costs.append({"id": stable_uuid(f"cost:{service_id}:free"), "service_id": service_id,
                          "option": "Free", "amount": 0})
        if row["cost"]:
            costs.append({"id": stable_uuid(f"cost:{service_id}:cost"), "service_id": service_id,
                          "option": row["cost"], "amount_description": row["cost"]})
        record["cost_options"] = costs
        record["contacts"], record["funding"] = [], []
        place = places.get(row["place_id"])
        record["service_at_locations"] = [] if place is None else [{
            "id": service_at_location_id(service_id), "service_id": service_id,
            "location_id": stable_uuid(f"location:{place['id']}"),
            "location": location(place, list(row["accessibility"]))}]
        records[service_id] = record
    return records


def service_at_location_summary(row, summary: dict, place) -> dict:
    """One item of /service_at_locations (compiled/service_at_location_list.json)."""
    service_id = str(row["id"])
    record = {"id": service_at_location_id(service_id), "service_id": service_id,
              "location_id": stable_uuid(f"location:{place['id']}"),
              "location": location(place, list(row["accessibility"])), "service": summary}
    if row["distance"] is not None:
        record["distance"] = round(row["distance"])
    return record


def places_of(connection, rows) -> dict:
    """The published places the service rows are at, by id: what a location shows."""
    return {r["id"]: r for r in connection.execute(text(
        "SELECT id, name, address, postcode, ST_X(geom) AS lon, ST_Y(geom) AS lat "
        "FROM published_places WHERE id = ANY(:ids)"),
        {"ids": [r["place_id"] for r in rows if r["place_id"]]}).mappings()}


def service_for_location(connection, service_at_location: str) -> str | None:
    """The service id of a service-at-location id (they are derived one from the other)."""
    try:
        wanted = str(uuid.UUID(service_at_location))
    except ValueError:
        return None
    return connection.execute(text(
        "SELECT id::text FROM published_services WHERE place_id IS NOT NULL "
        "AND assetmap_uuid('service_at_location:' || id) = CAST(:id AS uuid)"),
        {"id": wanted}).scalar()


def dumps(document) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
