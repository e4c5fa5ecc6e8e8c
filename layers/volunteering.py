""""I'm in": the words for volunteering opportunities, and the public reads behind the
help-out finder, the initiative pages, need against provision and outcomes.

Everything reads the views of migration 0008 (`published_opportunities`,
`published_lsoa_need`, `published_outcomes`), which read `published_places`: an
opportunity at an area-level group is at the group's public point, a closed one is gone,
and an outcome shows aggregates only, with small counts suppressed. Values from a request
are bound parameters.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from layers.extents import VersionedCache
from layers.sql import Params

# The Volunteering Data Standard's three kinds of time commitment, and the words files use.
COMMITMENTS = {"one-off": "One-off", "regular": "Regular", "flexible": "Flexible"}
COMMITMENT_WORDS = {
    "oneoff": "one-off", "once": "one-off", "oneoffevent": "one-off", "event": "one-off",
    "single": "one-off", "oneday": "one-off",
    "regular": "regular", "weekly": "regular", "ongoing": "regular", "recurring": "regular",
    "fortnightly": "regular", "monthly": "regular",
    "flexible": "flexible", "anytime": "flexible", "whenever": "flexible",
    "asandwhen": "flexible", "adhoc": "flexible",
}
DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
             "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}
# 800 m is a 10 minute walk at 80 m a minute (mapping/display.py).
WALKING_DISTANCE_M = 800
# Counts of people from 1 to SUPPRESSED_BELOW - 1 are never published
# (assetmap_suppressed in migration 0008 says the same in SQL; a test checks they agree).
SUPPRESSED_BELOW = 5
EVERYONE = "everyone"
FINDER_LIMIT = 50
# From outside the district, only opportunities this close (as the place finder).
OUTSIDE_RADIUS_M = 5000


@dataclass(frozen=True)
class HelpFilter:
    """What a resident asked of the help-out finder."""

    commitment: str = ""
    day: str = ""
    age: int | None = None
    skill: str = ""
    initiative: str = ""
    q: str = ""

    @property
    def active(self) -> bool:
        return bool(self.commitment or self.day or self.age is not None or self.skill
                    or self.initiative or self.q)


LISTED = """
    v.id::text AS id, v.title, v.description, v.commitment, v.hours_per_week,
    v.schedule_text, v.days, v.starts_on, v.closes_on, v.minimum_age, v.dbs_check, v.skills,
    v.accessibility, v.initiative_id, v.initiative_name, v.organisation_name, v.place_id,
    v.place_name, v.place_kind, v.location_precision, v.ward_code, w.name AS ward_name
"""


def _conditions(f: HelpFilter, bind: Params, ward: str | None = None) -> list[str]:
    conditions = ["TRUE"]
    if f.commitment:
        conditions.append(f"v.commitment = {bind(f.commitment)}")
    if f.day:
        # A flexible opportunity with no set days fits any day.
        conditions.append(f"(CAST({bind(f.day)} AS text) = ANY(v.days) OR "
                          "(v.commitment = 'flexible' AND cardinality(v.days) = 0))")
    if f.age is not None:
        conditions.append(f"coalesce(v.minimum_age, 0) <= {bind(f.age)}")
    if f.skill:
        conditions.append(f"CAST({bind(f.skill)} AS text) = ANY(v.skills)")
    if f.initiative:
        conditions.append(f"v.initiative_id = {bind(f.initiative)}")
    if f.q:
        pattern = bind("%" + f.q.replace("\\", "\\\\").replace("%", "\\%")
                       .replace("_", "\\_") + "%")
        conditions.append(f"(v.title ILIKE {pattern} OR v.description ILIKE {pattern})")
    if ward:
        conditions.append(f"v.ward_code = {bind(ward)}")
    return conditions


def find(connection, f: HelpFilter, *, origin: tuple[float, float] | None = None,
         within_m: float | None = None, limit: int = FINDER_LIMIT,
         ward: str | None = None) -> list[dict]:
    """Open opportunities that meet the filter: nearest first from `origin` (lon, lat),
    else those closing soonest first; with `within_m`, only those that close."""
    bind = Params()
    conditions = _conditions(f, bind, ward)
    distance, order = "NULL::float8", "v.closes_on NULLS LAST, lower(v.title), v.id"
    if origin is not None:
        point = (f"ST_Transform(ST_SetSRID(ST_MakePoint(CAST({bind(origin[0])} AS float8), "
                 f"CAST({bind(origin[1])} AS float8)), 4326), 27700)")
        distance, order = f"ST_Distance(v.geom_bng, {point})", "distance_m, v.id"
        if within_m is not None:
            conditions.append(f"ST_DWithin(v.geom_bng, {point}, {bind(within_m)})")
    sql = (f"SELECT {LISTED}, {distance} AS distance_m FROM published_opportunities v "
           f"LEFT JOIN areas w ON w.kind = 'ward' AND w.code = v.ward_code "
           f"WHERE {' AND '.join(conditions)} ORDER BY {order} LIMIT {bind(limit)}")
    return [dict(r) for r in connection.execute(text(sql), bind.values).mappings()]


def count(connection, f: HelpFilter = HelpFilter()) -> int:
    bind = Params()
    return connection.execute(text(
        f"SELECT count(*) FROM published_opportunities v WHERE "
        f"{' AND '.join(_conditions(f, bind))}"), bind.values).scalar_one()


OPPORTUNITY = text(f"""
    SELECT {LISTED}, v.apply_url, v.apply_email, v.apply_phone, v.updated_at,
           p.address, p.postcode, p.website AS place_website,
           ST_X(v.geom) AS lon, ST_Y(v.geom) AS lat
      FROM published_opportunities v
      JOIN published_places p ON p.id = v.place_id
      LEFT JOIN areas w ON w.kind = 'ward' AND w.code = v.ward_code
     WHERE v.id = CAST(:id AS uuid)
""")


def opportunity(connection, opportunity_id: str) -> dict | None:
    row = connection.execute(OPPORTUNITY, {"id": opportunity_id}).mappings().first()
    return dict(row) if row else None


def all_open(connection) -> list[dict]:
    """Every open opportunity with its place's public address and point (for the
    Volunteering Data Standard's JSON-LD), closing soonest first."""
    return [dict(r) for r in connection.execute(text(
        OPPORTUNITY.text.replace("WHERE v.id = CAST(:id AS uuid)",
                                 "ORDER BY v.closes_on NULLS LAST, lower(v.title), v.id")
    )).mappings()]


SKILLS = text("""
    SELECT skill, count(*) FROM published_opportunities v, unnest(v.skills) AS skill
     GROUP BY skill ORDER BY skill
""")

INITIATIVES = text("""
    SELECT i.id, i.name, i.description, i.target_group, i.target_band, i.website,
           (SELECT count(*) FROM published_opportunities v WHERE v.initiative_id = i.id)
               AS opportunities
      FROM initiatives i ORDER BY i.name
""")

_choices = VersionedCache()


def choices(connection, version: int) -> dict:
    """The skills and initiatives the finder offers, read once per data version."""
    return _choices.get(connection, version, lambda: {
        "skills": [dict(r) for r in connection.execute(SKILLS).mappings()],
        "initiatives": [dict(r) for r in connection.execute(INITIATIVES).mappings()]})


def initiatives(connection) -> list[dict]:
    return [dict(r) for r in connection.execute(INITIATIVES).mappings()]


def measures(connection) -> dict[str, str]:
    """The need measures, each with its title: everyone, then each initiative's target
    group."""
    return {EVERYONE: "All residents",
            **{i["id"]: f"{i['name']}: {i['target_group']}" for i in initiatives(connection)}}


def initiative(connection, initiative_id: str) -> dict | None:
    return next((i for i in initiatives(connection) if i["id"] == initiative_id), None)


# -- need against provision ---------------------------------------------------------------

NEED = text("""
    SELECT n.lsoa_code, n.lsoa_name, n.ward_code, n.ward_name, n.measure, n.target_group,
           n.population, n.population_0_15, n.population_16_59, n.population_60_plus,
           n.imd_decile, n.target_residents, n.places_within, n.opportunities_within,
           n.covered_share, n.residents_not_covered, n.deprivation_weight, n.need_score
      FROM published_lsoa_need n
     ORDER BY n.measure, n.need_score DESC NULLS LAST, n.lsoa_code
""")

_need = VersionedCache()


def need(connection, version: int, measure: str = EVERYONE,
         ward: str | None = None) -> list[dict]:
    """Need against provision per LSOA for one measure (everyone, or an initiative's
    target group), highest need first, each with its rank in the district. The whole
    table is computed once per data version."""
    rows = _need.get(connection, version, lambda: _ranked(connection))
    return [dict(r) for r in rows.get(measure, []) if ward is None or r["ward_code"] == ward]


def _ranked(connection) -> dict[str, list[dict]]:
    by_measure: dict[str, list[dict]] = {}
    for row in connection.execute(NEED).mappings():
        listed = by_measure.setdefault(row["measure"], [])
        listed.append({**row, "rank": len(listed) + 1,
                       "covered_share": float(row["covered_share"]),
                       "deprivation_weight": float(row["deprivation_weight"]),
                       "need_score": None if row["need_score"] is None
                       else int(row["need_score"]),
                       "residents_not_covered": None if row["residents_not_covered"] is None
                       else int(row["residents_not_covered"])})
    return by_measure


# -- outcomes -----------------------------------------------------------------------------

OUTCOME_COLUMNS = ("initiative_id", "initiative_name", "period_start", "period_end", "level",
                   "place_id", "place_name", "ward_code", "ward_name", "people_supported",
                   "sessions_held", "volunteers", "volunteer_hours", "measure", "better",
                   "measured_people", "score_before", "score_after",
                   "people_supported_suppressed", "volunteers_suppressed",
                   "scores_suppressed")


def outcomes(connection, *, initiative: str | None = None,
             ward: str | None = None) -> list[dict]:
    """Published outcomes (migration 0008: small counts already suppressed), newest period
    first. A ward's are those recorded for the ward and at its places."""
    bind = Params()
    conditions = ["TRUE"]
    if initiative:
        conditions.append(f"o.initiative_id = {bind(initiative)}")
    if ward:
        conditions.append(f"o.ward_code = {bind(ward)}")
    rows = connection.execute(text(
        f"SELECT o.id, {', '.join('o.' + c for c in OUTCOME_COLUMNS)} "
        f"FROM published_outcomes o WHERE {' AND '.join(conditions)} "
        f"ORDER BY o.period_end DESC, o.period_start DESC, o.initiative_id, "
        f"o.level DESC, o.ward_name NULLS FIRST, o.place_name NULLS FIRST, o.id"),
        bind.values).mappings()
    return [_outcome(dict(r)) for r in rows]


def _outcome(row: dict) -> dict:
    for key in ("volunteer_hours", "score_before", "score_after"):
        if row[key] is not None:
            row[key] = float(row[key])
    before, after = row["score_before"], row["score_after"]
    row["change"] = None if before is None else round(after - before, 2)
    row["improved"] = None if before is None else (
        after < before if row["better"] == "lower" else after > before)
    return row


def totals(rows: list[dict]) -> list[dict]:
    """Per initiative and period, the sums of the figures shown (a suppressed figure adds
    nothing, so no total gives a suppressed one away), with how many were suppressed."""
    by_key: dict[tuple, dict] = {}
    for row in rows:
        key = (row["initiative_id"], row["period_start"], row["period_end"])
        total = by_key.setdefault(key, {
            "initiative_id": row["initiative_id"], "initiative_name": row["initiative_name"],
            "period_start": row["period_start"], "period_end": row["period_end"],
            "records": 0, "people_supported": 0, "sessions_held": 0, "volunteers": 0,
            "volunteer_hours": 0.0, "suppressed": 0})
        total["records"] += 1
        for name in ("people_supported", "sessions_held", "volunteers", "volunteer_hours"):
            total[name] += row[name] or 0
        total["suppressed"] += sum(bool(row[f]) for f in (
            "people_supported_suppressed", "volunteers_suppressed"))
    return list(by_key.values())


# -- the ward page ------------------------------------------------------------------------

PLACES_WITHOUT = text("""
    SELECT p.id, p.kind, p.name FROM published_places p
     WHERE p.ward_code = :code
       AND NOT EXISTS (SELECT 1 FROM published_opportunities v WHERE v.place_id = p.id)
     ORDER BY lower(p.name), p.id
""")


def places_without(connection, ward_code: str) -> list[dict]:
    """The ward's places that offer no open opportunity."""
    return [dict(r) for r in connection.execute(PLACES_WITHOUT, {"code": ward_code}).mappings()]
