"""The feeds' routes for GIS teams, the map and councillors: whole-layer downloads
(downloads.py), the places nearest a point or postcode (nearest.py), and ward and priority
neighbourhood profiles (profiles.py). Each handler returns (headers, status, content);
the views here adapt them.
"""
from __future__ import annotations

from flask import Blueprint

from mapping.api.downloads import download
from mapping.api.feed_http import CACHE_FEEDS, ApiRequest, init_blueprint, respond
from mapping.api.nearest import nearest
from mapping.api.profiles import profile

bp = Blueprint("feeds", __name__)
init_blueprint(bp, CACHE_FEEDS)


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
