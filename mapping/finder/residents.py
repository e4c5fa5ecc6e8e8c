"""Pages for residents: the finder at `/` (a list and search that work without JavaScript,
which the map then enhances) and each place's permalink page. Each has a JSON twin."""
from __future__ import annotations

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from layers.kinds import KINDS
from mapping import postcode_search, queries
from mapping.core import db
from mapping.core.errors import problem
from mapping.display import (
    KIND_LABELS,
    KIND_SINGULAR,
    map_config,
    safe_url,
    walking_distance,
)

bp = Blueprint("residents", __name__)

MAX_QUERY = 100
# What the map and its list need of every place; the rest is on the place's page.
MAP_PROPERTIES = "name,kind,categories,ward_name,location_precision"


def finder_request() -> tuple[queries.PlaceFilter, postcode_search.Typed, int]:
    """The filter, postcode and page asked for in the query string, cleaned."""
    args = request.args
    kinds = tuple(k for k in KINDS if k in args.getlist("kind"))
    place_filter = queries.PlaceFilter(q=args.get("q", "").strip()[:MAX_QUERY], kinds=kinds,
                                       category=args.get("category", "").strip()[:MAX_QUERY])
    postcode = postcode_search.typed(args.get("postcode"))
    page = args.get("page", "1")
    return place_filter, postcode, int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1


def feed_urls() -> dict:
    """Where the map's JavaScript reads its data: the public feeds (mapping/api/feeds.py)."""
    return {"placesForMap": url_for("feeds.download_geojson", layer_id="places",
                                    properties=MAP_PROPERTIES),
            "wards": url_for("feeds.download_geojson", layer_id="wards"),
            "nearest": url_for("feeds.nearest")}


def place_url_template() -> str:
    """/places/{id}, for scripts that link to places."""
    return url_for("residents.place", place_id=0).replace("/0", "/{id}")


def listed(place: dict) -> dict:
    """A place as the JSON twin of a list shows it."""
    item = {"id": place["id"], "name": place["name"], "kind": place["kind"],
            "categories": place["categories"], "ward_code": place["ward_code"],
            "ward_name": place["ward_name"], "postcode": place["postcode"],
            "location_precision": place["location_precision"],
            "url": url_for("residents.place", place_id=place["id"], _external=True)}
    if "distance_m" in place:
        item["distance_m"] = round(place["distance_m"], 1)
        item["distance_text"] = walking_distance(place["distance_m"], place["location_precision"])
    return item


def find_origin(connection, postcode: postcode_search.Typed,
                loaded: bool) -> tuple[dict | None, int, str | None]:
    """The postcode's point, or the status and the words for why there is none."""
    if not loaded:
        return None, 503, postcode_search.message("unavailable")
    if not postcode.well_formed:
        return None, 400, postcode_search.message("not_a_postcode", postcode.text)
    origin = queries.origin(connection, postcode.key)
    if origin is None:
        return None, 404, postcode_search.message("unknown", postcode.text)
    return origin, 200, None


ERROR_TITLES = {400: "Bad request", 404: "Unknown postcode",
                503: "Postcode search unavailable"}


# Each page's JSON twin is routed first, so that url_for builds the page's own address.
@bp.get("/places.json")
@bp.get("/")
def index():
    place_filter, postcode, page_number = finder_request()
    origin, status, error, notice = None, 200, None, None
    with db.read_engine().connect() as connection:
        categories = queries.categories(connection)
        kind_counts = queries.kind_counts(connection)
        demo = queries.is_demo(connection)
        loaded = postcode_search.status(connection)["postcodes"] > 0
        if postcode.text:
            origin, status, error = find_origin(connection, postcode, loaded)
        if origin is not None:
            # From outside the district, only places close enough to be of use.
            within = None if origin["in_district"] else queries.OUTSIDE_RADIUS_M
            nearest = queries.nearest(connection, postcode.key, place_filter, within_m=within)
            page = queries.PlacePage(places=nearest, total=len(nearest), page=1)
            if not origin["in_district"]:
                notice = postcode_search.message("outside" if nearest else "outside_none",
                                                 origin["postcode"])
        else:
            page = queries.place_page(connection, place_filter, page_number)

    if request.path.endswith(".json"):
        if error:
            return problem(status, ERROR_TITLES[status], error, parameter="postcode")
        if origin is not None:
            origin = {"postcode": origin["postcode"], "lon": origin["lon"], "lat": origin["lat"],
                      "outside_district": not origin["in_district"]}
        return jsonify({"query": {"q": place_filter.q, "kind": list(place_filter.kinds),
                                  "category": place_filter.category, "postcode": postcode.text},
                        "origin": origin, "notice": notice, "total": page.total,
                        "page": page.page, "pages": page.pages,
                        "places": [listed(p) for p in page.places]})

    config = map_config(feeds=feed_urls(), place=place_url_template(),
                        postcodeSearch=loaded, messages=postcode_search.MESSAGES)
    # A postcode that cannot be searched from still gets the whole list, with the reason.
    return render_template(
        "residents/index.html", page=page, place_filter=place_filter, postcode=postcode.text,
        origin=origin, error=error, notice=notice, postcode_search=loaded,
        unavailable_hint=postcode_search.message("unavailable_hint"), categories=categories,
        kind_counts=kind_counts, total_places=sum(kind_counts.values()), demo=demo,
        config=config, labels=KIND_LABELS)


@bp.get("/places/<int:place_id>.json")
@bp.get("/places/<int:place_id>")
def place(place_id: int):
    as_json = request.path.endswith(".json")
    with db.read_engine().connect() as connection:
        row = queries.place(connection, place_id)
        demo = queries.is_demo(connection)
    if row is None:
        abort(404, description="There is no place with that number.")
    links = [url for url in (safe_url(u) for u in (row["links"] or [])) if url]
    if as_json:
        return jsonify(place_json(row, links))
    config = map_config(thisPlace={"id": row["id"], "name": row["name"], "kind": row["kind"],
                                   "geometry": row["geometry"]})
    return render_template("residents/place.html", place=row, links=links,
                           label=KIND_SINGULAR[row["kind"]], demo=demo, config=config)


def place_json(row: dict, links: list[str]) -> dict:
    """A place as its page shows it: public contacts only, its public location."""
    hidden = {"neighbourhood_codes", "links", "geometry", "links_to", "neighbourhoods"}
    properties = {k: v for k, v in row.items() if k not in hidden and v not in (None, [], "")}
    for key in ("website", "booking_url"):
        if key in properties and not safe_url(properties[key]):
            del properties[key]
    for key in ("last_verified", "transfer_date"):
        if key in properties:
            properties[key] = properties[key].isoformat()
    properties.update({
        "links": links,
        "neighbourhoods": row["neighbourhoods"],
        "related": [{**r, "url": url_for("residents.place", place_id=r["id"], _external=True)}
                    for r in row["links_to"]],
        "url": url_for("residents.place", place_id=row["id"], _external=True),
    })
    return {"type": "Feature", "id": row["id"], "geometry": row["geometry"],
            "properties": properties}

