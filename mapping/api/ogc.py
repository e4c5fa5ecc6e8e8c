"""OGC API – Features at /ogc, for GIS teams: Part 1 (core, GeoJSON, HTML, OpenAPI 3.0),
Part 2 (CRS: CRS84, EPSG:4326, EPSG:27700) and Part 3 queryables, over the layer registry.

The API functions return (headers, status, content) and know nothing of Flask; the view
functions at the bottom are the thin adapters. JSON is the default; HTML is given for
f=html or to a client (a browser) that prefers it.
"""
from __future__ import annotations

import datetime as dt
import json

from flask import Blueprint, render_template

from layers import crs as crs_module
from layers.extents import layer_extents
from layers.filters import CONFORMANCE as FILTER_CONFORMANCE
from layers.query import check_known, parse_query
from layers.registry import LAYERS, Layer
from layers.sql import LayerSQL
from mapping.api.feed_http import (
    CACHE_FEEDS,
    CACHE_METADATA,
    GEOJSON,
    HTML,
    JSON,
    LICENCE_URLS,
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
from mapping.api.openapi import OPENAPI_MEDIA_TYPE, openapi_document
from mapping.core import db
from mapping.core.errors import ApiError

bp = Blueprint("ogc", __name__, url_prefix="/ogc")
init_blueprint(bp, CACHE_FEEDS)

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    *FILTER_CONFORMANCE,
]
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
SCHEMA_JSON = "application/schema+json"
ITEM_PARAMETERS = ("f", "bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "properties",
                   "filter", "filter-lang", "filter-crs")

def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _self_links(api: ApiRequest, fmt: str, json_type: str = JSON) -> list[dict]:
    """self and alternate: the same resource in JSON and HTML."""
    as_json = _link(api.self_url({"f": "json"}), "self" if fmt == "json" else "alternate",
                    json_type, "This document as JSON")
    as_html = _link(api.self_url({"f": "html"}), "self" if fmt == "html" else "alternate",
                    HTML, "This document as HTML")
    return [as_json, as_html] if fmt == "json" else [as_html, as_json]


def _licence_links() -> list[dict]:
    url = LICENCE_URLS.get(settings().data_licence)
    return [_link(url, "license", HTML, settings().data_licence)] if url else []


def _layer(collection_id: str) -> Layer:
    return layer_or_404(collection_id, noun="collection", parameter="collectionId",
                        see="see /ogc/collections")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _rfc3339(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _html(template: str, api: ApiRequest, headers: dict, **context):
    body = render_template(f"ogc/{template}", api=api, **context)
    return {**headers, "Content-Type": "text/html; charset=utf-8", "Vary-Accept": True}, 200, body


def _json(document: dict, headers: dict, content_type: str = JSON):
    return ({**headers, "Content-Type": content_type, "Vary-Accept": True}, 200,
            json.dumps(document, ensure_ascii=False, separators=(",", ":")))


# -- API functions ----------------------------------------------------------------------

def landing(api: ApiRequest):
    check_known(api.args, {"f"})
    fmt = api.negotiate()
    s = settings()
    document = {
        "title": "Kirklees community asset map",
        "description": "Community assets, transferred buildings, mutual aid groups, hubs, "
                       "wards, priority neighbourhoods and LSOAs in Kirklees, as OGC API – "
                       f"Features. Data: {s.data_attribution}, {s.data_licence}.",
        "attribution": s.data_attribution,
        "links": _self_links(api, fmt) + [
            _link(api.url("/ogc/api"), "service-desc", OPENAPI_MEDIA_TYPE,
                  "The API definition (OpenAPI 3.0)"),
            _link(api.url("/ogc/api", {"f": "html"}), "service-doc", HTML,
                  "The API documentation"),
            _link(api.url("/ogc/conformance"), "conformance", JSON,
                  "The standards this API conforms to"),
            _link(api.url("/ogc/collections"), "data", JSON, "The collections (layers)"),
        ] + _licence_links(),
    }
    headers = {"Cache-Control": CACHE_METADATA}
    if fmt == "html":
        return _html("landing.html", api, headers, document=document)
    return _json(document, headers)


def conformance(api: ApiRequest):
    check_known(api.args, {"f"})
    fmt = api.negotiate()
    document = {"conformsTo": CONFORMANCE, "links": _self_links(api, fmt)}
    headers = {"Cache-Control": CACHE_METADATA}
    if fmt == "html":
        return _html("conformance.html", api, headers, document=document)
    return _json(document, headers)


def api_definition(api: ApiRequest):
    check_known(api.args, {"f"})
    fmt = api.negotiate(default=OPENAPI_MEDIA_TYPE, offered=(OPENAPI_MEDIA_TYPE, JSON, HTML))
    document = openapi_document(api.base_url, settings())
    headers = {"Cache-Control": CACHE_METADATA}
    if fmt == "html":
        return _html("api.html", api, headers, document=document)
    return _json(document, headers, OPENAPI_MEDIA_TYPE)


def _collection(api: ApiRequest, layer: Layer, extent: dict | None) -> dict:
    base = f"/ogc/collections/{layer.id}"
    s = settings()
    document = {
        "id": layer.id,
        "title": layer.title,
        "description": layer.description,
        "keywords": list(layer.keywords),
        "attribution": f"{s.data_attribution}, {s.data_licence}",
        "itemType": "feature",
        "crs": [c.uri for c in crs_module.SUPPORTED],
        "storageCrs": crs_module.STORAGE.uri,
        "links": [
            _link(api.url(base), "self", JSON, "This collection"),
            _link(api.url(base, {"f": "html"}), "alternate", HTML, "This collection as HTML"),
            _link(api.url(base + "/items"), "items", GEOJSON, f"{layer.title} as GeoJSON"),
            _link(api.url(base + "/items", {"f": "html"}), "items", HTML,
                  f"{layer.title} as HTML"),
            _link(api.url(base + "/queryables"), QUERYABLES_REL, SCHEMA_JSON,
                  "The properties that can be filtered on"),
            _link(api.url(f"/layers/{layer.id}.geojson"), "enclosure", GEOJSON,
                  "The whole layer as GeoJSON"),
            _link(api.url(f"/layers/{layer.id}.csv"), "enclosure", "text/csv",
                  "The whole layer as CSV"),
            _link(api.url(f"/tiles/{layer.id}.json"), "describedby", JSON,
                  "Vector tiles of this layer (TileJSON)"),
        ] + _licence_links(),
    }
    extent_document = {}
    if extent and extent["minx"] is not None:
        extent_document["spatial"] = {
            "bbox": [[round(extent["minx"], 6), round(extent["miny"], 6),
                      round(extent["maxx"], 6), round(extent["maxy"], 6)]],
            "crs": crs_module.CRS84.uri}
    if extent and extent["first_update"] is not None:
        extent_document["temporal"] = {"interval": [[_rfc3339(extent["first_update"]), None]],
                                       "trs": TRS}
    if extent_document:
        document["extent"] = extent_document
    return document


def collections(api: ApiRequest):
    check_known(api.args, {"f"})
    fmt = api.negotiate()
    with db.read_engine().connect() as connection:
        version, changed_at = data_version(connection)
        if api.conditional and is_fresh(api, version, changed_at, fmt):
            return not_modified(api, version, changed_at, fmt)
        extents_by_layer = layer_extents(connection, version)
    document = {
        "links": _self_links(api, fmt),
        "crs": [c.uri for c in crs_module.SUPPORTED],
        "collections": [_collection(api, layer, extents_by_layer.get(layer.id))
                        for layer in LAYERS.values()],
    }
    headers = validators(version, changed_at, api, fmt)
    if fmt == "html":
        return _html("collections.html", api, headers, document=document)
    return _json(document, headers)


def collection(api: ApiRequest, collection_id: str):
    layer = _layer(collection_id)
    check_known(api.args, {"f"})
    fmt = api.negotiate()
    with db.read_engine().connect() as connection:
        version, changed_at = data_version(connection)
        if api.conditional and is_fresh(api, version, changed_at, fmt):
            return not_modified(api, version, changed_at, fmt)
        extent = layer_extents(connection, version).get(layer.id)
    document = _collection(api, layer, extent)
    headers = validators(version, changed_at, api, fmt)
    if fmt == "html":
        return _html("collection.html", api, headers, document=document, layer=layer)
    return _json(document, headers)


def queryables(api: ApiRequest, collection_id: str):
    layer = _layer(collection_id)
    check_known(api.args, {"f"})
    fmt = api.negotiate(default=SCHEMA_JSON, offered=(SCHEMA_JSON, JSON, HTML))
    properties = {"geometry": {"title": "Geometry", "format": layer.geometry,
                               "x-ogc-role": "primary-geometry"}}
    for f in layer.queryables:
        properties[f.name] = _schema(f)
    document = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": api.url(f"/ogc/collections/{layer.id}/queryables"),
        "type": "object",
        "title": layer.title,
        "properties": properties,
        "additionalProperties": False,
        "links": _self_links(api, fmt, SCHEMA_JSON),
    }
    headers = {"Cache-Control": CACHE_METADATA}
    if fmt == "html":
        return _html("queryables.html", api, headers, document=document, layer=layer)
    return _json(document, headers, SCHEMA_JSON)


def _schema(f) -> dict:
    schema = {"title": f.title}
    if f.type == "string[]":
        schema.update(type="array", items={"type": "string"})
    elif f.type in ("date", "date-time"):
        schema.update(type="string", format=f.type)
    else:
        schema["type"] = f.type
    if f.enum:
        schema["enum"] = list(f.enum)
    return schema


def _content_crs(query) -> dict:
    return {"Content-Crs": f"<{query.crs.uri}>"}


def items(api: ApiRequest, collection_id: str):
    layer = _layer(collection_id)
    check_known(api.args, set(ITEM_PARAMETERS) | set(layer.filters))
    fmt = api.negotiate(default=GEOJSON)
    query = parse_query(layer, api.args, cql=True,
                        max_bbox_area_km2=settings().max_bbox_area_km2)
    statement = LayerSQL(layer, query)
    with db.read_engine().connect() as connection:
        if (response := unchanged(api, connection, fmt)) is not None:
            return response
        row = statement.items().execute(connection).mappings().one()
    check_codes(row, query)
    matched = row["matched"]
    returned = max(0, min(query.limit, matched - query.offset))
    base = f"/ogc/collections/{layer.id}"
    links = _self_links(api, fmt, GEOJSON) + [
        _link(api.url(base), "collection", JSON, layer.title)]
    # next and prev repeat every parameter of this request, with the limit actually used.
    page_type = GEOJSON if fmt == "json" else HTML
    if query.offset + returned < matched:
        links.append(_link(api.self_url({"offset": query.offset + query.limit,
                                         "limit": query.limit}), "next", page_type,
                           "The next page"))
    if query.offset > 0:
        links.append(_link(api.self_url({"offset": max(0, query.offset - query.limit) or None,
                                         "limit": query.limit}), "prev", page_type,
                           "The previous page"))
    timestamp = _now()
    headers = {**validators(row["version"], row["changed_at"], api, fmt), **_content_crs(query)}
    if fmt == "html":
        features = json.loads("[" + row["features"] + "]")
        return _html("items.html", api, headers, layer=layer, features=features, links=links,
                     matched=matched, returned=returned, query=query, timestamp=timestamp)
    head = json.dumps({"type": "FeatureCollection", **crs_module.legacy_crs_member(query.crs)},
                      separators=(",", ":"))[:-1]
    body = (head + ',"features":[' + row["features"] + "],"
            f'"numberMatched":{matched},"numberReturned":{returned},'
            f'"timeStamp":"{timestamp}","links":'
            + json.dumps(links, separators=(",", ":")) + "}")
    return {**headers, "Content-Type": GEOJSON, "Vary-Accept": True}, 200, body


def item(api: ApiRequest, collection_id: str, feature_id: str):
    layer = _layer(collection_id)
    check_known(api.args, {"f", "crs", "properties"})
    fmt = api.negotiate(default=GEOJSON)
    query = parse_query(layer, api.args, filters=False, paging=False, spatial=False)
    key: int | str = feature_id
    if layer.source.id_type == "integer":
        if not feature_id.isdigit() or len(feature_id) > 18:
            raise ApiError(404, f"there is no feature {feature_id!r} in {layer.id}",
                           parameter="featureId")
        key = int(feature_id)
    with db.read_engine().connect() as connection:
        if (response := unchanged(api, connection, fmt)) is not None:
            return response
        row = LayerSQL(layer, query).item(key).execute(connection).mappings().one()
    if row["feature"] is None:
        raise ApiError(404, f"there is no feature {feature_id!r} in {layer.id}",
                       parameter="featureId")
    base = f"/ogc/collections/{layer.id}"
    links = _self_links(api, fmt, GEOJSON) + [
        _link(api.url(base), "collection", JSON, layer.title)]
    headers = {**validators(row["version"], row["changed_at"], api, fmt), **_content_crs(query)}
    if fmt == "html":
        return _html("item.html", api, headers, layer=layer, feature=json.loads(row["feature"]),
                     links=links)
    # The feature's text ends in "}": the members after it are appended in its place.
    tail = json.dumps({**crs_module.legacy_crs_member(query.crs), "links": links},
                      separators=(",", ":"))
    body = row["feature"][:-1] + "," + tail[1:]
    return {**headers, "Content-Type": GEOJSON, "Vary-Accept": True}, 200, body


# -- Flask adapters ---------------------------------------------------------------------

@bp.get("/", strict_slashes=False)
def landing_view():
    return respond(landing(ApiRequest.from_flask()))


@bp.get("/conformance")
def conformance_view():
    return respond(conformance(ApiRequest.from_flask()))


@bp.get("/api")
def api_view():
    return respond(api_definition(ApiRequest.from_flask()))


@bp.get("/collections")
def collections_view():
    return respond(collections(ApiRequest.from_flask()))


@bp.get("/collections/<collection_id>")
def collection_view(collection_id):
    return respond(collection(ApiRequest.from_flask(), collection_id))


@bp.get("/collections/<collection_id>/queryables")
def queryables_view(collection_id):
    return respond(queryables(ApiRequest.from_flask(), collection_id))


@bp.get("/collections/<collection_id>/items")
def items_view(collection_id):
    return respond(items(ApiRequest.from_flask(), collection_id))


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item_view(collection_id, feature_id):
    return respond(item(ApiRequest.from_flask(), collection_id, feature_id))
