"""Open Referral UK (HSDS 3.0, UK profile) under /openreferral: the services the places
offer, where, when and for whom, for social prescribing tools and service directories.

Level 1: `/` (version, profile, openapi_url), `/services` paged and `/services/{id}`;
level 2: `/service_at_locations` (with `postcode` and `proximity`, honouring service
areas), `/taxonomies` and `/taxonomy_terms`, each with `/{id}`. The SQL and the records
are in layers/openreferral.py; this module is HTTP: paging, ETags, CORS and errors.
"""
from __future__ import annotations

import math
import uuid

from flask import Blueprint, url_for

from layers import openreferral as oruk
from layers.extents import VersionedCache
from layers.query import check_known
from mapping import postcode_search, queries
from mapping.api.feed_http import (
    CACHE_FEEDS,
    JSON,
    ApiRequest,
    data_version,
    init_blueprint,
    respond,
    unchanged,
    validators,
)
from mapping.api.openreferral_openapi import document
from mapping.core import db
from mapping.core.errors import ApiError

bp = Blueprint("openreferral", __name__, url_prefix="/openreferral")
init_blueprint(bp, CACHE_FEEDS)

_terms = VersionedCache()


def _known_terms(connection) -> list[oruk.Term]:
    version, _ = data_version(connection)
    return _terms.get(connection, version, lambda: oruk.terms(connection))


def _answer(api: ApiRequest, connection, document) -> tuple:
    version, changed_at = data_version(connection)
    return ({**validators(version, changed_at, api), "Content-Type": JSON}, 200,
            oruk.dumps(document))


def _page(contents: list, total: int, page: int, per_page: int) -> dict:
    pages = max(1, math.ceil(total / per_page))
    return {"total_items": total, "total_pages": pages, "page_number": page,
            "size": len(contents), "first_page": page == 1, "last_page": page >= pages,
            "empty": total == 0, "contents": contents}


def _postcode_key(api: ApiRequest, connection) -> str | None:
    raw = api.args.get("postcode")
    if raw is None:
        return None
    postcode = postcode_search.typed(raw)
    if not postcode.well_formed:
        raise ApiError(400, f"postcode {raw!r} is not a UK postcode", parameter="postcode")
    if not postcode_search.status(connection)["postcodes"]:
        raise ApiError(503, "postcode search is not available yet: no postcodes are loaded",
                       parameter="postcode")
    if queries.origin(connection, postcode.key) is None:
        raise ApiError(400, f"postcode {postcode.text!r} is not among the postcodes loaded",
                       parameter="postcode")
    return postcode.key


def root(api: ApiRequest):
    with db.read_engine().connect() as connection:
        if (response := unchanged(api, connection)) is not None:
            return response
        return _answer(api, connection, {
            "version": oruk.HSDS_VERSION, "profile": oruk.PROFILE_URL,
            "openapi_url": url_for("openreferral.openapi_view", _external=True)})


def services(api: ApiRequest, *, at_locations: bool = False):
    with db.read_engine().connect() as connection:
        if (response := unchanged(api, connection)) is not None:
            return response
        key = _postcode_key(api, connection) if at_locations else None
        filters = oruk.parse_filters(api.args, _known_terms(connection),
                                     locations=at_locations, postcode_key=key)
        total, rows = oruk.page_of_services(connection, filters, at_locations=at_locations)
        summaries = oruk.summaries(connection, rows)
        if at_locations:
            places = oruk.places_of(connection, rows)
            contents = [oruk.service_at_location_summary(row, summary, places[row["place_id"]])
                        for row, summary in zip(rows, summaries)]
        else:
            contents = summaries
        return _answer(api, connection, _page(contents, total, filters.page, filters.per_page))


def service(api: ApiRequest, service_id: str, *, via_location: bool = False):
    with db.read_engine().connect() as connection:
        if (response := unchanged(api, connection)) is not None:
            return response
        wanted = service_id.lower()
        if via_location:
            wanted = oruk.service_for_location(connection, wanted)
        records = oruk.full_services(connection, [wanted], _known_terms(connection)) \
            if wanted and _is_uuid(wanted) else {}
        if not records:
            noun = "service at location" if via_location else "service"
            raise ApiError(404, f"there is no {noun} with the id {service_id!r}",
                           parameter="id")
        return _answer(api, connection, records[wanted])


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _listed(api: ApiRequest, records, noun: str, record_id: str | None):
    """A paged list of `records` (each read with `records(connection)`), or the one with
    `record_id`; a 404 naming the `noun` when there is none."""
    with db.read_engine().connect() as connection:
        if (response := unchanged(api, connection)) is not None:
            return response
        listed = records(connection)
        if record_id is None:
            check_known(api.args, oruk.PAGE_PARAMETERS)
            return _answer(api, connection, _paged(api, listed))
        check_known(api.args, ())
        found = [r for r in listed if r["id"] == record_id.lower()]
        if not found:
            raise ApiError(404, f"there is no {noun} with the id {record_id!r}", parameter="id")
        return _answer(api, connection, found[0])


def _taxonomies(connection) -> list[dict]:
    return [{"id": t.id, "name": t.name, "description": t.description, "version": "2026-12"}
            for t in oruk.TAXONOMIES.values()]


def _terms_of(connection) -> list[dict]:
    return [t.record() for t in _known_terms(connection)]


def _paged(api: ApiRequest, records: list) -> dict:
    page, per_page = oruk.parse_page(api.args)
    start = (page - 1) * per_page
    return _page(records[start:start + per_page], len(records), page, per_page)


# -- routes -----------------------------------------------------------------------------------

@bp.get("/")
def root_view():
    return respond(root(ApiRequest.from_flask()))


@bp.get("/openapi.json")
def openapi_view():
    api = ApiRequest.from_flask()
    return respond(({"Content-Type": JSON}, 200, oruk.dumps(document(api))))


@bp.get("/services")
def services_view():
    return respond(services(ApiRequest.from_flask()))


@bp.get("/services/<service_id>")
def service_view(service_id):
    return respond(service(ApiRequest.from_flask(), service_id))


@bp.get("/service_at_locations")
def service_at_locations_view():
    return respond(services(ApiRequest.from_flask(), at_locations=True))


@bp.get("/service_at_locations/<location_id>")
def service_at_location_view(location_id):
    return respond(service(ApiRequest.from_flask(), location_id, via_location=True))


@bp.get("/taxonomies")
def taxonomies_view():
    return respond(_listed(ApiRequest.from_flask(), _taxonomies, "taxonomy", None))


@bp.get("/taxonomies/<taxonomy_id>")
def taxonomy_view(taxonomy_id):
    return respond(_listed(ApiRequest.from_flask(), _taxonomies, "taxonomy", taxonomy_id))


@bp.get("/taxonomy_terms")
def taxonomy_terms_view():
    return respond(_listed(ApiRequest.from_flask(), _terms_of, "taxonomy term", None))


@bp.get("/taxonomy_terms/<term_id>")
def taxonomy_term_view(term_id):
    return respond(_listed(ApiRequest.from_flask(), _terms_of, "taxonomy term", term_id))
