"""Battery (issue 7): traversal strings and out-of-grid tiles in tile, download and static
paths, sent byte for byte over real HTTP: 400 or 404 (JSON on API paths), never a 500,
never a file's contents."""
from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

from mapping.core.assets import installed_version

TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2f..%2f..%2f..%2fetc%2fpasswd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2e%2e/%2e%2e/mapping/core/config.py",
    "....//....//....//etc/passwd",
    "..%5c..%5cmapping%5cconfig.py",
    "%252e%252e%252fetc%252fpasswd",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "..",
    "%2e%2e",
    "../mapping/core/config.py",
    "..%2fmapping%2fconfig.py",
    "..%00/etc/passwd",
]
API_PREFIXES = ("/tiles/", "/layers/")
LEAKS = ("root:", "SECRET", "import ")


def _get(live_server: str, path: str) -> tuple[int, str, str, dict]:
    """GET exactly `path` (no client normalising dot segments or slashes)."""
    parts = urlsplit(live_server)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read().decode("utf-8", "replace")
        return response.status, response.getheader("Content-Type", ""), body, dict(
            response.getheaders())
    finally:
        connection.close()


def _assert_refused(live_server: str, path: str) -> None:
    status, content_type, body, headers = _get(live_server, path)
    if status in (301, 302, 307, 308):
        # A redirect to a normalised URL is fine if that URL is refused too.
        location = headers.get("Location", "")
        target = urlsplit(location)
        assert not target.netloc or target.netloc == urlsplit(live_server).netloc, location
        status, content_type, body, _ = _get(live_server, target.path + (
            "?" + target.query if target.query else ""))
    assert status in (400, 404), f"GET {path}: {status} {body[:200]}"
    for leak in LEAKS:
        assert leak not in body, f"GET {path} leaked {leak!r}: {body[:300]}"
    if path.startswith(API_PREFIXES):
        assert content_type.startswith("application/problem+json"), f"GET {path}: {content_type}"


def _tile_paths() -> list[str]:
    paths = []
    for bad in TRAVERSALS:
        paths += [f"/tiles/{bad}/0/0/0.mvt", f"/tiles/places/{bad}/0/0.mvt",
                  f"/tiles/places/0/{bad}/0.mvt", f"/tiles/places/0/0/{bad}.mvt",
                  f"/tiles/{bad}.json", f"/tiles/places/0/0/0.mvt/{bad}"]
    return paths


def _download_paths() -> list[str]:
    paths = []
    for bad in TRAVERSALS:
        paths += [f"/layers/{bad}.geojson", f"/layers/{bad}.csv", f"/layers/places/{bad}.csv",
                  f"/layers/{bad}/places.geojson"]
    return paths


def _static_paths(version: str) -> list[str]:
    paths = []
    for bad in TRAVERSALS:
        paths += [f"/static/{bad}", f"/static/css/{bad}",
                  f"/vendor/leaflet/{version}/{bad}", f"/vendor/leaflet/{version}/images/{bad}",
                  f"/vendor/{bad}/{version}/leaflet.js", f"/vendor/leaflet/{bad}/leaflet.js"]
    paths += ["/static/../mapping/core/config.py", "/static/..%2fmapping%2fconfig.py",
              f"/vendor/leaflet/{version}/../../../../mapping/core/config.py",
              f"/vendor/leaflet/{version}/../package.json",
              f"/vendor/leaflet/{version}/..%2fpackage.json",
              f"/vendor/markercluster/{version}/../../../../etc/passwd"]
    return paths


OUT_OF_GRID = [(-1, 0, 0), (23, 0, 0), (99, 0, 0), (2 ** 70, 0, 0), (0, 1, 0), (0, 0, 1),
               (1, 2, 0), (1, 0, 2), (3, 8, 0), (3, -1, 0), (3, 0, -1), ("1.5", 0, 0),
               (1, "0.5", 0), (1, 0, "1e0"), ("", 0, 0), ("z", 0, 0), (1, "x", 0),
               (1, 0, "y"), ("%00", 0, 0), ("0x1", 0, 0), ("NaN", 0, 0), ("inf", 0, 0),
               ("%20", 0, 0), ("1%2e5", 0, 0)]


@pytest.mark.parametrize("layer", ["places", "community-assets", "wards"])
def test_out_of_grid_tiles_are_400_or_404_json(live_server, demo_data, layer):
    for z, x, y in OUT_OF_GRID:
        _assert_refused(live_server, f"/tiles/{layer}/{z}/{x}/{y}.mvt")


def test_a_tile_inside_the_grid_is_still_served(live_server, demo_data):
    status, _, _, _ = _get(live_server, "/tiles/places/0/0/0.mvt")
    assert status in (200, 204), status


def test_traversal_in_tile_paths_is_refused(live_server, demo_data):
    for path in _tile_paths():
        _assert_refused(live_server, path)


def test_traversal_in_download_paths_is_refused(live_server, demo_data):
    for path in _download_paths():
        _assert_refused(live_server, path)


def test_traversal_in_static_and_vendor_paths_is_refused(live_server):
    for path in _static_paths(installed_version("leaflet")):
        _assert_refused(live_server, path)


def test_the_vendor_route_still_serves_its_own_files(live_server):
    status, _, body, _ = _get(live_server,
                              f"/vendor/leaflet/{installed_version('leaflet')}/leaflet.js")
    assert status == 200 and "Leaflet" in body
