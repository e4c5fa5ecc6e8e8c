"""Vector tiles of every layer (Mapbox Vector Tiles built by PostGIS's ST_AsMVT) and a
TileJSON per layer, for web maps and QGIS. An empty tile is 204 No Content."""
from __future__ import annotations

import json

from flask import Blueprint

from layers.extents import layer_extents
from layers.query import check_known, parse_query
from layers.sql import LayerSQL
from mapping.api.feed_http import (
    CACHE_TILES,
    JSON,
    ApiRequest,
    check_codes,
    data_version,
    init_blueprint,
    is_fresh,
    layer_or_404,
    not_modified,
    respond,
    settings,
    unchanged,
    validators,
)
from mapping.core import db
from mapping.core.errors import ApiError

bp = Blueprint("tiles", __name__, url_prefix="/tiles")
init_blueprint(bp, CACHE_TILES)

MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22
TILE_TYPES = {"string": "String", "string[]": "String", "date": "String",
              "date-time": "String", "integer": "Number", "number": "Number",
              "boolean": "Boolean"}


def _index(raw: str, name: str, upper: int) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"tile {name} {raw!r} is not a whole number", parameter=name) from None
    if not 0 <= value <= upper:
        raise ApiError(400, f"tile {name} must be from 0 to {upper}, got {value}", parameter=name)
    return value


def tile(api: ApiRequest, layer_id: str, z: str, x: str, y: str):
    layer = layer_or_404(layer_id)
    check_known(api.args, set(layer.filters))
    zoom = _index(z, "z", MAX_ZOOM)
    column, row = _index(x, "x", 2 ** zoom - 1), _index(y, "y", 2 ** zoom - 1)
    query = parse_query(layer, api.args, paging=False, spatial=False)
    with db.read_engine().connect() as connection:
        if (response := unchanged(api, connection)) is not None:
            return response
        result = LayerSQL(layer, query).tile(zoom, column, row).execute(connection) \
            .mappings().one()
    check_codes(result, query)
    headers = validators(result["version"], result["changed_at"], api)
    body = bytes(result["tile"] or b"")
    if not body:
        return headers, 204, b""
    return {**headers, "Content-Type": MVT}, 200, body


def tilejson(api: ApiRequest, layer_id: str):
    """TileJSON 3.0.0: where the tiles are, their zooms, bounds and fields."""
    layer = layer_or_404(layer_id)
    check_known(api.args, set(layer.filters))
    parse_query(layer, api.args, paging=False, spatial=False)
    with db.read_engine().connect() as connection:
        version, changed_at = data_version(connection)
        if api.conditional and is_fresh(api, version, changed_at):
            return not_modified(api, version, changed_at)
        extent = layer_extents(connection, version).get(layer.id) or {}
    filters = {k: v for k, v in api.args.items()}
    template = api.url(f"/tiles/{layer.id}/", None) + "{z}/{x}/{y}.mvt"
    if filters:
        template += "?" + api.url("", filters).split("?", 1)[1]
    bounds = [-180, -85.05113, 180, 85.05113]
    if extent.get("minx") is not None:
        bounds = [round(extent[k], 6) for k in ("minx", "miny", "maxx", "maxy")]
    s = settings()
    fields = {f.name: TILE_TYPES[f.type] for f in layer.fields if f.name in layer.tile_fields}
    document = {
        "tilejson": "3.0.0",
        "name": layer.title,
        "description": layer.description,
        "attribution": f"{s.data_attribution}, {s.data_licence}",
        "scheme": "xyz",
        "tiles": [template],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": bounds,
        "center": [round((bounds[0] + bounds[2]) / 2, 6), round((bounds[1] + bounds[3]) / 2, 6),
                   12],
        "vector_layers": [{"id": layer.id, "description": layer.description, "minzoom": 0,
                           "maxzoom": MAX_ZOOM, "fields": fields}],
    }
    return ({**validators(version, changed_at, api), "Content-Type": JSON}, 200,
            json.dumps(document, ensure_ascii=False, separators=(",", ":")))


@bp.get("/<layer_id>/<z>/<x>/<y>.mvt")
def tile_view(layer_id, z, x, y):
    return respond(tile(ApiRequest.from_flask(), layer_id, z, x, y))


@bp.get("/<layer_id>.json")
def tilejson_view(layer_id):
    return respond(tilejson(ApiRequest.from_flask(), layer_id))
