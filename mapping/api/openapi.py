"""The OpenAPI 3.0 definition of the OGC API at /ogc/api, generated from the layer registry.

Every collection has its own literal paths with exactly the parameters it takes: GDAL reads
the `limit` of `/collections/<id>/items` for its page size and pushes filters that are
declared there, and the OGC test suite refuses parameters that are not declared.
"""
from __future__ import annotations

from layers import crs as crs_module
from layers.filters import DRAFT_TEXT, MAX_FILTER
from layers.filters import LANGS as FILTER_LANGS
from layers.query import (
    DEFAULT_LIMIT,
    LANGUAGE_PATTERN,
    MAX_AGE,
    MAX_LIMIT,
    MAX_OFFSET,
    MAX_TEXT,
    OPEN_PATTERN,
    WHITESPACE_CLASS,
)
from layers.registry import LAYERS, PLACE_KINDS, Layer

OPENAPI_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
REF = "#/components/"


def _ref(kind: str, name: str) -> dict:
    return {"$ref": f"{REF}{kind}/{name}"}


def _query(name: str, description: str, schema: dict, **extra) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema, "style": "form", "explode": False, **extra}


CRS_URIS = [c.uri for c in crs_module.SUPPORTED]
# Text exactly as the server reads it (layers/query.py): not blank (one character outside
# its WHITESPACE), not too long, and no NUL (refused in any address). A list's items are
# joined with commas, so an item cannot hold one.
TEXT = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT,
        "pattern": f"^[^\\u0000]*[^\\u0000{WHITESPACE_CLASS}][^\\u0000]*$"}
TEXT_LIST = {"type": "array", "minItems": 1, "items": {
    **TEXT, "pattern": f"^[^\\u0000,]*[^\\u0000,{WHITESPACE_CLASS}][^\\u0000,]*$"}}


def _bbox_parameter(max_area_km2: float) -> dict:
    return _query(
        "bbox", "Only features that intersect this box: min x, min y, max x, max y (or with "
                "heights, 6 numbers), in CRS84 (longitude, latitude) unless bbox-crs says "
                f"otherwise. EPSG:4326 is latitude first. A box covering more than "
                f"{max_area_km2:,.0f} km² of ground is refused (400, naming bbox): leave bbox "
                "out to read the whole layer. The whole world (every longitude, from 85.0511° "
                "S or beyond to 85.0511° N or beyond), which clients send for no limit, is "
                "answered.",
        {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}})


PARAMETERS = {
    "f": _query("f", "The format of the response: json (the default) or html.",
                {"type": "string", "enum": ["json", "html"], "default": "json"}),
    "bbox-crs": _query("bbox-crs", "The CRS of bbox (default CRS84).",
                       {"type": "string", "format": "uri", "enum": CRS_URIS,
                        "default": crs_module.CRS84.uri}),
    "crs": _query("crs", "The CRS of the coordinates in the response (default CRS84).",
                  {"type": "string", "format": "uri", "enum": CRS_URIS,
                   "default": crs_module.CRS84.uri}),
    "datetime": _query(
        "datetime", "Only features last updated at this RFC 3339 instant or within this "
                    "interval (start/end, either end open with '..').",
        {"type": "string", "minLength": 1}),
    "limit": _query(
        "limit", f"How many features a page holds (at most {MAX_LIMIT}; a larger value is "
                 "lowered to it).",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    "offset": _query("offset", "How many matching features to skip (the next links use it).",
                     {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
    "ward": _query("ward", "Only what lies in the ward with this code (e.g. E05001389).", TEXT),
    "neighbourhood": _query("neighbourhood",
                            "Only what lies in the priority neighbourhood with this code.", TEXT),
    "category": _query("category", "Only places in any of these categories (comma-separated).",
                       TEXT_LIST),
    "q": _query("q", "Only features whose name or description contains this text.", TEXT),
    "updated_since": _query("updated_since", "Only features changed at or after this date or "
                                             "RFC 3339 date-time.",
                            {"type": "string", "format": "date-time", "minLength": 1}),
    "open": _query("open", "Only places with a service open then: 'now' (in Kirklees), a "
                           "day (MO … SU), or a day and a time ('TU 10:30').",
                   {"type": "string", "pattern": OPEN_PATTERN}),
    "age": _query("age", "Only places with a service open to people of this age, in years.",
                  {"type": "integer", "minimum": 0, "maximum": MAX_AGE}),
    "language": _query("language", "Only places with a service in this language (ISO 639 "
                                   "code, e.g. en, ur, pa).",
                       {"type": "string", "pattern": LANGUAGE_PATTERN}),
    "filter": _query(
        "filter", "Only features matching this CQL2 expression (OGC API - Features Part 3) "
                  "over the collection's queryables: comparisons, LIKE, IN, BETWEEN, IS NULL, "
                  "S_INTERSECTS, S_DWITHIN (metres), T_AFTER, T_BEFORE, T_INTERSECTS and the "
                  "A_ array functions. A filter that cannot be read is refused (400, naming "
                  "filter, saying why).",
        {"type": "string", "minLength": 1, "maxLength": MAX_FILTER}),
    "filter-lang": _query("filter-lang", "The encoding of filter (default cql2-text; "
                                         "cql-text, the draft's name, is read as cql2-text).",
                          {"type": "string", "enum": [*FILTER_LANGS, DRAFT_TEXT],
                           "default": "cql2-text"}),
    "filter-crs": _query("filter-crs", "The CRS of the geometries in filter (default CRS84).",
                         {"type": "string", "format": "uri", "enum": CRS_URIS,
                          "default": crs_module.CRS84.uri}),
    "kind": _query("kind", "Only places of these kinds (comma-separated).",
                   {"type": "array", "minItems": 1,
                    "items": {"type": "string", "enum": list(PLACE_KINDS)}}),
}

LINK = {"type": "object", "required": ["href", "rel"], "properties": {
    "href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
    "title": {"type": "string"}, "hreflang": {"type": "string"}}}
LINKS = {"type": "array", "items": _ref("schemas", "link")}
GEOMETRY = {"type": "object", "required": ["type"], "properties": {
    "type": {"type": "string", "enum": ["Point", "MultiPoint", "LineString", "MultiLineString",
                                        "Polygon", "MultiPolygon", "GeometryCollection"]},
    "coordinates": {"type": "array"}, "geometries": {"type": "array"}}}
FEATURE = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
    "type": {"type": "string", "enum": ["Feature"]},
    "geometry": {"allOf": [_ref("schemas", "geometryGeoJSON")], "nullable": True},
    "properties": {"type": "object", "nullable": True},
    "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
    "links": LINKS}}
FEATURE_COLLECTION = {"type": "object", "required": ["type", "features"], "properties": {
    "type": {"type": "string", "enum": ["FeatureCollection"]},
    "features": {"type": "array", "items": _ref("schemas", "featureGeoJSON")},
    "links": LINKS,
    "timeStamp": {"type": "string", "format": "date-time"},
    "numberMatched": {"type": "integer", "minimum": 0},
    "numberReturned": {"type": "integer", "minimum": 0}}}
COLLECTION = {"type": "object", "required": ["id", "links"], "properties": {
    "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"},
    "attribution": {"type": "string"}, "keywords": {"type": "array", "items": {"type": "string"}},
    "links": LINKS, "itemType": {"type": "string"},
    "crs": {"type": "array", "items": {"type": "string"}}, "storageCrs": {"type": "string"},
    "extent": {"type": "object", "properties": {
        "spatial": {"type": "object", "properties": {
            "bbox": {"type": "array", "items": {"type": "array", "minItems": 4, "maxItems": 6,
                                                "items": {"type": "number"}}},
            "crs": {"type": "string"}}},
        "temporal": {"type": "object", "properties": {
            "interval": {"type": "array", "items": {
                "type": "array", "minItems": 2, "maxItems": 2,
                "items": {"type": "string", "format": "date-time", "nullable": True}}},
            "trs": {"type": "string"}}}}}}}
PROBLEM = {"type": "object", "properties": {
    "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
    "detail": {"type": "string"}, "parameter": {"type": "string"}}}

SCHEMAS = {
    "link": LINK,
    "landingPage": {"type": "object", "required": ["links"], "properties": {
        "title": {"type": "string"}, "description": {"type": "string"},
        "attribution": {"type": "string"}, "links": LINKS}},
    "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
        "conformsTo": {"type": "array", "items": {"type": "string"}}, "links": LINKS}},
    "collections": {"type": "object", "required": ["links", "collections"], "properties": {
        "links": LINKS, "crs": {"type": "array", "items": {"type": "string"}},
        "collections": {"type": "array", "items": _ref("schemas", "collection")}}},
    "collection": COLLECTION,
    "geometryGeoJSON": GEOMETRY,
    "featureGeoJSON": FEATURE,
    "featureCollectionGeoJSON": FEATURE_COLLECTION,
    "queryables": {"type": "object", "properties": {
        "$schema": {"type": "string"}, "$id": {"type": "string"}, "type": {"type": "string"},
        "properties": {"type": "object"}}},
    "problem": PROBLEM,
}


def _problem(description: str) -> dict:
    # With f=html (or a browser's Accept) the same error comes as an HTML page.
    return {"description": description,
            "content": {"application/problem+json": {"schema": _ref("schemas", "problem")},
                        "text/html": {"schema": {"type": "string"}}}}


RESPONSES = {
    "NotModified": {"description": "The copy the client holds (its ETag) is current."},
    "InvalidParameter": _problem("A parameter is unknown or its value is not valid (a bbox "
                                 "covering too much ground among them: see bbox); the "
                                 "response names the parameter."),
    "NotFound": _problem("There is no such collection, feature, ward or neighbourhood."),
    "NotAcceptable": _problem("None of the media types in Accept is offered."),
    "ServerError": _problem("Something went wrong on the server."),
    "Unavailable": _problem("The database did not answer in time; try again shortly."),
}
ERRORS = {"400": _ref("responses", "InvalidParameter"), "406": _ref("responses", "NotAcceptable"),
          "500": _ref("responses", "ServerError"), "503": _ref("responses", "Unavailable")}
HTML_CONTENT = {"text/html": {"schema": {"type": "string"}}}
CONDITIONAL = {"304": _ref("responses", "NotModified")}


def _ok(description: str, schema: str, media_type: str = "application/json") -> dict:
    return {"description": description,
            "content": {media_type: {"schema": _ref("schemas", schema)}, **HTML_CONTENT}}


def _get(summary: str, operation_id: str, tags: list[str], parameters: list, ok: dict,
         *, not_found: bool = False, conditional: bool = False) -> dict:
    responses = {"200": ok, **ERRORS}
    if not_found:
        responses["404"] = _ref("responses", "NotFound")
    if conditional:
        responses.update(CONDITIONAL)
    return {"get": {"summary": summary, "operationId": operation_id, "tags": tags,
                    "parameters": parameters, "responses": responses}}


def _properties_parameter(layer: Layer) -> dict:
    return _query("properties", "Only these properties in each feature (comma-separated).",
                  {"type": "array", "minItems": 1,
                   "items": {"type": "string", "enum": [f.name for f in layer.fields]}})


def _collection_paths(layer: Layer) -> dict:
    base = f"/collections/{layer.id}"
    tag = [layer.title]
    f = _ref("parameters", "f")
    crs = _ref("parameters", "crs")
    item_parameters = [f, _ref("parameters", "bbox"), _ref("parameters", "bbox-crs"), crs,
                       _ref("parameters", "datetime"), _ref("parameters", "limit"),
                       _ref("parameters", "offset"), _properties_parameter(layer),
                       _ref("parameters", "filter"), _ref("parameters", "filter-lang"),
                       _ref("parameters", "filter-crs")]
    item_parameters += [_ref("parameters", name) for name in layer.filters]
    feature_id = {"name": "featureId", "in": "path", "required": True,
                  "description": "The feature's id (" + (
                      "a place's stable number" if layer.source.id_type == "integer"
                      else "the area's code") + ").",
                  "schema": {"type": layer.source.id_type}}
    geojson = "application/geo+json"
    return {
        base: _get(f"About {layer.title}", f"describe-{layer.id}", tag, [f],
                   _ok("The collection's metadata.", "collection"), not_found=True,
                   conditional=True),
        base + "/queryables": _get(
            f"The properties of {layer.title}", f"queryables-{layer.id}", tag, [f],
            _ok("A JSON Schema of the properties.", "queryables", "application/schema+json"),
            not_found=True),
        base + "/items": _get(
            f"{layer.title}: features", f"items-{layer.id}", tag, item_parameters,
            _ok("A page of features, with links to the next and previous pages.",
                "featureCollectionGeoJSON", geojson), not_found=True, conditional=True),
        base + "/items/{featureId}": _get(
            f"One of {layer.title}", f"item-{layer.id}", tag,
            [feature_id, f, crs, _properties_parameter(layer)],
            _ok("The feature.", "featureGeoJSON", geojson), not_found=True, conditional=True),
    }


def openapi_document(base_url: str, settings) -> dict:
    f = [_ref("parameters", "f")]
    paths = {
        "/": _get("The landing page", "landing", ["Capabilities"], f,
                  _ok("Links to the API definition, conformance and collections.",
                      "landingPage")),
        "/conformance": _get("The conformance classes", "conformance", ["Capabilities"], f,
                             _ok("The standards this API conforms to.", "confClasses")),
        "/api": _get("This API definition", "api", ["Capabilities"], f,
                     {"description": "The OpenAPI 3.0 definition.",
                      "content": {OPENAPI_MEDIA_TYPE: {"schema": {"type": "object"}},
                                  **HTML_CONTENT}}),
        "/collections": _get("The collections", "collections", ["Capabilities"], f,
                             _ok("Every collection with its extent and links.", "collections"),
                             conditional=True),
    }
    for layer in LAYERS.values():
        paths.update(_collection_paths(layer))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Kirklees community asset map – OGC API – Features",
            "version": "1.0.0",
            "description": "Community assets, transferred buildings, mutual aid groups, hubs "
                           "and boundaries in Kirklees. Data: "
                           f"{settings.data_attribution}, {settings.data_licence}.",
            "license": {"name": settings.data_licence},
        },
        "servers": [{"url": base_url + "/ogc"}],
        "tags": [{"name": "Capabilities"}] + [{"name": layer.title, "description":
                                               layer.description} for layer in LAYERS.values()],
        "paths": paths,
        "components": {"parameters": {**PARAMETERS,
                                      "bbox": _bbox_parameter(settings.max_bbox_area_km2)},
                       "schemas": SCHEMAS, "responses": RESPONSES},
    }
