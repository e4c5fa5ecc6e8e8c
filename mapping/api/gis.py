"""The page for GIS teams: every published layer with its GeoJSON, OGC API, vector tile
and CSV addresses, the licence, and how to add each to QGIS. JSON twin at /data.json."""
from __future__ import annotations

from urllib.parse import unquote

from flask import Blueprint, current_app, jsonify, render_template, request, url_for

from layers.registry import LAYERS
from mapping import queries
from mapping.api.feed_http import LICENCE_URLS
from mapping.core import db

bp = Blueprint("gis", __name__)


def layer_urls(layer_id: str) -> dict:
    """A layer's addresses on each of the feeds, whole (GIS software wants them absolute)."""
    def url(endpoint, **values):
        return url_for(endpoint, _external=True, **values)

    # The tile address keeps its {z}/{x}/{y} placeholders as they are.
    tiles = unquote(url("tiles.tile_view", layer_id=layer_id, z="{z}", x="{x}", y="{y}"))
    return {
        "geojson": url("feeds.download_geojson", layer_id=layer_id),
        "csv": url("feeds.download_csv", layer_id=layer_id),
        "ogc_items": url("ogc.items_view", collection_id=layer_id),
        "tiles": tiles,
        "tilejson": url("tiles.tilejson_view", layer_id=layer_id),
    }


def catalogue() -> list[dict]:
    return [{"id": layer.id, "title": layer.title, "description": layer.description,
             "filters": list(layer.filters), "urls": layer_urls(layer.id)}
            for layer in LAYERS.values()]


@bp.get("/data.json")
@bp.get("/data")
def data():
    settings = current_app.extensions["assetmap.settings"]
    service = {"ogc": url_for("ogc.landing_view", _external=True), "licence": settings.data_licence,
               "licence_url": LICENCE_URLS.get(settings.data_licence),
               "attribution": settings.data_attribution}
    if request.path.endswith(".json"):
        return jsonify({**service, "layers": catalogue()})
    with db.read_engine().connect() as connection:
        demo = queries.is_demo(connection)
    return render_template("gis/data.html", layers=catalogue(), service=service, demo=demo)
