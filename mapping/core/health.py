"""Health endpoints for load balancers and the docker-compose healthcheck."""
from __future__ import annotations

from flask import Blueprint, jsonify

from mapping import postcode_search
from mapping.core import db

bp = Blueprint("health", __name__)


def _database_status() -> dict:
    with db.engine().connect() as connection:
        body = {
            "status": "ok",
            "postgis": db.postgis_version(connection),
            "postgresql": db.server_version(connection),
            "migration": db.current_revision(connection),
            "migration_head": db.head_revision(),
        }
        postcodes = postcode_search.status(connection)
    body["postcodes"] = postcodes["postcodes"]
    body["checks"] = {"postcodes:count": [_postcode_check(postcodes)]}
    return body


def _postcode_check(postcodes: dict) -> dict:
    """A check in the style of the IETF health check draft: without postcodes the service
    runs, but residents cannot search by postcode, so it warns rather than fails."""
    check = {"componentType": "datastore", "observedValue": postcodes["postcodes"],
             "observedUnit": "postcodes",
             "status": "pass" if postcodes["postcodes"] else "warn"}
    if postcodes["loaded_at"] is not None:
        check["time"] = postcodes["loaded_at"].isoformat()
    if not postcodes["postcodes"]:
        check["output"] = "no postcodes are loaded: postcode search is not available"
    return check


@bp.get("/healthz")
def healthz():
    """200 with the PostGIS version, the migration and how many postcodes are loaded when
    the database answers, else 503."""
    try:
        body = _database_status()
    except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
        response = jsonify({"type": "about:blank", "title": "Service unavailable", "status": 503,
                            "detail": "database unreachable: " + type(error).__name__})
        response.status_code = 503
        response.mimetype = "application/problem+json"
        return response
    return jsonify(body)


@bp.get("/livez")
def livez():
    """The process is up; says nothing of the database."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    """Ready to serve: the database answers and is migrated to head."""
    response = healthz()
    if response.status_code == 200 and response.json["migration"] != response.json["migration_head"]:
        response = jsonify({"type": "about:blank", "title": "Service unavailable", "status": 503,
                            "detail": "database is not migrated to head"})
        response.status_code = 503
        response.mimetype = "application/problem+json"
    return response
