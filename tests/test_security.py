"""Headers and limits: CSP without inline script, HSTS only over TLS, nosniff, rate limits
that answer 429, and request size limits."""
import base64
import hashlib

import pytest

from mapping import create_app
from mapping.core.security import content_security_policy, inline_script_hashes


def test_every_page_has_a_csp_without_inline_script(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert "unsafe-inline" not in directives["script-src"]
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'self'"
    assert "https://tile.openstreetmap.org" in directives["img-src"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_error_responses_carry_the_headers_too(client):
    response = client.get("/api/none")
    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers


def test_hsts_only_over_tls_behind_a_trusted_proxy(database_url, db):
    app = create_app({"database_url": database_url, "proxy_count": 1})
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/livez").headers
    secure = client.get("/livez", headers={"X-Forwarded-Proto": "https"})
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    # Without a trusted proxy, a client cannot claim TLS with a header.
    plain = create_app({"database_url": database_url}).test_client()
    assert "Strict-Transport-Security" not in plain.get(
        "/livez", headers={"X-Forwarded-Proto": "https"}).headers


def test_searches_are_rate_limited_with_a_clear_answer(database_url, db):
    app = create_app({"database_url": database_url, "rate_limit_search": "3 per minute"})
    client = app.test_client()
    statuses = [client.get("/?q=library").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    # Plain page views are not searches and are never limited.
    assert all(client.get("/").status_code == 200 for _ in range(5))


def test_a_request_body_over_the_limit_is_refused(database_url, db):
    app = create_app({"database_url": database_url, "upload_max_mb": 1, "WTF_CSRF_ENABLED": False})

    @app.post("/api/echo")
    def echo():
        from flask import request

        return {"bytes": len(request.get_data())}

    client = app.test_client()
    assert client.post("/api/echo", data=b"x" * 1000).status_code == 200
    too_big = client.post("/api/echo", data=b"x" * (1024 * 1024 + 1))
    assert too_big.status_code == 413
    assert too_big.mimetype == "application/problem+json"


@pytest.mark.parametrize("template,expected", [
    ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
    ("https://{s}.basemaps.example.com/{z}/{x}/{y}.png", "https://*.basemaps.example.com"),
    ("http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png", "http://127.0.0.1:8080"),
])
def test_the_basemap_host_is_allowed_for_images(template, expected):
    from mapping.core.config import Settings

    policy = content_security_policy(Settings(basemap_url=template))
    assert f"img-src 'self' data: {expected}" in policy


def test_inline_scripts_are_allowed_by_their_exact_hash():
    html = '<script src="/static/a.js"></script><script>var map = 1;</script>'
    expected = base64.b64encode(hashlib.sha256(b"var map = 1;").digest()).decode()
    assert inline_script_hashes(html) == [expected]
