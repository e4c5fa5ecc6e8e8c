"""Pages for residents who want to give back ("I'm in"): the help-out finder at
`/help-out` (by postcode or "near me", filtered by commitment, day, age, skill and
initiative: a form and a list that work without JavaScript; the script only adds "Use my
location") and each opportunity's page, which says how to say "I'm in". Each has a JSON
twin."""
from __future__ import annotations

import json
import math

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)

from layers import vds, volunteering
from layers.errors import QueryError
from layers.query import parse_age
from mapping import postcode_search, queries
from mapping.core import db
from mapping.core.errors import problem
from mapping.display import KIND_SINGULAR, long_date, safe_url, walking_distance
from mapping.finder.residents import find_origin

bp = Blueprint("helpout", __name__)

MAX_TEXT = 100
DAY_CHOICES = {"": "Any day", **volunteering.DAY_NAMES}
COMMITMENT_CHOICES = {"": "Any commitment", **volunteering.COMMITMENTS}


def _coordinate(raw: str | None, low: float, high: float) -> float | None:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and low <= value <= high else None


def help_request(choices: dict) -> tuple[volunteering.HelpFilter, tuple[str, str] | None]:
    """The filter asked for in the query string; a value that cannot be used is left out
    and said so, as (form field, what to say)."""
    args, issue = request.args, None
    commitment = args.get("commitment", "").strip()
    if commitment not in COMMITMENT_CHOICES:
        issue, commitment = ("commitment", "Choose a time commitment from the list"), ""
    day = args.get("day", "").strip()
    if day not in DAY_CHOICES:
        issue, day = ("day", "Choose a day from the list"), ""
    age = None
    if age_text := args.get("age", "").strip():
        try:
            age = parse_age(age_text)
        except QueryError:
            issue = ("age", "Enter your age in whole years, from 0 to 130, or leave it empty")
    skill = args.get("skill", "").strip().lower()[:MAX_TEXT]
    if skill and skill not in {s["skill"] for s in choices["skills"]}:
        issue, skill = ("skill", "Choose a skill from the list"), ""
    initiative = args.get("initiative", "").strip()
    if initiative and initiative not in {i["id"] for i in choices["initiatives"]}:
        issue, initiative = ("initiative", "Choose an initiative from the list"), ""
    return volunteering.HelpFilter(commitment=commitment, day=day, age=age, skill=skill,
                                   initiative=initiative,
                                   q=args.get("q", "").strip()[:MAX_TEXT]), issue


def listed(row: dict) -> dict:
    """An opportunity as the finder's JSON lists it."""
    item = {"id": row["id"], "title": row["title"], "commitment": row["commitment"],
            "hours_per_week": None if row["hours_per_week"] is None
            else float(row["hours_per_week"]),
            "schedule": row["schedule_text"], "days": row["days"],
            "start_date": row["starts_on"].isoformat() if row["starts_on"] else None,
            "closing_date": row["closes_on"].isoformat() if row["closes_on"] else None,
            "minimum_age": row["minimum_age"], "dbs_check": row["dbs_check"],
            "skills": row["skills"], "initiative": row["initiative_id"],
            "initiative_name": row["initiative_name"], "place_id": row["place_id"],
            "place_name": row["place_name"], "ward_name": row["ward_name"],
            "url": url_for("helpout.opportunity", opportunity_id=row["id"], _external=True)}
    if row.get("distance_m") is not None:
        item["distance_m"] = round(row["distance_m"], 1)
        item["distance_text"] = walking_distance(row["distance_m"], row["location_precision"])
    return item


def when_text(row: dict) -> str:
    """"Regular, 2 hours a week: Tuesdays 10am-12pm" and the like."""
    words = volunteering.COMMITMENTS[row["commitment"]]
    if row["commitment"] == "one-off" and row["starts_on"]:
        words += f", on {long_date(row['starts_on'])}"
    if row["hours_per_week"] is not None:
        hours = float(row["hours_per_week"])
        words += f", {hours:g} hour{'s' if hours != 1 else ''} a week"
    if row["schedule_text"]:
        words += f": {row['schedule_text']}"
    return words


@bp.get("/help-out.json")
@bp.get("/help-out")
def finder():
    as_json = request.path.endswith(".json")
    postcode = postcode_search.typed(request.args.get("postcode"))
    lon = _coordinate(request.args.get("lon"), -180, 180)
    lat = _coordinate(request.args.get("lat"), -90, 90)
    origin, status, error, notice, field = None, 200, None, None, "postcode"
    with db.read_engine().connect() as connection:
        version = connection.execute(queries.DATA_VERSION).scalar()
        choices = volunteering.choices(connection, version)
        help_filter, issue = help_request(choices)
        loaded = postcode_search.status(connection)["postcodes"] > 0
        if postcode.text:
            found, status, error = find_origin(connection, postcode, loaded)
            if found is not None:
                origin = {"postcode": found["postcode"], "lon": found["lon"],
                          "lat": found["lat"], "in_district": found["in_district"]}
        elif lon is not None and lat is not None:
            origin = {"postcode": None, "lon": lon, "lat": lat,
                      "in_district": queries.in_district(connection, lon, lat)}
        elif request.args.get("lon") or request.args.get("lat"):
            status, field = 400, "postcode"
            error = "Your location could not be read. Enter a postcode instead."
        within = None
        if origin is not None and not origin["in_district"]:
            within = volunteering.OUTSIDE_RADIUS_M
        rows = volunteering.find(
            connection, help_filter, within_m=within,
            origin=(origin["lon"], origin["lat"]) if origin else None)
        total = volunteering.count(connection)
        demo = queries.is_demo(connection)
    if origin is not None and not origin["in_district"]:
        where = origin["postcode"] or "Your location"
        notice = (f"{where} is outside Kirklees. These are the opportunities within "
                  f"{volunteering.OUTSIDE_RADIUS_M // 1000} km of it." if rows else
                  f"{where} is outside Kirklees, and no opportunities are within "
                  f"{volunteering.OUTSIDE_RADIUS_M // 1000} km of it.")
    if issue and not error:
        (field, error), status = issue, 400
    if as_json:
        if error:
            return problem(status, "Bad request" if status == 400 else "Unknown postcode",
                           error, parameter=field)
        return jsonify({"query": {"postcode": postcode.text, "commitment": help_filter.commitment,
                                  "day": help_filter.day, "age": help_filter.age,
                                  "skill": help_filter.skill,
                                  "initiative": help_filter.initiative, "q": help_filter.q},
                        "origin": None if origin is None else {
                            "postcode": origin["postcode"],
                            "outside_district": not origin["in_district"]},
                        "notice": notice, "total_open": total,
                        "opportunities": [listed(r) for r in rows]})
    return render_template(
        "residents/help_out.html", rows=rows, total=total, help_filter=help_filter,
        choices=choices, postcode=postcode.text, origin=origin, error=error,
        error_field=field, notice=notice, status=status, postcode_search=loaded,
        days=DAY_CHOICES, commitments=COMMITMENT_CHOICES, when_text=when_text,
        age_text=request.args.get("age", "").strip()[:3], demo=demo,
        located=lon is not None and lat is not None and not postcode.text), status


@bp.get("/help-out/<uuid:opportunity_id>.json")
@bp.get("/help-out/<uuid:opportunity_id>")
def opportunity(opportunity_id):
    with db.read_engine().connect() as connection:
        row = volunteering.opportunity(connection, str(opportunity_id))
        demo = queries.is_demo(connection)
    if row is None:
        abort(404, description="There is no open volunteering opportunity with that "
                               "address: it may have closed.")
    apply_url = safe_url(row["apply_url"])
    if request.path.endswith(".json"):
        item = listed(row)
        item.update(description=row["description"], accessibility=row["accessibility"],
                    organisation_name=row["organisation_name"], apply_url=apply_url,
                    apply_email=row["apply_email"], apply_phone=row["apply_phone"],
                    place_url=url_for("residents.place", place_id=row["place_id"],
                                      _external=True),
                    updated_at=row["updated_at"].isoformat())
        return jsonify(item)
    return render_template("residents/opportunity.html", o=row, apply_url=apply_url,
                           when=when_text(row), place_label=KIND_SINGULAR[row["place_kind"]],
                           demo=demo)


# -- the Volunteering Data Standard (JSON-LD) ----------------------------------------------

JSON_LD = "application/ld+json"


def _activity(row: dict) -> dict:
    row = {**row, "commitment_text": when_text(row)}
    return vds.activity(
        row, url_for("helpout.opportunity", opportunity_id=row["id"], _external=True),
        url_for("residents.place", place_id=row["place_id"], _external=True))


def _licence() -> str:
    words = current_app.extensions["assetmap.settings"].data_licence
    return "OGL-UK-3.0" if "Open Government Licence" in words else words


@bp.get("/help-out.jsonld")
def standard_list():
    """Every open opportunity as the Volunteering Data Standard publishes them."""
    with db.read_engine().connect() as connection:
        rows = volunteering.all_open(connection)
        changed = connection.execute(queries.PUBLISHED_CHANGED).scalar()
    settings = current_app.extensions["assetmap.settings"]
    document = vds.collection([_activity(r) for r in rows], settings.data_attribution,
                              _licence(), changed.isoformat())
    return Response(vds_dumps(document), mimetype=JSON_LD)


@bp.get("/help-out/<uuid:opportunity_id>.jsonld")
def standard_one(opportunity_id):
    with db.read_engine().connect() as connection:
        row = volunteering.opportunity(connection, str(opportunity_id))
    if row is None:
        abort(404, description="There is no open volunteering opportunity with that "
                               "address: it may have closed.")
    document = {"@context": vds.CONTEXT, **_activity(row)}
    return Response(vds_dumps(document), mimetype=JSON_LD)


def vds_dumps(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))
