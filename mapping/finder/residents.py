"""Pages for residents: the finder at `/` (a list and search that work without JavaScript,
which the map then enhances) and each place's permalink page. Each has a JSON twin."""
from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from layers.errors import QueryError
from layers.kinds import KINDS
from layers.openreferral import LANGUAGES
from layers.query import parse_age
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
MAP_PROPERTIES = "name,kind,categories,ward_name,location_precision,area_served"
# A category that is a kind's own name ("mutual aid") stands for every place of that kind:
# a source may give its groups no categories (the national mutual aid lists give none).
KIND_CATEGORIES = {kind.short.lower(): kind.id for kind in KINDS.values()}


# "Open" on the finder: any time, now, or a day of the week (layers.query.parse_open).
OPEN_CHOICES = {"": "Any time", "now": "Open now", "MO": "On Monday", "TU": "On Tuesday",
                "WE": "On Wednesday", "TH": "On Thursday", "FR": "On Friday",
                "SA": "On Saturday", "SU": "On Sunday"}


@dataclass
class FinderRequest:
    place_filter: queries.PlaceFilter
    postcode: postcode_search.Typed
    page: int
    # A filter value that could not be used: (the form field, what to say).
    problem: tuple[str, str] | None = None


def finder_request() -> FinderRequest:
    """The filter, postcode and page asked for in the query string, cleaned. A service
    filter that cannot be used is left out, and said so."""
    args = request.args
    kinds = tuple(k for k in KINDS if k in args.getlist("kind"))
    problem = None
    open_on = args.get("open", "").strip()
    if open_on not in OPEN_CHOICES:
        problem, open_on = ("open", "Choose when the place should be open from the list"), ""
    age_text = args.get("age", "").strip()
    age = None
    if age_text:
        try:
            age = parse_age(age_text)
        except QueryError:
            problem = ("age", "Enter an age in whole years, from 0 to 130, or leave it empty")
    language = args.get("language", "").strip()
    if language and language not in LANGUAGES:
        problem, language = ("language", "Choose a language from the list"), ""
    place_filter = queries.PlaceFilter(q=args.get("q", "").strip()[:MAX_QUERY], kinds=kinds,
                                       category=args.get("category", "").strip()[:MAX_QUERY],
                                       open=open_on, age=age, language=language)
    postcode = postcode_search.typed(args.get("postcode"))
    page = args.get("page", "1")
    return FinderRequest(place_filter, postcode,
                         int(page) if page.isdigit() and 0 < int(page) < 10_000 else 1, problem)


def listing_filter(place_filter: queries.PlaceFilter) -> queries.PlaceFilter:
    """The filter the lists are found with: a kind's own category asks for that kind."""
    kind = KIND_CATEGORIES.get(place_filter.category.lower())
    if kind and (not place_filter.kinds or kind in place_filter.kinds):
        return replace(place_filter, kinds=(kind,), category="")
    return place_filter


def counted_categories(categories: list[dict], kind_counts: dict[str, int]) -> list[dict]:
    """The category choices, a kind's own category counting every place of that kind."""
    return [{**c, "places": kind_counts.get(KIND_CATEGORIES[c["category"].lower()], c["places"])}
            if c["category"].lower() in KIND_CATEGORIES else c for c in categories]


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
    if place.get("covers"):
        item["covers"] = True
    if place.get("area_served"):
        item["area_served"] = place["area_served"]
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
    asked = finder_request()
    place_filter, postcode, page_number = asked.place_filter, asked.postcode, asked.page
    listing = listing_filter(place_filter)
    origin, status, error, notice = None, 200, None, None
    covering = []
    with db.read_engine().connect() as connection:
        kind_counts = queries.kind_counts(connection)
        categories = counted_categories(queries.categories(connection), kind_counts)
        demo = queries.is_demo(connection)
        languages = queries.languages(connection)
        loaded = postcode_search.status(connection)["postcodes"] > 0
        if postcode.text:
            origin, status, error = find_origin(connection, postcode, loaded)
        if origin is not None:
            # From outside the district, only places close enough to be of use.
            within = None if origin["in_district"] else queries.OUTSIDE_RADIUS_M
            found = queries.nearest(connection, postcode.key, listing, within_m=within)
            nearest = [p for p in found if not p["extra"]]
            covering = [p for p in found if p["extra"]]
            page = queries.PlacePage(places=nearest, total=len(nearest), page=1)
            if not origin["in_district"]:
                notice = postcode_search.message("outside" if nearest else "outside_none",
                                                 origin["postcode"])
        else:
            page = queries.place_page(connection, listing, page_number)
            covering = queries.serving(connection, listing) if page_number == 1 else []

    field = "postcode"
    if asked.problem and not error:
        (field, error), status = asked.problem, 400
    if request.path.endswith(".json"):
        if error:
            return problem(status, ERROR_TITLES.get(status, "Bad request"), error,
                           parameter=field)
        if origin is not None:
            origin = {"postcode": origin["postcode"], "lon": origin["lon"], "lat": origin["lat"],
                      "outside_district": not origin["in_district"]}
        return jsonify({"query": {"q": place_filter.q, "kind": list(place_filter.kinds),
                                  "category": place_filter.category, "postcode": postcode.text,
                                  "open": place_filter.open, "age": place_filter.age,
                                  "language": place_filter.language},
                        "origin": origin, "notice": notice, "total": page.total,
                        "page": page.page, "pages": page.pages,
                        "places": [listed(p) for p in page.places],
                        "covering": [listed(p) for p in covering]})

    config = map_config(feeds=feed_urls(), place=place_url_template(),
                        postcodeSearch=loaded, messages=postcode_search.MESSAGES,
                        kindCategories=KIND_CATEGORIES)
    # A postcode that cannot be searched from still gets the whole list, with the reason.
    return render_template(
        "residents/index.html", page=page, place_filter=place_filter, postcode=postcode.text,
        origin=origin, error=error, notice=notice, postcode_search=loaded,
        unavailable_hint=postcode_search.message("unavailable_hint"), categories=categories,
        kind_counts=kind_counts, total_places=sum(kind_counts.values()), demo=demo,
        config=config, labels=KIND_LABELS, error_field=field, covering=covering, open_choices=OPEN_CHOICES,
        languages=[(code, LANGUAGES.get(code, code)) for code in languages],
        age_text=request.args.get("age", "").strip()[:3])


@bp.get("/places/<int:place_id>.json")
@bp.get("/places/<int:place_id>")
def place(place_id: int):
    as_json = request.path.endswith(".json")
    with db.read_engine().connect() as connection:
        row = queries.place(connection, place_id)
        demo = queries.is_demo(connection)
        ward = queries.area(connection, "ward", row["ward_code"]) \
            if row and row["ward_code"] and not as_json else None
    if row is None:
        abort(404, description="There is no place with that number.")
    links = online_links(row)
    if as_json:
        return jsonify(place_json(row, links))
    # The ward's outline comes with the page, so it is drawn even when the basemap is not.
    config = map_config(thisPlace={"id": row["id"], "name": row["name"], "kind": row["kind"],
                                   "geometry": row["geometry"]},
                        outline={"name": ward["name"], "geometry": ward["geometry"]}
                        if ward else None)
    return render_template("residents/place.html", place=row, links=links,
                           label=KIND_SINGULAR[row["kind"]], demo=demo, config=config)


def same_url(url: str) -> str:
    """A URL as compared for repeats: scheme and host in lower case, no trailing slash."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"),
                       parts.query, parts.fragment))


def online_links(row: dict) -> list[str]:
    """The place's safe links, each once and none that is its website again."""
    seen = {same_url(row["website"])} if safe_url(row["website"]) else set()
    links = []
    for url in filter(None, (safe_url(u) for u in (row["links"] or []))):
        if same_url(url) not in seen:
            seen.add(same_url(url))
            links.append(url)
    return links


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

