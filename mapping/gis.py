"""The page for GIS teams: every published layer with its GeoJSON, OGC API, vector tile
and CSV addresses, the licence, and how to add each to QGIS. JSON twin at /data.json."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from layers.registry import LAYERS
from mapping import db, queries
from mapping.feed_http import LICENCE_URLS

bp = Blueprint("gis", __name__)


def layer_urls(layer_id: str) -> dict:
    base = request.url_root.rstrip("/")
    return {
        "geojson": f"{base}/layers/{layer_id}.geojson",
        "csv": f"{base}/layers/{layer_id}.csv",
        "ogc_items": f"{base}/ogc/collections/{layer_id}/items",
        "tiles": f"{base}/tiles/{layer_id}/{{z}}/{{x}}/{{y}}.mvt",
        "tilejson": f"{base}/tiles/{layer_id}.json",
    }


def catalogue() -> list[dict]:
    return [{"id": layer.id, "title": layer.title, "description": layer.description,
             "filters": list(layer.filters), "urls": layer_urls(layer.id)}
            for layer in LAYERS.values()]


@bp.get("/data.json")
@bp.get("/data")
def data():
    settings = current_app.extensions["assetmap.settings"]
    base = request.url_root.rstrip("/")
    service = {"ogc": f"{base}/ogc", "licence": settings.data_licence,
               "licence_url": LICENCE_URLS.get(settings.data_licence),
               "attribution": settings.data_attribution}
    if request.path.endswith(".json"):
        return jsonify({**service, "layers": catalogue()})
    with db.read_engine().connect() as connection:
        demo = queries.is_demo(connection)
    return render_template("gis/data.html", layers=catalogue(), service=service, demo=demo)
