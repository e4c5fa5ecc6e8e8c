"""Feeds for GIS teams, the map and councillors: whole-layer downloads (GeoJSON and CSV,
streamed), the places nearest to a point or postcode, and ward and priority neighbourhood
profiles.

API functions return (headers, status, content); the views at the bottom adapt them.
"""
from __future__ import annotations

import json
import math
from dataclasses import replace

from flask import Blueprint

from layers.crs import legacy_crs_member
from layers.profiles import area_profile
from layers.query import check_known, parse_limit, parse_query, single
from layers.registry import LAYERS
from layers.sql import LayerSQL
from mapping import postcode_search, queries
from mapping.api.feed_http import (
    CACHE_FEEDS,
    GEOJSON,
    JSON,
    ApiRequest,
    ClosingIterator,
    check_codes,
    data_version,
    init_blueprint,
    is_fresh,
    layer_or_404,
    licence_headers,
    not_modified,
    respond,
    settings,
    unchanged,
    validators,
)
from mapping.core import db
from mapping.core.errors import ApiError

bp = Blueprint("feeds", __name__)
init_blueprint(bp, CACHE_FEEDS)

DOWNLOAD_PARAMETERS = {"bbox", "bbox-crs", "crs", "datetime", "properties"}
NEAREST_DEFAULT, NEAREST_MAX = 10, 100
# Rows fetched from the server-side cursor at a time: memory stays flat whatever the size.
STREAM_ROWS = 2000
CSV_MEDIA_TYPE = "text/csv; charset=utf-8; header=present"


def download(api: ApiRequest, layer_id: str, fmt: str):
    """The whole layer (or what the filters keep) as one GeoJSON or CSV file, streamed
    from a server-side cursor as PostgreSQL writes it."""
    layer = layer_or_404(layer_id)
    check_known(api.args, DOWNLOAD_PARAMETERS | set(layer.filters))
    query = parse_query(layer, api.args, paging=False,
                        max_bbox_area_km2=settings().max_bbox_area_km2)
    statement = LayerSQL(layer, query)
    connection = db.read_engine().connect()
    try:
        # One snapshot for the version, the checks and every row streamed.
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        row = statement.known_codes().execute(connection).mappings().one()
        check_codes(row, query)
        if api.conditional and is_fresh(api, row["version"], row["changed_at"], fmt):
            connection.close()
            return not_modified(api, row["version"], row["changed_at"], fmt)
        rows = statement.geojson_rows() if fmt == "geojson" else statement.csv_rows()
        result = connection.execution_options(stream_results=True, yield_per=STREAM_ROWS) \
            .execute(rows.clause(), rows.params)
    except BaseException:
        connection.close()
        raise

    def close():
        result.close()
        connection.close()

    s = settings()
    if fmt == "geojson":
        head = json.dumps({"type": "FeatureCollection", "name": layer.id,
                           **legacy_crs_member(query.crs),
                           "attribution": s.data_attribution, "licence": s.data_licence},
                          ensure_ascii=False, separators=(",", ":"))[:-1] + ',"features":['
        chunks = _joined(result, head, "]}\n", ",")
        content_type = GEOJSON
    else:
        head = "\ufeff" + ",".join(statement.csv_header()) + "\r\n"
        chunks = _joined(result, head, "", "\r\n", trailing=True)
        content_type = CSV_MEDIA_TYPE
    headers = {**validators(row["version"], row["changed_at"], api, fmt), **licence_headers(),
               "Content-Type": content_type, "Content-Crs": f"<{query.crs.uri}>",
               "Content-Disposition": f'attachment; filename="{layer.id}.{fmt}"'}
    return headers, 200, ClosingIterator(chunks, close)


def _joined(result, head: str, tail: str, separator: str, trailing: bool = False):
    """Rows of text joined by `separator` between `head` and `tail`, a batch at a time."""
    yield head.encode()
    first = True
    for batch in result.partitions(STREAM_ROWS):
        text = separator.join(r[0] for r in batch)
        if trailing:
            yield (text + separator).encode()
        else:
            yield (text if first else separator + text).encode()
        first = False
    yield tail.encode()


def _coordinate(api: ApiRequest, name: str, bound: float) -> float | None:
    raw = single(api.args, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"{name} {raw!r} is not a number", parameter=name) from None
    if not math.isfinite(value) or not -bound <= value <= bound:
        raise ApiError(400, f"{name} must be a number from {-bound:g} to {bound:g}",
                       parameter=name)
    return value


def nearest(api: ApiRequest):
    """The places nearest a point (lon, lat) or a postcode, nearest first, each with its
    distance in metres on the British National Grid. From a point outside the district
    (`outside_district`), only places within queries.OUTSIDE_RADIUS_M."""
    layer = LAYERS["places"]
    check_known(api.args, {"lon", "lat", "postcode", "limit", "kind", "category"})
    lon, lat = _coordinate(api, "lon", 180), _coordinate(api, "lat", 90)
    postcode = single(api.args, "postcode")
    if postcode is not None and (lon is not None or lat is not None):
        raise ApiError(400, "give either a postcode or lon and lat, not both",
                       parameter="postcode")
    if postcode is None and (lon is None or lat is None):
        missing = "lat" if lon is not None else "lon"
        raise ApiError(400, "give lon and lat (WGS 84 degrees) or a postcode",
                       parameter=missing)
    key = None
    if postcode is not None:
        typed = postcode_search.typed(postcode)
        if not typed.well_formed:
            raise ApiError(400, f"{postcode!r} is not a UK postcode", parameter="postcode")
        key = typed.key
    query = parse_query(layer, api.args, paging=False, spatial=False)
    limit, _ = parse_limit(single(api.args, "limit"), NEAREST_DEFAULT, NEAREST_MAX)
    query = replace(query, limit=limit)
    with db.read_engine().connect() as connection:
        if (response := unchanged(api, connection)) is not None:
            return response
        row = LayerSQL(layer, query).nearest(lon=lon, lat=lat, postcode_key=key) \
            .execute(connection).mappings().one()
        if row["origin_lon"] is None:
            if not postcode_search.status(connection)["postcodes"]:
                raise ApiError(503, "postcode search is not available yet: no postcodes are "
                                    "loaded", parameter="postcode")
            raise ApiError(404, f"postcode {typed.text!r} was not found among the postcodes "
                                f"loaded", parameter="postcode")
        inside = queries.in_district(connection, row["origin_lon"], row["origin_lat"])
    origin = {"lon": round(row["origin_lon"], 6), "lat": round(row["origin_lat"], 6),
              "postcode": row["origin_postcode"]}
    features = row["features"]
    if not inside:
        radius = queries.OUTSIDE_RADIUS_M
        near = [f for f in json.loads("[" + features + "]")
                if f["properties"]["distance_m"] <= radius]
        features = ",".join(json.dumps(f, ensure_ascii=False, separators=(",", ":"))
                            for f in near)
    body = ('{"type":"FeatureCollection","origin":' + json.dumps(origin, separators=(",", ":"))
            + ',"outside_district":' + json.dumps(not inside)
            + ("" if inside else f',"within_m":{queries.OUTSIDE_RADIUS_M}')
            + ',"features":[' + features + "]}")
    headers = {**validators(row["version"], row["changed_at"], api), "Content-Type": GEOJSON}
    return headers, 200, body


def profile(api: ApiRequest, kind: str, code: str):
    """A ward's or priority neighbourhood's profile (layers.profiles.area_profile)."""
    check_known(api.args, set())
    with db.read_engine().connect() as connection:
        version, changed_at = data_version(connection)
        if api.conditional and is_fresh(api, version, changed_at):
            return not_modified(api, version, changed_at)
        body = area_profile(connection, kind, code)
    if body is None:
        label = "ward" if kind == "ward" else "priority neighbourhood"
        raise ApiError(404, f"there is no {label} with the code {code!r}", parameter="code")
    headers = {**validators(version, changed_at, api), "Content-Type": JSON}
    return headers, 200, json.dumps(body, ensure_ascii=False, separators=(",", ":"))


@bp.get("/layers/<layer_id>.geojson")
def download_geojson(layer_id):
    return respond(download(ApiRequest.from_flask(), layer_id, "geojson"))


@bp.get("/layers/<layer_id>.csv")
def download_csv(layer_id):
    return respond(download(ApiRequest.from_flask(), layer_id, "csv"))


@bp.get("/api/nearest", endpoint="nearest")
def nearest_view():
    return respond(nearest(ApiRequest.from_flask()))


@bp.get("/api/wards/<code>")
def ward_profile(code):
    return respond(profile(ApiRequest.from_flask(), "ward", code))


@bp.get("/api/neighbourhoods/<code>")
def neighbourhood_profile(code):
    return respond(profile(ApiRequest.from_flask(), "neighbourhood", code))
