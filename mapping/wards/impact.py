""""I'm in", measured: each initiative with its open opportunities, the need of its
target group against provision, and its outcomes over time; need against provision
across the district (a ranked table and a map); and the outcomes as JSON and CSV.

Outcomes are aggregates only and reach these pages through `published_outcomes`
(migration 0008), which has already suppressed every count of 1 to 4 people; totals add
up only the figures shown. docs/measures.md explains each measure."""
from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, abort, jsonify, render_template, request, url_for

from layers import volunteering
from mapping import queries
from mapping.core import db
from mapping.core.errors import problem
from mapping.display import map_config
from mapping.wards.councillors import class_of, classify, jsonable

bp = Blueprint("impact", __name__)

NEED_TABLE_ROWS = 25


def _version(connection) -> int:
    return connection.execute(queries.DATA_VERSION).scalar()


@bp.get("/initiatives.json")
@bp.get("/initiatives")
def initiatives():
    with db.read_engine().connect() as connection:
        found = volunteering.initiatives(connection)
        results = volunteering.totals(volunteering.outcomes(connection))
        demo = queries.is_demo(connection)
    for item in found:
        item["url"] = url_for("impact.initiative", initiative_id=item["id"], _external=True)
        item["latest"] = next((t for t in results if t["initiative_id"] == item["id"]), None)
    if request.path.endswith(".json"):
        return jsonify({"initiatives": jsonable(found)})
    return render_template("councillors/initiatives.html", initiatives=found, demo=demo)


@bp.get("/initiatives/<initiative_id>.json")
@bp.get("/initiatives/<initiative_id>")
def initiative(initiative_id: str):
    with db.read_engine().connect() as connection:
        found = volunteering.initiative(connection, initiative_id)
        if found is None:
            abort(404, description="There is no initiative with that name.")
        open_now = volunteering.find(connection, volunteering.HelpFilter(
            initiative=initiative_id), limit=500)
        rows = volunteering.outcomes(connection, initiative=initiative_id)
        need = volunteering.need(connection, _version(connection), initiative_id)
        demo = queries.is_demo(connection)
    totals = volunteering.totals(rows)
    if request.path.endswith(".json"):
        return jsonify({**jsonable(found),
                        "opportunities": [{"id": o["id"], "title": o["title"],
                                           "place_name": o["place_name"],
                                           "ward_name": o["ward_name"]} for o in open_now],
                        "results": jsonable(totals), "outcomes": jsonable(rows),
                        "need": jsonable(need[:NEED_TABLE_ROWS]),
                        "links": outcome_links(initiative=initiative_id)})
    return render_template("councillors/initiative.html", initiative=found, open_now=open_now,
                           outcomes=rows, totals=totals, need=need[:NEED_TABLE_ROWS],
                           links=outcome_links(initiative=initiative_id), demo=demo,
                           threshold=volunteering.SUPPRESSED_BELOW)


def outcome_links(**filters) -> dict:
    return {"json": url_for("impact.outcomes_json", **filters),
            "csv": url_for("impact.outcomes_csv", **filters)}


def _outcome_rows():
    """The outcomes the query string asks for (initiative, ward), or a 400 naming an
    unknown parameter."""
    unknown = sorted(set(request.args) - {"initiative", "ward"})
    if unknown:
        return None, problem(400, "Bad request", f"unknown query parameter {unknown[0]}; "
                             "this resource takes initiative and ward", parameter=unknown[0])
    filters = {name: request.args[name].strip()[:100] for name in ("initiative", "ward")
               if request.args.get(name, "").strip()}
    with db.read_engine().connect() as connection:
        return volunteering.outcomes(connection, **filters), None


@bp.get("/outcomes.json")
def outcomes_json():
    rows, refused = _outcome_rows()
    if refused:
        return refused
    return jsonify({"suppressed_below": volunteering.SUPPRESSED_BELOW,
                    "note": "Counts of people from 1 to "
                            f"{volunteering.SUPPRESSED_BELOW - 1} are suppressed (null); "
                            "scores measured on fewer than "
                            f"{volunteering.SUPPRESSED_BELOW} people are not shown.",
                    "totals": jsonable(volunteering.totals(rows)),
                    "outcomes": jsonable(rows)})


@bp.get("/outcomes.csv")
def outcomes_csv():
    rows, refused = _outcome_rows()
    if refused:
        return refused
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = [*volunteering.OUTCOME_COLUMNS, "change", "improved"]
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row[c] is None else row[c] for c in columns])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="outcomes.csv"'})


@bp.get("/need.json")
@bp.get("/need")
def need():
    with db.read_engine().connect() as connection:
        choices = volunteering.measures(connection)
        measure = request.args.get("measure", volunteering.EVERYONE)
        if measure not in choices:
            if request.path.endswith(".json"):
                return problem(400, "Bad request", f"measure: choose one of "
                               f"{', '.join(choices)}", parameter="measure")
            measure = volunteering.EVERYONE
        rows = volunteering.need(connection, _version(connection), measure)
        demo = queries.is_demo(connection)
    if request.path.endswith(".json"):
        return jsonify({"measure": measure, "title": choices[measure],
                        "walking_distance_m": volunteering.WALKING_DISTANCE_M,
                        "lsoas": jsonable(rows)})
    classes = classify([r["need_score"] for r in rows])
    for row in rows:
        found = class_of(row["need_score"], classes)
        row["colour"] = found["colour"] if found else None
    config = map_config(
        values={r["lsoa_code"]: {"value": r["need_score"], "colour": r["colour"],
                                 "name": f"{r['lsoa_name']} (rank {r['rank']})",
                                 "url": url_for("councillors.ward", code=r["ward_code"])
                                 if r["ward_code"] else None} for r in rows},
        unit="", feeds={"lsoas": url_for("feeds.download_geojson", layer_id="lsoas")})
    return render_template("councillors/need.html", rows=rows, measure=measure,
                           measures=choices, config=config, demo=demo, classes=classes,
                           shown=NEED_TABLE_ROWS if not request.args.get("all") else len(rows),
                           distance=volunteering.WALKING_DISTANCE_M)
