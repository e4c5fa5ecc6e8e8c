"""Response headers and limits every page and feed gets: a Content-Security-Policy with no
inline script, HSTS behind TLS, rate limits on the expensive public endpoints, and
`private, no-store` on anything signed-in people see."""
from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import urlsplit

from flask import abort, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix

# Endpoints a script could hammer, the setting that limits each, and which requests count:
# "all", "query" (only requests with a query string: plain page views are free) or "post".
RATE_LIMITED = {
    "feeds.nearest": ("rate_limit_search", "all"),
    "residents.index": ("rate_limit_search", "query"),
    "reports.report": ("rate_limit_reports", "post"),
    "auth.login": ("rate_limit_login", "post"),
}
PRIVATE_BLUEPRINTS = {"auth", "editors", "admin", "uploads"}


def _origin_pattern(url_template: str) -> str:
    """The CSP source for a tile URL template: https://{s}.tile.example → https://*.tile.example."""
    parts = urlsplit(url_template.replace("{s}", "subdomain"))
    host = parts.hostname or ""
    if "{s}" in url_template:
        host = "*." + host.split(".", 1)[1]
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def content_security_policy(settings, script_hashes=()) -> str:
    tiles = _origin_pattern(settings.basemap_url)
    scripts = " ".join(["'self'"] + [f"'sha256-{h}'" for h in script_hashes])
    return "; ".join([
        "default-src 'self'",
        f"script-src {scripts}",
        # Leaflet positions tiles and markers with style attributes.
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data: {tiles}",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        f"frame-ancestors {settings.frame_ancestors}",
    ])


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def inline_script_hashes(html: str) -> list[str]:
    """SHA-256 hashes of the inline scripts in `html`, for a page (folium's) that has some."""
    return [base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            for body in INLINE_SCRIPT.findall(html)]


def allow_inline_scripts(response, html: str, settings):
    """Let exactly the inline scripts of this response run, and no others."""
    response.headers["Content-Security-Policy"] = content_security_policy(
        settings, inline_script_hashes(html))
    return response


def init_app(app, settings) -> None:
    if settings.proxy_count:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_count,
                                x_proto=settings.proxy_count, x_host=settings.proxy_count)
    app.config["MAX_CONTENT_LENGTH"] = settings.upload_max_mb * 1024 * 1024
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.secure_cookies,
                      REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SECURE=settings.secure_cookies)

    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.ratelimit_storage_uri,
                      headers_enabled=True, strategy="moving-window")
    app.extensions["assetmap.limiter"] = limiter
    policy = content_security_policy(settings)

    @app.before_request
    def refuse_nul_characters():
        # PostgreSQL text cannot hold NUL, and no place name or code contains one: refuse
        # it at the door rather than let any query see it.
        if "\x00" in request.path or any("\x00" in key or "\x00" in value
                                          for key, value in request.args.items(multi=True)):
            abort(400, description="A NUL character is not allowed in an address.")

    @app.after_request
    def secure_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", policy)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.blueprint in PRIVATE_BLUEPRINTS:
            headers["Cache-Control"] = "private, no-store"
        return response


def apply_rate_limits(app, settings) -> None:
    """Limit the endpoints in RATE_LIMITED; call once every blueprint is registered."""
    limiter = app.extensions["assetmap.limiter"]
    for endpoint, (setting, which) in RATE_LIMITED.items():
        view = app.view_functions.get(endpoint)
        if view is None:
            raise RuntimeError(f"a rate limit is set for {endpoint}, which does not exist")
        options = {"query": {"exempt_when": lambda: not request.args},
                   "post": {"methods": ["POST"]}, "all": {}}[which]
        app.view_functions[endpoint] = limiter.limit(getattr(settings, setting), **options)(view)
