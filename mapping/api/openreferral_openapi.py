"""The OpenAPI 3.0 document of /openreferral (its `openapi_url`): the UK profile's paths
with the parameters this server takes, each response pointing at the profile's published
schema, as the profile's own document does."""
from __future__ import annotations

from layers import openreferral as oruk
from mapping.api.feed_http import ApiRequest

SCHEMAS = "https://raw.githubusercontent.com/openreferral/uk-profile/main/schema/"

PARAMETERS = {
    "search": ("Services whose name or description contains this text.", {"type": "string"}),
    "page": ("Page number, from 1.", {"type": "integer", "minimum": 1}),
    "per_page": ("Items on a page.", {"type": "integer", "minimum": 1,
                                      "maximum": oruk.MAX_PER_PAGE,
                                      "default": oruk.DEFAULT_PER_PAGE}),
    "taxonomy_term_id": ("Services with this taxonomy term (see /taxonomy_terms).",
                         {"type": "string", "format": "uuid"}),
    "taxonomy_id": ("Services with any term of this taxonomy (see /taxonomies).",
                    {"type": "string", "format": "uuid"}),
    "minimum_age": ("Services whose minimum age is at least this.",
                    {"type": "number", "minimum": 0, "maximum": 130}),
    "maximum_age": ("Services whose maximum age is at most this.",
                    {"type": "number", "minimum": 0, "maximum": 130}),
    "day": (("Services with a session on this day: MO, TU, WE, TH, FR, SA or SU (or the "
            "day's name)."), {"type": "string"}),
    "start_time": (("Services with a session opening at or after this time (HH:MM); with day, "
                   "on that day."), {"type": "string", "format": "time"}),
    "end_time": (("Services with a session closing at or before this time (HH:MM); with day, "
                 "on that day."), {"type": "string", "format": "time"}),
    "modified_after": ("Services changed at or after this RFC 3339 date-time or date.",
                       {"type": "string", "format": "date-time"}),
    "postcode": (("A UK postcode. A service with a service area is listed when the area holds "
                 "the postcode; without proximity, a service with no area is listed too; "
                 "results come nearest first."), {"type": "string"}),
    "proximity": (("With postcode: also services at a place this many metres or less from "
                  "the postcode, whatever their area."),
                  {"type": "number", "minimum": 0, "maximum": oruk.MAX_PROXIMITY_M}),
}


def _parameter(name: str) -> dict:
    description, schema = PARAMETERS[name]
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


def _get(summary: str, schema: str, parameters=(), paged: bool = False) -> dict:
    item = {"$ref": SCHEMAS + schema}
    body = ({"allOf": [{"$ref": "#/components/schemas/Page"}],
             "properties": {"contents": {"type": "array", "items": item}}} if paged else item)
    return {"get": {
        "summary": summary, "parameters": [_parameter(p) for p in parameters],
        "responses": {
            "200": {"description": summary, "content": {"application/json": {"schema": body}}},
            "304": {"description": "Not modified since the ETag or date the client holds."},
            "400": {"description": "A parameter or its value is not understood; the problem "
                                   "names it.",
                    "content": {"application/problem+json": {"schema": {"type": "object"}}}},
        }}}


def _by_id(summary: str, schema: str) -> dict:
    operation = _get(summary, schema)
    operation["parameters"] = [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string", "format": "uuid"}}]
    operation["get"]["responses"]["404"] = {"description": "No record has this id."}
    return operation


def document(api: ApiRequest) -> dict:
    page = {"type": "object", "properties": {
        "total_items": {"type": "integer"}, "total_pages": {"type": "integer"},
        "page_number": {"type": "integer"}, "size": {"type": "integer"},
        "first_page": {"type": "boolean"}, "last_page": {"type": "boolean"},
        "empty": {"type": "boolean"}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Kirklees community asset map: Open Referral UK",
                 "version": oruk.HSDS_VERSION,
                 "description": "The services offered at and from Kirklees community places, "
                                "to the Open Referral UK profile of HSDS 3.0.",
                 "license": {"name": "Open Government Licence v3.0",
                             "url": "https://www.nationalarchives.gov.uk/doc/"
                                    "open-government-licence/version/3/"}},
        "servers": [{"url": api.url("/openreferral")}],
        "paths": {
            "/": {"get": {"summary": "This API and its relationship with HSDS.", "responses": {
                "200": {"description": "version, profile and openapi_url.", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "version": {"type": "string"},
                        "profile": {"type": "string", "format": "uri"},
                        "openapi_url": {"type": "string", "format": "uri"}}}}}}}}},
            "/services": _get("Services, a page at a time.", "compiled/service_list.json",
                              oruk.LIST_PARAMETERS, paged=True),
            "/services/{id}": _by_id("A fully nested service.", "compiled/service.json"),
            "/service_at_locations": _get(
                "Services at locations, a page at a time.",
                "compiled/service_at_location_list.json", oruk.LOCATION_PARAMETERS, paged=True),
            "/service_at_locations/{id}": _by_id("The fully nested service at a location.",
                                                 "compiled/service.json"),
            "/taxonomies": _get("Taxonomies.", "taxonomy.json", oruk.PAGE_PARAMETERS,
                                paged=True),
            "/taxonomies/{id}": _by_id("A taxonomy.", "taxonomy.json"),
            "/taxonomy_terms": _get("Taxonomy terms.", "taxonomy_term.json",
                                    oruk.PAGE_PARAMETERS, paged=True),
            "/taxonomy_terms/{id}": _by_id("A taxonomy term.", "taxonomy_term.json"),
        },
        "components": {"schemas": {"Page": page}},
    }
