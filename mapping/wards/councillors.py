"""Pages for councillors: every ward at a glance (a choropleth and its table), and each
ward and priority neighbourhood with its places, profile, download and printable map.
Each page has a JSON twin at the same address with `.json` on the end."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)

from layers import profiles, volunteering
from layers.kinds import HUB, KINDS
from mapping import queries
from mapping.core import db
from mapping.core.security import allow_inline_scripts
from mapping.display import (
    KIND_LABELS,
    KIND_SINGULAR,
    distance_text,
    map_config,
    walking_distance,
)
from mapping.finder.residents import place_url_template
from mapping.finder.volunteering import when_text
from mapping.wards import printmap

bp = Blueprint("councillors", __name__)

MEASURES = {
    "per_1000": "Places per 1,000 residents",
    "coverage": "Residents within walking distance of a place",
}
DISTANCES = (400, 800, 1600)
# A gap this close to a postcode's point is "near" it.
NEAR_POSTCODE_M = 200
# Five classes of a sequential palette that reads in greyscale and to colour-blind eyes
# (ColorBrewer YlGnBu), from few places (light) to many (dark).
PALETTE = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")


def measure_request() -> dict:
    args = request.args
    measure = args.get("measure") if args.get("measure") in MEASURES else "per_1000"
    kind = args.get("kind") if args.get("kind") in KINDS else ""
    if measure == "coverage" and not kind:
        kind = HUB.id
    distance = int(args["distance"]) if args.get("distance") in map(str, DISTANCES) else 800
    return {"measure": measure, "kind": kind, "distance": distance}


def classify(values: list[float | None]) -> list[dict]:
    """Quantile classes (up to five) over the values that exist, each with its colour."""
    present = sorted(v for v in values if v is not None)
    if not present:
        return []
    count = min(len(PALETTE), len(set(present)))
    edges = [present[min(len(present) - 1, (len(present) * i) // count)] for i in range(count)]
    edges = sorted(set(edges))
    # Fewer classes (many equal values) still run from the lightest shade to the darkest.
    last = len(PALETTE) - 1
    palette = [PALETTE[round(i * last / (len(edges) - 1))] for i in range(len(edges))] \
        if len(edges) > 1 else [PALETTE[2]]
    classes = []
    for index, low in enumerate(edges):
        high = edges[index + 1] if index + 1 < len(edges) else present[-1]
        classes.append({"low": low, "high": high, "colour": palette[index],
                        "last": index + 1 == len(edges)})
    return classes


def class_of(value: float | None, classes: list[dict]) -> dict | None:
    if value is None:
        return None
    chosen = classes[0]
    for item in classes:
        if value >= item["low"]:
            chosen = item
    return chosen


def ward_rows(connection, choice: dict) -> tuple[list[dict], list[dict]]:
    rows = queries.ward_table(connection)
    for row in rows:
        if choice["measure"] == "per_1000":
            count = row[choice["kind"]] if choice["kind"] else row["places"]
            row["value"] = queries.per_1000(count, row["population"])
        else:
            row["value"] = coverage_percent(connection, row["code"], choice)
        # Classed as shown (to one decimal place), so wards whose figures read the same
        # are the same colour.
        if row["value"] is not None:
            row["value"] = round(row["value"], 1)
    classes = classify([row["value"] for row in rows])
    for row in rows:
        found = class_of(row["value"], classes)
        row["colour"] = found["colour"] if found else None
    return rows, classes


def coverage_percent(connection, code: str, choice: dict) -> float | None:
    """The share of a ward's residents within the distance of a place of the kind, in %:
    the figure its profile gives (without the profile's slow gap search)."""
    profile = profiles.area_profile(connection, "ward", code, gaps=False)
    for item in (profile or {}).get("coverage", []):
        if item["kind"] == choice["kind"] and item["distance_m"] == choice["distance"]:
            return item["percent"]
    return None


@bp.get("/wards.json")
@bp.get("/wards")
def wards():
    choice = measure_request()
    with db.read_engine().connect() as connection:
        rows, classes = ward_rows(connection, choice)
        demo = queries.is_demo(connection)
    title = measure_title(choice)
    if request.path.endswith(".json"):
        return jsonify({"measure": {**choice, "title": title}, "classes": classes,
                        "wards": [{**row, "url": url_for("councillors.ward", code=row["code"],
                                                          _external=True)} for row in rows]})
    config = map_config(feeds={"wards": url_for("feeds.download_geojson", layer_id="wards")},
                        values={row["code"]: {"value": row["value"], "colour": row["colour"],
                                              "name": row["name"]} for row in rows},
                        title=title, unit="%" if choice["measure"] == "coverage" else "",
                        ward=url_for("councillors.ward", code="CODE").replace("CODE", "{code}"))
    return render_template("councillors/wards.html", rows=rows, classes=classes, choice=choice,
                           title=title, measures=MEASURES, distances=DISTANCES,
                           labels=KIND_LABELS, demo=demo, config=config)


def measure_title(choice: dict) -> str:
    if choice["measure"] == "coverage":
        return (f"Residents within {choice['distance']:,} m of a "
                f"{KIND_SINGULAR[choice['kind']].lower()}")
    what = KIND_LABELS[choice["kind"]].lower() if choice["kind"] else "places"
    return f"{what.capitalize()} per 1,000 residents"


@bp.get("/wards/<code>.json")
@bp.get("/wards/<code>")
def ward(code: str):
    return area_page("ward", code)


@bp.get("/neighbourhoods/<code>.json")
@bp.get("/neighbourhoods/<code>")
def neighbourhood(code: str):
    return area_page("neighbourhood", code)


def load_area(kind: str, code: str, *, with_profile: bool = True) -> dict | None:
    with db.read_engine().connect() as connection:
        area = queries.area(connection, kind, code)
        if area is None:
            return None
        area["overlapping"] = queries.overlapping(connection, kind, code)
        area["places"] = queries.area_places(connection, kind, code)
        area["profile"] = profiles.area_profile(connection, kind, code) if with_profile else None
        area["demo"] = queries.is_demo(connection)
        # For the printed page: which data its figures are from.
        area["data_version"] = connection.execute(queries.DATA_VERSION).scalar()
        area["data_changed"] = connection.execute(queries.PUBLISHED_CHANGED).scalar()
        if kind == "ward":
            area.update(volunteering_of_ward(connection, code))
    if kind == "neighbourhood" and area["profile"]:
        # The wards it lies in, the one holding most of it first (the breadcrumb's), each
        # with the share of the neighbourhood inside it.
        inside = {w["code"]: w["share_inside"] for w in area["profile"]["wards"]}
        for other in area["overlapping"]:
            other["share_of_this_pct"] = round(100 * inside.get(other["code"], 0))
        area["overlapping"].sort(key=lambda o: (-o["share_of_this_pct"], o["name"]))
    # The gaps that leave most residents beyond a walk first, then the farthest.
    area["top_gaps"] = sorted(({**gap, "where": gap_place(gap)}
                               for gap in (area["profile"] or {}).get("gaps", [])), key=lambda g: (
        -(g["residents_beyond"] if g["residents_beyond"] is not None else -1), -g["distance_m"]))
    counts = {k: sum(1 for p in area["places"] if p["kind"] == k) for k in KINDS}
    area["counts"] = counts
    area["per_1000"] = queries.per_1000(len(area["places"]), area["population"])
    return area


def gap_place(gap: dict) -> str:
    """Where a gap is, in words: "Kirklees 007A (E01011013), Batley East ward; 450 m from
    WF17 7AA, the nearest postcode" (or "near WF17 7AA" when it is that close)."""
    words = f"{gap['lsoa_name']} ({gap['lsoa_code']}), " if gap.get("lsoa_name") else ""
    words += f"{gap['ward_name']} ward" if gap.get("ward_name") else "outside the wards"
    if gap.get("postcode"):
        if gap["postcode_distance_m"] <= NEAR_POSTCODE_M:
            words += f"; near {gap['postcode']}"
        else:
            words += (f"; {distance_text(gap['postcode_distance_m'])} from {gap['postcode']}, "
                      f"the nearest postcode")
    return words


def volunteering_of_ward(connection, code: str) -> dict:
    """"I'm in" in the ward: its open opportunities, its places with none, its small areas
    ranked by need (for everyone and each initiative) and its outcomes."""
    version = connection.execute(queries.DATA_VERSION).scalar()
    need = {volunteering.EVERYONE: volunteering.need(connection, version, ward=code)}
    for item in volunteering.initiatives(connection):
        need[item["id"]] = volunteering.need(connection, version, item["id"], ward=code)
    outcomes = volunteering.outcomes(connection, ward=code)
    return {"opportunities": volunteering.find(connection, volunteering.HelpFilter(),
                                               ward=code, limit=1000),
            "places_without_opportunities": volunteering.places_without(connection, code),
            "need": need, "need_titles": volunteering.measures(connection),
            "lsoas_in_district": len(volunteering.need(connection, version)),
            "outcomes": outcomes, "outcome_totals": volunteering.totals(outcomes)}


def area_links(kind: str, code: str) -> dict:
    """The area's places as downloads (the feeds, filtered to it), its map and its twin."""
    only_here = {kind: code}  # the feeds' filters are named `ward` and `neighbourhood`
    # Absolute, so a printed page's links can be typed in and a JSON twin's followed.
    return {
        "csv": url_for("feeds.download_csv", layer_id="places", **only_here, _external=True),
        "geojson": url_for("feeds.download_geojson", layer_id="places", **only_here,
                           _external=True),
        "profile": url_for(f"feeds.{kind}_profile", code=code, _external=True),
        "map": url_for(f"councillors.{kind}_map", code=code, _external=True),
        "json": url_for(f"councillors.{kind}", code=code, _external=True) + ".json",
        "page": url_for(f"councillors.{kind}", code=code, _external=True),
    }


def area_page(kind: str, code: str):
    area = load_area(kind, code)
    as_json = request.path.endswith(".json")
    noun = "ward" if kind == "ward" else "priority neighbourhood"
    if area is None:
        abort(404, description=f"There is no {noun} with the code {code}.")
    links = area_links(kind, code)
    if as_json:
        return jsonify(jsonable({**{k: v for k, v in area.items()
                                    if k not in ("demo", "top_gaps")}, "links": links}))
    config = map_config(
        area={"kind": kind, "code": code, "name": area["name"], "geometry": area["geometry"]},
        overlapping=[{"code": o["code"], "name": o["name"], "geometry": o["geometry"]}
                     for o in area["overlapping"]],
        overlappingUrl=url_for("councillors.neighbourhood" if kind == "ward" else "councillors.ward",
                               code="CODE").replace("CODE", "{code}"),
        feeds={"places": links["geojson"]},
        gaps=[{"kind": g["kind"], "lat": g["lat"], "lon": g["lon"],
               "text": f"Farthest from {KIND_LABELS[g['kind']].lower()}: "
                       f"{walking_distance(g['distance_m'])}; {g['where']}"}
              for g in area["top_gaps"]],
        place=place_url_template())
    return render_template(f"councillors/{kind}.html", area=area, links=links,
                           labels=KIND_LABELS, demo=area["demo"], config=config, noun=noun,
                           when_text=when_text, threshold=volunteering.SUPPRESSED_BELOW,
                           today=date.today())


def jsonable(value):
    """Dates as ISO 8601 and decimals as numbers, all the way down."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


@bp.get("/wards/<code>/map.html")
def ward_map(code: str):
    return printable_map("ward", code)


@bp.get("/neighbourhoods/<code>/map.html")
def neighbourhood_map(code: str):
    return printable_map("neighbourhood", code)


def printable_map(kind: str, code: str):
    """The area on a folium map, for printing and for embedding in another page."""
    area = load_area(kind, code, with_profile=False)
    if area is None:
        abort(404, description="There is no area with that code.")
    settings = current_app.extensions["assetmap.settings"]
    html = printmap.area_map_html(area, settings,
                                  icon_url=url_for("static", filename="favicon.svg"))
    response = current_app.make_response(html)
    return allow_inline_scripts(response, html, settings)
