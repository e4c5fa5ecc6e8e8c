"""One place that turns exceptions into responses: RFC 9457 problem details for the API,
a friendly page for HTML. No stack trace ever reaches a client."""
from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from layers.errors import QueryError

log = logging.getLogger(__name__)

API_PREFIXES = ("/api", "/ogc", "/layers", "/tiles", "/openreferral", "/healthz", "/readyz", "/livez")


class ApiError(Exception):
    """A client or service error with a status, a short title and a detail for people."""

    def __init__(self, status: int, detail: str, *, title: str | None = None,
                 parameter: str | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title or {400: "Bad request", 404: "Not found",
                               503: "Service unavailable"}.get(status, "Error")
        self.parameter = parameter


def wants_json() -> bool:
    if request.path.startswith(API_PREFIXES):
        return request.args.get("f") != "html"
    if request.path.endswith(".json"):  # a page's JSON twin
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def problem(status: int, title: str, detail: str, **extra):
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _respond(status: int, title: str, detail: str, **extra):
    if wants_json():
        response = problem(status, title, detail, **extra)
    else:
        response = (render_template("error.html", status=status, title=title, detail=detail),
                    status)
    if status == 503:
        if isinstance(response, tuple):
            return response[0], status, {"Retry-After": "5"}
        response.headers["Retry-After"] = "5"
    return response


def _is_unavailable(error: Exception) -> bool:
    if isinstance(error, (OperationalError, PoolTimeout)):
        return True
    original = getattr(error, "orig", None)
    # 57014: the statement timeout fired; 55P03: a lock was not granted in lock_timeout;
    # 57P01-57P03: the server is shutting down or starting up; 25006: a read-only database.
    return getattr(original, "sqlstate", None) in ("57014", "55P03", "57P01", "57P02", "57P03",
                                                   "25006")


def init_app(app) -> None:
    @app.errorhandler(ApiError)
    def handle_api_error(error: ApiError):
        return _respond(error.status, error.title, error.detail, parameter=error.parameter)

    @app.errorhandler(QueryError)
    def handle_query_error(error: QueryError):
        return _respond(400, "Bad request", error.detail, parameter=error.parameter)

    @app.errorhandler(HTTPException)
    def handle_http(error: HTTPException):
        response = _respond(error.code or 500, error.name, error.description or error.name)
        # Keep what the exception says about itself, e.g. a 405's Allow header.
        extra = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        if isinstance(response, tuple):
            return response[0], response[1], extra
        response.headers.extend(extra)
        return response

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def handle_database(error: Exception):
        if _is_unavailable(error):
            log.warning("database unavailable: %s", error)
            return _respond(503, "Service unavailable",
                            "The database is not answering right now; please try again shortly.")
        log.exception("database error")
        return _respond(500, "Internal server error", "Something went wrong on our side.")

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("unhandled error")
        return _respond(500, "Internal server error", "Something went wrong on our side.")
