"""HTTP for the feeds, shared by the OGC API, download, tile and nearest blueprints.

API functions are plain functions taking an `ApiRequest` and returning
`(headers, status, content)` (pygeoapi's shape); `respond()` is the thin adapter that
makes a Flask response of that, with gzip. `init_blueprint()` gives a blueprint CORS for
GET and CDN-friendly cache headers. Conditional requests are answered from the data
version (one number bumped on every data change) before any feature is read.
"""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode

from flask import Response, current_app, request

from layers.registry import LAYERS, Layer, get_layer
from layers.sql import LayerSQL
from mapping.core.errors import ApiError

GZIP_LEVEL = 3
GZIP_MIN_BYTES = 1024
LICENCE_URLS = {
    "Open Government Licence v3.0":
        "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/",
    "CC BY 4.0": "https://creativecommons.org/licenses/by/4.0/",
}
EXPOSED_HEADERS = ("ETag, Last-Modified, Content-Crs, Content-Disposition, Link, "
                   "X-Data-Licence, X-Data-Attribution")

# How long a CDN or browser may reuse a response before asking again (with its ETag).
CACHE_FEEDS = "public, max-age=60, stale-while-revalidate=600"
CACHE_TILES = "public, max-age=300, stale-while-revalidate=3600"
CACHE_METADATA = "public, max-age=300"

JSON = "application/json"
GEOJSON = "application/geo+json"
HTML = "text/html"


@dataclass
class ApiRequest:
    """What an API function needs to know of the request, without Flask."""

    base_url: str
    path: str
    args: object
    headers: dict = field(default_factory=dict)
    accept: object = None

    @classmethod
    def from_flask(cls) -> ApiRequest:
        # PostgreSQL text cannot hold NUL; refuse it here for every parameter and path part.
        for name, value in [*request.args.items(multi=True),
                            *(request.view_args or {}).items()]:
            if "\x00" in name or "\x00" in str(value):
                raise ApiError(400, f"{name.replace(chr(0), '')} holds a NUL character",
                               parameter=name.replace("\x00", ""))
        return cls(base_url=request.host_url.rstrip("/"), path=request.path, args=request.args,
                   headers={"If-None-Match": request.headers.get("If-None-Match"),
                            "If-Modified-Since": request.headers.get("If-Modified-Since")},
                   accept=request.accept_mimetypes)

    def url(self, path: str, params: dict | None = None) -> str:
        """An absolute URL on this server (GDAL and OWSLib need absolute hrefs)."""
        query = urlencode([(k, v) for k, v in (params or {}).items() if v is not None])
        return self.base_url + path + ("?" + query if query else "")

    def self_url(self, changes: dict | None = None) -> str:
        """This request's URL with some parameters changed (None removes one); the rest are
        repeated exactly, as next/prev links must."""
        params = {k: v for k, v in self.args.items()}
        for key, value in (changes or {}).items():
            if value is None:
                params.pop(key, None)
            else:
                params[key] = str(value)
        return self.url(self.path, params)

    @property
    def conditional(self) -> bool:
        return bool(self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"))

    def negotiate(self, default: str = JSON, offered=(JSON, GEOJSON, HTML)) -> str:
        """json or html: `f` wins; otherwise Accept, where only an explicit preference for
        HTML (a browser) gets HTML. OWSLib sends */* and must get JSON."""
        f = self.args.get("f")
        if f is not None:
            if f in ("json", "geojson"):
                return "json"
            if f == "html":
                return "html"
            raise ApiError(400, f"f={f!r} is not offered; use f=json or f=html", parameter="f")
        if not self.accept:
            return "json"
        best = self.accept.best_match([default, *[o for o in offered if o != default]])
        if best is None:
            raise ApiError(406, "this resource is offered as " + ", ".join(offered),
                           title="Not acceptable")
        if best == HTML and self.accept.quality(HTML) > max(self.accept.quality(JSON),
                                                           self.accept.quality(GEOJSON)):
            return "html"
        return "json"


def settings():
    return current_app.extensions["assetmap.settings"]


def etag(version: int, api: ApiRequest, variant: str = "") -> str:
    """A weak ETag for this data version and this exact request (path, parameters and the
    negotiated variant): a new import changes every ETag at once."""
    key = api.path + "?" + "&".join(f"{k}={v}" for k, v in sorted(api.args.items(multi=True))) \
        + "#" + variant
    return f'W/"{version}-{hashlib.sha1(key.encode()).hexdigest()[:16]}"'


def last_modified(changed_at: dt.datetime) -> str:
    return format_datetime(changed_at.astimezone(dt.UTC).replace(microsecond=0),
                           usegmt=True)


def validators(version: int, changed_at: dt.datetime, api: ApiRequest, variant: str = "") -> dict:
    return {"ETag": etag(version, api, variant), "Last-Modified": last_modified(changed_at)}


def is_fresh(api: ApiRequest, version: int, changed_at: dt.datetime, variant: str = "") -> bool:
    """True when the client's copy is current (If-None-Match, else If-Modified-Since)."""
    match = api.headers.get("If-None-Match")
    if match:
        tag = etag(version, api, variant)
        weak = tag[2:]
        return any(t.strip() in ("*", tag, weak) or t.strip().removeprefix("W/") == weak
                   for t in match.split(","))
    since = api.headers.get("If-Modified-Since")
    if since:
        try:
            return changed_at.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def not_modified(api: ApiRequest, version: int, changed_at: dt.datetime, variant: str = ""):
    return validators(version, changed_at, api, variant), 304, b""


def data_version(connection) -> tuple[int, dt.datetime]:
    """The published data's version and when it last changed (one for every layer)."""
    return LayerSQL(LAYERS["places"]).version().execute(connection).one()


def unchanged(api: ApiRequest, connection, variant: str = ""):
    """A 304 when the request is conditional and the client's copy is current; else None."""
    if not api.conditional:
        return None
    version, changed_at = data_version(connection)
    if is_fresh(api, version, changed_at, variant):
        return not_modified(api, version, changed_at, variant)
    return None


def layer_or_404(layer_id: str, *, noun: str = "layer", parameter: str = "layer",
                 see: str | None = None) -> Layer:
    """The published layer `layer_id`, or a 404 that says which there are."""
    layer = get_layer(layer_id)
    if layer is None:
        raise ApiError(404, f"there is no {noun} {layer_id!r}; "
                            + (see or "the layers are " + ", ".join(LAYERS)), parameter=parameter)
    return layer


def check_codes(row, query) -> None:
    """A 404 for a ward or neighbourhood filter naming no area (the SQL's `*_known`)."""
    for kind in ("ward", "neighbourhood"):
        if not row[f"{kind}_known"]:
            raise ApiError(404, f"there is no {kind} with the code {getattr(query, kind)!r}",
                           parameter=kind)


def licence_headers() -> dict:
    """The data's licence and attribution, for downloads (also in the OGC metadata)."""
    s = settings()
    headers = {"X-Data-Licence": _latin1(s.data_licence),
               "X-Data-Attribution": _latin1(s.data_attribution)}
    url = LICENCE_URLS.get(s.data_licence)
    if url:
        headers["Link"] = f'<{url}>; rel="license"; title="{_latin1(s.data_licence)}"'
    return headers


def _latin1(value: str) -> str:
    # Header values travel as Latin-1; anything else is replaced rather than failing.
    return value.encode("latin-1", "replace").decode("latin-1").replace("\n", " ")


def _accepts_gzip() -> bool:
    return "gzip" in request.headers.get("Accept-Encoding", "").lower()


def _gzip_stream(chunks: Iterable) -> Iterable[bytes]:
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    for chunk in chunks:
        data = compressor.compress(chunk.encode() if isinstance(chunk, str) else chunk)
        if data:
            yield data
    yield compressor.flush()


class ClosingIterator:
    """A streamed body that releases its database connection when the response ends,
    whether or not the client read it all (Werkzeug calls close())."""

    def __init__(self, chunks: Iterable, close):
        self._chunks = chunks
        self._close = close

    def __iter__(self):
        try:
            yield from self._chunks
        finally:
            # Released as soon as the last byte is written, not only when the server
            # calls close() (a client that buffers may never).
            self.close()

    def close(self):
        close, self._close = self._close, None
        if close:
            close()


def respond(result) -> Response:
    """The Flask response for an API function's (headers, status, content)."""
    headers, status, content = result
    headers = dict(headers)
    mimetype = headers.pop("Content-Type", None)
    vary = ["Accept-Encoding"] + (["Accept"] if headers.pop("Vary-Accept", False) else [])
    if isinstance(content, (str, bytes)):
        body = content.encode() if isinstance(content, str) else content
        if status == 200 and len(body) >= GZIP_MIN_BYTES and _accepts_gzip():
            body = gzip.compress(body, GZIP_LEVEL, mtime=0)
            headers["Content-Encoding"] = "gzip"
        response = Response(body, status=status, content_type=mimetype)
    else:
        close = getattr(content, "close", None)
        chunks = content
        if _accepts_gzip():
            chunks = _gzip_stream(content)
            headers["Content-Encoding"] = "gzip"
        stream = ClosingIterator(chunks, close) if close else chunks
        response = Response(stream, status=status, content_type=mimetype,
                            direct_passthrough=True)
    if status in (204, 304):
        response.headers.pop("Content-Type", None)
    response.headers["Vary"] = ", ".join(vary)
    for key, value in headers.items():
        response.headers[key] = value
    return response


def init_blueprint(bp, cache_control: str = CACHE_FEEDS) -> None:
    """CORS for GET on every response of `bp`, and a cache policy for its successes."""

    @bp.after_request
    def feed_headers(response):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = (
                "Accept, Accept-Encoding, If-None-Match, If-Modified-Since")
            response.headers["Access-Control-Max-Age"] = "86400"
        if response.status_code in (200, 204, 304) and "Cache-Control" not in response.headers:
            response.headers["Cache-Control"] = cache_control
        return response
