"""The places nearest to a point or a postcode (`/api/nearest`), by true distance on the
British National Grid; outside the district, only those within OUTSIDE_RADIUS_M."""
from __future__ import annotations

import json
import math
from dataclasses import replace

from layers.query import check_known, parse_limit, parse_query, single
from layers.registry import LAYERS
from layers.sql import LayerSQL
from mapping import postcode_search, queries
from mapping.api.feed_http import (
    GEOJSON,
    ApiRequest,
    unchanged,
    validators,
)
from mapping.core import db
from mapping.core.errors import ApiError

NEAREST_DEFAULT, NEAREST_MAX = 10, 100


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
    distance in metres on the British National Grid and whether a service of it has an area
    that holds the point (`covers`). With covering=true, `covering` lists the farther places
    that cover the point, however far, nearest first. From a point outside the district
    (`outside_district`), only places within queries.OUTSIDE_RADIUS_M."""
    layer = LAYERS["places"]
    check_known(api.args, {"lon", "lat", "postcode", "limit", "kind", "category", "open", "age",
                           "language", "covering"})
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
    covering = single(api.args, "covering")
    if covering not in (None, "true", "false"):
        raise ApiError(400, f"covering {covering!r} is not true or false", parameter="covering")
    query = replace(query, limit=limit, covering=covering == "true")
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
    features, covering = row["features"], row["covering"]
    if not inside:
        radius = queries.OUTSIDE_RADIUS_M
        features, covering = (
            ",".join(json.dumps(f, ensure_ascii=False, separators=(",", ":"))
                     for f in json.loads("[" + text + "]")
                     if f["properties"]["distance_m"] <= radius)
            for text in (features, covering))
    body = ('{"type":"FeatureCollection","origin":' + json.dumps(origin, separators=(",", ":"))
            + ',"outside_district":' + json.dumps(not inside)
            + ("" if inside else f',"within_m":{queries.OUTSIDE_RADIUS_M}')
            + (',"covering":[' + covering + "]" if query.covering else "")
            + ',"features":[' + features + "]}")
    headers = {**validators(row["version"], row["changed_at"], api), "Content-Type": GEOJSON}
    return headers, 200, body
